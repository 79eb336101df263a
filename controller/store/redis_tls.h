/* SPDX-License-Identifier: Apache-2.0 */
/* redis_tls.h - Redis over TLS (rediss://) under hiredis 0.14, which has no TLS: a verified TLS
 * connection per store, relayed to a socketpair that hiredis uses as a plain socket */
#ifndef CTL_REDIS_TLS_H
#define CTL_REDIS_TLS_H

#include "shared/err.h"

/*
 * ctl_redis_tls_connect() does, in the calling thread and within the connect timeout, a TCP
 * connect and a TLS handshake (TLS 1.2 or later) that verifies Redis' certificate: its chain
 * against the CA file (or the system trust store), and the host of the URL (a DNS name, or an IP
 * address against the certificate's IP SANs), or the configured server name instead, against the
 * certificate. It then hands the connection to the process's relay thread (redis_tls_pump.h) and
 * returns the other end of a socketpair, for redisConnectFd(). TCP keepalive and TCP_USER_TIMEOUT
 * on the TLS socket notice a dead Redis; the relay then closes hiredis' end, which reads EOF.
 */

/** Settings of the TLS connections to Redis; every string may be NULL. Copied by
 * ctl_redis_tls_new(). */
typedef struct ctl_redis_tls_opts {
    const char *ca_file;     /* PEM bundle trusted for Redis' certificate; NULL: system store */
    const char *cert_file;   /* PEM client certificate chain for mutual TLS; NULL: none */
    const char *key_file;    /* PEM private key of cert_file (both or neither) */
    const char *server_name; /* checked against the certificate and sent as SNI instead of the
                                URL's host; NULL: the host */
} ctl_redis_tls_opts_t;

typedef struct ctl_redis_tls ctl_redis_tls_t;

/** Loads the trust store (and client certificate) into one TLS context and starts the relay
 * thread. *out is owned by the caller (ctl_redis_tls_free()); it must outlive every store that
 * borrows it. Errors: CP_EINVAL (a file that cannot be read or parsed, a key that does not match
 * the certificate, cert_file without key_file; the message names the file, never key material),
 * CP_EIO (the thread). THREAD SAFETY: any thread. */
int ctl_redis_tls_new(const ctl_redis_tls_opts_t *o, ctl_redis_tls_t **out, cp_err_t *err);

/** Stops the relay thread (open connections close: their hiredis contexts read EOF) and frees t.
 * NULL is a no-op. THREAD SAFETY: one thread, once no other thread uses t. */
void ctl_redis_tls_free(ctl_redis_tls_t *t);

/** Connects to host:port over TLS within timeout_ms (name lookup, TCP connect and handshake);
 * io_timeout_ms bounds how long sent data may stay unacknowledged (TCP_USER_TIMEOUT) before the
 * connection is dropped. On success *fd is a blocking socket for redisConnectFd(), owned by the
 * caller (hiredis closes it). Errors, all CP_EUNAVAIL with `where` (e.g. "127.0.0.1:6380") in the
 * message: name lookup, connect refused or timed out, "TLS certificate verification failed: <the
 * verifier's reason>", another TLS failure, handshake timeout. THREAD SAFETY: any thread; t is
 * shared. */
int ctl_redis_tls_connect(ctl_redis_tls_t *t, const char *host, int port, const char *where,
                          int timeout_ms, int io_timeout_ms, int *fd, cp_err_t *err);

#endif
