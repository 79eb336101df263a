/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_webhook.h - certplanectl's webhook commands: create, list, delete, dead-letters */
#ifndef CTL_CLI_CMD_WEBHOOK_H
#define CTL_CLI_CMD_WEBHOOK_H

#include "controller/cli/cmd.h"

/** `webhook create URL --event T... [--name-filter P]`, `webhook list`, `webhook delete ID`,
 * `webhook dead-letters`. Errors: the API's, CP_EINVAL for an unknown action. THREAD SAFETY: one
 * thread. */
int ctl_cli_cmd_webhook(ctl_cli_ctx_t *c, cp_err_t *err);

#endif
