/* SPDX-License-Identifier: Apache-2.0 */
/* json_internal.h - internals shared by json.c, json_enc.c and json_dec.c (not a public API) */
#ifndef CP_JSON_INTERNAL_H
#define CP_JSON_INTERNAL_H

#include <stdint.h>

#include "shared/json.h"

/** State of one encode or decode call: the flags, the caller's err and the path of the field being
 *  worked on ("certificate.domains[2]"), which prefixes every error message. */
typedef struct cp_json__ctx {
    int flags;
    cp_err_t *err;
    size_t path_len;
    char path[CP_ERR_MSG_MAX];
} cp_json__ctx_t;

/** Appends ".name" (or "name" at the top) to the path; returns the length to restore with path_pop.
 */
size_t cp_json__path_name(cp_json__ctx_t *c, const char *name);
/** Appends "[i]" to the path; returns the length to restore with path_pop. */
size_t cp_json__path_index(cp_json__ctx_t *c, size_t i);
/** Appends "[\"key\"]" (a map key) to the path; returns the length to restore with path_pop. */
size_t cp_json__path_key(cp_json__ctx_t *c, const char *key);
/** Cuts the path back to len, as returned by one of the path_ functions. */
void cp_json__path_pop(cp_json__ctx_t *c, size_t len);
/** Sets the caller's err to code and "<path>: <message>" (just the message at the top); returns
 * code. */
int cp_json__fail(cp_json__ctx_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Aborts with a message; for jansson constructors that return NULL only when memory runs out. */
_Noreturn void cp_json__oom(void);

/** lowerCamelCase of a proto field name, as protoc computes json_name; malloc'd, caller frees. */
char *cp_json__camel_dup(const char *name);
/** Whether key is the lowerCamelCase form of name, without allocating. */
int cp_json__camel_eq(const char *name, const char *key);

/** Size of one element of a repeated field of this type (the C type protobuf-c stores). */
size_t cp_json__value_size(ProtobufCType type);
/** Name of a scalar type as written in .proto files ("int32", "sfixed64", ...). */
const char *cp_json__type_name(ProtobufCType type);
/** Whether f is a map field: repeated XxxEntry messages with exactly key = 1 and value = 2. */
int cp_json__is_map(const ProtobufCFieldDescriptor *f);
/** Whether desc is google.protobuf.Timestamp. */
int cp_json__is_timestamp(const ProtobufCMessageDescriptor *desc);

/** Writes seconds/nanos as RFC 3339 UTC ("2023-11-14T22:13:20.5Z" has 3 digits: ".500Z") into buf
 *  (at least 40 bytes). Returns 0, or -1 when outside 0001-01-01..9999-12-31 or nanos not
 * 0..999999999. */
int cp_json__ts_format(int64_t seconds, int32_t nanos, char *buf, size_t size);
/** Parses an RFC 3339 timestamp (any offset, 'T'/'t', 'Z'/'z', 1-9 fraction digits) of len bytes.
 *  Returns 0, or -1 when malformed or outside 0001-01-01..9999-12-31 UTC. */
int cp_json__ts_parse(const char *s, size_t len, int64_t *seconds, int32_t *nanos);

/** Standard base64 with padding of len bytes; malloc'd NUL-terminated string the caller frees. */
char *cp_json__b64_encode(const uint8_t *data, size_t len);
/** Decodes standard or URL-safe base64, padded or not, into a malloc'd buffer (NULL when *out_len
 * is 0). Returns 0, or -1 when the text is not base64. */
int cp_json__b64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len);

/** Encodes a message (an object, or a string for a Timestamp) at nesting level depth into *out. */
int cp_json__enc_message(cp_json__ctx_t *c, const ProtobufCMessage *m, int depth, json_t **out);
/** Decodes v into a new message of type desc at nesting level depth; *out only set on success. */
int cp_json__dec_message(cp_json__ctx_t *c, const ProtobufCMessageDescriptor *desc, json_t *v,
                         int depth, ProtobufCMessage **out);

#endif
