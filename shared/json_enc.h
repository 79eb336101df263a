/* SPDX-License-Identifier: Apache-2.0 */
/* json_enc.h - the proto3 JSON encoder: a protobuf-c message to a jansson value (not a public API)
 */
#ifndef CP_JSON_ENC_H
#define CP_JSON_ENC_H

#include "shared/json_util.h"

/** Encodes a message (an object, or a string for a Timestamp) at nesting level depth into *out. */
int cp_json__enc_message(cp_json__ctx_t *c, const ProtobufCMessage *m, int depth, json_t **out);

#endif
