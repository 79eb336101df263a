/* SPDX-License-Identifier: Apache-2.0 */
/* ctlchan.h - the edge's gRPC connection to a controller: credentials, channel, message framing */
#ifndef EDGE_CTLCHAN_H
#define EDGE_CTLCHAN_H

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <protobuf-c/protobuf-c.h>

#include "shared/err.h"

/*
 * One way to reach the controller for both of the edge's clients, the Watch stream (watch.c) and
 * the unary asks of on-demand TLS (rpc.c): TLS from PEM files when a CA is given (mTLS with a
 * certificate and key), an optional TLS name override, keepalive, and messages up to 64 MiB (a
 * snapshot batch is at most ~512 KiB; one certificate event is far smaller).
 * THREAD SAFETY: every function may be called from any thread.
 */

/** Channel credentials from the PEM files into *out (caller releases with
 *  grpc_channel_credentials_release), or *out NULL when ca_file is NULL (plaintext). cert_file
 *  and key_file may be NULL (no client certificate). Errors: CP_EINVAL (a file that cannot be
 *  read, or PEM gRPC refuses). The key's text is wiped after gRPC copied it. */
int edge_ctlchan_creds(const char *ca_file, const char *cert_file, const char *key_file,
                       grpc_channel_credentials **out, cp_err_t *err);

/** A channel to `target` (host:port) with `creds` (borrowed; NULL: plaintext) and the TLS name
 *  `server_name` (may be NULL). Destroy with grpc_channel_destroy. */
grpc_channel *edge_ctlchan_open(const char *target, grpc_channel_credentials *creds,
                                const char *server_name);

/** `msg` packed into a byte buffer (caller destroys it). */
grpc_byte_buffer *edge_ctlchan_pack(const ProtobufCMessage *msg);

/** One unary call of `method` ("/certplane.v1.Certificates/X") on `ch` with the metadata
 *  "authorization: <auth>" (auth NULL: none), waiting at most deadline_ms. With resp_desc, an OK
 *  answer is unpacked into *resp (free with protobuf_c_message_free_unpacked; an answer that does
 *  not unpack gives INTERNAL); resp_desc NULL ignores the answer. Returns the gRPC status. */
grpc_status_code edge_ctlchan_unary(grpc_channel *ch, const char *auth, const char *method,
                                    const ProtobufCMessage *req,
                                    const ProtobufCMessageDescriptor *resp_desc, int deadline_ms,
                                    ProtobufCMessage **resp);

#endif
