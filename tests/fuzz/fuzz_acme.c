/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_acme.c - libFuzzer target: what the controller parses of a CA's answers (controller/acme):
 * the JSON body, problem documents, Retry-After, and the PEM chain's issuer match */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/acme/acme_internal.h"
#include "fuzz_split.h"
#include "shared/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: status byte, then parts separated by CP_FUZZ_SEP lines: body, Content-Type, Retry-After,
 * preferred chain name. The body is also read as a certificate chain. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *part[4];
    size_t len[4];
    size_t n = cp_fuzz_split(data + 1, size - 1, part, len, 4);
    ctl_acme__resp_t r = {.status = 200 + (long)data[0] * 2};
    r.body = cp_xstrndup((const char *)part[0], len[0]);
    r.len = strlen(r.body);
    if (n > 1)
        r.content_type = cp_xstrndup((const char *)part[1], len[1]);
    if (n > 2)
        r.retry_after = cp_xstrndup((const char *)part[2], len[2]);
    char *preferred = n > 3 ? cp_xstrndup((const char *)part[3], len[3]) : NULL;

    cp_err_t err;
    json_t *j = NULL;
    if (ctl_acme__resp_json(&r, "fuzz", &j, &err) == 0) {
        char buf[CP_ERR_MSG_MAX];
        ctl_acme__problem_format(j, buf, sizeof(buf));
        ctl_acme__problem_format(j, buf, 7);
        json_decref(j);
    }
    (void)ctl_acme__problem_err(&r, "fuzz", &err);
    (void)ctl_acme__problem_is(&r, "badNonce");
    (void)ctl_acme__problem_is(&r, "rateLimited");
    (void)ctl_acme__retry_after_parse(r.retry_after, 1700000000);
    (void)ctl_acme__chain_matches(r.body, preferred != NULL ? preferred : "Pebble Root CA");
    free(preferred);
    ctl_acme__resp_dispose(&r);
    return 0;
}
