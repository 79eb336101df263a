/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_account.h - certplanectl's account commands: account rollover */
#ifndef CTL_CLI_CMD_ACCOUNT_H
#define CTL_CLI_CMD_ACCOUNT_H

#include "controller/cli/cmd.h"

/** `account rollover [--provider P] [--email E] [--key-type EC_P256|RSA_2048]`: POST
 * /v1/accounts:rollover; prints the account and the new key's thumbprint (never the key), or the
 * API's JSON with --json. Errors: CP_EINVAL (an action other than rollover), and those of the call
 * (cmd.h). THREAD SAFETY: see cmd.h. */
int ctl_cli_cmd_account(ctl_cli_ctx_t *c, cp_err_t *err);

#endif
