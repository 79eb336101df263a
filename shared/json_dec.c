/* SPDX-License-Identifier: Apache-2.0 */
/* json_dec.c - proto3 JSON codec: jansson value to protobuf-c message */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "shared/base64.h"
#include "shared/clock.h"
#include "shared/json_dec.h"
#include "shared/json_util.h"
#include "shared/mem.h"

/* Every decoder below writes its destination only on success, so a failure leaves the message in a
 * state protobuf_c_message_free_unpacked() frees completely: each field holds either its init value
 * (static defaults, never freed) or memory from malloc that the message owns. */

static int dec_value(cp_json__ctx_t *c, const ProtobufCFieldDescriptor *f, json_t *v, int depth,
                     void *dst);

static void *member_at(ProtobufCMessage *m, unsigned offset)
{
    return (char *)m + offset;
}

/* An integer from JSON before its range check: sign and magnitude cover int64 and uint64 alike. */
typedef struct {
    int neg;
    uint64_t mag;
} bigint_t;

/* Parses "-?[0-9]+" exactly; 1 when it overflows 64 bits, -1 when it is not an integer. */
static int parse_decimal(const char *s, bigint_t *out)
{
    out->neg = *s == '-';
    const char *digits = s + out->neg;
    if (*digits < '0' || *digits > '9' || strspn(digits, "0123456789") != strlen(digits))
        return -1;
    errno = 0;
    out->mag = strtoull(digits, NULL, 10);
    return errno == ERANGE ? 1 : 0;
}

static int json_to_bigint(cp_json__ctx_t *c, json_t *v, bigint_t *out, const char *type)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        out->neg = i < 0;
        out->mag = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != trunc(d))
            return cp_json__fail(c, CP_EINVAL, "value is not an integer");
        if (fabs(d) >= 18446744073709551616.0)
            return cp_json__fail(c, CP_EINVAL, "value out of range for %s", type);
        out->neg = d < 0;
        out->mag = (uint64_t)fabs(d);
        return 0;
    }
    if (!json_is_string(v))
        return cp_json__fail(c, CP_EINVAL, "expected integer");
    const char *s = json_string_value(v);
    int rc = strlen(s) == json_string_length(v) ? parse_decimal(s, out) : -1;
    if (rc < 0)
        return cp_json__fail(c, CP_EINVAL, "invalid integer \"%s\"", s);
    if (rc > 0)
        return cp_json__fail(c, CP_EINVAL, "value out of range for %s", type);
    return 0;
}

/* Range-checks n for type and stores it in the 4- or 8-byte dst. */
static int store_int(cp_json__ctx_t *c, ProtobufCType type, const bigint_t *n, void *dst)
{
    int wide = cp_json__value_size(type) == sizeof(uint64_t);
    int is_unsigned = type == PROTOBUF_C_TYPE_UINT32 || type == PROTOBUF_C_TYPE_FIXED32 ||
                      type == PROTOBUF_C_TYPE_UINT64 || type == PROTOBUF_C_TYPE_FIXED64;
    uint64_t max =
        wide ? (is_unsigned ? UINT64_MAX : INT64_MAX) : (is_unsigned ? UINT32_MAX : INT32_MAX);
    /* The most negative value has a magnitude one larger than the largest positive one. */
    uint64_t limit = !n->neg ? max : is_unsigned ? 0 : max + 1;
    if (n->mag > limit)
        return cp_json__fail(c, CP_EINVAL, "value out of range for %s", cp_json__type_name(type));
    if (is_unsigned && wide)
        *(uint64_t *)dst = n->mag;
    else if (is_unsigned)
        *(uint32_t *)dst = (uint32_t)n->mag;
    else if (wide)
        *(int64_t *)dst = !n->neg                             ? (int64_t)n->mag
                          : n->mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN
                                                              : -(int64_t)n->mag;
    else
        *(int32_t *)dst = n->neg ? (int32_t)(-(int64_t)n->mag) : (int32_t)n->mag;
    return 0;
}

static int dec_int(cp_json__ctx_t *c, ProtobufCType type, json_t *v, void *dst)
{
    bigint_t n;
    int rc = json_to_bigint(c, v, &n, cp_json__type_name(type));
    return rc != 0 ? rc : store_int(c, type, &n, dst);
}

/* A JSON number in a string: "-?digits[.digits][(e|E)[+-]digits]", nothing around it. */
static int parse_number(const char *s, double *out)
{
    const char *p = s + (*s == '-');
    size_t n = strspn(p, "0123456789");
    if (n == 0)
        return -1;
    p += n;
    if (*p == '.') {
        n = strspn(++p, "0123456789");
        if (n == 0)
            return -1;
        p += n;
    }
    if (*p == 'e' || *p == 'E') {
        p += (p[1] == '+' || p[1] == '-') ? 2 : 1;
        n = strspn(p, "0123456789");
        if (n == 0)
            return -1;
        p += n;
    }
    if (*p != '\0')
        return -1;
    *out = strtod(s, NULL);
    return 0;
}

static int dec_float(cp_json__ctx_t *c, ProtobufCType type, json_t *v, void *dst)
{
    double d;
    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "NaN") == 0)
            d = NAN;
        else if (strcmp(s, "Infinity") == 0)
            d = INFINITY;
        else if (strcmp(s, "-Infinity") == 0)
            d = -INFINITY;
        else if (strlen(s) != json_string_length(v) || parse_number(s, &d) != 0)
            return cp_json__fail(c, CP_EINVAL, "invalid number \"%s\"", s);
        else if (isinf(d))
            return cp_json__fail(c, CP_EINVAL, "value out of range for double");
    } else {
        return cp_json__fail(c, CP_EINVAL, "expected number");
    }
    if (type == PROTOBUF_C_TYPE_DOUBLE) {
        *(double *)dst = d;
        return 0;
    }
    if (isfinite(d) && fabs(d) > FLT_MAX)
        return cp_json__fail(c, CP_EINVAL, "value out of range for float");
    *(float *)dst = (float)d;
    return 0;
}

/* The string of v when it is a string without NUL bytes (which C strings cannot hold); else NULL.
 */
static const char *plain_string(json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    return strlen(s) == json_string_length(v) ? s : NULL;
}

static int dec_enum(cp_json__ctx_t *c, const ProtobufCFieldDescriptor *f, json_t *v, void *dst)
{
    if (json_is_integer(v)) {
        /* proto3 enums are open: any int32 is kept, named or not. */
        bigint_t n;
        json_to_bigint(c, v, &n, "enum");
        return store_int(c, PROTOBUF_C_TYPE_INT32, &n, dst);
    }
    if (!json_is_string(v))
        return cp_json__fail(c, CP_EINVAL, "expected enum name or integer");
    const char *s = plain_string(v);
    const ProtobufCEnumValue *ev =
        s != NULL ? protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, s) : NULL;
    if (ev == NULL)
        return cp_json__fail(c, CP_EINVAL, "unknown enum value \"%s\"", json_string_value(v));
    *(int32_t *)dst = ev->value;
    return 0;
}

static int dec_string(cp_json__ctx_t *c, json_t *v, void *dst)
{
    if (!json_is_string(v))
        return cp_json__fail(c, CP_EINVAL, "expected string");
    if (plain_string(v) == NULL)
        return cp_json__fail(c, CP_EINVAL, "string contains NUL");
    /* Always a fresh copy, even for "": protobuf_c_message_free_unpacked() frees every string that
     * is not the field's default pointer, and an element of a repeated field is freed
     * unconditionally. */
    size_t len = json_string_length(v);
    char *s = cp_xmalloc(len + 1);
    memcpy(s, json_string_value(v), len + 1);
    *(char **)dst = s;
    return 0;
}

static int dec_bytes(cp_json__ctx_t *c, json_t *v, void *dst)
{
    if (!json_is_string(v))
        return cp_json__fail(c, CP_EINVAL, "expected base64 string");
    ProtobufCBinaryData *b = dst;
    uint8_t *data = NULL;
    size_t len = 0;
    if (cp_base64_decode(json_string_value(v), json_string_length(v), 0, &data, &len) != 0)
        return cp_json__fail(c, CP_EINVAL, "invalid base64");
    b->data = data;
    b->len = len;
    return 0;
}

static int dec_timestamp(cp_json__ctx_t *c, const ProtobufCMessageDescriptor *desc, json_t *v,
                         ProtobufCMessage **out)
{
    if (!json_is_string(v))
        return cp_json__fail(c, CP_EINVAL, "expected RFC 3339 timestamp string");
    int64_t seconds;
    int32_t nanos;
    if (cp_clock_rfc3339_parse(json_string_value(v), json_string_length(v), &seconds, &nanos) != 0)
        return cp_json__fail(c, CP_EINVAL, "invalid timestamp \"%s\"", json_string_value(v));
    Google__Protobuf__Timestamp *ts = cp_xmalloc(desc->sizeof_message);
    protobuf_c_message_init(desc, ts);
    ts->seconds = seconds;
    ts->nanos = nanos;
    *out = &ts->base;
    return 0;
}

static int dec_value(cp_json__ctx_t *c, const ProtobufCFieldDescriptor *f, json_t *v, int depth,
                     void *dst)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
        return cp_json__dec_message(c, f->descriptor, v, depth, dst);
    case PROTOBUF_C_TYPE_ENUM:
        return dec_enum(c, f, v, dst);
    case PROTOBUF_C_TYPE_STRING:
        return dec_string(c, v, dst);
    case PROTOBUF_C_TYPE_BYTES:
        return dec_bytes(c, v, dst);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return cp_json__fail(c, CP_EINVAL, "expected boolean");
        *(protobuf_c_boolean *)dst = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return dec_float(c, f->type, v, dst);
    default:
        return dec_int(c, f->type, v, dst);
    }
}

static int dec_array(cp_json__ctx_t *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                     json_t *v, int depth)
{
    if (!json_is_array(v))
        return cp_json__fail(c, CP_EINVAL, "expected array");
    if (depth > CP_JSON_MAX_DEPTH)
        return cp_json__fail(c, CP_EINVAL, "nesting too deep");
    size_t n = json_array_size(v), size = cp_json__value_size(f->type);
    if (n == 0)
        return 0;
    size_t *count = member_at(m, f->quantifier_offset);
    char *arr = cp_xcalloc(n, size);
    *(void **)member_at(m, f->offset) = arr;
    /* The count grows with each decoded element, so the freer sees only complete ones. */
    for (size_t i = 0; i < n; i++) {
        size_t old = cp_json__path_index(c, i);
        int rc = dec_value(c, f, json_array_get(v, i), depth + 1, arr + i * size);
        cp_json__path_pop(c, old);
        if (rc != 0)
            return rc;
        (*count)++;
    }
    return 0;
}

/* A map key is a JSON object key; bools and integers are written as their decimal text. */
static int dec_map_key(cp_json__ctx_t *c, const ProtobufCFieldDescriptor *kf, const char *key,
                       void *dst)
{
    if (kf->type == PROTOBUF_C_TYPE_STRING) {
        size_t len = strlen(key);
        char *s = cp_xmalloc(len + 1);
        memcpy(s, key, len + 1);
        *(char **)dst = s;
        return 0;
    }
    if (kf->type == PROTOBUF_C_TYPE_BOOL) {
        if (strcmp(key, "true") != 0 && strcmp(key, "false") != 0)
            return cp_json__fail(c, CP_EINVAL, "invalid map key");
        *(protobuf_c_boolean *)dst = strcmp(key, "true") == 0;
        return 0;
    }
    bigint_t n;
    int rc = parse_decimal(key, &n);
    if (rc < 0)
        return cp_json__fail(c, CP_EINVAL, "invalid map key");
    if (rc > 0)
        return cp_json__fail(c, CP_EINVAL, "value out of range for %s",
                             cp_json__type_name(kf->type));
    return store_int(c, kf->type, &n, dst);
}

static int dec_map(cp_json__ctx_t *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                   json_t *v, int depth)
{
    if (!json_is_object(v))
        return cp_json__fail(c, CP_EINVAL, "expected object");
    if (depth > CP_JSON_MAX_DEPTH)
        return cp_json__fail(c, CP_EINVAL, "nesting too deep");
    size_t n = json_object_size(v);
    if (n == 0)
        return 0;
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    size_t *count = member_at(m, f->quantifier_offset);
    ProtobufCMessage **arr = cp_xcalloc(n, sizeof *arr);
    *(ProtobufCMessage ***)member_at(m, f->offset) = arr;
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        /* The entry belongs to m from the start, so a failure below frees it with m. */
        ProtobufCMessage *e = cp_xmalloc(ed->sizeof_message);
        protobuf_c_message_init(ed, e);
        arr[(*count)++] = e;
        size_t old = cp_json__path_key(c, key);
        int rc = dec_map_key(c, kf, key, member_at(e, kf->offset));
        if (rc == 0)
            rc = dec_value(c, vf, val, depth + 1, member_at(e, vf->offset));
        cp_json__path_pop(c, old);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Whether v holds containers nested past the limit (v itself being at level depth). */
static int too_deep(json_t *v, int depth)
{
    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (depth > CP_JSON_MAX_DEPTH)
        return 1;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (too_deep(json_array_get(v, i), depth + 1))
                return 1;
        return 0;
    }
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        if (too_deep(val, depth + 1))
            return 1;
    }
    return 0;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
                                                  const char *key)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, key);
    for (unsigned i = 0; f == NULL && i < desc->n_fields; i++)
        if (cp_json__camel_eq(desc->fields[i].name, key))
            f = &desc->fields[i];
    return f;
}

/* The key that selected the member of f's oneof that is already set, or NULL. seen[i] is the key
 * given for fields[i]. */
static const char *oneof_rival(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                               const char **seen)
{
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    uint32_t selected = *(uint32_t *)member_at(m, f->quantifier_offset);
    for (unsigned i = 0; selected != 0 && i < desc->n_fields; i++)
        if (desc->fields[i].id == selected)
            return seen[i];
    return NULL;
}

static int dec_field(cp_json__ctx_t *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
                     const char **seen, const char *key, json_t *v, int depth)
{
    size_t idx = (size_t)(f - m->descriptor->fields);
    if (seen[idx] != NULL)
        return cp_json__fail(c, CP_EINVAL, "field given twice (also as \"%s\")", seen[idx]);
    seen[idx] = key;
    if (json_is_null(v))
        return 0; /* null means "not set"; a oneof member given as null does not select it */
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return cp_json__is_map(f) ? dec_map(c, m, f, v, depth + 1)
                                  : dec_array(c, m, f, v, depth + 1);
    int is_oneof = (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
    const char *rival = is_oneof ? oneof_rival(m, f, seen) : NULL;
    if (rival != NULL)
        return cp_json__fail(c, CP_EINVAL, "oneof already set by \"%s\"", rival);
    int rc = dec_value(c, f, v, depth + 1, member_at(m, f->offset));
    if (rc != 0)
        return rc;
    if (is_oneof)
        *(uint32_t *)member_at(m, f->quantifier_offset) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)member_at(m, f->quantifier_offset) = 1;
    return 0;
}

static int dec_fields(cp_json__ctx_t *c, ProtobufCMessage *m, json_t *obj, int depth)
{
    const ProtobufCMessageDescriptor *desc = m->descriptor;
    const char **seen = cp_xcalloc(desc->n_fields, sizeof *seen);
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const ProtobufCFieldDescriptor *f = find_field(desc, key);
        size_t old = cp_json__path_name(c, key);
        if (f != NULL)
            rc = dec_field(c, m, f, seen, key, v, depth);
        else if (!(c->flags & CP_JSON_IGNORE_UNKNOWN))
            rc = cp_json__fail(c, CP_EINVAL, "unknown field");
        else if (too_deep(v, depth + 1))
            rc = cp_json__fail(c, CP_EINVAL, "nesting too deep");
        cp_json__path_pop(c, old);
        if (rc != 0)
            break;
    }
    free(seen);
    return rc;
}

int cp_json__dec_message(cp_json__ctx_t *c, const ProtobufCMessageDescriptor *desc, json_t *v,
                         int depth, ProtobufCMessage **out)
{
    if (cp_json__is_timestamp(desc))
        return dec_timestamp(c, desc, v, out);
    if (!json_is_object(v))
        return cp_json__fail(c, CP_EINVAL, "expected object");
    if (depth > CP_JSON_MAX_DEPTH)
        return cp_json__fail(c, CP_EINVAL, "nesting too deep");
    ProtobufCMessage *m = cp_xmalloc(desc->sizeof_message);
    protobuf_c_message_init(desc, m);
    int rc = dec_fields(c, m, v, depth);
    if (rc != 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return 0;
}
