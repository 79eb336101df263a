/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_certs.c - certplanectl's certificate commands: create, get, list, delete, renew, revoke,
 * import */
#include "controller/cli/cmd_certs.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "controller/cli/cmd_util.h"
#include "controller/cli/cmd_watch.h"
#include "controller/cli/table.h"
#include "shared/file.h"
#include "shared/json.h"
#include "shared/mem.h"

/* PEM files larger than this are not certificates or keys (the API's body limit is 1 MiB too). */
#define CTL_CLI_MAX_PEM (1024 * 1024)

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
    cert.n_issuers = a->o.issuers.n;
    cert.issuers = a->o.issuers.v;
    if (a->o.preferred_chain != NULL)
        cert.preferred_chain = a->o.preferred_chain;
    cert.key_type = a->key_type;
    cert.challenge_type = a->challenge;
    char *body = encode(&cert.base, err);
    if (body == NULL)
        return CP_EINVAL;
    int rc = cert_call(c, "POST", "/v1/certificates", body, false, err);
    free(body);
    if (rc == CP_EEXIST && a->o.if_missing) { /* idempotent: show (or wait for) the one stored */
        cp_err_clear(err);
        char *path = ctl_cli_cert_path(c, a->pos[0], "");
        rc = cert_call(c, "GET", path, NULL, false, err);
        free(path);
    }
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

/* Reads the PEM file of option `flag`. Any failure but a too large file is CP_EIO: CP_ENOTFOUND
 * would exit with the status of a certificate that is not found. */
static int read_pem(const char *flag, const char *path, char **out, cp_err_t *err)
{
    int rc = cp_file_read(path, CTL_CLI_MAX_PEM, out, NULL, err);
    if (rc == 0)
        return 0;
    if (rc != CP_ETOOBIG) {
        rc = CP_EIO;
        if (err != NULL)
            err->code = rc;
    }
    cp_err_prefix(err, "%s", flag);
    return rc;
}

int ctl_cli_cmd_import(ctl_cli_ctx_t *c, cp_err_t *err)
{
    const ctl_cli_args_t *a = c->args;
    Certplane__V1__ImportCertificateRequest req = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    char *chain = NULL, *key = NULL, *body = NULL;
    int rc = read_pem("--cert", a->o.cert_file, &chain, err);
    if (rc == 0)
        rc = read_pem("--key", a->o.key_file, &key, err);
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
    cp_secure_free_str(key); /* the private key must not linger in freed memory */
    cp_secure_free_str(body);
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
    *next = page->next_page_token[0] != '\0' ? cp_xstrdup(page->next_page_token) : NULL;
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
        char *tok = next != NULL ? ctl_cli_http_escape(c->http, next) : NULL;
        char *path = cp_xasprintf(
            "/v1/certificates?pageSize=%d%s%s%s%s", a->o.page_size > 0 ? a->o.page_size : 100,
            a->state ? "&state=" : "", a->state ? ctl_cli_state_name(a->state) : "",
            tok ? "&pageToken=" : "", tok ? tok : "");
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
