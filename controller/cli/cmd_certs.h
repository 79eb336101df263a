/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_certs.h - certplanectl's certificate commands: create, get, list, delete, renew, revoke,
 * import */
#ifndef CTL_CLI_CMD_CERTS_H
#define CTL_CLI_CMD_CERTS_H

#include "controller/cli/cmd.h"

int ctl_cli_cmd_create(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_get(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_list(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_delete(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_renew(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_revoke(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_import(ctl_cli_ctx_t *c, cp_err_t *err);

#endif
