/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_util.c - what several certplanectl commands share: decoding answers, paths, printing */
#include "controller/cli/cmd_util.h"

#include <inttypes.h>
#include <stdlib.h>

#include "controller/cli/table.h"
#include "shared/json.h"
#include "shared/mem.h"

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
    char *e = ctl_cli_http_escape(c->http, name);
    char *path = cp_xasprintf("/v1/certificates/%s%s", e, suffix);
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

/* The ARI window (RFC 9773) the CA suggested, when it offers one. */
static void print_ari(FILE *out, const Certplane__V1__Certificate *cert)
{
    char start[32], end[32], window[80];
    if (cert->ari_window_start == NULL || cert->ari_window_end == NULL)
        return;
    ctl_cli_fmt_time(cert->ari_window_start, start, sizeof start);
    ctl_cli_fmt_time(cert->ari_window_end, end, sizeof end);
    snprintf(window, sizeof window, "%s .. %s", start, end);
    print_field(out, "ARI window:", window);
    print_field(out, "ARI reason:", cert->ari_explanation_url);
    print_time(out, "ARI poll:", cert->ari_next_poll);
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
    print_list(out, "Issuers:", cert->issuers, cert->n_issuers);
    print_field(out, "Profile:", cert->profile);
    print_field(out, "Chain:", cert->preferred_chain);
    /* A controller before issue 16 leaves the default out: it means RSA_2048. */
    print_field(out, "Key type:",
                cert->key_type != 0
                    ? ctl_cli_enum_name(&certplane__v1__key_type__descriptor, cert->key_type)
                    : "RSA_2048 (default)");
    if (cert->challenge_type != 0)
        print_field(
            out, "Challenge:",
            ctl_cli_enum_name(&certplane__v1__challenge_type__descriptor, cert->challenge_type));
    print_time(out, "Not before:", cert->not_before);
    print_time(out, "Not after:", cert->not_after);
    print_time(out, "Renew after:", cert->renew_after);
    print_ari(out, cert);
    print_field(out, "Serial:", cert->serial);
    print_field(out, "Issuer:", cert->issuer);
    print_field(out, "Issued by:", cert->issued_by);
    print_field(out, "On demand:", cert->on_demand ? "yes" : NULL); /* on-demand TLS (issue 14) */
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
