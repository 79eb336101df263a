/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_validate.c - libFuzzer target: controller/service/validate.h (domains, IPs, certificate
 * names, emails, Punycode, name sets) */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/service/validate.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every single-string validator on s; the normal form of a valid domain must be valid and stable.
 */
static void one(const char *s, int flags)
{
    cp_err_t err;
    char out[CTL_VALIDATE_NAME_BUF], again[CTL_VALIDATE_NAME_BUF];
    (void)ctl_validate_domain(s, flags, &err);
    if (ctl_validate_domain_normalize(s, flags, out, sizeof(out), &err) == 0) {
        if (ctl_validate_domain_normalize(out, flags, again, sizeof(again), &err) != 0 ||
            strcmp(out, again) != 0)
            abort();
    }
    (void)ctl_validate_domain_normalize(s, flags, out, 8, &err);
    (void)ctl_validate_ip(s, out, sizeof(out), &err);
    (void)ctl_validate_cert_name(s, &err);
    (void)ctl_validate_email(s, &err);
    uint32_t cps[64];
    size_t n;
    (void)ctl_validate_decode_punycode(s, strlen(s), cps, 64, &n, &err);
}

/* The first byte gives the flags; the rest is one string per line (the first lines domains, the
 * lines after a line "%%" IP addresses), each checked alone and all as one name set. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    int flags = data[0] & 3;
    const uint8_t *part[2];
    size_t len[2];
    size_t np = cp_fuzz_split(data + 1, size - 1, part, len, 2);
    const char *lists[2][CTL_VALIDATE_MAX_NAMES + 2];
    size_t counts[2] = {0, 0};
    char *copies[2];
    for (size_t p = 0; p < 2; p++) {
        copies[p] = calloc(1, p < np ? len[p] + 1 : 1);
        if (p < np)
            memcpy(copies[p], part[p], len[p]);
        char *save = NULL;
        for (char *s = strtok_r(copies[p], "\n", &save); s != NULL;
             s = strtok_r(NULL, "\n", &save)) {
            one(s, flags);
            if (counts[p] < CTL_VALIDATE_MAX_NAMES + 2)
                lists[p][counts[p]++] = s;
        }
    }
    cp_err_t err;
    (void)ctl_validate_names(lists[0], counts[0], lists[1], counts[1], flags, &err);
    free(copies[0]);
    free(copies[1]);
    return 0;
}
