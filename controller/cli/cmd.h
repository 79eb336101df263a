/* SPDX-License-Identifier: Apache-2.0 */
/* cmd.h - certplanectl's commands, one function each, over the REST client */
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

/** Runs the command args->cmd (dispatch). */
int ctl_cli_cmd_run(ctl_cli_ctx_t *c, cp_err_t *err);

int ctl_cli_cmd_create(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_get(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_list(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_delete(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_renew(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_revoke(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_import(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_watch(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_status(ctl_cli_ctx_t *c, cp_err_t *err);
int ctl_cli_cmd_edges(ctl_cli_ctx_t *c, cp_err_t *err);

/** Follows certificate `cert` (as returned by create or renew) through the Watch stream from its
 *  revision, printing each state change, until it settles: VALID without a last error (0), FAILED,
 * or VALID with a last error after a failed renewal (CP_EACME with the ACME error), REVOKED or
 * deleted (CP_ESTATE / CP_ENOTFOUND), or args->o.timeout_ms (default 5 minutes) passes
 * (CP_ETIMEDOUT). Reconnects when the stream ends early. Then prints the certificate as `get` does.
 */
int ctl_cli_cmd_wait(ctl_cli_ctx_t *c, const Certplane__V1__Certificate *cert, cp_err_t *err);

/** Prints a certificate: its JSON (--json) or a "Field: value" block, with the PEMs when `pems`. */
void ctl_cli_print_cert(ctl_cli_ctx_t *c, const Certplane__V1__Certificate *cert, bool pems);

/** Decodes an API answer into a message of type desc (unknown fields ignored, for newer
 *  controllers). The caller frees *out with protobuf_c_message_free_unpacked. Errors: CP_EPROTO. */
int ctl_cli_decode(const ProtobufCMessageDescriptor *desc, const ctl_cli_resp_t *resp,
                   ProtobufCMessage **out, cp_err_t *err);

/** The escaped path "/v1/certificates/<name><suffix>" (malloc'd; the caller frees it). */
char *ctl_cli_cert_path(ctl_cli_ctx_t *c, const char *name, const char *suffix);

#endif
