/* SPDX-License-Identifier: Apache-2.0 */
/* service.c - the service core: lifetime, the RPC table, scope checks and shared helpers */
#include "controller/service/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "controller/service/service_internal.h"
#include "controller/service/validate.h"
#include "controller/store/certrec.h"
#include "shared/log.h"
#include "shared/mem.h"

/* ---- the RPC table -------------------------------------------------------------------------- */

#define RPC(name_, in_, out_, scopes_, fn_)                                                        \
    {                                                                                              \
#name_, "/certplane.v1.Certificates/" #name_, &certplane__v1__##in_##__descriptor,         \
            &certplane__v1__##out_##__descriptor, scopes_, fn_                                     \
    }

const ctl_rpc_t ctl_service_rpcs[] = {
    RPC(CreateCertificate, create_certificate_request, certificate, CTL_SCOPE_ADMIN,
        ctl_service__create),
    RPC(GetCertificate, get_certificate_request, certificate, CTL_SCOPE_READ, ctl_service__get),
    RPC(ListCertificates, list_certificates_request, list_certificates_response, CTL_SCOPE_READ,
        ctl_service__list),
    RPC(DeleteCertificate, delete_certificate_request, delete_certificate_response, CTL_SCOPE_ADMIN,
        ctl_service__delete),
    RPC(RenewCertificate, renew_certificate_request, certificate, CTL_SCOPE_ADMIN,
        ctl_service__renew),
    RPC(RevokeCertificate, revoke_certificate_request, certificate, CTL_SCOPE_ADMIN,
        ctl_service__revoke),
    RPC(ImportCertificate, import_certificate_request, certificate, CTL_SCOPE_ADMIN,
        ctl_service__import),
    RPC(ReportEdgeStatus, report_edge_status_request, report_edge_status_response, CTL_SCOPE_EDGE,
        ctl_service__report_edge),
    RPC(ListEdges, list_edges_request, list_edges_response, CTL_SCOPE_READ,
        ctl_service__list_edges),
};
const size_t ctl_service_n_rpcs = sizeof ctl_service_rpcs / sizeof ctl_service_rpcs[0];

const ctl_rpc_t *ctl_service_rpc_by_path(const char *grpc_path)
{
    for (size_t i = 0; grpc_path != NULL && i < ctl_service_n_rpcs; i++)
        if (strcmp(ctl_service_rpcs[i].grpc_path, grpc_path) == 0)
            return &ctl_service_rpcs[i];
    return NULL;
}

const ctl_rpc_t *ctl_service_rpc_by_name(const char *name)
{
    for (size_t i = 0; name != NULL && i < ctl_service_n_rpcs; i++)
        if (strcmp(ctl_service_rpcs[i].name, name) == 0)
            return &ctl_service_rpcs[i];
    return NULL;
}

static const char *scope_name(unsigned scopes)
{
    return scopes == CTL_SCOPE_ADMIN ? "admin" : scopes == CTL_SCOPE_EDGE ? "edge" : "read";
}

int ctl_service_invoke(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                       const ctl_rpc_t *rpc, const ProtobufCMessage *req, ProtobufCMessage **resp,
                       cp_err_t *err)
{
    cp_err_t local = {0};
    int rc;
    *resp = NULL;
    if (err == NULL)
        err = &local;
    if (rpc == NULL || req == NULL || req->descriptor != rpc->input)
        return cp_err_set(err, CP_EINVAL, "request does not match the method");
    if ((caller->scopes & rpc->scopes) != rpc->scopes)
        return cp_err_set(err, CP_EPERM, "permission denied: %s needs the %s scope", rpc->name,
                          scope_name(rpc->scopes));
    rc = rpc->call(svc, t, caller, req, resp, err);
    if (rc != 0) {
        /* A half-built response never reaches a transport. */
        protobuf_c_message_free_unpacked(*resp, NULL);
        *resp = NULL;
        int lvl = rc == CP_EUNAVAIL || rc == CP_EINTERNAL ? CP_LOG_WARN : CP_LOG_DEBUG;
        CP_LOG(lvl, "service", "%s by %s from %s: %s: %s", rpc->name, caller->token_id,
               caller->peer, cp_errname(rc), err->msg);
    }
    return rc;
}

/* ---- lifetime ------------------------------------------------------------------------------- */

int ctl_service_new(const ctl_config_t *cfg, ctl_service_t **out, cp_err_t *err)
{
    ctl_service_t *svc = cp_xcalloc(1, sizeof *svc);
    ctl_store_t *probe = NULL;
    int rc;

    svc->cfg = cfg;
    svc->store_opts.events_maxlen = cfg->events_max;
    pthread_rwlock_init(&svc->tokens_lock, NULL);
    rc = ctl_service__tokens_load(svc, err);
    if (rc != 0)
        goto out;
    /* The URL is checked once here, so ctl_thread_new() cannot fail later. */
    rc = ctl_store_new(cfg->redis_url, &svc->store_opts, &probe, err);
    if (rc != 0)
        goto out;
    rc = ctl_relay_new(cfg->redis_url, &svc->store_opts, &svc->relay, err);
    if (rc == 0) {
        svc->cache = ctl_certcache_new(0);
        ctl_relay_set_cache(svc->relay, svc->cache);
    }
out:
    ctl_store_free(probe);
    if (rc != 0) {
        ctl_service_free(svc);
        svc = NULL;
    }
    *out = svc;
    return rc;
}

int ctl_service_start(ctl_service_t *svc, cp_err_t *err)
{
    return ctl_relay_start(svc->relay, err);
}

void ctl_service_stop(ctl_service_t *svc)
{
    if (svc == NULL || svc->relay == NULL)
        return;
    ctl_relay_free(svc->relay);
    svc->relay = NULL;
}

void ctl_service_free(ctl_service_t *svc)
{
    if (svc == NULL)
        return;
    ctl_service_stop(svc);
    ctl_certcache_free(svc->cache);
    free(svc->tokens.v);
    pthread_rwlock_destroy(&svc->tokens_lock);
    free(svc);
}

ctl_thread_t *ctl_thread_new(ctl_service_t *svc)
{
    ctl_thread_t *t = cp_xcalloc(1, sizeof *t);
    t->svc = svc;
    if (ctl_store_new(svc->cfg->redis_url, &svc->store_opts, &t->store, NULL) != 0) {
        free(t); /* cannot happen: ctl_service_new() checked the URL */
        return NULL;
    }
    return t;
}

void ctl_thread_free(ctl_thread_t *t)
{
    if (t == NULL)
        return;
    ctl_store_free(t->store);
    free(t);
}

bool ctl_service_ready(ctl_service_t *svc, ctl_thread_t *t)
{
    (void)svc;
    return t != NULL && ctl_store_ping(t->store, NULL) == 0;
}

/* ---- helpers -------------------------------------------------------------------------------- */

void ctl_service__set_string(char **field, const char *value)
{
    if (*field != NULL && *field != protobuf_c_empty_string)
        free(*field);
    *field = value[0] != '\0' ? cp_xstrdup(value) : (char *)protobuf_c_empty_string;
}

int64_t ctl_service__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Google__Protobuf__Timestamp *ctl_service__timestamp(int64_t ms)
{
    Google__Protobuf__Timestamp *ts = cp_xcalloc(1, sizeof *ts);
    google__protobuf__timestamp__init(ts);
    ts->seconds = ms / 1000;
    ts->nanos = (int32_t)(ms % 1000) * 1000000;
    return ts;
}

Certplane__V1__Certificate *ctl_service__cert_dup(const Certplane__V1__Certificate *c)
{
    size_t n = protobuf_c_message_get_packed_size(&c->base);
    uint8_t *buf = cp_xcalloc(n, 1);
    protobuf_c_message_pack(&c->base, buf);
    Certplane__V1__Certificate *d = certplane__v1__certificate__unpack(NULL, n, buf);
    free(buf);
    if (d == NULL) {
        fputs("ctl_service: out of memory\n", stderr);
        abort();
    }
    return d;
}

void ctl_service__strip_key(Certplane__V1__Certificate *c)
{
    if (c->private_key_pem != NULL && c->private_key_pem != protobuf_c_empty_string) {
        OPENSSL_cleanse(c->private_key_pem, strlen(c->private_key_pem));
        free(c->private_key_pem);
    }
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
    char *json = NULL;
    size_t len = 0;
    int rc = ctl_store_cert_get(t->store, name, &json, &len, err);
    *out = NULL;
    if (rc == CP_ENOTFOUND)
        return cp_err_set(err, CP_ENOTFOUND, "certificate \"%s\" not found", name);
    if (rc != 0)
        return ctl_service__store_fail(rc, err);
    rc = ctl_certrec_decode(name, json, len, out, err);
    free(json);
    if (rc != 0) {
        if (err != NULL)
            err->code = CP_EINTERNAL;
        rc = CP_EINTERNAL;
    }
    return rc;
}

int ctl_service__cert_store(ctl_thread_t *t, Certplane__V1__Certificate *c, int mode,
                            int64_t expected, double renew_at, const char *job, cp_err_t *err)
{
    char *json = NULL;
    size_t len = 0;
    int64_t rev = 0;
    int rc = ctl_certrec_encode(c, &json, &len, err);
    if (rc != 0)
        return rc; /* CP_EINVAL: a string that is not UTF-8, named by the codec */
    ctl_store_cert_write_t w = {.name = c->name,
                                .json = json,
                                .json_len = len,
                                .mode = mode,
                                .expected_revision = expected,
                                .renew_at = renew_at,
                                .job_kind = job};
    rc = ctl_store_cert_put(t->store, &w, &rev, err);
    /* Read-your-writes on this controller: the old value leaves the cache before the caller hears
     * back (also on failure: the write may have happened before a connection broke). */
    ctl_certcache_invalidate(t->svc->cache, c->name);
    if (json != NULL)
        OPENSSL_cleanse(json, len); /* it holds the private key */
    free(json);
    if (rc == CP_EEXIST)
        return cp_err_set(err, CP_EEXIST, "certificate \"%s\" already exists", c->name);
    if (rc == CP_ENOTFOUND)
        return cp_err_set(err, CP_ENOTFOUND, "certificate \"%s\" not found", c->name);
    if (rc != 0)
        return rc == CP_ECONFLICT ? rc : ctl_service__store_fail(rc, err);
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

double ctl_service__renew_at(const ctl_service_t *svc, int64_t nb, int64_t na)
{
    int64_t life = na - nb;
    int64_t before = life < 10 * 86400 ? life / 2 : life / 3;
    if (svc->cfg->renew_before_ms > 0)
        before = svc->cfg->renew_before_ms / 1000;
    return (double)(na - before);
}
