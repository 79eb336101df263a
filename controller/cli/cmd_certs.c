/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_certs.c - certplanectl's certificate commands: create, get, list, delete, renew, revoke,
 * import */
#include "controller/cli/cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "controller/cli/table.h"
#include "shared/json.h"

/* PEM files larger than this are not certificates or keys (the API's body limit is 1 MiB too). */
#define CTL_CLI_MAX_PEM (1024 * 1024)

int ctl_cli_decode(const ProtobufCMessageDescriptor *desc, const ctl_cli_resp_t *resp,
                   ProtobufCMessage **out, cp_err_t *err)
{
    cp_err_t why = {0};
    int rc = cp_json_decode(desc, resp->body, resp->len, CP_JSON_IGNORE_UNKNOWN, out, &why);
    if (rc != 0)
        return cp_err_set(err, CP_EPROTO, "unexpected answer from the controller: %s", why.msg);
    return 0;
}

char *ctl_cli_cert_path(ctl_cli_ctx_t *c, const char *name, const char *suffix)
{
    char *e = ctl_cli_http_escape(c->http, name), *path;
    if (asprintf(&path, "/v1/certificates/%s%s", e, suffix) < 0)
        abort();
    free(e);
    return path;
}

static void print_field(FILE *out, const char *label, const char *value)
{
    if (value != NULL && value[0] != '\0')
        fprintf(out, "%-13s %s\n", label, value);
}

static void print_list(FILE *out, const char *label, char **v, size_t n)
{
    if (n == 0)
        return;
    fprintf(out, "%-13s", label);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s", i == 0 ? " " : ", ", v[i]);
    fputc('\n', out);
}

static void print_time(FILE *out, const char *label, const Google__Protobuf__Timestamp *ts)
{
    char buf[32];
    ctl_cli_fmt_time(ts, buf, sizeof buf);
    if (ts != NULL)
        print_field(out, label, buf);
}

void ctl_cli_print_cert(ctl_cli_ctx_t *c, const Certplane__V1__Certificate *cert, bool pems)
{
    FILE *out = c->out;
    char num[32];
    print_field(out, "Name:", cert->name);
    print_field(out, "State:", ctl_cli_state_name(cert->state));
    print_list(out, "Domains:", cert->domains, cert->n_domains);
    print_list(out, "IP addresses:", cert->ip_addresses, cert->n_ip_addresses);
    print_field(out, "Email:", cert->email);
    print_field(out, "Provider:", cert->provider);
    print_field(out, "Profile:", cert->profile);
    print_field(out, "Chain:", cert->preferred_chain);
    if (cert->key_type != 0)
        print_field(out, "Key type:",
                    ctl_cli_enum_name(&certplane__v1__key_type__descriptor, cert->key_type));
    if (cert->challenge_type != 0)
        print_field(
            out, "Challenge:",
            ctl_cli_enum_name(&certplane__v1__challenge_type__descriptor, cert->challenge_type));
    print_time(out, "Not before:", cert->not_before);
    print_time(out, "Not after:", cert->not_after);
    print_time(out, "Renew after:", cert->renew_after);
    print_field(out, "Serial:", cert->serial);
    print_field(out, "Issuer:", cert->issuer);
    print_field(out, "Last error:", cert->last_error);
    snprintf(num, sizeof num, "%d", (int)cert->failure_count);
    print_field(out, "Failures:", cert->failure_count != 0 ? num : NULL);
    snprintf(num, sizeof num, "%" PRId64, (int64_t)cert->revision);
    print_field(out, "Revision:", num);
    print_time(out, "Created:", cert->create_time);
    print_time(out, "Updated:", cert->update_time);
    if (pems && cert->fullchain_pem[0] != '\0')
        fprintf(out, "\n%s", cert->fullchain_pem);
    if (pems && cert->private_key_pem[0] != '\0')
        fprintf(out, "\n%s", cert->private_key_pem);
}

/* Prints an answer: the API's JSON as it came (--json) or the human view of the certificate. */
static void print_answer(ctl_cli_ctx_t *c, const ctl_cli_resp_t *resp,
                         const Certplane__V1__Certificate *cert, bool pems)
{
    if (c->args->o.json) {
        fprintf(c->out, "%s%s", resp->body,
                resp->len > 0 && resp->body[resp->len - 1] == '\n' ? "" : "\n");
        return;
    }
    ctl_cli_print_cert(c, cert, pems);
}

/* Calls a route that answers a Certificate, then prints it or (--wait) follows it. */
static int cert_call(ctl_cli_ctx_t *c, const char *method, const char *path, const char *body,
                     bool pems, cp_err_t *err)
{
    ctl_cli_resp_t resp = {0};
    Certplane__V1__Certificate *cert = NULL;
    int rc = ctl_cli_http_call(c->http, method, path, body, &resp, err);
    if (rc == 0)
        rc = ctl_cli_decode(&certplane__v1__certificate__descriptor, &resp,
                            (ProtobufCMessage **)&cert, err);
    if (rc != 0)
        goto out;
    if (c->args->o.wait)
        rc = ctl_cli_cmd_wait(c, cert, err);
    else
        print_answer(c, &resp, cert, pems);
out:
    if (cert != NULL)
        protobuf_c_message_free_unpacked(&cert->base, NULL);
    ctl_cli_resp_dispose(&resp);
    return rc;
}

static char *encode(const ProtobufCMessage *msg, cp_err_t *err)
{
    char *json = NULL;
    if (cp_json_encode(msg, 0, &json, NULL, err) != 0)
        cp_err_prefix(err, "encoding the request");
    return json;
}

int ctl_cli_cmd_create(ctl_cli_ctx_t *c, cp_err_t *err)
{
    const ctl_cli_args_t *a = c->args;
    Certplane__V1__Certificate cert = CERTPLANE__V1__CERTIFICATE__INIT;
    cert.name = (char *)a->pos[0];
    cert.n_domains = a->o.domains.n;
    cert.domains = a->o.domains.v;
    cert.n_ip_addresses = a->o.ips.n;
    cert.ip_addresses = a->o.ips.v;
    if (a->o.email != NULL)
        cert.email = a->o.email;
    if (a->o.provider != NULL)
        cert.provider = a->o.provider;
    if (a->o.profile != NULL)
        cert.profile = a->o.profile;
    if (a->o.preferred_chain != NULL)
        cert.preferred_chain = a->o.preferred_chain;
    cert.key_type = a->key_type;
    cert.challenge_type = a->challenge;
    char *body = encode(&cert.base, err);
    if (body == NULL)
        return CP_EINVAL;
    int rc = cert_call(c, "POST", "/v1/certificates", body, false, err);
    free(body);
    return rc;
}

int ctl_cli_cmd_get(ctl_cli_ctx_t *c, cp_err_t *err)
{
    bool key = c->args->o.private_key;
    char *path = ctl_cli_cert_path(c, c->args->pos[0], key ? "?includePrivateKey=true" : "");
    int rc = cert_call(c, "GET", path, NULL, key, err);
    free(path);
    return rc;
}

int ctl_cli_cmd_delete(ctl_cli_ctx_t *c, cp_err_t *err)
{
    ctl_cli_resp_t resp = {0};
    char *path = ctl_cli_cert_path(c, c->args->pos[0], "");
    int rc = ctl_cli_http_call(c->http, "DELETE", path, NULL, &resp, err);
    if (rc == 0 && c->args->o.json)
        fprintf(c->out, "%s\n", resp.len > 0 ? resp.body : "{}");
    else if (rc == 0)
        fprintf(c->out, "deleted %s\n", c->args->pos[0]);
    ctl_cli_resp_dispose(&resp);
    free(path);
    return rc;
}

int ctl_cli_cmd_renew(ctl_cli_ctx_t *c, cp_err_t *err)
{
    char *path = ctl_cli_cert_path(c, c->args->pos[0], ":renew");
    int rc = cert_call(c, "POST", path, "{}", false, err);
    free(path);
    return rc;
}

int ctl_cli_cmd_revoke(ctl_cli_ctx_t *c, cp_err_t *err)
{
    Certplane__V1__RevokeCertificateRequest req = CERTPLANE__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
    req.reason = c->args->reason;
    char *body = encode(&req.base, err);
    if (body == NULL)
        return CP_EINVAL;
    char *path = ctl_cli_cert_path(c, c->args->pos[0], ":revoke");
    int rc = cert_call(c, "POST", path, body, false, err);
    free(path);
    free(body);
    return rc;
}

/* Reads a whole (small) file into a malloc'd NUL-terminated string. */
static int read_file(const char *flag, const char *path, char **out, cp_err_t *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return cp_err_set(err, CP_EIO, "%s %s: %s", flag, path, strerror(errno));
    char *buf = malloc(CTL_CLI_MAX_PEM + 1);
    if (buf == NULL)
        abort();
    size_t n = fread(buf, 1, CTL_CLI_MAX_PEM + 1, f);
    int rc = 0;
    if (ferror(f))
        rc = cp_err_set(err, CP_EIO, "%s %s: read error", flag, path);
    else if (n > CTL_CLI_MAX_PEM)
        rc = cp_err_set(err, CP_ETOOBIG, "%s %s: larger than 1 MiB", flag, path);
    fclose(f);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

int ctl_cli_cmd_import(ctl_cli_ctx_t *c, cp_err_t *err)
{
    const ctl_cli_args_t *a = c->args;
    Certplane__V1__ImportCertificateRequest req = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    char *chain = NULL, *key = NULL, *body = NULL;
    int rc = read_file("--cert", a->o.cert_file, &chain, err);
    if (rc == 0)
        rc = read_file("--key", a->o.key_file, &key, err);
    if (rc != 0)
        goto out;
    req.name = (char *)a->pos[0];
    req.fullchain_pem = chain;
    req.private_key_pem = key;
    req.auto_renew = a->o.auto_renew;
    if (a->o.email != NULL)
        req.email = a->o.email;
    body = encode(&req.base, err);
    rc = body != NULL ? cert_call(c, "POST", "/v1/certificates:import", body, false, err)
                      : CP_EINVAL;
out:
    if (key != NULL) /* the private key must not linger in freed memory */
        memset(key, 0, strlen(key));
    free(key);
    if (body != NULL)
        memset(body, 0, strlen(body));
    free(body);
    free(chain);
    return rc;
}

/* Adds one page to the table, or (--json) its certificates to `all`. Sets *next to the page token.
 */
static int list_page(ctl_cli_ctx_t *c, const ctl_cli_resp_t *resp, ctl_cli_table_t *t, json_t *all,
                     char **next, cp_err_t *err)
{
    Certplane__V1__ListCertificatesResponse *page = NULL;
    int rc = ctl_cli_decode(&certplane__v1__list_certificates_response__descriptor, resp,
                            (ProtobufCMessage **)&page, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < page->n_certificates && !c->args->o.json; i++)
        ctl_cli_table_add_cert(t, page->certificates[i]);
    if (c->args->o.json) {
        json_t *doc = json_loadb(resp->body, resp->len, 0, NULL);
        json_t *certs = json_object_get(doc, "certificates");
        if (json_is_array(certs))
            json_array_extend(all, certs);
        json_decref(doc);
    }
    free(*next);
    *next = page->next_page_token[0] != '\0' ? strdup(page->next_page_token) : NULL;
    protobuf_c_message_free_unpacked(&page->base, NULL);
    return 0;
}

int ctl_cli_cmd_list(ctl_cli_ctx_t *c, cp_err_t *err)
{
    const ctl_cli_args_t *a = c->args;
    ctl_cli_table_t *t = ctl_cli_cert_table_new();
    json_t *all = json_array();
    char *next = NULL;
    int rc = 0;
    do {
        char *tok = next != NULL ? ctl_cli_http_escape(c->http, next) : NULL, *path;
        if (asprintf(&path, "/v1/certificates?pageSize=%d%s%s%s%s",
                     a->o.page_size > 0 ? a->o.page_size : 100, a->state ? "&state=" : "",
                     a->state ? ctl_cli_state_name(a->state) : "", tok ? "&pageToken=" : "",
                     tok ? tok : "") < 0)
            abort();
        ctl_cli_resp_t resp = {0};
        rc = ctl_cli_http_call(c->http, "GET", path, NULL, &resp, err);
        if (rc == 0)
            rc = list_page(c, &resp, t, all, &next, err);
        ctl_cli_resp_dispose(&resp);
        free(path);
        free(tok);
    } while (rc == 0 && next != NULL);
    if (rc == 0 && a->o.json) {
        json_t *doc = json_pack("{s:O}", "certificates", all);
        char *text = json_dumps(doc, JSON_COMPACT);
        fprintf(c->out, "%s\n", text);
        free(text);
        json_decref(doc);
    } else if (rc == 0) {
        ctl_cli_table_print(t, c->out);
    }
    free(next);
    json_decref(all);
    ctl_cli_table_free(t);
    return rc;
}
