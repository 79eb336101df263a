/* SPDX-License-Identifier: Apache-2.0 */
/* tlsload.h - test support: TLS probes of an edge and a bounded load of new TLS connections */
#ifndef CP_TEST_TLSLOAD_H
#define CP_TEST_TLSLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <openssl/ssl.h>

/*
 * A probe is one new TCP connection and TLS handshake to 127.0.0.1:port with an SNI name (and,
 * optionally, one HTTP/1.1 request that must answer 200); it reports the leaf's serial (lower-case
 * hex, as cp_x509 writes it). The load runs probes from several threads until it is stopped, or
 * until its count or time bound is reached, and sorts them by the serial served.
 * Link with OpenSSL and cp_x509. THREAD SAFETY: probes on any thread with their own buffers; a load
 * is started, marked and stopped from one thread.
 */

/** What a probe can fail at (cp_test_tls_probe's negative results). */
enum {
    CP_TEST_TLS_ECONNECT = -1,   /* TCP connect */
    CP_TEST_TLS_EHANDSHAKE = -2, /* TLS handshake, or no readable peer certificate */
    CP_TEST_TLS_EREQUEST = -3    /* the request failed or did not answer 200 */
};

/** Monotonic seconds. */
double cp_test_now_s(void);

/** Wall-clock (CLOCK_REALTIME) seconds since the epoch, to compare with server timestamps. */
double cp_test_wall_s(void);

/** One probe with ctx (no verification needed). request_path NULL: the handshake only; else
 *  "GET <request_path>" with Host: sni and Connection: close. Writes the leaf serial to serial.
 *  Returns 0 or a CP_TEST_TLS_E* code. */
int cp_test_tls_probe(SSL_CTX *ctx, int port, const char *sni, const char *request_path,
                      char *serial, size_t size);

/** Probes every 10 ms until sni is served with serial. Returns the seconds it took, or -1 after
 *  timeout_s. */
double cp_test_tls_wait_serial(SSL_CTX *ctx, int port, const char *sni, const char *serial,
                               double timeout_s);

/** Options of a load (copied by cp_test_tlsload_start; strings must outlive the load). */
typedef struct cp_test_tlsload_opts {
    SSL_CTX *ctx;
    int port;
    const char *sni;
    const char *request_path; /* NULL: handshakes only */
    int clients;              /* threads, 1-16 */
    long max_probes;          /* the load stops after this many probes in all */
    double max_seconds;       /* ... or after this long */
    int pause_ms;             /* each client waits this long between probes (0: none) */
} cp_test_tlsload_opts_t;

/** A running load; read the counters after cp_test_tlsload_stop. */
typedef struct cp_test_tlsload {
    cp_test_tlsload_opts_t o;
    pthread_t tids[16];
    int started;
    double t0;
    atomic_int stop;
    atomic_long probes, ok, failed_connect, failed_handshake, failed_request;
    atomic_long served_old, served_new, served_other;
    pthread_mutex_t lock;
    char old[128];       /* serial served when the load started */
    char fresh[128];     /* the first other serial seen */
    double first_new;    /* wall-clock seconds at the end of the first handshake with `fresh` */
    double last_old;     /* wall-clock seconds at the end of the last handshake with `old` */
    long fresh_then_old; /* `old` served after `fresh` was served on some connection: a flip-flop */
} cp_test_tlsload_t;

/** Probes once to learn the current serial (the "old" one), then starts the clients. Returns 0, or
 *  the probe's error code (nothing started). */
int cp_test_tlsload_start(cp_test_tlsload_t *l, const cp_test_tlsload_opts_t *opts);

/** Stops the clients (at the latest when their bounds are reached) and joins them. */
void cp_test_tlsload_stop(cp_test_tlsload_t *l);

/** Failed probes of every kind. */
long cp_test_tlsload_failures(cp_test_tlsload_t *l);

#endif
