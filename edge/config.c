/* SPDX-License-Identifier: Apache-2.0 */
/* config.c - the edge's options: one table for the parser and --help */
#include "edge/config.h"

#include "edge/proxy.h"
#include "shared/mem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPT(flag, env, type, field, def, help)                                                     \
    {                                                                                              \
        flag, "CERTPLANE_" env, type, offsetof(edge_config_t, field), def, help, 0, 0, 0           \
    }

const cp_cfg_opt_t edge_config_opts[] = {
    OPT("listen", "EDGE_LISTEN", CP_CFG_LIST, listen, "0.0.0.0:443",
        "HTTPS listener (host:port, [v6]:port), HTTP/1.1 and HTTP/2 over TLS 1.2/1.3; repeatable "
        "(up to 8, e.g. 127.0.0.1:443 and [::1]:443; [::]:443 is dual-stack); redirects name the "
        "first one's port."),
    OPT("http-listen", "EDGE_HTTP_LISTEN", CP_CFG_STRING, http_listen, "0.0.0.0:80",
        "Plain HTTP listener: ACME HTTP-01 answers, everything else redirected to https; empty: "
        "off."),
    OPT("admin-listen", "EDGE_ADMIN_LISTEN", CP_CFG_STRING, admin_listen, "127.0.0.1:9180",
        "Admin listener: /healthz, /readyz, /metrics; empty: off."),
    {"threads", "CERTPLANE_EDGE_THREADS", CP_CFG_INT, offsetof(edge_config_t, threads), "0",
     "Event loop threads; 0 means one per core.", 0, 0, 256},
    {"max-connections", "CERTPLANE_EDGE_MAX_CONNECTIONS", CP_CFG_INT,
     offsetof(edge_config_t, max_connections), "20000",
     "Client connections (HTTPS and HTTP) open at once; beyond it new ones are closed at once "
     "(certplane_edge_connections_rejected_total); the admin listener is exempt; 0: no cap.",
     0, 0, 10000000},
    {"cert-cache", "CERTPLANE_EDGE_CERT_CACHE", CP_CFG_INT, offsetof(edge_config_t, cert_cache),
     "16384",
     "Certificates kept parsed for handshakes (~7 KB each for P-256), least recently used out; "
     "the others are kept compact (~1.3 KB) and parsed at their next handshake (~0.15 ms).",
     0, 1, 100000000},
    OPT("controller", "EDGE_CONTROLLER", CP_CFG_LIST, controllers, NULL,
        "Controller gRPC address host:port; repeat for several, tried in turn."),
    {"token", "CERTPLANE_EDGE_TOKEN", CP_CFG_STRING, offsetof(edge_config_t, token), NULL,
     "Bearer token of scope edge; prefer the environment variable.", CP_CFG_SECRET, 0, 0},
    OPT("controller-ca", "EDGE_CONTROLLER_CA", CP_CFG_STRING, controller_ca, NULL,
        "PEM CA file: talk to the controller over TLS and verify it; unset: plaintext."),
    OPT("client-cert", "EDGE_CLIENT_CERT", CP_CFG_STRING, client_cert, NULL,
        "PEM certificate chain presented to the controller (mTLS)."),
    OPT("client-key", "EDGE_CLIENT_KEY", CP_CFG_STRING, client_key, NULL,
        "PEM private key of --client-cert."),
    OPT("controller-server-name", "EDGE_CONTROLLER_SERVER_NAME", CP_CFG_STRING, controller_name,
        NULL, "Name expected in the controller's certificate, when not the host of --controller."),
    OPT("edge-id", "EDGE_ID", CP_CFG_STRING, edge_id, NULL,
        "Identity reported to the controller (default: the host name)."),
    OPT("route", "EDGE_ROUTES", CP_CFG_LIST, routes, NULL,
        "host=http://upstream:port, or host=respond:STATUS[:BODY] to answer on the edge itself "
        "(e.g. respond:200:ok); repeatable; host may be *.example.com (one label)."),
    OPT("hsts", "EDGE_HSTS", CP_CFG_LIST, hsts, NULL,
        "host=SECONDS[;includeSubDomains][;preload]: HTTPS answers for host carry "
        "Strict-Transport-Security: max-age=SECONDS (plain HTTP never does); repeatable; host may "
        "be *.example.com (one label) or * (every host); off unless given."),
    OPT("default-upstream", "EDGE_DEFAULT_UPSTREAM", CP_CFG_STRING, default_upstream, NULL,
        "Upstream URL, or respond:STATUS[:BODY], for hosts without a route; unset: 421 "
        "Misdirected Request."),
    OPT("redirect", "EDGE_REDIRECT", CP_CFG_BOOL, redirect, "true",
        "Answer plain HTTP (except HTTP-01) with a 308 to https; false: 404."),
    OPT("no-redirect", "EDGE_NO_REDIRECT", CP_CFG_BOOL, no_redirect, "false",
        "Same as --redirect=false."),
    OPT("report-interval", "EDGE_REPORT_INTERVAL", CP_CFG_DURATION, report_interval_ms, "5s",
        "Heartbeat of ReportEdgeStatus (a report is also sent after every applied batch)."),
    OPT("reconnect-max", "EDGE_RECONNECT_MAX", CP_CFG_DURATION, backoff_max_ms, "30s",
        "Longest wait between reconnection attempts (exponential back-off with jitter)."),
    OPT("upstream-timeout", "EDGE_UPSTREAM_TIMEOUT", CP_CFG_DURATION, upstream_timeout_ms, "30s",
        "I/O timeout towards upstreams."),
    OPT("fallback-name", "EDGE_FALLBACK_NAME", CP_CFG_STRING, fallback_name,
        "certplane-edge.invalid", "Name in the self-signed certificate served for unknown names."),
    OPT("log-level", "LOG_LEVEL", CP_CFG_STRING, log_level, "info", "debug, info, warn or error."),
    /* ---- on-demand TLS (issue 14) ---- */
    OPT("on-demand", "EDGE_ON_DEMAND", CP_CFG_BOOL, on_demand, "false",
        "On-demand TLS: a handshake for a name without a certificate waits while the controller's "
        "policy decides and, when allowed, the certificate is issued (up to --on-demand-wait); "
        "the ClientHello is peeked at without blocking the loop."),
    OPT("on-demand-wait", "EDGE_ON_DEMAND_WAIT", CP_CFG_DURATION, on_demand_wait_ms, "10s",
        "On-demand TLS: longest a handshake waits for its certificate; then the fallback is "
        "served and the next handshake gets the certificate."),
    {"on-demand-max-parked", "CERTPLANE_EDGE_ON_DEMAND_MAX_PARKED", CP_CFG_INT,
     offsetof(edge_config_t, on_demand_max_parked), "1000",
     "On-demand TLS: handshakes waiting at once; beyond it they get the fallback at once.", 0, 1,
     1000000},
    /* ---- end on-demand TLS ---- */
};
const size_t edge_config_n_opts = sizeof edge_config_opts / sizeof edge_config_opts[0];

static int check_file(const char *path, const char *flag, cp_err_t *err)
{
    if (path != NULL && access(path, R_OK) != 0)
        return cp_err_set(err, CP_EINVAL, "--%s: cannot read %s", flag, path);
    return 0;
}

/* An upstream URL or a fixed answer (edge/proxy.h). */
static bool route_target_ok(const char *t)
{
    int status;
    const char *body;
    size_t len;
    return strncmp(t, "http://", 7) == 0 || edge_proxy_parse_respond(t, &status, &body, &len) == 0;
}

int edge_config_hsts_value(const char *spec, char *out, size_t size)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec)
        return -1;
    char *end = NULL;
    long secs = strtol(eq + 1, &end, 10);
    if (end == eq + 1 || secs < 0 || secs > 63072000)
        return -1;
    bool sub = false, preload = false;
    for (const char *p = end; *p != '\0';) {
        if (strncmp(p, ";includeSubDomains", 18) == 0)
            sub = true, p += 18;
        else if (strncmp(p, ";preload", 8) == 0)
            preload = true, p += 8;
        else
            return -1;
    }
    if (out != NULL)
        snprintf(out, size, "max-age=%ld%s%s", secs, sub ? "; includeSubDomains" : "",
                 preload ? "; preload" : "");
    return 0;
}

int edge_config_parse(edge_config_t *c, int argc, char **argv, cp_err_t *err)
{
    memset(c, 0, sizeof *c);
    int rc = cp_cfg_parse(edge_config_opts, edge_config_n_opts, c, argc, argv, err);
    if (rc != 0)
        return rc;
    if (c->no_redirect)
        c->redirect = false;
    if (c->listen.n == 0 || c->listen.n > EDGE_CONFIG_LISTEN_MAX)
        return cp_err_set(err, CP_EINVAL, "--listen: 1 to %d HTTPS addresses, got %zu",
                          EDGE_CONFIG_LISTEN_MAX, c->listen.n);
    if (c->controllers.n == 0)
        return cp_err_set(err, CP_EINVAL, "--controller: at least one controller address needed");
    if ((c->client_cert == NULL) != (c->client_key == NULL))
        return cp_err_set(err, CP_EINVAL, "--client-cert and --client-key go together");
    if (c->client_cert != NULL && c->controller_ca == NULL)
        return cp_err_set(err, CP_EINVAL, "--client-cert needs --controller-ca (TLS)");
    if (check_file(c->controller_ca, "controller-ca", err) != 0 ||
        check_file(c->client_cert, "client-cert", err) != 0 ||
        check_file(c->client_key, "client-key", err) != 0)
        return CP_EINVAL;
    for (size_t i = 0; i < c->routes.n; i++) {
        const char *eq = strchr(c->routes.v[i], '=');
        if (eq == NULL || eq == c->routes.v[i] || !route_target_ok(eq + 1))
            return cp_err_set(err, CP_EINVAL,
                              "--route %s: expected host=http://upstream[:port] or "
                              "host=respond:STATUS[:BODY]",
                              c->routes.v[i]);
    }
    for (size_t i = 0; i < c->hsts.n; i++)
        if (edge_config_hsts_value(c->hsts.v[i], NULL, 0) != 0)
            return cp_err_set(err, CP_EINVAL,
                              "--hsts %s: expected host=SECONDS[;includeSubDomains][;preload] "
                              "(0 to 63072000 seconds)",
                              c->hsts.v[i]);
    if (c->default_upstream != NULL && !route_target_ok(c->default_upstream))
        return cp_err_set(
            err, CP_EINVAL,
            "--default-upstream: expected http://host[:port] or respond:STATUS[:BODY]");
    if (c->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->threads = n < 1 ? 1 : (n > 256 ? 256 : (int)n);
    }
    if (c->edge_id == NULL) {
        char host[256] = "edge";
        gethostname(host, sizeof host - 1);
        c->edge_id = cp_xstrdup(host);
    }
    return 0;
}

void edge_config_dispose(edge_config_t *c)
{
    cp_cfg_dispose(edge_config_opts, edge_config_n_opts, c);
}

void edge_config_help(FILE *out)
{
    cp_cfg_help(
        edge_config_opts, edge_config_n_opts, "certplane-edge",
        "Serves HTTPS for every certificate the certplane controllers hold: certificates "
        "and HTTP-01 answers stream in over gRPC Watch and are swapped in without a restart.",
        out);
}
