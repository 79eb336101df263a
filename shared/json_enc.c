/* SPDX-License-Identifier: Apache-2.0 */
/* json_enc.c - proto3 JSON codec: protobuf-c message to jansson value */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "shared/base64.h"
#include "shared/clock.h"
#include "shared/json_enc.h"
#include "shared/json_util.h"
#include "shared/mem.h"

static int enc_value(cp_json__ctx_t *c, const ProtobufCFieldDescriptor *f, const void *v, int depth,
                     json_t **out);

static const void *member_at(const ProtobufCMessage *m, unsigned offset)
{
    return (const char *)m + offset;
}

/* jansson constructors return NULL only when memory runs out (or for bad UTF-8, checked apart). */
static json_t *must(json_t *j)
{
    if (j == NULL)
        cp_json__oom();
    return j;
}

/* Zero as protobuf-c's packer sees it, so what JSON omits is what the wire format omits. */
static int is_zero(const ProtobufCFieldDescriptor *f, const void *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)v == 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)v == 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)v;
        return s == NULL || *s == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)v)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(const ProtobufCMessage *const *)v == NULL;
    default:
        if (cp_json__value_size(f->type) == sizeof(uint64_t))
            return *(const uint64_t *)v == 0;
        return *(const uint32_t *)v == 0;
    }
}

/* Whether field f of m appears in the output. */
static int is_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, int flags)
{
    const void *v = member_at(m, f->offset);
    int defaults = (flags & CP_JSON_EMIT_DEFAULTS) != 0;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)member_at(m, f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)member_at(m, f->quantifier_offset) != 0 || defaults;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(const ProtobufCMessage *const *)v != NULL; /* an unset message stays absent */
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return 1;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) { /* proto2: has_x, or a non-default pointer */
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            const void *s = *(const void *const *)v;
            return (s != NULL && s != f->default_value) || defaults;
        }
        return *(const protobuf_c_boolean *)member_at(m, f->quantifier_offset) || defaults;
    }
    return !is_zero(f, v) || defaults;
}

static json_t *enc_double(double d)
{
    /* JSON has no NaN or infinities; proto3 JSON spells them as strings. */
    if (isnan(d))
        return must(json_string("NaN"));
    if (isinf(d))
        return must(json_string(d > 0 ? "Infinity" : "-Infinity"));
    return must(json_real(d));
}

static json_t *enc_enum(const ProtobufCFieldDescriptor *f, int32_t v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
    /* proto3 enums are open: a number without a name is kept as a number. */
    return must(ev != NULL ? json_string(ev->name) : json_integer(v));
}

static json_t *enc_int64(ProtobufCType type, const void *v)
{
    char buf[24];
    if (type == PROTOBUF_C_TYPE_UINT64 || type == PROTOBUF_C_TYPE_FIXED64)
        snprintf(buf, sizeof buf, "%" PRIu64, *(const uint64_t *)v);
    else
        snprintf(buf, sizeof buf, "%" PRId64, *(const int64_t *)v);
    return must(json_string(buf));
}

static int enc_string(cp_json__ctx_t *c, const char *s, json_t **out)
{
    if (s == NULL)
        s = "";
    *out = json_stringn(s, strlen(s));
    if (*out == NULL)
        return cp_json__fail(c, CP_EINVAL, "invalid UTF-8");
    return 0;
}

static json_t *enc_bytes(const ProtobufCBinaryData *b)
{
    char *s = cp_base64_encode(b->data, b->len, 0);
    json_t *j = must(json_string(s));
    free(s);
    return j;
}

static int enc_scalar(cp_json__ctx_t *c, const ProtobufCFieldDescriptor *f, const void *v,
                      json_t **out)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *out = must(json_integer(*(const int32_t *)v));
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *out = must(json_integer(*(const uint32_t *)v));
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        *out = enc_double(*(const float *)v);
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        *out = enc_double(*(const double *)v);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        *out = must(json_boolean(*(const protobuf_c_boolean *)v));
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        *out = enc_enum(f, *(const int32_t *)v);
        return 0;
    case PROTOBUF_C_TYPE_STRING:
        return enc_string(c, *(const char *const *)v, out);
    case PROTOBUF_C_TYPE_BYTES:
        *out = enc_bytes(v);
        return 0;
    default: /* the 64-bit integers */
        *out = enc_int64(f->type, v);
        return 0;
    }
}

static int enc_timestamp(cp_json__ctx_t *c, const ProtobufCMessage *m, json_t **out)
{
    const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *)m;
    char buf[64];
    if (cp_clock_rfc3339_format(ts->seconds, ts->nanos, buf, sizeof buf) != 0)
        return cp_json__fail(c, CP_EINVAL, "timestamp out of range (seconds %" PRId64 ", nanos %d)",
                             ts->seconds, (int)ts->nanos);
    *out = must(json_string(buf));
    return 0;
}

/* A NULL element of a repeated or map message field encodes as the empty message of its type. */
static int enc_null_message(cp_json__ctx_t *c, const ProtobufCMessageDescriptor *desc, int depth,
                            json_t **out)
{
    ProtobufCMessage *tmp = cp_xmalloc(desc->sizeof_message);
    protobuf_c_message_init(desc, tmp);
    int rc = cp_json__enc_message(c, tmp, depth, out);
    free(tmp); /* init allocates nothing: defaults are static */
    return rc;
}

static int enc_value(cp_json__ctx_t *c, const ProtobufCFieldDescriptor *f, const void *v, int depth,
                     json_t **out)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE)
        return enc_scalar(c, f, v, out);
    const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)v;
    if (sub == NULL)
        return enc_null_message(c, f->descriptor, depth, out);
    return cp_json__enc_message(c, sub, depth, out);
}

static int enc_array(cp_json__ctx_t *c, const ProtobufCFieldDescriptor *f, size_t n,
                     const char *arr, int depth, json_t **out)
{
    if (depth > CP_JSON_MAX_DEPTH)
        return cp_json__fail(c, CP_EINVAL, "nesting too deep");
    size_t size = cp_json__value_size(f->type);
    json_t *a = must(json_array());
    for (size_t i = 0; i < n; i++) {
        json_t *v = NULL;
        size_t old = cp_json__path_index(c, i);
        int rc = enc_value(c, f, arr + i * size, depth + 1, &v);
        cp_json__path_pop(c, old);
        if (rc != 0) {
            json_decref(a);
            return rc;
        }
        if (json_array_append_new(a, v) != 0)
            cp_json__oom();
    }
    *out = a;
    return 0;
}

/* The JSON object key of a map entry: strings as they are, numbers in decimal, bools as words. */
static int map_key(cp_json__ctx_t *c, const ProtobufCFieldDescriptor *kf, const void *k, char *buf,
                   size_t size, const char **key)
{
    if (kf->type == PROTOBUF_C_TYPE_BOOL) {
        *key = *(const protobuf_c_boolean *)k ? "true" : "false";
        return 0;
    }
    json_t *j = NULL;
    int rc = enc_scalar(c, kf, k, &j); /* also checks that a string key is UTF-8 */
    if (rc != 0)
        return rc;
    if (kf->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(const char *const *)k;
        *key = s != NULL ? s : "";
    } else if (json_is_string(j)) {
        snprintf(buf, size, "%s", json_string_value(j));
        *key = buf;
    } else {
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        *key = buf;
    }
    json_decref(j);
    return 0;
}

static int enc_map(cp_json__ctx_t *c, const ProtobufCFieldDescriptor *f, size_t n,
                   ProtobufCMessage *const *arr, int depth, json_t **out)
{
    if (depth > CP_JSON_MAX_DEPTH)
        return cp_json__fail(c, CP_EINVAL, "nesting too deep");
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    json_t *obj = must(json_object());
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (arr[i] == NULL)
            continue; /* protobuf-c could not pack it either */
        char buf[32];
        const char *key = NULL;
        json_t *v = NULL;
        rc = map_key(c, kf, member_at(arr[i], kf->offset), buf, sizeof buf, &key);
        if (rc != 0)
            break;
        size_t old = cp_json__path_key(c, key);
        rc = enc_value(c, vf, member_at(arr[i], vf->offset), depth + 1, &v);
        cp_json__path_pop(c, old);
        /* A later entry with the same key replaces an earlier one, as in protobuf's own parsers. */
        if (rc == 0 && json_object_set_new(obj, key, v) != 0)
            cp_json__oom();
    }
    if (rc != 0) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

static int enc_field(cp_json__ctx_t *c, const ProtobufCMessage *m,
                     const ProtobufCFieldDescriptor *f, int depth, json_t **out)
{
    const void *v = member_at(m, f->offset);
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return enc_value(c, f, v, depth + 1, out);
    size_t n = *(const size_t *)member_at(m, f->quantifier_offset);
    if (cp_json__is_map(f))
        return enc_map(c, f, n, *(ProtobufCMessage *const *const *)v, depth + 1, out);
    return enc_array(c, f, n, *(const char *const *)v, depth + 1, out);
}

int cp_json__enc_message(cp_json__ctx_t *c, const ProtobufCMessage *m, int depth, json_t **out)
{
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    if (cp_json__is_timestamp(desc))
        return enc_timestamp(c, m, out);
    if (depth > CP_JSON_MAX_DEPTH)
        return cp_json__fail(c, CP_EINVAL, "nesting too deep");
    json_t *obj = must(json_object());
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (!is_present(m, f, c->flags))
            continue;
        char *camel = (c->flags & CP_JSON_ORIG_NAMES) ? NULL : cp_json__camel_dup(f->name);
        const char *key = camel != NULL ? camel : f->name;
        json_t *v = NULL;
        size_t old = cp_json__path_name(c, key);
        int rc = enc_field(c, m, f, depth, &v);
        cp_json__path_pop(c, old);
        if (rc == 0 && json_object_set_new(obj, key, v) != 0)
            cp_json__oom();
        free(camel);
        if (rc != 0) {
            json_decref(obj);
            return rc;
        }
    }
    *out = obj;
    return 0;
}
