/* SPDX-License-Identifier: Apache-2.0 */
/* config.h - the edge's options: one table for the parser and --help */
#ifndef EDGE_CONFIG_H
#define EDGE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "shared/cfg.h"

/** The Strict-Transport-Security value of an --hsts spec "host=SECONDS[;includeSubDomains]
 * [;preload]" into out (out may be NULL: only checks). 0, or -1 for a malformed spec. THREAD
 * SAFETY: any. */
int edge_config_hsts_value(const char *spec, char *out, size_t size);

/** Most --listen addresses. */
#define EDGE_CONFIG_LISTEN_MAX 8

/** The edge's configuration. Strings and lists are owned (edge_config_dispose frees them).
 *  THREAD SAFETY: filled by main before any thread starts, read-only afterwards. */
typedef struct edge_config {
    cp_cfg_list_t listen;        /* --listen: HTTPS listeners host:port, 1..LISTEN_MAX */
    char *http_listen;           /* --http-listen: plain HTTP (HTTP-01 and redirects); "" = off */
    char *admin_listen;          /* --admin-listen: /healthz /readyz /metrics; "" = off */
    int threads;                 /* --threads: event loops; 0 = number of cores */
    int max_connections;         /* --max-connections: HTTPS + HTTP connections open; 0 = no cap */
    int cert_cache;              /* --cert-cache: certificates kept parsed (edge/cert.h) */
    cp_cfg_list_t controllers;   /* --controller: host:port, repeatable, tried in turn */
    char *token;                 /* --token: edge-scope bearer token (secret) */
    char *controller_ca;         /* --controller-ca: PEM CA file: gRPC over TLS */
    char *client_cert;           /* --client-cert: PEM chain for mTLS */
    char *client_key;            /* --client-key */
    char *controller_name;       /* --controller-server-name: TLS name check override */
    char *edge_id;               /* --edge-id: default the host name */
    cp_cfg_list_t routes;        /* --route host=upstream */
    cp_cfg_list_t hsts;          /* --hsts host=SECONDS[;includeSubDomains][;preload] */
    char *default_upstream;      /* --default-upstream URL */
    bool redirect;               /* --redirect (default true) */
    bool no_redirect;            /* --no-redirect */
    int64_t report_interval_ms;  /* --report-interval */
    int64_t backoff_max_ms;      /* --reconnect-max */
    int64_t upstream_timeout_ms; /* --upstream-timeout */
    char *fallback_name;         /* --fallback-name: CN of the self-signed fallback */
    char *log_level;             /* --log-level */
    /* ---- on-demand TLS (issue 14) ---- */
    bool on_demand;            /* --on-demand: hold handshakes of unknown names, ask */
    int64_t on_demand_wait_ms; /* --on-demand-wait */
    int on_demand_max_parked;  /* --on-demand-max-parked */
    /* ---- end on-demand TLS ---- */
} edge_config_t;

extern const cp_cfg_opt_t edge_config_opts[];
extern const size_t edge_config_n_opts;

/** Parses defaults, CERTPLANE_* variables and argv into *c, then checks options together (a
 *  controller is required, --client-cert and --client-key go together, routes are host=URL).
 *  Returns 0, CP_CFG_HELP/CP_CFG_VERSION, or CP_EINVAL with err set. Dispose *c either way.
 *  THREAD SAFETY: main thread, before other threads start. */
int edge_config_parse(edge_config_t *c, int argc, char **argv, cp_err_t *err);

/** Frees what edge_config_parse stored. */
void edge_config_dispose(edge_config_t *c);

/** Prints --help. */
void edge_config_help(FILE *out);

#endif
