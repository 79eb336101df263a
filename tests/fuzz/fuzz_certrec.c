/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_certrec.c - libFuzzer target: controller/store/certrec.h ctl_certrec_decode of a stored
 * cert:{name} record (what Redis or the Python seed holds), and encoding what decodes */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "controller/store/certrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Certplane__V1__Certificate *c = NULL;
    cp_err_t err;
    if (ctl_certrec_decode("fuzz.example", (const char *)data, size, &c, &err) != 0)
        return 0;
    char *json = NULL;
    size_t len = 0;
    if (ctl_certrec_encode(c, &json, &len, &err) == 0)
        free(json);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    return 0;
}
