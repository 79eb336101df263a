/* SPDX-License-Identifier: Apache-2.0 */
/* args.h - certplanectl's command line: the command table, one option table per command, parsing */
#ifndef CTL_CLI_ARGS_H
#define CTL_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "shared/cfg.h"
#include "shared/err.h"

/* Exit statuses that scripts can rely on (documented in `certplanectl help`). */
enum {
    CTL_CLI_EXIT_OK = 0,       /**< success */
    CTL_CLI_EXIT_FAILED = 1,   /**< an API error not listed below, or --wait ended FAILED */
    CTL_CLI_EXIT_USAGE = 2,    /**< bad command line */
    CTL_CLI_EXIT_NOTFOUND = 3, /**< no such certificate */
    CTL_CLI_EXIT_UNAVAIL = 4,  /**< controller unreachable, 503, or a timeout */
};

/** The commands, in the order `help` lists them. */
typedef enum ctl_cli_cmd_id {
    CTL_CLI_CREATE,
    CTL_CLI_GET,
    CTL_CLI_LIST,
    CTL_CLI_DELETE,
    CTL_CLI_RENEW,
    CTL_CLI_REVOKE,
    CTL_CLI_IMPORT,
    CTL_CLI_WATCH,
    CTL_CLI_STATUS,
    CTL_CLI_EDGES,
    CTL_CLI_ACCOUNT,
    CTL_CLI_WEBHOOK, /* issue 16 */
    CTL_CLI_VERSION,
    CTL_CLI_HELP,
    CTL_CLI_COMPLETION, /* issue 16: shell completion, generated from these tables */
    CTL_CLI_N_CMDS
} ctl_cli_cmd_id_t;

/** Every option of every command (each command's table names the ones it accepts). Strings and
 * lists are malloc'd by cp_cfg_parse and released by ctl_cli_args_dispose. */
typedef struct ctl_cli_opts {
    char *addr;
    char *token;
    bool json;
    int64_t timeout_ms; /* 0: not given (--wait then waits 5 minutes, watch runs until stopped) */
    cp_cfg_list_t domains;
    cp_cfg_list_t ips;
    char *email;
    char *provider;
    char *profile;
    cp_cfg_list_t issuers;
    char *key_type;
    char *challenge;
    char *preferred_chain;
    bool wait;
    bool private_key;
    char *state;
    int page_size;
    char *reason;
    char *cert_file;
    char *key_file;
    bool auto_renew;
    char *from_revision;
    bool if_missing;      /* create: an existing certificate of that name is not an error */
    cp_cfg_list_t events; /* webhook create --event */
    char *name_filter;    /* webhook create --name-filter */
} ctl_cli_opts_t;

/** One command: its name, usage line, summary and option table. */
typedef struct ctl_cli_cmd {
    ctl_cli_cmd_id_t id;
    const char *name;
    const char *usage; /* "create NAME --domain D ..." */
    const char *summary;
    const cp_cfg_opt_t *opts;
    size_t n_opts;
    size_t min_pos; /* positional arguments (NAME, or the command of `help`) */
    size_t max_pos;
} ctl_cli_cmd_t;

/** A parsed command line. The values of the enum options are checked and converted. */
typedef struct ctl_cli_args {
    const ctl_cli_cmd_t *cmd; /* NULL when no command was given (with --help or --version) */
    const char *pos[2];       /* borrowed from argv */
    size_t n_pos;
    ctl_cli_opts_t o;
    int key_type;          /* Certplane__V1__KeyType, 0 when not given */
    int challenge;         /* Certplane__V1__ChallengeType, 0 when not given */
    int state;             /* Certplane__V1__State filter, 0 for all */
    int reason;            /* RFC 5280 reason code, 0 when not given */
    int64_t from_revision; /* watch */
} ctl_cli_args_t;

/** The command called `name`, or NULL. Static storage. THREAD SAFETY: any thread. */
const ctl_cli_cmd_t *ctl_cli_cmd_find(const char *name);

/** The command with this id. Static storage. THREAD SAFETY: any thread. */
const ctl_cli_cmd_t *ctl_cli_cmd_by_id(ctl_cli_cmd_id_t id);

/** Parses argv (argv[0] is the program): global options may come before the command, options and
 *  positional arguments in any order after it, "--" ends the options. Defaults and the
 * CERTPLANE_ADDR / CERTPLANE_TOKEN environment variables apply (flags win). Returns 0, CP_CFG_HELP
 * (--help or -h: print ctl_cli_args_help for a->cmd, which may be NULL), CP_CFG_VERSION, or
 * CP_EINVAL with the reason in err (a usage error: exit 2). Release `a` with ctl_cli_args_dispose
 * in every case. THREAD SAFETY: reads the environment; call before starting threads. */
int ctl_cli_args_parse(ctl_cli_args_t *a, int argc, char **argv, cp_err_t *err);

/** Frees what ctl_cli_args_parse stored in `a`. No-op on a zeroed `a`. */
void ctl_cli_args_dispose(ctl_cli_args_t *a);

/** Prints the help of `cmd`, or the list of commands and exit statuses when cmd is NULL. */
void ctl_cli_args_help(const ctl_cli_cmd_t *cmd, FILE *out);

/** Converts "ec-p256", "EC_P256", "rsa-2048"... to a KeyType value. Returns 0 or CP_EINVAL. */
int ctl_cli_parse_key_type(const char *text, int *out);

/** Converts "http-01" / "dns-01" (any case, '-' or '_') to a ChallengeType value. 0 or CP_EINVAL.
 */
int ctl_cli_parse_challenge(const char *text, int *out);

/** Converts a state name ("valid", "FAILED") to a State value. 0 or CP_EINVAL. */
int ctl_cli_parse_state(const char *text, int *out);

/** Converts an RFC 5280 reason name ("keyCompromise", any case) or number (0-10 but 7) to the code.
 *  Returns 0 or CP_EINVAL. */
int ctl_cli_parse_reason(const char *text, int *out);

#endif
