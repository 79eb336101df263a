/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_status.c - certplanectl's controller commands (status, edges) and the command dispatch */
#include "controller/cli/cmd_status.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "controller/cli/cmd_account.h"
#include "controller/cli/cmd_certs.h"
#include "controller/cli/cmd_util.h"
#include "controller/cli/cmd_watch.h"
#include "controller/cli/cmd_webhook.h"
#include "controller/cli/table.h"

int ctl_cli_cmd_run(ctl_cli_ctx_t *c, cp_err_t *err)
{
    switch (c->args->cmd->id) {
    case CTL_CLI_CREATE:
        return ctl_cli_cmd_create(c, err);
    case CTL_CLI_GET:
        return ctl_cli_cmd_get(c, err);
    case CTL_CLI_LIST:
        return ctl_cli_cmd_list(c, err);
    case CTL_CLI_DELETE:
        return ctl_cli_cmd_delete(c, err);
    case CTL_CLI_RENEW:
        return ctl_cli_cmd_renew(c, err);
    case CTL_CLI_REVOKE:
        return ctl_cli_cmd_revoke(c, err);
    case CTL_CLI_IMPORT:
        return ctl_cli_cmd_import(c, err);
    case CTL_CLI_WATCH:
        return ctl_cli_cmd_watch(c, err);
    case CTL_CLI_STATUS:
        return ctl_cli_cmd_status(c, err);
    case CTL_CLI_EDGES:
        return ctl_cli_cmd_edges(c, err);
    case CTL_CLI_ACCOUNT:
        return ctl_cli_cmd_account(c, err);
    case CTL_CLI_WEBHOOK:
        return ctl_cli_cmd_webhook(c, err);
    default:
        return cp_err_set(err, CP_EINTERNAL, "%s: not a remote command", c->args->cmd->name);
    }
}

static void print_edges(FILE *out, const Certplane__V1__ListEdgesResponse *r)
{
    static const char *const headers[] = {"EDGE ID", "ADDRESS", "REVISION",
                                          "CERTS",   "VERSION", "LAST SEEN"};
    ctl_cli_table_t *t = ctl_cli_table_new(6, headers);
    for (size_t i = 0; i < r->n_edges; i++) {
        const Certplane__V1__Edge *e = r->edges[i];
        char rev[24], certs[16], seen[32];
        snprintf(rev, sizeof rev, "%" PRId64, (int64_t)e->applied_revision);
        snprintf(certs, sizeof certs, "%d", (int)e->certificates);
        ctl_cli_fmt_time(e->last_seen, seen, sizeof seen);
        const char *cells[] = {e->edge_id, e->address, rev, certs, e->version, seen};
        ctl_cli_table_add(t, cells);
    }
    ctl_cli_table_print(t, out);
    ctl_cli_table_free(t);
}

/* GET /v1/edges; *resp keeps the answer for --json, *edges is the decoded list. */
static int list_edges(ctl_cli_ctx_t *c, ctl_cli_resp_t *resp,
                      Certplane__V1__ListEdgesResponse **edges, cp_err_t *err)
{
    int rc = ctl_cli_http_call(c->http, "GET", "/v1/edges", NULL, resp, err);
    if (rc == 0)
        rc = ctl_cli_decode(&certplane__v1__list_edges_response__descriptor, resp,
                            (ProtobufCMessage **)edges, err);
    return rc;
}

int ctl_cli_cmd_edges(ctl_cli_ctx_t *c, cp_err_t *err)
{
    ctl_cli_resp_t resp = {0};
    Certplane__V1__ListEdgesResponse *edges = NULL;
    int rc = list_edges(c, &resp, &edges, err);
    if (rc == 0 && c->args->o.json)
        fprintf(c->out, "%s\n", resp.body);
    else if (rc == 0)
        print_edges(c->out, edges);
    if (edges != NULL)
        protobuf_c_message_free_unpacked(&edges->base, NULL);
    ctl_cli_resp_dispose(&resp);
    return rc;
}

/* The first line of a plain-text answer ("ok", "ready"), or "HTTP <status>". */
static void probe_text(const ctl_cli_resp_t *r, char *buf, size_t size)
{
    size_t n = strcspn(r->body, "\r\n");
    if (n == 0)
        snprintf(buf, size, "HTTP %ld", r->status);
    else
        snprintf(buf, size, "%.*s", (int)(n < 200 ? n : 200), r->body);
}

static void print_status(ctl_cli_ctx_t *c, const char *health, const char *ready, bool is_ready,
                         const ctl_cli_resp_t *edges_resp,
                         const Certplane__V1__ListEdgesResponse *edges)
{
    if (c->args->o.json) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:b}", "address", c->args->o.addr, "healthz",
                                health, "readyz", ready, "ready", is_ready);
        json_t *e = edges_resp->body != NULL
                        ? json_loadb(edges_resp->body, edges_resp->len, 0, NULL)
                        : NULL;
        json_t *list = json_object_get(e, "edges");
        json_object_set_new(doc, "edges", json_is_array(list) ? json_incref(list) : json_array());
        char *text = json_dumps(doc, JSON_COMPACT);
        fprintf(c->out, "%s\n", text);
        free(text);
        json_decref(e);
        json_decref(doc);
        return;
    }
    fprintf(c->out, "Controller:  %s\nHealth:      %s\nReady:       %s%s\n", c->args->o.addr,
            health, ready, is_ready ? "" : " (not ready)");
    if (edges == NULL) {
        fprintf(c->out, "Edges:       unknown\n");
        return;
    }
    fprintf(c->out, "Edges:       %zu\n", edges->n_edges);
    if (edges->n_edges > 0) {
        fputc('\n', c->out);
        print_edges(c->out, edges);
    }
}

int ctl_cli_cmd_status(ctl_cli_ctx_t *c, cp_err_t *err)
{
    ctl_cli_resp_t health = {0}, ready = {0}, edges_resp = {0};
    Certplane__V1__ListEdgesResponse *edges = NULL;
    char health_text[256], ready_text[256];
    int rc = ctl_cli_http_get_any(c->http, "/healthz", &health, err);
    if (rc == 0)
        rc = ctl_cli_http_get_any(c->http, "/readyz", &ready, err);
    if (rc != 0)
        goto out;
    probe_text(&health, health_text, sizeof health_text);
    probe_text(&ready, ready_text, sizeof ready_text);
    bool is_ready = health.status == 200 && ready.status == 200;
    if (is_ready)
        rc = list_edges(c, &edges_resp, &edges, err);
    if (rc != 0)
        goto out;
    print_status(c, health_text, ready_text, is_ready, &edges_resp, edges);
    if (!is_ready)
        rc = cp_err_set(err, CP_EUNAVAIL, "controller not ready: %s", ready_text);
out:
    if (edges != NULL)
        protobuf_c_message_free_unpacked(&edges->base, NULL);
    ctl_cli_resp_dispose(&health);
    ctl_cli_resp_dispose(&ready);
    ctl_cli_resp_dispose(&edges_resp);
    return rc;
}
