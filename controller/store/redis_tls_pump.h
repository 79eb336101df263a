/* SPDX-License-Identifier: Apache-2.0 */
/* redis_tls_pump.h - one thread that relays bytes between established TLS connections to Redis
 * and the socketpair ends hiredis reads and writes */
#ifndef CTL_REDIS_TLS_PUMP_H
#define CTL_REDIS_TLS_PUMP_H

#include <openssl/ssl.h>

#include "shared/err.h"

/*
 * The pump owns, per connection, an SSL object on a non-blocking TCP socket and the non-blocking
 * near end of a socketpair whose far end hiredis uses as its socket. One epoll thread moves
 * plaintext both ways through two bounded buffers (16 KiB each way) and closes both sides when
 * either side closes or fails, so hiredis reads EOF when Redis goes away and Redis sees the TLS
 * connection closed when hiredis frees its context. No thread per connection.
 */

typedef struct ctl_redis_tls_pump ctl_redis_tls_pump_t;

/** Starts the pump thread (with every signal blocked). *out is owned by the caller
 * (ctl_redis_tls_pump_free()). Errors: CP_EIO (epoll, eventfd or thread creation failed).
 * THREAD SAFETY: any thread. */
int ctl_redis_tls_pump_new(ctl_redis_tls_pump_t **out, cp_err_t *err);

/** Stops and joins the thread, then closes every connection it still relays (hiredis then reads
 * EOF). NULL is a no-op. THREAD SAFETY: one thread, once, after every ctl_redis_tls_pump_add()
 * returned. */
void ctl_redis_tls_pump_free(ctl_redis_tls_pump_t *p);

/** Hands over `ssl` (handshake done, on the non-blocking socket `tls_fd`) and makes a socketpair:
 * on success *fd is the far end (blocking, close-on-exec) for hiredis, which owns it; `ssl` and
 * `tls_fd` belong to the pump. On failure nothing is handed over: the caller still owns both.
 * Errors: CP_EIO (socketpair failed). THREAD SAFETY: any thread. */
int ctl_redis_tls_pump_add(ctl_redis_tls_pump_t *p, SSL *ssl, int tls_fd, int *fd, cp_err_t *err);

#endif
