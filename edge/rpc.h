/* SPDX-License-Identifier: Apache-2.0 */
/* rpc.h - a blocking unary call to the controller on its own channel (on-demand TLS asks) */
#ifndef EDGE_RPC_H
#define EDGE_RPC_H

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <protobuf-c/protobuf-c.h>

#include "shared/err.h"

/*
 * The same connection as the Watch client's (edge/ctlchan.h): TLS from PEM files when a CA is
 * given (mTLS with a certificate and key), an optional TLS name override, keepalive.
 * THREAD SAFETY: a client is used by one thread.
 */
typedef struct edge_rpc edge_rpc_t;

typedef struct edge_rpc_opts {
    const char *const *targets; /* host:port, tried in turn after a failure */
    size_t n_targets;
    const char *token;       /* bearer token, may be NULL */
    const char *ca_file;     /* NULL: plaintext */
    const char *cert_file;   /* may be NULL */
    const char *key_file;    /* may be NULL */
    const char *server_name; /* may be NULL */
} edge_rpc_opts_t;

/** Reads the TLS files. Errors: CP_EINVAL. */
int edge_rpc_new(const edge_rpc_opts_t *o, edge_rpc_t **out, cp_err_t *err);

/** Calls `method` ("/certplane.v1.Certificates/X") with req; on OK unpacks the answer with
 *  `resp_desc` into *resp (free with protobuf_c_message_free_unpacked). Returns the gRPC status
 *  (GRPC_STATUS_DEADLINE_EXCEEDED after deadline_ms); a failed call moves to the next target. */
grpc_status_code edge_rpc_call(edge_rpc_t *c, const char *method, const ProtobufCMessage *req,
                               const ProtobufCMessageDescriptor *resp_desc, int deadline_ms,
                               ProtobufCMessage **resp);

/** Closes the channel and frees. NULL is a no-op. */
void edge_rpc_free(edge_rpc_t *c);

#endif
