/* SPDX-License-Identifier: Apache-2.0 */
/* json_util.h - helpers of the JSON codec's encoder and decoder (not a public API) */
#ifndef CP_JSON_UTIL_H
#define CP_JSON_UTIL_H

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

#endif
