/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - certplane-controller: wires configuration, service core, workers and both transports */
#include <curl/curl.h>
#include <grpc/grpc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/config/config.h"
#include "controller/gateway/gateway.h"
#include "controller/grpc/grpc_api.h"
#include "controller/service/service.h"
#include "controller/store/keyrotate.h"
#include "controller/store/keywrap.h"
#include "controller/store/redis_tls.h"
#include "controller/store/store_sentinel.h"
#include "controller/store/store_url.h"
#include "controller/work/work.h"
#include "shared/log.h"

/* Signals are blocked in every thread (gRPC starts its own) and taken here with sigtimedwait, which
 * also paces the health tick. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void reload_keyring(const ctl_config_t *cfg)
{
    cp_err_t err = {0};
    char active[CTL_KEYWRAP_ID_MAX + 1];
    if (!ctl_keyring_from_file(cfg->keyring))
        return;
    if (ctl_keyring_reload(cfg->keyring, &err) != 0) {
        CP_LOG(CP_LOG_ERROR, "main", "SIGHUP: keyring kept unchanged: %s", err.msg);
        return;
    }
    ctl_keyring_active(cfg->keyring, active);
    CP_LOG(CP_LOG_INFO, "main", "SIGHUP: keyring loaded: %zu keys, active \"%s\"",
           ctl_keyring_size(cfg->keyring), active);
}

/* --rotate-keys: re-wraps every key in Redis for the active KEK and reports the counts. */
static int rotate_keys(const ctl_config_t *cfg)
{
    cp_err_t err = {0};
    ctl_store_t *s = NULL;
    ctl_keyrotate_stats_t st = {0};
    char active[CTL_KEYWRAP_ID_MAX + 1];
    ctl_store_opts_t opts = {.keyring = cfg->keyring,
                             .sentinel_password = cfg->redis_sentinel_password,
                             .tls = cfg->redis_tls};
    ctl_keyring_active(cfg->keyring, active);
    int rc = ctl_store_new(cfg->redis_url, &opts, &s, &err);
    if (rc == 0)
        rc = ctl_keyrotate_run(s, &st, &err);
    ctl_store_free(s);
    if (rc != 0) {
        fprintf(stderr,
                "certplane-controller: rotate-keys stopped after %zu certificate and %zu account "
                "records re-wrapped: %s\n",
                st.certs_rewrapped, st.accounts_rewrapped, err.msg[0] ? err.msg : cp_strerror(rc));
        return 1;
    }
    printf("rotate-keys: active KEK \"%s\": %zu of %zu certificate records and %zu of %zu account "
           "records re-wrapped, %zu failed\n",
           active, st.certs_rewrapped, st.certs, st.accounts_rewrapped, st.accounts, st.failed);
    if (st.failed > 0)
        fprintf(stderr, "certplane-controller: rotate-keys: first failure: %s\n", err.msg);
    return rc != 0 || st.failed > 0 ? 1 : 0;
}

/* With a redis+sentinel:// URL: the watch that makes every connection follow a failover. */
static ctl_store_sentinel_watch_t *sentinel_watch(const ctl_config_t *cfg)
{
    ctl_store_url_t url;
    cp_err_t err = {0};
    ctl_store_sentinel_watch_t *w = NULL;
    if (ctl_store_url_parse(cfg->redis_url, &url, &err) == 0 && url.n_sentinels > 0 &&
        ctl_store_sentinel_watch_start(&url, cfg->redis_sentinel_password, &w, &err) != 0)
        CP_LOG(CP_LOG_ERROR, "main", "failovers are not watched: %s", err.msg);
    explicit_bzero(&url, sizeof url);
    return w;
}

/* For a rediss:// URL: the TLS context (CA, client certificate) and its relay thread, shared by
 * every store of the process. A bad file stops the start, before anything connects. */
static int load_redis_tls(ctl_config_t *cfg, cp_err_t *err)
{
    ctl_store_url_t url;
    if (ctl_store_url_parse(cfg->redis_url, &url, NULL) != 0 || !url.tls)
        return 0; /* a bad URL is reported by the first store */
    explicit_bzero(url.password, sizeof url.password);
    ctl_redis_tls_opts_t o = {.ca_file = cfg->redis_tls_ca_file,
                              .cert_file = cfg->redis_tls_cert,
                              .key_file = cfg->redis_tls_key,
                              .server_name = cfg->redis_tls_server_name};
    return ctl_redis_tls_new(&o, &cfg->redis_tls, err);
}

static int run(const ctl_config_t *cfg, const sigset_t *signals)
{
    cp_err_t err = {0};
    ctl_service_t *svc = NULL;
    ctl_work_t *work = NULL;
    ctl_gateway_t *gw = NULL;
    ctl_grpc_api_t *api = NULL;
    int grpc_port = 0, http_port = 0, rc;
    ctl_gateway_opts_t gw_opts = {.listen = cfg->http_listen,
                                  .metrics_require_token = cfg->metrics_require_token};

    ctl_store_sentinel_watch_t *watch = sentinel_watch(cfg);
    if ((rc = ctl_service_new(cfg, &svc, &err)) == 0 && (rc = ctl_service_start(svc, &err)) == 0 &&
        (rc = ctl_work_start(cfg, &work, &err)) == 0) {
        ctl_service_set_work(svc, work); /* before any request can arrive */
        if ((rc = ctl_gateway_start_opts(svc, &gw_opts, &gw, &http_port, &err)) == 0)
            rc = ctl_grpc_api_start(cfg, svc, &api, &grpc_port, &err);
    }
    if (rc != 0) {
        CP_LOG(CP_LOG_ERROR, "main", "cannot start: %s", err.msg[0] ? err.msg : cp_strerror(rc));
        goto out;
    }
    char gp[16], hp[16];
    snprintf(gp, sizeof gp, "%d", grpc_port);
    snprintf(hp, sizeof hp, "%d", http_port);
    const char *kv[] = {"grpc_port",        gp,  "http_port", hp, "controller_id",
                        cfg->controller_id, NULL};
    CP_LOGKV(CP_LOG_INFO, "main", kv, "certplane-controller %s serving", CERTPLANE_VERSION);
    for (;;) {
        struct timespec second = {.tv_sec = 1};
        int sig = sigtimedwait(signals, NULL, &second);
        if (sig == SIGINT || sig == SIGTERM) {
            CP_LOG(CP_LOG_INFO, "main", "signal %d: shutting down", sig);
            break;
        }
        if (sig == SIGHUP) {
            size_t n = 0;
            if (ctl_service_reload_tokens(svc, &n, &err) == 0)
                CP_LOG(CP_LOG_INFO, "main", "SIGHUP: %zu API tokens loaded", n);
            else
                CP_LOG(CP_LOG_ERROR, "main", "SIGHUP: tokens kept unchanged: %s", err.msg);
            reload_keyring(cfg);
        }
        ctl_grpc_api_tick(api);
    }
out:
    /* Transports first, so no request reaches a stopped service; workers finish their current step.
     */
    ctl_grpc_api_stop(api);
    ctl_gateway_stop(gw);
    ctl_work_stop(work);
    ctl_service_free(svc);
    ctl_store_sentinel_watch_stop(watch);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    sigset_t signals;
    block_signals(&signals);
    ctl_config_t cfg;
    cp_err_t err = {0};
    int rc = ctl_config_parse(&cfg, argc, argv, &err);
    if (rc == CP_CFG_HELP) {
        ctl_config_help(stdout);
        ctl_config_dispose(&cfg);
        return 0;
    }
    if (rc == CP_CFG_VERSION) {
        printf("certplane-controller %s\n", CERTPLANE_VERSION);
        ctl_config_dispose(&cfg);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "certplane-controller: %s\n", err.msg);
        ctl_config_dispose(&cfg);
        return 2;
    }
    cp_log_level_t level;
    if (cp_log_level_parse(cfg.log_level, &level) != 0) {
        fprintf(stderr, "certplane-controller: --log-level: expected debug, info, warn or error\n");
        ctl_config_dispose(&cfg);
        return 2;
    }
    cp_log_set_level(level);
    /* Refused before anything starts: a --renew-before that would renew every certificate at
     * once after issuance (issue #12). */
    if (!cfg.rotate_keys && ctl_work_check_config(&cfg, &err) != 0) {
        fprintf(stderr, "certplane-controller: %s\n", err.msg);
        ctl_config_dispose(&cfg);
        return 2;
    }
    if ((cfg.kek_file != NULL && ctl_keyring_load(cfg.kek_file, &cfg.keyring, &err) != 0) ||
        (cfg.kek != NULL && ctl_keyring_parse_list(cfg.kek, "--kek", &cfg.keyring, &err) != 0)) {
        fprintf(stderr, "certplane-controller: %s%s\n", cfg.kek_file ? "--kek-file: " : "",
                err.msg);
        ctl_config_dispose(&cfg);
        return 2;
    }
    if (load_redis_tls(&cfg, &err) != 0) {
        fprintf(stderr, "certplane-controller: %s\n", err.msg);
        ctl_keyring_free(cfg.keyring);
        ctl_config_dispose(&cfg);
        return 2;
    }
    if (cfg.rotate_keys) {
        rc = rotate_keys(&cfg);
    } else {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        grpc_init();
        rc = run(&cfg, &signals);
        grpc_shutdown_blocking();
        curl_global_cleanup();
    }
    ctl_redis_tls_free(cfg.redis_tls); /* after every store: the relay thread stops last */
    ctl_keyring_free(cfg.keyring);
    ctl_config_dispose(&cfg);
    return rc;
}
