/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_watch.c - certplanectl's Watch stream users: the watch command and --wait */
#include "controller/cli/cmd_watch.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/cli/cmd_util.h"
#include "controller/cli/table.h"
#include "shared/clock.h"
#include "shared/json.h"

#define CTL_CLI_WAIT_DEFAULT_MS (5 * 60 * 1000)

/* Decodes one NDJSON line into an event; an {"error": {...}} line becomes its CP_E* code. */
static int decode_event(const char *line, size_t len, Certplane__V1__CertificateEvent **ev,
                        cp_err_t *err)
{
    *ev = NULL;
    json_t *doc = json_loadb(line, len, 0, NULL);
    if (doc == NULL)
        return cp_err_set(err, CP_EPROTO, "watch: malformed event line");
    json_t *e = json_object_get(doc, "error");
    int rc = 0;
    if (json_is_object(e)) {
        json_t *msg = json_object_get(e, "message");
        rc = ctl_cli_grpc_to_err((int)json_integer_value(json_object_get(e, "code")));
        cp_err_set(err, rc != 0 ? rc : CP_EPROTO, "%s",
                   json_is_string(msg) ? json_string_value(msg) : "watch stream failed");
        rc = rc != 0 ? rc : CP_EPROTO;
    } else if (cp_json_from_jansson(&certplane__v1__certificate_event__descriptor, doc,
                                    CP_JSON_IGNORE_UNKNOWN, (ProtobufCMessage **)ev, err) != 0) {
        cp_err_prefix(err, "watch: unexpected event");
        if (err != NULL)
            err->code = CP_EPROTO;
        rc = CP_EPROTO;
    }
    json_decref(doc);
    return rc;
}

/* One line per event: revision, type, then what the event is about. */
static void print_event(FILE *out, const Certplane__V1__CertificateEvent *ev)
{
    char rev[24], names[300];
    snprintf(rev, sizeof rev, "%" PRId64, (int64_t)ev->revision);
    const char *type = ctl_cli_enum_name(&certplane__v1__event_type__descriptor, ev->type);
    const Certplane__V1__Certificate *c = ev->certificate;
    bool more = ev->name[0] != '\0' || ev->challenge != NULL;
    fprintf(out, "%-8s %-*s", rev, more ? 15 : 0, type);
    if (ev->type == CERTPLANE__V1__EVENT_TYPE__UPSERT && c != NULL) {
        ctl_cli_fmt_names(c, names, sizeof names);
        fprintf(out, " %s %s %s", ev->name, ctl_cli_state_name(c->state), names);
        if (c->last_error[0] != '\0')
            fprintf(out, " (%s)", c->last_error);
    } else if (ev->name[0] != '\0') {
        fprintf(out, " %s", ev->name);
    } else if (ev->challenge != NULL) {
        fprintf(out, " %s", ev->challenge->token);
    }
    fputc('\n', out);
    fflush(out);
}

typedef struct watch_ctx {
    ctl_cli_ctx_t *c;
    cp_err_t *err;
} watch_ctx_t;

static int on_watch_line(void *arg, const char *line, size_t len)
{
    watch_ctx_t *w = arg;
    Certplane__V1__CertificateEvent *ev = NULL;
    int rc = decode_event(line, len, &ev, w->err);
    if (rc != 0)
        return rc;
    if (w->c->args->o.json) {
        fprintf(w->c->out, "%.*s\n", (int)len, line);
        fflush(w->c->out);
    } else {
        print_event(w->c->out, ev);
    }
    protobuf_c_message_free_unpacked(&ev->base, NULL);
    return 0;
}

int ctl_cli_cmd_watch(ctl_cli_ctx_t *c, cp_err_t *err)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/watch?fromRevision=%" PRId64, c->args->from_revision);
    watch_ctx_t w = {c, err};
    if (!c->args->o.json) { /* the columns of print_event, labelled */
        fprintf(c->out, "%-8s %-15s %s\n", "REVISION", "EVENT", "NAME STATE NAMES");
        fflush(c->out);
    }
    int rc = ctl_cli_http_stream(c->http, path, c->args->o.timeout_ms, on_watch_line, &w, err);
    /* --timeout on watch is how long to watch, so reaching it is the normal end. */
    return rc == CP_ETIMEDOUT && c->args->o.timeout_ms > 0 ? 0 : rc;
}

typedef struct wait_ctx {
    ctl_cli_ctx_t *c;
    cp_err_t *err;
    const char *name;
    FILE *progress;
    int state; /* last state printed */
    int64_t revision;
    int result; /* 1 while waiting, then 0 or a CP_E* code */
} wait_ctx_t;

/* Prints a state change and decides whether the certificate has settled. */
static void wait_update(wait_ctx_t *w, const Certplane__V1__Certificate *cert)
{
    if ((int)cert->state != w->state) {
        fprintf(w->progress, "%s: %s%s%s\n", w->name, ctl_cli_state_name(cert->state),
                cert->last_error[0] != '\0' ? ": " : "", cert->last_error);
        fflush(w->progress);
        w->state = cert->state;
    }
    switch (cert->state) {
    case CERTPLANE__V1__STATE__VALID:
        /* last_error is cleared by a success: VALID with an error is a failed renewal. */
        w->result =
            cert->last_error[0] == '\0'
                ? 0
                : cp_err_set(w->err, CP_EACME, "%s: renewal failed: %s", w->name, cert->last_error);
        break;
    case CERTPLANE__V1__STATE__FAILED:
        w->result = cp_err_set(w->err, CP_EACME, "%s: FAILED: %s", w->name, cert->last_error);
        break;
    case CERTPLANE__V1__STATE__REVOKED:
        w->result = cp_err_set(w->err, CP_ESTATE, "%s: revoked", w->name);
        break;
    default:
        break;
    }
}

static int on_wait_line(void *arg, const char *line, size_t len)
{
    wait_ctx_t *w = arg;
    Certplane__V1__CertificateEvent *ev = NULL;
    int rc = decode_event(line, len, &ev, w->err);
    if (rc != 0)
        return rc;
    if (ev->revision > w->revision)
        w->revision = ev->revision;
    if (strcmp(ev->name, w->name) == 0 && ev->type == CERTPLANE__V1__EVENT_TYPE__DELETE)
        w->result = cp_err_set(w->err, CP_ENOTFOUND, "%s: deleted while waiting", w->name);
    else if (strcmp(ev->name, w->name) == 0 && ev->certificate != NULL)
        wait_update(w, ev->certificate);
    protobuf_c_message_free_unpacked(&ev->base, NULL);
    return w->result <= 0 ? 1 : 0;
}

/* Prints the settled certificate as `get` does. */
static int print_final(ctl_cli_ctx_t *c, const char *name, cp_err_t *err)
{
    ctl_cli_resp_t resp = {0};
    Certplane__V1__Certificate *cert = NULL;
    char *path = ctl_cli_cert_path(c, name, "");
    int rc = ctl_cli_http_call(c->http, "GET", path, NULL, &resp, err);
    if (rc == 0 && c->args->o.json)
        fprintf(c->out, "%s\n", resp.body);
    else if (rc == 0)
        rc = ctl_cli_decode(&certplane__v1__certificate__descriptor, &resp,
                            (ProtobufCMessage **)&cert, err);
    if (rc == 0 && cert != NULL)
        ctl_cli_print_cert(c, cert, false);
    if (cert != NULL)
        protobuf_c_message_free_unpacked(&cert->base, NULL);
    ctl_cli_resp_dispose(&resp);
    free(path);
    return rc;
}

int ctl_cli_cmd_wait(ctl_cli_ctx_t *c, const Certplane__V1__Certificate *cert, cp_err_t *err)
{
    int64_t timeout = c->args->o.timeout_ms > 0 ? c->args->o.timeout_ms : CTL_CLI_WAIT_DEFAULT_MS;
    int64_t deadline = cp_clock_mono_ms() + timeout;
    wait_ctx_t w = {c, err, cert->name, c->args->o.json ? stderr : c->out, -1, cert->revision, 1};
    fprintf(w.progress, "%s: %s\n", w.name, ctl_cli_state_name(cert->state));
    fflush(w.progress);
    w.state = cert->state;
    /* create --if-missing found the certificate stored: settled already, it is shown at once
     * (renew --wait starts from the state before the renewal, so it always waits for an event). */
    if (c->args->o.if_missing)
        wait_update(&w, cert);
    int rc = 0;
    while (w.result > 0) {
        int64_t left = deadline - cp_clock_mono_ms();
        char path[64];
        snprintf(path, sizeof path, "/v1/watch?fromRevision=%" PRId64, w.revision);
        rc = left > 0 ? ctl_cli_http_stream(c->http, path, left, on_wait_line, &w, err)
                      : CP_ETIMEDOUT;
        if (rc == CP_ETIMEDOUT)
            return cp_err_set(err, CP_ETIMEDOUT, "%s: still %s after %.1fs (--timeout)", w.name,
                              ctl_cli_state_name(w.state), (double)timeout / 1000.0);
        if (rc != 0)
            return rc;
        if (w.result > 0) /* the server ended the stream: resume after a short pause */
            nanosleep(&(struct timespec){0, 200000000}, NULL);
    }
    cp_err_t get_err;
    rc = print_final(c, w.name, w.result == 0 ? err : &get_err);
    return w.result != 0 ? w.result : rc;
}
