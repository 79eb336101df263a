/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_status.h - certplanectl's dispatch and the status and edges commands */
#ifndef CTL_CLI_CMD_STATUS_H
#define CTL_CLI_CMD_STATUS_H

#include "controller/cli/cmd.h"

/** Runs the command args->cmd (dispatch). */
int ctl_cli_cmd_run(ctl_cli_ctx_t *c, cp_err_t *err);
/** `status`: the controller's health and readiness. */
int ctl_cli_cmd_status(ctl_cli_ctx_t *c, cp_err_t *err);
/** `edges`: the edges that reported recently. */
int ctl_cli_cmd_edges(ctl_cli_ctx_t *c, cp_err_t *err);

#endif
