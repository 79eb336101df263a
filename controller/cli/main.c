/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - certplanectl: parses the command line, runs the command, maps the result to an exit
 * status */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/cli/args.h"
#include "controller/cli/cmd_status.h"
#include "controller/cli/completion.h"
#include "controller/cli/http.h"

/* The exit status scripts rely on (see `certplanectl help`). */
static int exit_status(int rc)
{
    switch (rc) {
    case 0:
        return CTL_CLI_EXIT_OK;
    case CP_ENOTFOUND:
        return CTL_CLI_EXIT_NOTFOUND;
    case CP_EUNAVAIL:
    case CP_ETIMEDOUT:
        return CTL_CLI_EXIT_UNAVAIL;
    default:
        return CTL_CLI_EXIT_FAILED;
    }
}

/* Commands that need no controller. Returns -1 when the command is a remote one. */
static int run_local(const ctl_cli_args_t *a)
{
    switch (a->cmd->id) {
    case CTL_CLI_VERSION:
        if (a->o.json)
            printf("{\"version\":\"%s\"}\n", CERTPLANE_VERSION);
        else
            printf("certplanectl %s\n", CERTPLANE_VERSION);
        return CTL_CLI_EXIT_OK;
    case CTL_CLI_HELP:
        ctl_cli_args_help(a->n_pos > 0 ? ctl_cli_cmd_find(a->pos[0]) : NULL, stdout);
        return CTL_CLI_EXIT_OK;
    case CTL_CLI_COMPLETION: {
        cp_err_t err = {0};
        if (ctl_cli_completion(a->pos[0], stdout, &err) == 0)
            return CTL_CLI_EXIT_OK;
        fprintf(stderr, "certplanectl: %s\n", err.msg);
        return CTL_CLI_EXIT_USAGE;
    }
    default:
        return -1;
    }
}

int main(int argc, char **argv)
{
    ctl_cli_args_t a;
    cp_err_t err = {0};
    int status = CTL_CLI_EXIT_OK;
    int rc = ctl_cli_args_parse(&a, argc, argv, &err);
    if (rc == CP_CFG_HELP) {
        ctl_cli_args_help(a.cmd, stdout);
        goto out;
    }
    if (rc == CP_CFG_VERSION) {
        printf("certplanectl %s\n", CERTPLANE_VERSION);
        goto out;
    }
    if (rc != 0) {
        fprintf(stderr, "certplanectl: %s\n", err.msg);
        status = CTL_CLI_EXIT_USAGE;
        goto out;
    }
    status = run_local(&a);
    if (status >= 0)
        goto out;
    ctl_cli_http_t *http = NULL;
    rc = ctl_cli_http_new(a.o.addr, a.o.token, &http, &err);
    if (rc == 0) {
        ctl_cli_ctx_t ctx = {.http = http, .args = &a, .out = stdout};
        rc = ctl_cli_cmd_run(&ctx, &err);
    }
    ctl_cli_http_free(http);
    fflush(stdout);
    if (rc != 0)
        fprintf(stderr, "certplanectl: %s\n", err.msg[0] != '\0' ? err.msg : cp_strerror(rc));
    status = exit_status(rc);
out:
    ctl_cli_args_dispose(&a);
    return status;
}
