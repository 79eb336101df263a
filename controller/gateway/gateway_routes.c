/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_routes.c - the gateway's route table, path matching and gRPC-to-HTTP status mapping */
#include <stdio.h>
#include <string.h>

#include "controller/gateway/gateway.h"

/* Order matters only for readability: a path matches at most one pattern per method, because a
 * parameter never spans a ':' or a '/'. */
const ctl_gateway_route_t ctl_gateway_routes[] = {
    {"POST", "/v1/certificates", CTL_GW_RPC, "CreateCertificate", CTL_GW_BODY_REQUIRED,
     "certificate"},
    {"GET", "/v1/certificates", CTL_GW_RPC, "ListCertificates", CTL_GW_BODY_NONE, NULL},
    {"POST", "/v1/certificates:import", CTL_GW_RPC, "ImportCertificate", CTL_GW_BODY_REQUIRED,
     NULL},
    {"GET", "/v1/certificates/{name}", CTL_GW_RPC, "GetCertificate", CTL_GW_BODY_NONE, NULL},
    {"DELETE", "/v1/certificates/{name}", CTL_GW_RPC, "DeleteCertificate", CTL_GW_BODY_NONE, NULL},
    {"POST", "/v1/certificates/{name}:renew", CTL_GW_RPC, "RenewCertificate", CTL_GW_BODY_OPTIONAL,
     NULL},
    {"POST", "/v1/certificates/{name}:revoke", CTL_GW_RPC, "RevokeCertificate",
     CTL_GW_BODY_OPTIONAL, NULL},
    {"GET", "/v1/edges", CTL_GW_RPC, "ListEdges", CTL_GW_BODY_NONE, NULL},
    {"POST", "/v1/edges:report", CTL_GW_RPC, "ReportEdgeStatus", CTL_GW_BODY_REQUIRED, NULL},
    {"POST", "/v1/accounts:rollover", CTL_GW_RPC, "RolloverAccountKey", CTL_GW_BODY_OPTIONAL, NULL},
    /* ---- webhooks (issue 16) ---- */
    {"POST", "/v1/webhooks", CTL_GW_RPC, "CreateWebhook", CTL_GW_BODY_REQUIRED, NULL},
    {"GET", "/v1/webhooks", CTL_GW_RPC, "ListWebhooks", CTL_GW_BODY_NONE, NULL},
    {"GET", "/v1/webhooks:deadLetters", CTL_GW_RPC, "ListWebhookDeadLetters", CTL_GW_BODY_NONE,
     NULL},
    {"DELETE", "/v1/webhooks/{id}", CTL_GW_RPC, "DeleteWebhook", CTL_GW_BODY_NONE, NULL},
    /* ---- end webhooks ---- */
    {"GET", "/v1/watch", CTL_GW_WATCH, "Watch", CTL_GW_BODY_NONE, NULL},
    {"GET", "/healthz", CTL_GW_HEALTHZ, NULL, CTL_GW_BODY_NONE, NULL},
    {"GET", "/readyz", CTL_GW_READYZ, NULL, CTL_GW_BODY_NONE, NULL},
    {"GET", "/metrics", CTL_GW_METRICS, NULL, CTL_GW_BODY_NONE, NULL},
    {"GET", "/.well-known/acme-challenge/{token}", CTL_GW_ACME, NULL, CTL_GW_BODY_NONE, NULL},
    /* The web console (gateway_ui.c): its files without a token, and what a token may do. */
    {"GET", "/v1/whoami", CTL_GW_WHOAMI, NULL, CTL_GW_BODY_NONE, NULL},
    {"GET", "/ui", CTL_GW_UI, NULL, CTL_GW_BODY_NONE, NULL},
    {"GET", "/ui/", CTL_GW_UI, NULL, CTL_GW_BODY_NONE, NULL},
    {"GET", "/ui/{asset}", CTL_GW_UI, NULL, CTL_GW_BODY_NONE, NULL},
};
const size_t ctl_gateway_n_routes = sizeof(ctl_gateway_routes) / sizeof(ctl_gateway_routes[0]);

/* Whether path matches pattern; the parameter's raw text goes to *param. */
static int match_pattern(const char *pattern, const char *path, size_t len, const char **param,
                         size_t *param_len)
{
    const char *open = strchr(pattern, '{');
    *param = NULL;
    *param_len = 0;
    if (open == NULL)
        return strlen(pattern) == len && memcmp(pattern, path, len) == 0;
    size_t prefix = (size_t)(open - pattern);
    const char *suffix = strchr(open, '}') + 1;
    size_t suffix_len = strlen(suffix);
    if (len < prefix || memcmp(pattern, path, prefix) != 0)
        return 0;
    size_t n = 0;
    while (prefix + n < len && path[prefix + n] != '/' && path[prefix + n] != ':')
        n++;
    if (n == 0 || len - prefix - n != suffix_len ||
        memcmp(path + prefix + n, suffix, suffix_len) != 0)
        return 0;
    *param = path + prefix;
    *param_len = n;
    return 1;
}

int ctl_gateway_match(const char *path, size_t path_len, const char *method, size_t method_len,
                      const ctl_gateway_route_t **route, const char **param, size_t *param_len,
                      char *allow, size_t allow_size)
{
    size_t used = 0;
    int path_known = 0;
    if (allow != NULL && allow_size > 0)
        allow[0] = '\0';
    for (size_t i = 0; i < ctl_gateway_n_routes; i++) {
        const ctl_gateway_route_t *r = &ctl_gateway_routes[i];
        const char *p;
        size_t pl;
        if (!match_pattern(r->pattern, path, path_len, &p, &pl))
            continue;
        if (strlen(r->method) == method_len && memcmp(r->method, method, method_len) == 0) {
            *route = r;
            *param = p;
            *param_len = pl;
            return 200;
        }
        path_known = 1;
        if (allow != NULL && used < allow_size) {
            int n = snprintf(allow + used, allow_size - used, "%s%s", used ? ", " : "", r->method);
            if (n > 0)
                used += (size_t)n;
        }
    }
    return path_known ? 405 : 404;
}
