/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_json.c - libFuzzer target: shared/json.h cp_json_decode into certplane.v1 messages, and the
 * encode of whatever decodes (it must decode again) */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "certplane/v1/certplane.pb-c.h"
#include "shared/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const descs[] = {
    &certplane__v1__create_certificate_request__descriptor,
    &certplane__v1__certificate__descriptor,
    &certplane__v1__import_certificate_request__descriptor,
    &certplane__v1__list_certificates_request__descriptor,
    &certplane__v1__list_certificates_response__descriptor,
    &certplane__v1__watch_request__descriptor,
    &certplane__v1__certificate_event__descriptor,
    &certplane__v1__report_edge_status_request__descriptor,
};

/* The first byte picks the message type (low bits) and whether unknown fields are skipped. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *d = descs[data[0] % (sizeof(descs) / sizeof(descs[0]))];
    int flags = (data[0] & 0x80) ? CP_JSON_IGNORE_UNKNOWN : 0;
    ProtobufCMessage *m = NULL, *again = NULL;
    cp_err_t err;
    if (cp_json_decode(d, (const char *)data + 1, size - 1, flags, &m, &err) != 0)
        return 0;
    char *text = NULL;
    size_t len = 0;
    if (cp_json_encode(m, data[0] & 0x40 ? CP_JSON_EMIT_DEFAULTS : 0, &text, &len, &err) == 0) {
        /* What we write we must read back. */
        if (cp_json_decode(d, text, len, 0, &again, &err) != 0)
            abort();
        protobuf_c_message_free_unpacked(again, NULL);
        free(text);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
