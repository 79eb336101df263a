/* SPDX-License-Identifier: Apache-2.0 */
/* cmd.h - what certplanectl's commands run with (the commands: cmd_certs.h, cmd_watch.h,
 * cmd_status.h) */
#ifndef CTL_CLI_CMD_H
#define CTL_CLI_CMD_H

#include <stdio.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/cli/args.h"
#include "controller/cli/http.h"
#include "shared/err.h"

/* Every command prints its result to `out` (a table, or the API's JSON with --json) and returns 0
 * or a negative CP_E* code with the message for stderr in err (see http.h for the codes; --wait
 * ending FAILED is CP_EACME). Progress lines of --wait go to `out`, or to stderr with --json.
 * THREAD SAFETY: one command at a time per context. */

/** What a command runs with (all borrowed). */
typedef struct ctl_cli_ctx {
    ctl_cli_http_t *http;
    const ctl_cli_args_t *args;
    FILE *out;
} ctl_cli_ctx_t;

#endif
