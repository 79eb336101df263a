/* SPDX-License-Identifier: Apache-2.0 */
/* service.c - the service core: lifetime, the RPC table, scope checks, the entry points of
 * service.h */
#include "controller/service/service.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/service/relay.h"
#include "controller/service/service_account.h"
#include "controller/service/service_auth.h"
#include "controller/service/service_certs.h"
#include "controller/service/service_edges.h"
#include "controller/service/service_import.h"
#include "controller/service/service_list.h"
#include "controller/service/service_ondemand.h"
#include "controller/service/service_revoke.h"
#include "controller/service/service_types.h"
#include "controller/service/service_watch.h"
#include "controller/service/service_webhooks.h"
#include "controller/store/store_perm.h"
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
    RPC(RolloverAccountKey, rollover_account_key_request, rollover_account_key_response,
        CTL_SCOPE_ADMIN, ctl_service__rollover),
    /* ---- webhooks (issue 16) ---- */
    RPC(CreateWebhook, create_webhook_request, webhook, CTL_SCOPE_ADMIN,
        ctl_service__webhook_create),
    RPC(ListWebhooks, list_webhooks_request, list_webhooks_response, CTL_SCOPE_ADMIN,
        ctl_service__webhook_list),
    RPC(DeleteWebhook, delete_webhook_request, delete_webhook_response, CTL_SCOPE_ADMIN,
        ctl_service__webhook_delete),
    RPC(ListWebhookDeadLetters, list_webhook_dead_letters_request,
        list_webhook_dead_letters_response, CTL_SCOPE_ADMIN, ctl_service__webhook_dead),
    /* ---- end webhooks ---- */
    /* on-demand TLS (issue 14) */
    RPC(RequestOnDemandCertificate, request_on_demand_certificate_request,
        request_on_demand_certificate_response, CTL_SCOPE_EDGE, ctl_service__ondemand),
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

void ctl_service_set_work(ctl_service_t *svc, ctl_work_t *work)
{
    svc->work = work;
}

/* A Redis user without a permission the controller needs stops the start with a message naming
 * it; a Redis not there yet is checked by nobody (the controller waits for it, /readyz 503). */
static int check_permissions(ctl_store_t *probe, cp_err_t *err)
{
    cp_err_t perr = {0};
    int rc = ctl_store_check_permissions(probe, &perr);
    if (rc == CP_EPERM) {
        if (err != NULL)
            *err = perr;
        return rc;
    }
    if (rc != 0)
        CP_LOG(CP_LOG_INFO, "service", "Redis permissions not checked at start: %s", perr.msg);
    return 0;
}

int ctl_service_new(const ctl_config_t *cfg, ctl_service_t **out, cp_err_t *err)
{
    ctl_service_t *svc = cp_xcalloc(1, sizeof *svc);
    ctl_store_t *probe = NULL;
    int rc;

    svc->cfg = cfg;
    svc->store_opts.events_maxlen = cfg->events_max;
    svc->store_opts.keyring = cfg->keyring;
    svc->store_opts.wait_replicas = cfg->redis_wait_replicas;
    svc->store_opts.wait_timeout_ms = (int)cfg->redis_wait_timeout_ms;
    svc->store_opts.sentinel_password = cfg->redis_sentinel_password;
    svc->store_opts.tls = cfg->redis_tls;
    pthread_rwlock_init(&svc->tokens_lock, NULL);
    pthread_mutex_init(&svc->watch_mu, NULL);
    rc = ctl_service__tokens_load(svc, err);
    if (rc == 0)
        rc = ctl_service__ondemand_check_config(cfg, err);
    if (rc != 0)
        goto out;
    /* The URL is checked once here, so ctl_thread_new() cannot fail later. */
    rc = ctl_store_new(cfg->redis_url, &svc->store_opts, &probe, err);
    if (rc != 0)
        goto out;
    rc = check_permissions(probe, err);
    if (rc != 0)
        goto out;
    rc = ctl_relay_new(cfg->redis_url, &svc->store_opts, &svc->relay, err);
    if (rc == 0) {
        svc->cache = ctl_certcache_new(cfg->cert_cache > 0 ? (size_t)cfg->cert_cache : 0);
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
    while (svc->watch_counts != NULL) { /* none left: stopping the relay released every watcher */
        ctl_service__watch_count_t *next = svc->watch_counts->next;
        free(svc->watch_counts);
        svc->watch_counts = next;
    }
    pthread_mutex_destroy(&svc->watch_mu);
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
    t->repo.store = t->store;
    t->repo.cache = svc->cache;
    return t;
}

void ctl_thread_free(ctl_thread_t *t)
{
    if (t == NULL)
        return;
    ctl_store_free(t->store);
    free(t);
}

int ctl_service_challenge_answer(ctl_thread_t *t, const char *token, char **key_authorization)
{
    return ctl_store_challenge_get(t->store, token, key_authorization, NULL);
}

bool ctl_service_ready(ctl_service_t *svc, ctl_thread_t *t)
{
    return t != NULL && svc->relay != NULL && ctl_relay_ready(svc->relay) &&
           ctl_store_ping(t->store, NULL) == 0;
}

/* ---- entry points implemented by the parts -------------------------------------------------- */

const char *ctl_service_bearer(const char *value, size_t len, size_t *token_len)
{
    *token_len = 0;
    if (value == NULL || len <= 7 || strncasecmp(value, "Bearer ", 7) != 0)
        return NULL;
    size_t off = 7;
    while (off < len && value[off] == ' ')
        off++;
    if (off == len)
        return NULL;
    *token_len = len - off;
    return value + off;
}

int ctl_service_authenticate(ctl_service_t *svc, const char *token, const char *peer,
                             ctl_caller_t *caller, cp_err_t *err)
{
    return ctl_service__authenticate(svc, token, peer, caller, err);
}

int ctl_service_reload_tokens(ctl_service_t *svc, size_t *n_tokens, cp_err_t *err)
{
    return ctl_service__tokens_reload(svc, n_tokens, err);
}

int ctl_service_watch(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                      const Certplane__V1__WatchRequest *req, const ctl_watch_sink_t *sink,
                      cp_err_t *err)
{
    return ctl_service__watch(svc, t, caller, req, sink, err);
}
