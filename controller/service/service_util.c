/* SPDX-License-Identifier: Apache-2.0 */
/* service_util.c - helpers every RPC file of the service core uses: time, messages, errors, records
 */
#include "controller/service/service_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "controller/service/validate.h"
#include "shared/mem.h"

/* Longest edge identity: a DNS name's length. */
#define EDGE_ID_MAX 253

void ctl_service__set_string(char **field, const char *value)
{
    if (*field != NULL && *field != protobuf_c_empty_string)
        free(*field);
    *field = value[0] != '\0' ? cp_xstrdup(value) : (char *)protobuf_c_empty_string;
}

Certplane__V1__Certificate *ctl_service__cert_dup(const Certplane__V1__Certificate *c)
{
    size_t n = protobuf_c_message_get_packed_size(&c->base);
    uint8_t *buf = cp_xcalloc(n, 1);
    protobuf_c_message_pack(&c->base, buf);
    /* Unpacking what we just packed fails only when memory runs out. */
    Certplane__V1__Certificate *d =
        cp_xcheck(certplane__v1__certificate__unpack(NULL, n, buf), "certificate unpack");
    free(buf);
    return d;
}

void ctl_service__strip_key(Certplane__V1__Certificate *c)
{
    if (c->private_key_pem != NULL && c->private_key_pem != protobuf_c_empty_string)
        cp_secure_free_str(c->private_key_pem);
    c->private_key_pem = (char *)protobuf_c_empty_string;
}

/* The store's failures as the client sees them: Redis trouble of any kind is UNAVAILABLE (an AUTH
 * failure is ours, not the caller's), and what a validated request should never meet is INTERNAL.
 */
int ctl_service__store_fail(int rc, cp_err_t *err)
{
    if (rc == CP_EAUTH || rc == CP_EIO) {
        if (err != NULL)
            err->code = CP_EUNAVAIL;
        return CP_EUNAVAIL;
    }
    if (rc == CP_EINVAL || rc == CP_ESTATE || rc == CP_EPROTO) {
        cp_err_prefix(err, "storage");
        if (err != NULL)
            err->code = CP_EINTERNAL;
        return CP_EINTERNAL;
    }
    return rc;
}

int ctl_service__cert_load(ctl_thread_t *t, const char *name, Certplane__V1__Certificate **out,
                           cp_err_t *err)
{
    int rc = ctl_certrepo_load(&t->repo, name, out, err);
    if (rc == CP_EINVAL) {
        /* The name was validated: the record itself is not a certificate. */
        if (err != NULL)
            err->code = CP_EINTERNAL;
        return CP_EINTERNAL;
    }
    return rc == CP_ENOTFOUND ? rc : ctl_service__store_fail(rc, err);
}

int ctl_service__cert_store(ctl_thread_t *t, Certplane__V1__Certificate *c,
                            const ctl_certrepo_write_t *w, cp_err_t *err)
{
    int64_t rev = 0;
    int rc = ctl_certrepo_put(&t->repo, c, w, &rev, err);
    if (rc == CP_EEXIST || rc == CP_ENOTFOUND || rc == CP_ECONFLICT)
        return rc;
    if (rc != 0)
        return ctl_service__store_fail(rc, err);
    c->revision = rev;
    return 0;
}

int ctl_service__check_name(const char *field, const char *name, cp_err_t *err)
{
    int rc = ctl_validate_cert_name(name != NULL ? name : "", err);
    if (rc != 0)
        cp_err_prefix(err, "%s", field);
    return rc;
}

int ctl_service__check_edge_id(const char *id, cp_err_t *err)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0)
        return cp_err_set(err, CP_EINVAL, "edge_id: required");
    if (n > EDGE_ID_MAX)
        return cp_err_set(err, CP_EINVAL, "edge_id: longer than %d characters", EDGE_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return cp_err_set(err, CP_EINVAL, "edge_id: only letters, digits, '.', '_' and '-'");
    }
    return 0;
}

int ctl_service__update(ctl_thread_t *t, const char *name,
                        int (*once)(ctl_thread_t *t, Certplane__V1__Certificate *c, void *ctx,
                                    cp_err_t *err),
                        void *ctx, ProtobufCMessage **resp, cp_err_t *err)
{
    Certplane__V1__Certificate *c = NULL;
    int rc = CP_ECONFLICT;
    for (int i = 0; rc == CP_ECONFLICT && i < CTL_SERVICE__RETRIES; i++) {
        if (c != NULL) /* the last try lost a race: read it again */
            protobuf_c_message_free_unpacked(&c->base, NULL);
        c = NULL;
        rc = ctl_service__cert_load(t, name, &c, err);
        if (rc == 0)
            rc = once(t, c, ctx, err);
    }
    if (rc == CP_ECONFLICT)
        cp_err_set(err, CP_ECONFLICT, "certificate \"%s\" keeps changing; retry", name);
    if (rc != 0) {
        protobuf_c_message_free_unpacked(c != NULL ? &c->base : NULL, NULL);
        return rc;
    }
    ctl_service__strip_key(c);
    *resp = &c->base;
    return 0;
}
