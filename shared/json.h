/* SPDX-License-Identifier: Apache-2.0 */
/* json.h - proto3 JSON codec for any protobuf-c message, driven by its descriptor */
#ifndef CP_JSON_H
#define CP_JSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "shared/err.h"

/* The proto3 JSON mapping (https://protobuf.dev/programming-guides/proto3/#json) for the subset of
 * protobuf that protoc-c 1.4.1 generates:
 * - names: output lowerCamelCase computed from the field name (protobuf-c has no json_name), or the
 *   original name with CP_JSON_ORIG_NAMES; input accepts both spellings (but not both at once).
 * - enums: value names on output; names or integers on input (an unknown name is an error).
 * - int64, uint64, sint64, fixed64, sfixed64: decimal strings on output; strings or numbers on
 * input.
 * - 32-bit integers: numbers on output; numbers or decimal strings on input, range-checked.
 * - float, double: numbers, or the strings "NaN", "Infinity", "-Infinity".
 * - bytes: standard base64 with padding on output; standard or URL-safe, padded or not, on input.
 * - repeated fields are arrays; map fields (repeated XxxEntry messages with exactly key = 1 and
 *   value = 2) are objects; a oneof emits its selected member, even when that member is zero.
 * - google.protobuf.Timestamp is an RFC 3339 string: UTC "Z" and 0, 3, 6 or 9 fraction digits on
 * output; any offset, 'T'/'t', 'Z'/'z' on input; years 0001-9999.
 * - JSON null for a field means "not set". Zero scalars, empty repeated fields and unset messages
 * are omitted on output (CP_JSON_EMIT_DEFAULTS emits zero scalars and empty arrays/objects too).
 * Other well-known types (Duration, wrappers, Struct, Any) get no special treatment.
 *
 * Errors are CP_EINVAL with the path of the offending field in the message, spelled as in the input
 * ("certificate.notAfter: invalid timestamp \"2024-13-01T00:00:00Z\"", "domains[2]: expected
 * string", "labels[\"tier\"]: expected integer"); CP_ETOOBIG for a text longer than
 * CP_JSON_MAX_SIZE.
 *
 * THREAD SAFETY: every function is reentrant and keeps no state; concurrent calls are safe as long
 * as they do not share an output or a message that another thread modifies. */

/** Flags for the functions below, to be combined with |. */
enum {
    CP_JSON_ORIG_NAMES = 1,     /**< encode: proto field names (snake_case), not lowerCamelCase */
    CP_JSON_IGNORE_UNKNOWN = 2, /**< decode: skip unknown fields instead of failing */
    CP_JSON_EMIT_DEFAULTS = 4,  /**< encode: also emit zero scalars and empty repeated fields */
};

/** Deepest nesting of JSON objects and arrays accepted or produced (the top object is level 1). */
#define CP_JSON_MAX_DEPTH 32

/** Largest JSON text cp_json_decode accepts, in bytes. */
#define CP_JSON_MAX_SIZE (1024 * 1024)

/** Encodes msg as compact proto3 JSON (no whitespace, fields in field-number order). On success
 * *out is a NUL-terminated malloc'd string the caller frees with free(), and *out_len (when out_len
 * is not NULL) its length. A google.protobuf.Timestamp message encodes to a JSON string. Errors:
 * CP_EINVAL when msg or out is NULL, a string field is not valid UTF-8, a Timestamp is outside
 *  0001-9999 or its nanos outside 0..999999999, or messages nest deeper than CP_JSON_MAX_DEPTH.
 *  On failure *out is NULL. THREAD SAFETY: see the top of this header. */
int cp_json_encode(const ProtobufCMessage *msg, int flags, char **out, size_t *out_len,
                   cp_err_t *err);

/** Decodes the JSON text (len bytes, need not be NUL-terminated) into a new message of type desc.
 *  On success *out is a message allocated with malloc exactly as protobuf-c's unpacker does; the
 * caller frees it with protobuf_c_message_free_unpacked(*out, NULL). Errors: CP_ETOOBIG when len >
 * CP_JSON_MAX_SIZE; CP_EINVAL for invalid JSON ("invalid JSON at line L column C: ..."), duplicate
 * keys, a top-level value that is not an object ("document is not an object"; a Timestamp expects a
 * string), or any field that does not fit its type (the message names the field path). On failure
 * *out is NULL and nothing leaks. THREAD SAFETY: see the top. */
int cp_json_decode(const ProtobufCMessageDescriptor *desc, const char *text, size_t len, int flags,
                   ProtobufCMessage **out, cp_err_t *err);

/** Like cp_json_encode, but returns the jansson value: a new reference the caller releases with
 *  json_decref(), or NULL on failure (err says why). THREAD SAFETY: see the top of this header. */
json_t *cp_json_to_jansson(const ProtobufCMessage *msg, int flags, cp_err_t *err);

/** Like cp_json_decode, but from a jansson value, which is only borrowed:
 *  read, never modified or released (it is not const because jansson's object iterators are not).
 *  Strings containing NUL (possible with JSON_ALLOW_NUL or json_stringn) are rejected for string
 *  fields. Same ownership of *out, same errors except CP_ETOOBIG and syntax errors.
 *  THREAD SAFETY: see the top of this header. */
int cp_json_from_jansson(const ProtobufCMessageDescriptor *desc, json_t *value, int flags,
                         ProtobufCMessage **out, cp_err_t *err);

#endif
