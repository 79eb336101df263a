/* SPDX-License-Identifier: Apache-2.0 */
/* haproxy.h - test support: Debian's haproxy in TCP mode, round-robin over edges, on loopback */
#ifndef CP_TEST_HAPROXY_H
#define CP_TEST_HAPROXY_H

#include "tests/support/harness.h"

/*
 * The load balancer users put in front of edges: every frontend is `mode tcp` (TLS passes through
 * to the edges untouched: SNI, ALPN, session tickets) with `balance roundrobin` over the backends'
 * ports on 127.0.0.1. The config is written to dir/haproxy.cfg and the process runs in the
 * foreground (-db), stopped by PID. THREAD SAFETY: one test thread.
 */
#define CP_TEST_HAPROXY_MAX 4

typedef struct cp_test_haproxy_frontend {
    int port;                          /* where clients connect (0: a free port is picked) */
    int backends[CP_TEST_HAPROXY_MAX]; /* ports on 127.0.0.1 */
    int n_backends;
} cp_test_haproxy_frontend_t;

typedef struct cp_test_haproxy {
    cp_test_proc_t proc;
    char cfg_path[512];
} cp_test_haproxy_t;

/** Writes the config for the n frontends (their port filled in when 0), starts haproxy and waits
 *  for every frontend port. Errors: CP_ENOTFOUND (no haproxy: install it with scripts/deps.sh),
 *  CP_EIO, CP_ETIMEDOUT. */
int cp_test_haproxy_start(cp_test_haproxy_t *h, const char *dir, cp_test_haproxy_frontend_t *fe,
                          int n);

/** Stops it (by PID). */
void cp_test_haproxy_stop(cp_test_haproxy_t *h);

#endif
