/* SPDX-License-Identifier: Apache-2.0 */
/* json_dec.h - the proto3 JSON decoder: a jansson value to a protobuf-c message (not a public API)
 */
#ifndef CP_JSON_DEC_H
#define CP_JSON_DEC_H

#include "shared/json_util.h"

/** Decodes v into a new message of type desc at nesting level depth; *out only set on success. */
int cp_json__dec_message(cp_json__ctx_t *c, const ProtobufCMessageDescriptor *desc, json_t *v,
                         int depth, ProtobufCMessage **out);

#endif
