/* SPDX-License-Identifier: Apache-2.0 */
/* json.c - proto3 JSON codec: public entry points, error paths, names, Timestamp and base64 */
#include "shared/json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/json_internal.h"
#include "shared/mem.h"

/* ---- error paths ---- */

static size_t path_append(cp_json__ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t path_append(cp_json__ctx_t *c, const char *fmt, ...)
{
    size_t old = c->path_len;
    size_t room = sizeof c->path - old;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->path + old, room, fmt, ap);
    va_end(ap);
    /* A path too long for the buffer is cut; the error message is cut at the same size anyway. */
    if (n < 0)
        c->path[old] = '\0';
    else
        c->path_len = (size_t)n < room ? old + (size_t)n : sizeof c->path - 1;
    return old;
}

size_t cp_json__path_name(cp_json__ctx_t *c, const char *name)
{
    return path_append(c, c->path_len == 0 ? "%s" : ".%s", name);
}

size_t cp_json__path_index(cp_json__ctx_t *c, size_t i)
{
    return path_append(c, "[%zu]", i);
}

size_t cp_json__path_key(cp_json__ctx_t *c, const char *key)
{
    return path_append(c, "[\"%s\"]", key);
}

void cp_json__path_pop(cp_json__ctx_t *c, size_t len)
{
    c->path_len = len;
    c->path[len] = '\0';
}

int cp_json__fail(cp_json__ctx_t *c, int code, const char *fmt, ...)
{
    char msg[CP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->path_len == 0)
        return cp_err_set(c->err, code, "%s", msg);
    return cp_err_set(c->err, code, "%s: %s", c->path, msg);
}

/* ---- memory ---- */

_Noreturn void cp_json__oom(void)
{
    fputs("cp_json: out of memory\n", stderr);
    abort();
}

/* ---- names and types ---- */

/* protoc's ToJsonName: drop each '_' and upper-case the letter after it; nothing else changes. */
static char camel_char(char ch, int upper)
{
    return upper && ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
}

char *cp_json__camel_dup(const char *name)
{
    char *out = cp_xmalloc(strlen(name) + 1);
    size_t n = 0;
    int upper = 0;
    for (; *name != '\0'; name++) {
        if (*name == '_') {
            upper = 1;
            continue;
        }
        out[n++] = camel_char(*name, upper);
        upper = 0;
    }
    out[n] = '\0';
    return out;
}

int cp_json__camel_eq(const char *name, const char *key)
{
    int upper = 0;
    for (; *name != '\0'; name++) {
        if (*name == '_') {
            upper = 1;
            continue;
        }
        if (*key++ != camel_char(*name, upper))
            return 0;
        upper = 0;
    }
    return *key == '\0';
}

size_t cp_json__value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default: /* int32, sint32, sfixed32, uint32, fixed32 and enums */
        return sizeof(int32_t);
    }
}

const char *cp_json__type_name(ProtobufCType type)
{
    static const char *const names[] = {
        [PROTOBUF_C_TYPE_INT32] = "int32",       [PROTOBUF_C_TYPE_SINT32] = "sint32",
        [PROTOBUF_C_TYPE_SFIXED32] = "sfixed32", [PROTOBUF_C_TYPE_INT64] = "int64",
        [PROTOBUF_C_TYPE_SINT64] = "sint64",     [PROTOBUF_C_TYPE_SFIXED64] = "sfixed64",
        [PROTOBUF_C_TYPE_UINT32] = "uint32",     [PROTOBUF_C_TYPE_FIXED32] = "fixed32",
        [PROTOBUF_C_TYPE_UINT64] = "uint64",     [PROTOBUF_C_TYPE_FIXED64] = "fixed64",
        [PROTOBUF_C_TYPE_FLOAT] = "float",       [PROTOBUF_C_TYPE_DOUBLE] = "double",
        [PROTOBUF_C_TYPE_BOOL] = "bool",         [PROTOBUF_C_TYPE_ENUM] = "enum",
        [PROTOBUF_C_TYPE_STRING] = "string",     [PROTOBUF_C_TYPE_BYTES] = "bytes",
        [PROTOBUF_C_TYPE_MESSAGE] = "message",
    };
    if ((size_t)type < sizeof names / sizeof names[0] && names[type] != NULL)
        return names[type];
    return "unknown";
}

int cp_json__is_map(const ProtobufCFieldDescriptor *f)
{
    /* protobuf-c 1.4.1 keeps no map flag: recognise the shape protoc gives every map<K, V>. */
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return 0;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t n = strlen(d->short_name);
    return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && d->n_fields == 2 &&
           d->fields[0].id == 1 && strcmp(d->fields[0].name, "key") == 0 && d->fields[1].id == 2 &&
           strcmp(d->fields[1].name, "value") == 0;
}

int cp_json__is_timestamp(const ProtobufCMessageDescriptor *desc)
{
    return strcmp(desc->name, "google.protobuf.Timestamp") == 0;
}

/* ---- Timestamp ---- */

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since the epoch. */
#define TS_MIN_SECONDS INT64_C(-62135596800)
#define TS_MAX_SECONDS INT64_C(253402300799)

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int cp_json__ts_format(int64_t seconds, int32_t nanos, char *buf, size_t size)
{
    if (seconds < TS_MIN_SECONDS || seconds > TS_MAX_SECONDS || nanos < 0 || nanos > 999999999)
        return -1;
    int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    int64_t sod = seconds - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, (int)(sod / 3600),
                     (int)(sod / 60 % 60), (int)(sod % 60));
    if (nanos % 1000000 == 0 && nanos != 0)
        n += snprintf(buf + n, size - (size_t)n, ".%03" PRId32, nanos / 1000000);
    else if (nanos % 1000 == 0 && nanos != 0)
        n += snprintf(buf + n, size - (size_t)n, ".%06" PRId32, nanos / 1000);
    else if (nanos != 0)
        n += snprintf(buf + n, size - (size_t)n, ".%09" PRId32, nanos);
    snprintf(buf + n, size - (size_t)n, "Z");
    return 0;
}

/* Reads exactly n digits at *p; returns the number or -1. */
static int ts_digits(const char **p, const char *end, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || **p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

static int ts_expect(const char **p, const char *end, const char *one_of)
{
    if (*p >= end || **p == '\0' || strchr(one_of, **p) == NULL)
        return -1;
    (*p)++;
    return 0;
}

/* Parses the zone at p ("Z" or "+hh:mm"/"-hh:mm", which must end the text) into seconds east of
 * UTC. */
static int ts_zone(const char *p, const char *end, int64_t *east)
{
    if (end - p == 1 && (*p == 'Z' || *p == 'z')) {
        *east = 0;
        return 0;
    }
    if (end - p != 6 || (*p != '+' && *p != '-'))
        return -1;
    int sign = *p++ == '-' ? -1 : 1;
    int hh = ts_digits(&p, end, 2);
    if (hh < 0 || hh > 23 || ts_expect(&p, end, ":") != 0)
        return -1;
    int mm = ts_digits(&p, end, 2);
    if (mm < 0 || mm > 59)
        return -1;
    *east = sign * (hh * 3600 + mm * 60);
    return 0;
}

int cp_json__ts_parse(const char *s, size_t len, int64_t *seconds, int32_t *nanos)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s, *end = s + len;
    int y = ts_digits(&p, end, 4);
    int mo = ts_expect(&p, end, "-") == 0 ? ts_digits(&p, end, 2) : -1;
    int d = ts_expect(&p, end, "-") == 0 ? ts_digits(&p, end, 2) : -1;
    int h = ts_expect(&p, end, "Tt") == 0 ? ts_digits(&p, end, 2) : -1;
    int mi = ts_expect(&p, end, ":") == 0 ? ts_digits(&p, end, 2) : -1;
    int sec = ts_expect(&p, end, ":") == 0 ? ts_digits(&p, end, 2) : -1;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
        sec > 59)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap))
        return -1;
    int32_t ns = 0;
    if (p < end && *p == '.') {
        int digits = 0;
        for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
            if (digits == 9)
                return -1;
            ns = ns * 10 + (*p - '0');
        }
        if (digits == 0)
            return -1;
        for (; digits < 9; digits++)
            ns *= 10;
    }
    int64_t east;
    if (ts_zone(p, end, &east) != 0)
        return -1;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - east;
    if (t < TS_MIN_SECONDS || t > TS_MAX_SECONDS)
        return -1;
    *seconds = t;
    *nanos = ns;
    return 0;
}

/* ---- base64 ---- */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *cp_json__b64_encode(const uint8_t *data, size_t len)
{
    char *out = cp_xmalloc((len + 2) / 3 * 4 + 1);
    char *o = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        *o++ = b64_chars[v >> 18 & 63];
        *o++ = b64_chars[v >> 12 & 63];
        *o++ = i + 1 < len ? b64_chars[v >> 6 & 63] : '=';
        *o++ = i + 2 < len ? b64_chars[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Value of one base64 digit of either alphabet ('+' '/' or '-' '_'), or -1. */
static int b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

int cp_json__b64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
    /* Padding is optional, but when present it must complete the last group of four. */
    size_t n = len;
    if (n > 0 && s[n - 1] == '=')
        n--;
    if (n > 0 && s[n - 1] == '=')
        n--;
    if ((n != len && len % 4 != 0) || n % 4 == 1)
        return -1;
    size_t size = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    uint8_t *buf = size != 0 ? cp_xmalloc(size) : NULL;
    size_t o = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i]);
        if (v < 0) {
            free(buf);
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            buf[o++] = (uint8_t)(acc >> 16);
            buf[o++] = (uint8_t)(acc >> 8);
            buf[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (n % 4 == 2) {
        buf[o++] = (uint8_t)(acc >> 4);
    } else if (n % 4 == 3) {
        buf[o++] = (uint8_t)(acc >> 10);
        buf[o++] = (uint8_t)(acc >> 2);
    }
    *out = buf;
    *out_len = size;
    return 0;
}

/* ---- public API ---- */

json_t *cp_json_to_jansson(const ProtobufCMessage *msg, int flags, cp_err_t *err)
{
    if (msg == NULL) {
        cp_err_set(err, CP_EINVAL, "message is NULL");
        return NULL;
    }
    cp_json__ctx_t c = {.flags = flags, .err = err};
    json_t *out = NULL;
    if (cp_json__enc_message(&c, msg, 1, &out) != 0)
        return NULL;
    return out;
}

int cp_json_encode(const ProtobufCMessage *msg, int flags, char **out, size_t *out_len,
                   cp_err_t *err)
{
    if (out == NULL)
        return cp_err_set(err, CP_EINVAL, "out is NULL");
    *out = NULL;
    if (out_len != NULL)
        *out_len = 0;
    json_t *j = cp_json_to_jansson(msg, flags, err);
    if (j == NULL)
        return err != NULL ? err->code : CP_EINVAL;
    /* Dump into our own malloc'd buffer, so the caller's free() matches even when jansson has been
     * given other allocation functions. */
    const size_t dump_flags = JSON_COMPACT | JSON_ENCODE_ANY;
    size_t n = json_dumpb(j, NULL, 0, dump_flags);
    if (n == 0)
        cp_json__oom();
    char *s = cp_xmalloc(n + 1);
    json_dumpb(j, s, n, dump_flags);
    s[n] = '\0';
    json_decref(j);
    *out = s;
    if (out_len != NULL)
        *out_len = n;
    return 0;
}

int cp_json_from_jansson(const ProtobufCMessageDescriptor *desc, json_t *value, int flags,
                         ProtobufCMessage **out, cp_err_t *err)
{
    if (out == NULL)
        return cp_err_set(err, CP_EINVAL, "out is NULL");
    *out = NULL;
    if (desc == NULL || value == NULL)
        return cp_err_set(err, CP_EINVAL, "descriptor or document is NULL");
    if (!json_is_object(value) && !cp_json__is_timestamp(desc))
        return cp_err_set(err, CP_EINVAL, "document is not an object");
    cp_json__ctx_t c = {.flags = flags, .err = err};
    return cp_json__dec_message(&c, desc, value, 1, out);
}

int cp_json_decode(const ProtobufCMessageDescriptor *desc, const char *text, size_t len, int flags,
                   ProtobufCMessage **out, cp_err_t *err)
{
    if (out == NULL)
        return cp_err_set(err, CP_EINVAL, "out is NULL");
    *out = NULL;
    if (desc == NULL || (text == NULL && len != 0))
        return cp_err_set(err, CP_EINVAL, "descriptor or text is NULL");
    if (len > CP_JSON_MAX_SIZE)
        return cp_err_set(err, CP_ETOOBIG, "document of %zu bytes is larger than %d bytes", len,
                          CP_JSON_MAX_SIZE);
    /* NULs are allowed by the parser so that the field-level check can name the field. */
    json_error_t jerr;
    json_t *root = json_loadb(text != NULL ? text : "", len,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (root == NULL)
        return cp_err_set(err, CP_EINVAL, "invalid JSON at line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
    int rc = cp_json_from_jansson(desc, root, flags, out, err);
    json_decref(root);
    return rc;
}
