/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_guard_tls.h - the gRPC guard's TLS: an OpenSSL server context (TLS 1.2+, AEAD ciphers,
 * ALPN h2, optional client certificates) and nonblocking reads and writes on one connection */
#ifndef CTL_GRPC_GUARD_TLS_H
#define CTL_GRPC_GUARD_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/err.h"

typedef struct ctl_gtls_ctx ctl_gtls_ctx_t;
typedef struct ctl_gtls_conn ctl_gtls_conn_t;

/** A server context from PEM text: the certificate chain, its key and, when client_ca_pem is not
 *  NULL, the CA client certificates must chain to (they are then required). Errors: CP_EINVAL.
 *  THREAD SAFETY: any one thread; the context is then shared read-only. */
int ctl_gtls_ctx_new(const char *cert_pem, const char *key_pem, const char *client_ca_pem,
                     ctl_gtls_ctx_t **out, cp_err_t *err);

/** Frees the context. NULL is a no-op. */
void ctl_gtls_ctx_free(ctl_gtls_ctx_t *ctx);

/** A server-side TLS connection on the nonblocking socket fd (which stays the caller's). */
ctl_gtls_conn_t *ctl_gtls_conn_new(ctl_gtls_ctx_t *ctx, int fd);

/** Frees the connection (no close_notify is sent). NULL is a no-op. */
void ctl_gtls_conn_free(ctl_gtls_conn_t *c);

/** 1 once the handshake is done. */
int ctl_gtls_conn_ready(const ctl_gtls_conn_t *c);

/** Advances the handshake: 1 done, 0 needs the socket again, -1 failed. */
int ctl_gtls_conn_handshake(ctl_gtls_conn_t *c);

/** Reads plaintext: bytes read, 0 at the end of the stream, -EAGAIN when it would block, another
 *  negative value on errors. With c NULL it reads fd directly. */
ssize_t ctl_gtls_conn_read(ctl_gtls_conn_t *c, int fd, uint8_t *p, size_t n);

/** Writes plaintext: bytes written, -EAGAIN when it would block, another negative value on errors.
 *  With c NULL it writes fd directly. */
ssize_t ctl_gtls_conn_write(ctl_gtls_conn_t *c, int fd, const uint8_t *p, size_t n);

/** 1 when the last TLS operation waits for the socket to show `events` (EPOLLIN or EPOLLOUT).
 *  Always 0 for c NULL. */
int ctl_gtls_conn_wants(const ctl_gtls_conn_t *c, uint32_t events);

#endif
