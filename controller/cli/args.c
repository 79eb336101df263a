/* SPDX-License-Identifier: Apache-2.0 */
/* args.c - certplanectl's command line: the command table, one option table per command, parsing */
#include "controller/cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certplane/v1/certplane.pb-c.h"
#include "shared/mem.h"

#define OPT(flag, env, type, field, def, help)                                                     \
    {                                                                                              \
        flag, env, type, offsetof(ctl_cli_opts_t, field), def, help, 0, 0, 0                       \
    }

/* The options every command accepts; they may also come before the command. */
#define COMMON_OPTS                                                                                \
    OPT("addr", "CERTPLANE_ADDR", CP_CFG_STRING, addr, "http://127.0.0.1:8080",                    \
        "Controller HTTP address (http://host:port)."),                                            \
        {"token",                                                                                  \
         "CERTPLANE_TOKEN",                                                                        \
         CP_CFG_STRING,                                                                            \
         offsetof(ctl_cli_opts_t, token),                                                          \
         NULL,                                                                                     \
         "API token (sent as a Bearer token, never printed).",                                     \
         CP_CFG_SECRET,                                                                            \
         0,                                                                                        \
         0},                                                                                       \
        OPT("json", NULL, CP_CFG_BOOL, json, NULL,                                                 \
            "Print the API's proto3 JSON instead of tables (watch: one event per line)."),         \
        OPT("timeout", NULL, CP_CFG_DURATION, timeout_ms, NULL,                                    \
            "How long --wait waits (default 5m); for watch, stop after this long (default: "       \
            "never).")

#define WAIT_OPT OPT("wait", NULL, CP_CFG_BOOL, wait, NULL, "Show progress until VALID or FAILED.")

static const cp_cfg_opt_t create_opts[] = {
    COMMON_OPTS,
    OPT("domain", NULL, CP_CFG_LIST, domains, NULL,
        "DNS name (repeatable; *.example.com allowed)."),
    OPT("ip", NULL, CP_CFG_LIST, ips, NULL, "IP address identifier (repeatable)."),
    OPT("email", NULL, CP_CFG_STRING, email, NULL, "ACME account contact."),
    OPT("provider", NULL, CP_CFG_STRING, provider, NULL,
        "CA: letsencrypt, letsencrypt-staging, zerossl, buypass, google or a directory URL."),
    OPT("profile", NULL, CP_CFG_STRING, profile, NULL, "ACME profile to ask for."),
    OPT("issuer", NULL, CP_CFG_LIST, issuers, NULL,
        "Provider to issue from, in order of preference (repeatable): the next one issues when "
        "the one before fails for long; default: the controller's --issuers."),
    OPT("key-type", NULL, CP_CFG_STRING, key_type, NULL,
        "ec-p256, ec-p384, rsa-2048 (controller default), rsa-3072 or rsa-4096."),
    OPT("challenge", NULL, CP_CFG_STRING, challenge, NULL,
        "http-01 (default), dns-01 or tls-alpn-01 (answered by the edges on port 443)."),
    OPT("preferred-chain", NULL, CP_CFG_STRING, preferred_chain, NULL,
        "Issuer common name of the alternate chain to prefer."),
    WAIT_OPT,
    OPT("if-missing", NULL, CP_CFG_BOOL, if_missing, NULL,
        "When NAME exists already, show it (or --wait for it) instead of failing; the options "
        "above do not change it."),
};
static const cp_cfg_opt_t get_opts[] = {
    COMMON_OPTS,
    OPT("private-key", NULL, CP_CFG_BOOL, private_key, NULL,
        "Also print the private key (admin token)."),
};
static const cp_cfg_opt_t list_opts[] = {
    COMMON_OPTS,
    OPT("state", NULL, CP_CFG_STRING, state, NULL,
        "Only this state: pending, issuing, valid, renewing, failed, revoked."),
    {"page-size", NULL, CP_CFG_INT, offsetof(ctl_cli_opts_t, page_size), NULL,
     "Certificates per request (1-1000); every page is listed.", 0, 1, 1000},
};
static const cp_cfg_opt_t common_opts[] = {COMMON_OPTS};
static const cp_cfg_opt_t renew_opts[] = {COMMON_OPTS, WAIT_OPT};
static const cp_cfg_opt_t revoke_opts[] = {
    COMMON_OPTS,
    OPT("reason", NULL, CP_CFG_STRING, reason, NULL,
        "RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged, "
        "superseded, "
        "cessationOfOperation, certificateHold, removeFromCRL, privilegeWithdrawn, aACompromise, "
        "or its number."),
};
static const cp_cfg_opt_t import_opts[] = {
    COMMON_OPTS,
    OPT("cert", NULL, CP_CFG_STRING, cert_file, NULL, "PEM file: leaf certificate, then chain."),
    OPT("key", NULL, CP_CFG_STRING, key_file, NULL, "PEM file: the leaf's private key."),
    OPT("auto-renew", NULL, CP_CFG_BOOL, auto_renew, NULL,
        "Renew it through ACME before it expires (needs --email)."),
    OPT("email", NULL, CP_CFG_STRING, email, NULL, "ACME account contact for --auto-renew."),
};
static const cp_cfg_opt_t account_opts[] = {
    COMMON_OPTS,
    OPT("provider", NULL, CP_CFG_STRING, provider, NULL,
        "The account's CA, as certificates name it (default: the controller's --acme-provider)."),
    OPT("email", NULL, CP_CFG_STRING, email, NULL,
        "The account's email (default: the controller's --acme-email)."),
    OPT("key-type", NULL, CP_CFG_STRING, key_type, NULL,
        "The new key: ec-p256 (default) or rsa-2048."),
};
static const cp_cfg_opt_t watch_opts[] = {
    COMMON_OPTS,
    OPT("from-revision", NULL, CP_CFG_STRING, from_revision, NULL,
        "Only events after this revision (0, the default, starts with a snapshot)."),
};

/* webhooks (issue 16) */
static const cp_cfg_opt_t webhook_opts[] = {
    COMMON_OPTS,
    OPT("event", NULL, CP_CFG_LIST, events, NULL,
        "webhook create: an event type to deliver (repeatable): issued, renewed, renewal_failed, "
        "expiring_soon, revoked, deleted, edge_lagging."),
    OPT("name-filter", NULL, CP_CFG_STRING, name_filter, NULL,
        "webhook create: only certificates whose name matches this glob (*.example.com)."),
};

#define CMD(id, name, usage, summary, opts, min, max)                                              \
    {                                                                                              \
        id, name, usage, summary, opts, sizeof opts / sizeof opts[0], min, max                     \
    }

static const ctl_cli_cmd_t cmds[CTL_CLI_N_CMDS] = {
    CMD(CTL_CLI_CREATE, "create",
        "create NAME --domain D [--domain D...] [--ip IP...] [--email E] [--provider P] "
        "[--key-type T] [--challenge C] [--preferred-chain X] [--wait] [--if-missing]",
        "Create a certificate and queue its issuance.", create_opts, 1, 1),
    CMD(CTL_CLI_GET, "get", "get NAME [--private-key]", "Show one certificate.", get_opts, 1, 1),
    CMD(CTL_CLI_LIST, "list", "list [--state S] [--page-size N]", "List every certificate.",
        list_opts, 0, 0),
    CMD(CTL_CLI_DELETE, "delete", "delete NAME", "Delete a certificate (edges stop serving it).",
        common_opts, 1, 1),
    CMD(CTL_CLI_RENEW, "renew", "renew NAME [--wait]", "Renew a certificate now.", renew_opts, 1,
        1),
    CMD(CTL_CLI_REVOKE, "revoke", "revoke NAME [--reason R]", "Revoke a certificate at its CA.",
        revoke_opts, 1, 1),
    CMD(CTL_CLI_IMPORT, "import", "import NAME --cert FILE --key FILE [--auto-renew --email E]",
        "Import an externally issued certificate.", import_opts, 1, 1),
    CMD(CTL_CLI_WATCH, "watch", "watch [--from-revision N]",
        "Print certificate events as they happen, one line each.", watch_opts, 0, 0),
    CMD(CTL_CLI_STATUS, "status", "status",
        "Show the controller's health, readiness and connected edges.", common_opts, 0, 0),
    CMD(CTL_CLI_EDGES, "edges", "edges", "List the edges that reported recently.", common_opts, 0,
        0),
    CMD(CTL_CLI_ACCOUNT, "account",
        "account rollover [--provider P] [--email E] [--key-type EC_P256|RSA_2048]",
        "Replace an ACME account's key at its CA (keyChange).", account_opts, 1, 1),
    CMD(CTL_CLI_WEBHOOK, "webhook",
        "webhook create URL --event T [--event T...] [--name-filter P] | webhook list | "
        "webhook delete ID | webhook dead-letters",
        "Manage webhook subscriptions and see deliveries given up.", webhook_opts, 1, 2),
    CMD(CTL_CLI_VERSION, "version", "version", "Print the version.", common_opts, 0, 0),
    CMD(CTL_CLI_HELP, "help", "help [COMMAND]", "Show help.", common_opts, 0, 1),
    CMD(CTL_CLI_COMPLETION, "completion", "completion bash|zsh",
        "Print the shell completion script (source <(certplanectl completion bash)).", common_opts,
        1, 1),
};

const ctl_cli_cmd_t *ctl_cli_cmd_find(const char *name)
{
    for (size_t i = 0; i < CTL_CLI_N_CMDS; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

const ctl_cli_cmd_t *ctl_cli_cmd_by_id(ctl_cli_cmd_id_t id)
{
    return (unsigned)id < CTL_CLI_N_CMDS ? &cmds[id] : NULL;
}

/* Upper-cases text and turns '-' into '_' ("ec-p256" -> "EC_P256"), for enum value names. */
static int enum_by_name(const ProtobufCEnumDescriptor *d, const char *text, int *out)
{
    char name[64];
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof name)
        return CP_EINVAL;
    for (size_t i = 0; i <= n; i++)
        name[i] = text[i] == '-' ? '_' : (char)toupper((unsigned char)text[i]);
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(d, name);
    if (v == NULL || v->value == 0)
        return CP_EINVAL;
    *out = v->value;
    return 0;
}

int ctl_cli_parse_key_type(const char *text, int *out)
{
    return enum_by_name(&certplane__v1__key_type__descriptor, text, out);
}

int ctl_cli_parse_challenge(const char *text, int *out)
{
    return enum_by_name(&certplane__v1__challenge_type__descriptor, text, out);
}

int ctl_cli_parse_state(const char *text, int *out)
{
    return enum_by_name(&certplane__v1__state__descriptor, text, out);
}

int ctl_cli_parse_reason(const char *text, int *out)
{
    static const char *const names[] = {
        "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
        "superseded",    "cessationOfOperation", "certificateHold", NULL,
        "removeFromCRL", "privilegeWithdrawn",   "aACompromise"};
    const int n = (int)(sizeof names / sizeof names[0]);
    if (isdigit((unsigned char)text[0])) {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (errno != 0 || *end != '\0' || v < 0 || v >= n || names[v] == NULL)
            return CP_EINVAL;
        *out = (int)v;
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (names[i] != NULL && strcasecmp(names[i], text) == 0) {
            *out = i;
            return 0;
        }
    }
    return CP_EINVAL;
}

static const cp_cfg_opt_t *find_opt(const ctl_cli_cmd_t *cmd, const char *arg)
{
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < cmd->n_opts; i++)
        if (strlen(cmd->opts[i].flag) == len && strncmp(cmd->opts[i].flag, name, len) == 0)
            return &cmd->opts[i];
    return NULL;
}

/* True when argv[i] is an option whose value is the next argument. */
static bool takes_next(const ctl_cli_cmd_t *cmd, const char *arg)
{
    if (strncmp(arg, "--", 2) != 0 || strchr(arg, '=') != NULL)
        return false;
    const cp_cfg_opt_t *o = find_opt(cmd, arg);
    return o != NULL && o->type != CP_CFG_BOOL;
}

/* Index of the command word: the first argument that is neither an option nor a global option's
 * value; argc when there is none. */
static int find_command(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return i + 1 < argc ? i + 1 : argc;
        if (argv[i][0] != '-')
            return i;
        if (takes_next(&cmds[CTL_CLI_HELP], argv[i]))
            i++;
    }
    return argc;
}

/* Splits the arguments other than the command word into options (for cp_cfg_parse) and positional
 * arguments. `opt_argv` has room for argc entries. */
static int split_args(ctl_cli_args_t *a, int argc, char **argv, int cmd_at, char **opt_argv,
                      int *opt_argc, cp_err_t *err)
{
    bool only_pos = false;
    int n = 0;
    opt_argv[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (i == cmd_at)
            continue;
        const char *arg = argv[i];
        if (!only_pos && strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            if (a->n_pos >= a->cmd->max_pos)
                return cp_err_set(err, CP_EINVAL, "%s: unexpected argument \"%s\"", a->cmd->name,
                                  arg);
            a->pos[a->n_pos++] = arg;
            continue;
        }
        /* Named here, before its value could be taken for a stray argument ("--bogus f.pem"). */
        if (strncmp(arg, "--", 2) == 0 && find_opt(a->cmd, arg) == NULL &&
            strcmp(arg, "--help") != 0 && strcmp(arg, "--version") != 0) {
            const char *eq = strchr(arg, '=');
            return cp_err_set(err, CP_EINVAL, "%s: unknown option %.*s (see certplanectl help %s)",
                              a->cmd->name, (int)(eq != NULL ? eq - arg : (long)strlen(arg)), arg,
                              a->cmd->name);
        }
        opt_argv[n++] = argv[i];
        if (takes_next(a->cmd, arg) && i + 1 < argc)
            opt_argv[n++] = argv[++i];
    }
    *opt_argc = n;
    return 0;
}

/* Checks what the option table cannot: enum values, required options, positional counts. */
/* webhook: its action and the positional arguments and options the action takes (issue 16). */
static int webhook_check(const ctl_cli_args_t *a, cp_err_t *err)
{
    const char *act = a->pos[0];
    int needs = strcmp(act, "create") == 0 || strcmp(act, "delete") == 0;
    if (!needs && strcmp(act, "list") != 0 && strcmp(act, "dead-letters") != 0)
        return cp_err_set(err, CP_EINVAL,
                          "webhook: unknown action \"%s\" (expected create, list, delete or "
                          "dead-letters)",
                          act);
    if (needs && a->n_pos != 2)
        return cp_err_set(err, CP_EINVAL, "webhook %s: needs %s", act,
                          strcmp(act, "create") == 0 ? "the URL" : "the webhook ID");
    if (!needs && a->n_pos != 1)
        return cp_err_set(err, CP_EINVAL, "webhook %s: takes no argument", act);
    if (strcmp(act, "create") == 0 && a->o.events.n == 0)
        return cp_err_set(err, CP_EINVAL, "webhook create: give at least one --event");
    if (strcmp(act, "create") != 0 && (a->o.events.n > 0 || a->o.name_filter != NULL))
        return cp_err_set(err, CP_EINVAL, "webhook %s: --event and --name-filter are for create",
                          act);
    return 0;
}

static int check_values(ctl_cli_args_t *a, cp_err_t *err)
{
    const ctl_cli_opts_t *o = &a->o;
    const char *c = a->cmd->name;
    if (a->n_pos < a->cmd->min_pos)
        return cp_err_set(err, CP_EINVAL, "%s: missing NAME (usage: certplanectl %s)", c,
                          a->cmd->usage);
    if (o->key_type != NULL && ctl_cli_parse_key_type(o->key_type, &a->key_type) != 0)
        return cp_err_set(err, CP_EINVAL, "--key-type: unknown key type \"%s\"", o->key_type);
    if (o->challenge != NULL && ctl_cli_parse_challenge(o->challenge, &a->challenge) != 0)
        return cp_err_set(err, CP_EINVAL,
                          "--challenge: expected http-01, dns-01 or tls-alpn-01, got \"%s\"",
                          o->challenge);
    if (o->state != NULL && ctl_cli_parse_state(o->state, &a->state) != 0)
        return cp_err_set(err, CP_EINVAL, "--state: unknown state \"%s\"", o->state);
    if (o->reason != NULL && ctl_cli_parse_reason(o->reason, &a->reason) != 0)
        return cp_err_set(err, CP_EINVAL, "--reason: unknown revocation reason \"%s\"", o->reason);
    if (o->from_revision != NULL) {
        char *end;
        errno = 0;
        long long v = strtoll(o->from_revision, &end, 10);
        if (errno != 0 || end == o->from_revision || *end != '\0' || v < 0)
            return cp_err_set(err, CP_EINVAL, "--from-revision: expected a revision, got \"%s\"",
                              o->from_revision);
        a->from_revision = v;
    }
    if (a->cmd->id == CTL_CLI_CREATE && o->domains.n + o->ips.n == 0)
        return cp_err_set(err, CP_EINVAL, "create: give at least one --domain or --ip");
    if (a->cmd->id == CTL_CLI_IMPORT && (o->cert_file == NULL || o->key_file == NULL))
        return cp_err_set(err, CP_EINVAL, "import: --cert FILE and --key FILE are required");
    if (a->cmd->id == CTL_CLI_IMPORT && o->auto_renew && o->email == NULL)
        return cp_err_set(err, CP_EINVAL, "import: --auto-renew needs --email");
    if (a->cmd->id == CTL_CLI_ACCOUNT && a->n_pos == 1 && strcmp(a->pos[0], "rollover") != 0)
        return cp_err_set(err, CP_EINVAL, "account: unknown action \"%s\" (expected rollover)",
                          a->pos[0]);
    if (a->cmd->id == CTL_CLI_ACCOUNT && a->key_type != 0 &&
        a->key_type != CERTPLANE__V1__KEY_TYPE__EC_P256 &&
        a->key_type != CERTPLANE__V1__KEY_TYPE__RSA_2048)
        return cp_err_set(err, CP_EINVAL, "--key-type: an account key is ec-p256 or rsa-2048");
    if (a->cmd->id == CTL_CLI_WEBHOOK) {
        int rc = webhook_check(a, err);
        if (rc != 0)
            return rc;
    }
    if (a->cmd->id == CTL_CLI_HELP && a->n_pos == 1 && ctl_cli_cmd_find(a->pos[0]) == NULL)
        return cp_err_set(err, CP_EINVAL, "help: unknown command \"%s\"", a->pos[0]);
    return 0;
}

int ctl_cli_args_parse(ctl_cli_args_t *a, int argc, char **argv, cp_err_t *err)
{
    memset(a, 0, sizeof *a);
    int cmd_at = find_command(argc, argv);
    if (cmd_at >= argc) {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                return CP_CFG_HELP;
            if (strcmp(argv[i], "--version") == 0)
                return CP_CFG_VERSION;
        }
        return cp_err_set(err, CP_EINVAL, "no command given (see certplanectl help)");
    }
    a->cmd = ctl_cli_cmd_find(argv[cmd_at]);
    if (a->cmd == NULL)
        return cp_err_set(err, CP_EINVAL, "unknown command \"%s\" (see certplanectl help)",
                          argv[cmd_at]);
    char **opt_argv = cp_xcalloc((size_t)argc + 1, sizeof *opt_argv);
    int opt_argc = 0;
    int rc = split_args(a, argc, argv, cmd_at, opt_argv, &opt_argc, err);
    if (rc == 0) {
        rc = cp_cfg_parse(a->cmd->opts, a->cmd->n_opts, &a->o, opt_argc, opt_argv, err);
        if (rc == CP_EINVAL)
            cp_err_prefix(err, "%s", a->cmd->name);
    }
    free(opt_argv);
    if (rc == 0)
        rc = check_values(a, err);
    return rc;
}

void ctl_cli_args_dispose(ctl_cli_args_t *a)
{
    if (a->cmd != NULL)
        cp_cfg_dispose(a->cmd->opts, a->cmd->n_opts, &a->o);
    a->cmd = NULL;
}

void ctl_cli_args_help(const ctl_cli_cmd_t *cmd, FILE *out)
{
    if (cmd != NULL) {
        char prog[512];
        snprintf(prog, sizeof prog, "certplanectl %s", cmd->usage);
        cp_cfg_help(cmd->opts, cmd->n_opts, prog, cmd->summary, out);
        return;
    }
    fprintf(out, "Usage: certplanectl [--addr URL] [--token T] [--json] COMMAND [ARGS]\n\n"
                 "Manages certplane certificates over the controller's REST API.\n\nCommands:\n");
    for (size_t i = 0; i < CTL_CLI_N_CMDS; i++)
        fprintf(out, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(out, "\nThe address and token also come from CERTPLANE_ADDR and CERTPLANE_TOKEN.\n"
                 "'certplanectl help COMMAND' shows a command's options.\n\n"
                 "Exit status: 0 ok, 1 failed (API error, or --wait ended FAILED), 2 usage,\n"
                 "3 not found, 4 unavailable (connection refused, 503, timeout).\n");
}
