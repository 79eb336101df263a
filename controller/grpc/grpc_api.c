/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_api.c - certplane.v1.Certificates and grpc.health.v1.Health on the gRPC transport */
#include "controller/grpc/grpc_api.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/grpc/grpc_server.h"
#include "controller/metrics/metrics.h"
#include "grpc/health/v1/health.pb-c.h"
#include "shared/file.h"
#include "shared/mem.h"
#include "shared/status.h"
#include "shared/x509.h"

/* Largest TLS certificate, key or CA file read. */
#define MAX_PEM_FILE (1 << 20)

#define WATCH_PATH "/certplane.v1.Certificates/Watch"
#define HEALTH_CHECK_PATH "/grpc.health.v1.Health/Check"
#define HEALTH_WATCH_PATH "/grpc.health.v1.Health/Watch"
#define MAX_HEALTH_WATCHERS 64

struct ctl_grpc_api {
    ctl_service_t *svc;
    ctl_grpc_server_t *server;
    ctl_grpc_method_t *methods;
    ctl_thread_t *tick_thread; /* the main thread's store connection, for tick */
    pthread_mutex_t mu;
    ctl_grpc_stream_t *health_watchers[MAX_HEALTH_WATCHERS];
    size_t n_health_watchers;
    int last_status;
};

static void *thread_init(void *app)
{
    ctl_grpc_api_t *api = app;
    return ctl_thread_new(api->svc);
}

static void thread_fini(void *app, void *ctx)
{
    (void)app;
    ctl_thread_free(ctx);
}

static int unary(void *app, const ctl_grpc_call_info_t *ci, const ProtobufCMessage *req,
                 ProtobufCMessage **resp, cp_err_t *err)
{
    ctl_grpc_api_t *api = app;
    const ctl_rpc_t *rpc = ctl_service_rpc_by_path(ci->method);
    ctl_caller_t caller;
    int rc = ctl_service_authenticate(api->svc, ci->token, ci->peer, &caller, err);
    if (rc == 0)
        rc = ctl_service_invoke(api->svc, ci->thread_ctx, &caller, rpc, req, resp, err);
    ctl_metrics_request("grpc", rpc->name, cp_err_grpc_status(rc));
    return rc;
}

/* ---- Watch: the service's sink on a gRPC server stream ---- */

static int sink_send(void *u, const Certplane__V1__CertificateEvent *ev, cp_err_t *err)
{
    return ctl_grpc_stream_send(u, &ev->base, err);
}

static void sink_finish(void *u, int grpc_status, const char *message)
{
    ctl_grpc_stream_finish(u, grpc_status, message);
}

static bool sink_closed(void *u)
{
    return ctl_grpc_stream_closed(u) != 0;
}

static void sink_release(void *u)
{
    ctl_grpc_stream_unref(u);
}

static int sink_fill(void *u)
{
    return ctl_grpc_stream_fill(u);
}

static int watch(void *app, const ctl_grpc_call_info_t *ci, const ProtobufCMessage *req,
                 ctl_grpc_stream_t *stream, cp_err_t *err)
{
    ctl_grpc_api_t *api = app;
    ctl_caller_t caller;
    int rc = ctl_service_authenticate(api->svc, ci->token, ci->peer, &caller, err);
    if (rc == 0) {
        ctl_watch_sink_t sink = {.u = stream,
                                 .send = sink_send,
                                 .finish = sink_finish,
                                 .closed = sink_closed,
                                 .release = sink_release,
                                 .fill = sink_fill};
        rc = ctl_service_watch(api->svc, ci->thread_ctx, &caller,
                               (const Certplane__V1__WatchRequest *)req, &sink, err);
    }
    ctl_metrics_request("grpc", "Watch", cp_err_grpc_status(rc));
    return rc;
}

/* ---- grpc.health.v1.Health ---- */

static int health_status(ctl_grpc_api_t *api, ctl_thread_t *t)
{
    return ctl_service_ready(api->svc, t)
               ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
               : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static bool known_service(const char *name)
{
    return name[0] == '\0' || strcmp(name, "certplane.v1.Certificates") == 0;
}

static int health_check(void *app, const ctl_grpc_call_info_t *ci, const ProtobufCMessage *req,
                        ProtobufCMessage **resp, cp_err_t *err)
{
    const Grpc__Health__V1__HealthCheckRequest *r =
        (const Grpc__Health__V1__HealthCheckRequest *)req;
    if (!known_service(r->service))
        return cp_err_set(err, CP_ENOTFOUND, "unknown service \"%s\"", r->service);
    Grpc__Health__V1__HealthCheckResponse *out = cp_xmalloc(sizeof *out);
    grpc__health__v1__health_check_response__init(out);
    out->status = health_status(app, ci->thread_ctx);
    *resp = &out->base;
    return 0;
}

static void send_health(ctl_grpc_stream_t *s, int status)
{
    Grpc__Health__V1__HealthCheckResponse out = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    out.status = status;
    ctl_grpc_stream_send(s, &out.base, NULL);
}

static int health_watch(void *app, const ctl_grpc_call_info_t *ci, const ProtobufCMessage *req,
                        ctl_grpc_stream_t *stream, cp_err_t *err)
{
    ctl_grpc_api_t *api = app;
    const Grpc__Health__V1__HealthCheckRequest *r =
        (const Grpc__Health__V1__HealthCheckRequest *)req;
    if (!known_service(r->service)) {
        /* The protocol answers an unknown service on Watch with SERVICE_UNKNOWN, not an error. */
        send_health(stream,
                    GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN);
        ctl_grpc_stream_finish(stream, CP_GRPC_OK, "");
        ctl_grpc_stream_unref(stream);
        return 0;
    }
    send_health(stream, health_status(api, ci->thread_ctx));
    pthread_mutex_lock(&api->mu);
    if (api->n_health_watchers == MAX_HEALTH_WATCHERS) {
        pthread_mutex_unlock(&api->mu);
        return cp_err_set(err, CP_EBUSY, "too many health watchers");
    }
    api->health_watchers[api->n_health_watchers++] = stream;
    pthread_mutex_unlock(&api->mu);
    return 0;
}

void ctl_grpc_api_tick(ctl_grpc_api_t *api)
{
    int status = health_status(api, api->tick_thread);
    pthread_mutex_lock(&api->mu);
    bool changed = status != api->last_status;
    api->last_status = status;
    size_t kept = 0;
    for (size_t i = 0; i < api->n_health_watchers; i++) {
        ctl_grpc_stream_t *s = api->health_watchers[i];
        if (changed)
            send_health(s, status);
        if (ctl_grpc_stream_closed(s)) {
            ctl_grpc_stream_unref(s);
            continue;
        }
        api->health_watchers[kept++] = s;
    }
    api->n_health_watchers = kept;
    pthread_mutex_unlock(&api->mu);
}

/* ---- lifecycle ---- */

/* A PEM file named by an option, or NULL when the option is not set. */
static int read_pem(const char *path, char **out, cp_err_t *err)
{
    *out = NULL;
    return path != NULL ? cp_file_read(path, MAX_PEM_FILE, out, NULL, err) : 0;
}

/* The TLS files must make sense before gRPC gets them: gRPC refuses a key that does not match the
 * certificate too, but only logs "Invalid private key." and fails as "cannot listen on ...". */
static int check_tls_files(const ctl_config_t *cfg, const char *cert, const char *key,
                           cp_err_t *err)
{
    if (cert == NULL)
        return 0;
    cp_x509_chain_t *chain = NULL;
    EVP_PKEY *pkey = NULL;
    int rc = cp_x509_chain_parse(cert, strlen(cert), &chain, err);
    if (rc != 0)
        return cp_err_prefix(err, "--grpc-tls-cert %s", cfg->grpc_tls_cert);
    rc = cp_x509_key_from_pem(key, strlen(key), &pkey, err);
    if (rc != 0)
        cp_err_prefix(err, "--grpc-tls-key %s", cfg->grpc_tls_key);
    else if ((rc = cp_x509_key_matches(chain->certs[0], pkey, err)) != 0)
        cp_err_prefix(err, "--grpc-tls-key %s (of --grpc-tls-cert %s)", cfg->grpc_tls_key,
                      cfg->grpc_tls_cert);
    EVP_PKEY_free(pkey);
    cp_x509_chain_free(chain);
    return rc;
}

static void build_methods(ctl_grpc_api_t *api)
{
    size_t n = ctl_service_n_rpcs;
    api->methods = cp_xcalloc(n + 3, sizeof *api->methods);
    for (size_t i = 0; i < n; i++)
        api->methods[i] = (ctl_grpc_method_t){.path = ctl_service_rpcs[i].grpc_path,
                                              .input = ctl_service_rpcs[i].input,
                                              .unary = unary};
    api->methods[n] = (ctl_grpc_method_t){
        .path = WATCH_PATH, .input = &certplane__v1__watch_request__descriptor, .stream = watch};
    api->methods[n + 1] =
        (ctl_grpc_method_t){.path = HEALTH_CHECK_PATH,
                            .input = &grpc__health__v1__health_check_request__descriptor,
                            .unary = health_check};
    api->methods[n + 2] =
        (ctl_grpc_method_t){.path = HEALTH_WATCH_PATH,
                            .input = &grpc__health__v1__health_check_request__descriptor,
                            .stream = health_watch};
}

int ctl_grpc_api_start(const ctl_config_t *cfg, ctl_service_t *svc, ctl_grpc_api_t **out, int *port,
                       cp_err_t *err)
{
    ctl_grpc_api_t *api = cp_xcalloc(1, sizeof *api);
    api->svc = svc;
    api->last_status = -1;
    pthread_mutex_init(&api->mu, NULL);
    build_methods(api);
    char *cert = NULL, *key = NULL, *ca = NULL;
    int rc = read_pem(cfg->grpc_tls_cert, &cert, err);
    if (rc == 0)
        rc = read_pem(cfg->grpc_tls_key, &key, err);
    if (rc == 0)
        rc = read_pem(cfg->grpc_client_ca, &ca, err);
    if (rc == 0)
        rc = check_tls_files(cfg, cert, key, err);
    if (rc == 0) {
        ctl_grpc_opts_t opts = {.listen = cfg->grpc_listen,
                                .threads = cfg->grpc_threads,
                                .max_connections = cfg->grpc_max_connections,
                                .tls_cert_pem = cert,
                                .tls_key_pem = key,
                                .client_ca_pem = ca,
                                .thread_init = thread_init,
                                .thread_fini = thread_fini};
        rc = ctl_grpc_server_start(&opts, api->methods, ctl_service_n_rpcs + 3, api, &api->server,
                                   port, err);
    }
    free(cert);
    cp_secure_free_str(key);
    free(ca);
    if (rc != 0) {
        ctl_grpc_api_stop(api);
        return rc;
    }
    api->tick_thread = ctl_thread_new(svc);
    *out = api;
    return 0;
}

void ctl_grpc_api_stop(ctl_grpc_api_t *api)
{
    if (api == NULL)
        return;
    pthread_mutex_lock(&api->mu);
    for (size_t i = 0; i < api->n_health_watchers; i++) {
        ctl_grpc_stream_finish(api->health_watchers[i], CP_GRPC_UNAVAILABLE,
                               "server shutting down");
        ctl_grpc_stream_unref(api->health_watchers[i]);
    }
    api->n_health_watchers = 0;
    pthread_mutex_unlock(&api->mu);
    ctl_grpc_server_stop(api->server);
    if (api->tick_thread != NULL)
        ctl_thread_free(api->tick_thread);
    pthread_mutex_destroy(&api->mu);
    free(api->methods);
    free(api);
}
