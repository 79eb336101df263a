/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_webhook.c - certplanectl's webhook commands (cmd_webhook.h) */
#include "controller/cli/cmd_webhook.h"

#include <stdlib.h>
#include <string.h>

#include "controller/cli/cmd_util.h"
#include "controller/cli/table.h"
#include "shared/json.h"
#include "shared/mem.h"

static void print_webhooks(FILE *out, Certplane__V1__Webhook *const *w, size_t n)
{
    static const char *const headers[] = {"ID", "URL", "EVENTS", "NAME FILTER", "CREATED"};
    ctl_cli_table_t *t = ctl_cli_table_new(5, headers);
    for (size_t i = 0; i < n; i++) {
        char events[200] = "", created[32];
        for (size_t k = 0; k < w[i]->n_events; k++)
            snprintf(events + strlen(events), sizeof events - strlen(events), "%s%s", k ? "," : "",
                     w[i]->events[k]);
        ctl_cli_fmt_time(w[i]->create_time, created, sizeof created);
        const char *cells[] = {w[i]->id, w[i]->url, events,
                               w[i]->name_filter[0] ? w[i]->name_filter : "-", created};
        ctl_cli_table_add(t, cells);
    }
    ctl_cli_table_print(t, out);
    ctl_cli_table_free(t);
}

static void print_dead(FILE *out, const Certplane__V1__ListWebhookDeadLettersResponse *r)
{
    static const char *const headers[] = {"DELIVERY", "WEBHOOK", "TYPE",
                                          "ATTEMPTS", "DEAD AT", "LAST ERROR"};
    ctl_cli_table_t *t = ctl_cli_table_new(6, headers);
    for (size_t i = 0; i < r->n_dead_letters; i++) {
        const Certplane__V1__WebhookDeadLetter *d = r->dead_letters[i];
        char attempts[16], at[32];
        snprintf(attempts, sizeof attempts, "%d", (int)d->attempts);
        ctl_cli_fmt_time(d->dead_time, at, sizeof at);
        const char *cells[] = {d->delivery_id, d->webhook_id, d->type, attempts, at, d->last_error};
        ctl_cli_table_add(t, cells);
    }
    ctl_cli_table_print(t, out);
    ctl_cli_table_free(t);
}

/* Runs one call; the answer is decoded into *out (desc NULL: not decoded). */
static int call(ctl_cli_ctx_t *c, const char *method, const char *path, const char *body,
                const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
                ctl_cli_resp_t *resp, cp_err_t *err)
{
    int rc = ctl_cli_http_call(c->http, method, path, body, resp, err);
    if (rc == 0 && desc != NULL)
        rc = ctl_cli_decode(desc, resp, out, err);
    if (rc == 0 && c->args->o.json)
        fprintf(c->out, "%s\n", resp->body);
    return rc;
}

static int create(ctl_cli_ctx_t *c, ProtobufCMessage **m, ctl_cli_resp_t *resp, cp_err_t *err)
{
    const ctl_cli_args_t *a = c->args;
    Certplane__V1__CreateWebhookRequest req = CERTPLANE__V1__CREATE_WEBHOOK_REQUEST__INIT;
    char *body = NULL;
    req.url = (char *)a->pos[1];
    req.events = a->o.events.v;
    req.n_events = a->o.events.n;
    if (a->o.name_filter != NULL)
        req.name_filter = a->o.name_filter;
    int rc = cp_json_encode(&req.base, 0, &body, NULL, err);
    if (rc == 0)
        rc = call(c, "POST", "/v1/webhooks", body, &certplane__v1__webhook__descriptor, m, resp,
                  err);
    free(body);
    if (rc == 0 && !a->o.json) {
        Certplane__V1__Webhook *w = (Certplane__V1__Webhook *)*m;
        print_webhooks(c->out, &w, 1);
        fprintf(c->out, "\nSecret (shown only now; verify webhook-signature with it):\n%s\n",
                w->secret);
    }
    return rc;
}

int ctl_cli_cmd_webhook(ctl_cli_ctx_t *c, cp_err_t *err)
{
    const ctl_cli_args_t *a = c->args;
    const char *act = a->pos[0];
    ProtobufCMessage *m = NULL;
    ctl_cli_resp_t resp = {0};
    int rc;
    if (strcmp(act, "create") == 0) {
        rc = create(c, &m, &resp, err);
    } else if (strcmp(act, "list") == 0) {
        rc = call(c, "GET", "/v1/webhooks", NULL,
                  &certplane__v1__list_webhooks_response__descriptor, &m, &resp, err);
        if (rc == 0 && !a->o.json) {
            Certplane__V1__ListWebhooksResponse *r = (void *)m;
            print_webhooks(c->out, r->webhooks, r->n_webhooks);
        }
    } else if (strcmp(act, "delete") == 0) {
        char *e = ctl_cli_http_escape(c->http, a->pos[1]);
        char *path = cp_xasprintf("/v1/webhooks/%s", e);
        rc = call(c, "DELETE", path, NULL, NULL, NULL, &resp, err);
        if (rc == 0 && !a->o.json)
            fprintf(c->out, "deleted webhook %s\n", a->pos[1]);
        free(path);
        free(e);
    } else {
        rc = call(c, "GET", "/v1/webhooks:deadLetters", NULL,
                  &certplane__v1__list_webhook_dead_letters_response__descriptor, &m, &resp, err);
        if (rc == 0 && !a->o.json)
            print_dead(c->out, (void *)m);
    }
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, NULL);
    ctl_cli_resp_dispose(&resp);
    return rc;
}
