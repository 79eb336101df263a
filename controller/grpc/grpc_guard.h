/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_guard.h - the gRPC listener in front of the gRPC C core: accepts TCP, terminates TLS,
 * watches the HTTP/2 frame headers of each connection and closes (GOAWAY ENHANCE_YOUR_CALM) a
 * connection that resets streams far faster than its calls complete (or keeps too many open), and
 * hands the plaintext to gRPC over a socketpair. gRPC core 1.51 has no defense of its own against
 * the rapid-reset flood (CVE-2023-44487): every reset stream becomes a pending server call. */
#ifndef CTL_GRPC_GUARD_H
#define CTL_GRPC_GUARD_H

#include <stddef.h>

#include "controller/grpc/grpc_guard_h2.h"
#include "shared/err.h"

typedef struct ctl_grpc_guard ctl_grpc_guard_t;

typedef struct ctl_grpc_guard_opts {
    const char *listen;       /* "127.0.0.1:8443", "[::]:8443"; port 0 picks a free one */
    const char *tls_cert_pem; /* NULL: plaintext */
    const char *tls_key_pem;
    const char *client_ca_pem; /* non-NULL: require and verify client certificates */
    ctl_h2_limits_t limits;    /* zeros: the defaults (100 resets in 10 s, 1000 open streams) */
    int max_connections;       /* open at once; a connection beyond is closed at accept (0: none) */
    /* Takes the plaintext end of a new connection (a nonblocking AF_UNIX stream socket) and owns
     * it from then on. Called on the guard's thread. */
    void (*hand_off)(void *user, int fd);
    void *user;
} ctl_grpc_guard_opts_t;

/** Binds, listens and starts the guard's thread. *port receives the bound port. Errors: CP_EINVAL
 *  (bad address, unusable TLS material), CP_EIO (cannot bind). THREAD SAFETY: any one thread. */
int ctl_grpc_guard_start(const ctl_grpc_guard_opts_t *o, ctl_grpc_guard_t **out, int *port,
                         cp_err_t *err);

/** Stops accepting, closes every connection, joins the thread and frees. NULL is a no-op.
 *  THREAD SAFETY: one thread, once. */
void ctl_grpc_guard_stop(ctl_grpc_guard_t *g);

/** Translates gRPC's peer of a handed-off connection ("fd:12") into the client's address
 *  ("ipv4:127.0.0.1:5555"); copies `grpc_peer` when it is not one of ours. THREAD SAFETY: any
 *  thread. */
void ctl_grpc_guard_peer(ctl_grpc_guard_t *g, const char *grpc_peer, char *out, size_t size);

/** Connections closed as abusive since start. THREAD SAFETY: any thread. */
unsigned long ctl_grpc_guard_closed_abusive(ctl_grpc_guard_t *g);

#endif
