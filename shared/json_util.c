/* SPDX-License-Identifier: Apache-2.0 */
/* json_util.c - helpers of the proto3 JSON codec's encoder and decoder: error paths, names, types
 */
#include "shared/json_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
