/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_watch.h - certplanectl's watch command and --wait */
#ifndef CTL_CLI_CMD_WATCH_H
#define CTL_CLI_CMD_WATCH_H

#include "controller/cli/cmd.h"

int ctl_cli_cmd_watch(ctl_cli_ctx_t *c, cp_err_t *err);
/** Follows certificate `cert` (as returned by create or renew) through the Watch stream from its
 *  revision, printing each state change, until it settles: VALID without a last error (0), FAILED,
 * or VALID with a last error after a failed renewal (CP_EACME with the ACME error), REVOKED or
 * deleted (CP_ESTATE / CP_ENOTFOUND), or args->o.timeout_ms (default 5 minutes) passes
 * (CP_ETIMEDOUT). Reconnects when the stream ends early. Then prints the certificate as `get` does.
 */
int ctl_cli_cmd_wait(ctl_cli_ctx_t *c, const Certplane__V1__Certificate *cert, cp_err_t *err);

#endif
