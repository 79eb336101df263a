/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_util.h - what several certplanectl commands share: decoding answers, paths, printing */
#ifndef CTL_CLI_CMD_UTIL_H
#define CTL_CLI_CMD_UTIL_H

#include "controller/cli/cmd.h"

/** Prints a certificate: its JSON (--json) or a "Field: value" block, with the PEMs when `pems`. */
void ctl_cli_print_cert(ctl_cli_ctx_t *c, const Certplane__V1__Certificate *cert, bool pems);
/** Decodes an API answer into a message of type desc (unknown fields ignored, for newer
 *  controllers). The caller frees *out with protobuf_c_message_free_unpacked. Errors: CP_EPROTO. */
int ctl_cli_decode(const ProtobufCMessageDescriptor *desc, const ctl_cli_resp_t *resp,
                   ProtobufCMessage **out, cp_err_t *err);
/** The escaped path "/v1/certificates/<name><suffix>" (malloc'd; the caller frees it). */
char *ctl_cli_cert_path(ctl_cli_ctx_t *c, const char *name, const char *suffix);

#endif
