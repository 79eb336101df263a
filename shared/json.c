/* SPDX-License-Identifier: Apache-2.0 */
/* json.c - proto3 JSON codec: the public entry points (the work is in json_enc.c and json_dec.c) */
#include "shared/json.h"

#include <stdlib.h>

#include "shared/json_dec.h"
#include "shared/json_enc.h"
#include "shared/json_util.h"
#include "shared/mem.h"

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
