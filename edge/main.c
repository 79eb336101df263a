/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - certplane-edge: wires the certificate table, the event loops and the watch client */
#include <grpc/grpc.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/config.h"
#include "edge/server.h"
#include "edge/watch.h"
#include "shared/log.h"

static void retire(void *arg, edge_certmap_t *old)
{
    edge_server_retire(arg, old);
}

static void on_bad_cert(const edge_cert_t *cert, const cp_err_t *err)
{
    CP_LOG(CP_LOG_ERROR, "tls", "certificate %s (revision %lld) not served, fallback instead: %s",
           cert->name, (long long)cert->revision, err->msg);
}

/* Blocks the signals main waits for in every thread (they inherit the mask), before any starts. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* On-demand TLS (--on-demand): the asking thread, wired to the loops. */
static int ondemand_new(const edge_config_t *cfg, edge_server_t *srv, edge_metrics_t *metrics,
                        edge_ondemand_t **od, cp_err_t *err)
{
    edge_ondemand_opts_t o = {
        .rpc = {(const char *const *)cfg->controllers.v, cfg->controllers.n, cfg->token,
                cfg->controller_ca, cfg->client_cert, cfg->client_key, cfg->controller_name},
        .edge_id = cfg->edge_id,
        .wait_ms = cfg->on_demand_wait_ms,
        .max_parked = cfg->on_demand_max_parked,
        .wake = edge_server_ondemand_wake,
        .wake_arg = srv,
    };
    int rc = edge_ondemand_new(&o, metrics, od, err);
    if (rc == 0)
        edge_server_set_ondemand(srv, *od);
    return rc;
}

static int run(const edge_config_t *cfg, const sigset_t *signals, cp_err_t *err)
{
    edge_cert_t *fallback = NULL;
    edge_certmap_t *initial = NULL;
    edge_sni_t sni = {0};
    edge_metrics_t metrics = {0};
    edge_server_t *srv = NULL;
    edge_watch_t *watch = NULL;
    edge_ondemand_t *od = NULL;
    int rc = edge_cert_new_self_signed(cfg->fallback_name, &fallback, err);
    if (rc != 0)
        goto out;
    initial = edge_certmap_new(fallback);
    edge_cert_cache_set_max((size_t)cfg->cert_cache);
    if ((rc = edge_sni_init(&sni, initial, err)) != 0)
        goto out;
    edge_sni_set_on_bad(&sni, on_bad_cert);
    if ((rc = edge_server_new(cfg, &sni, &metrics, &srv, err)) != 0)
        goto out;
    edge_watch_opts_t wo = {(const char *const *)cfg->controllers.v,
                            cfg->controllers.n,
                            cfg->token,
                            cfg->controller_ca,
                            cfg->client_cert,
                            cfg->client_key,
                            cfg->controller_name,
                            cfg->edge_id,
                            cfg->report_interval_ms,
                            cfg->backoff_max_ms,
                            retire,
                            srv,
                            NULL,
                            NULL};
    if (cfg->on_demand && (rc = ondemand_new(cfg, srv, &metrics, &od, err)) != 0)
        goto out;
    if (od != NULL) {
        wo.used = edge_ondemand_take_used;
        wo.used_arg = od;
    }
    if ((rc = edge_watch_new(&wo, &sni, &metrics, &watch, err)) != 0 ||
        (rc = edge_server_start(srv, err)) != 0 || (rc = edge_watch_start(watch, err)) != 0 ||
        (od != NULL && (rc = edge_ondemand_start(od, err)) != 0))
        goto out;
    CP_LOG(CP_LOG_INFO, "main",
           "certplane-edge %s: https %s (%zu address%s), http %s, admin %s, %d loops",
           CERTPLANE_VERSION, cfg->listen.v[0], cfg->listen.n, cfg->listen.n == 1 ? "" : "es",
           cfg->http_listen, cfg->admin_listen, cfg->threads);
    for (;;) {
        int sig = 0;
        if (sigwait(signals, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            CP_LOG(CP_LOG_INFO, "main", "SIGHUP ignored: certificates reload through the stream");
            continue;
        }
        CP_LOG(CP_LOG_INFO, "main", "signal %d: shutting down", sig);
        break;
    }
out:
    edge_ondemand_stop(od);
    if (watch != NULL)
        edge_watch_stop(watch);
    if (srv != NULL)
        edge_server_stop(srv);
    edge_watch_free(watch);
    edge_server_free(srv);
    edge_ondemand_free(od);
    if (sni.ctx != NULL)
        edge_sni_dispose(&sni);
    edge_certmap_release(initial);
    edge_cert_release(fallback);
    return rc;
}

int main(int argc, char **argv)
{
    sigset_t signals;
    block_signals(&signals);
    edge_config_t cfg;
    cp_err_t err = {0};
    int rc = edge_config_parse(&cfg, argc, argv, &err);
    if (rc == CP_CFG_HELP || rc == CP_CFG_VERSION) {
        if (rc == CP_CFG_HELP)
            edge_config_help(stdout);
        else
            printf("certplane-edge %s\n", CERTPLANE_VERSION);
        edge_config_dispose(&cfg);
        return 0;
    }
    cp_log_level_t level = CP_LOG_INFO;
    if (rc == 0 && cfg.log_level != NULL && cp_log_level_parse(cfg.log_level, &level) != 0)
        rc = cp_err_set(&err, CP_EINVAL, "--log-level: expected debug, info, warn or error");
    if (rc != 0) {
        fprintf(stderr, "certplane-edge: %s\n", err.msg);
        edge_config_dispose(&cfg);
        return 2;
    }
    cp_log_set_level(level);
    grpc_init();
    rc = run(&cfg, &signals, &err);
    if (rc != 0)
        CP_LOG(CP_LOG_ERROR, "main", "%s", err.msg);
    grpc_shutdown_blocking();
    edge_config_dispose(&cfg);
    return rc == 0 ? 0 : 1;
}
