/* SPDX-License-Identifier: Apache-2.0 */
/* upstream.h - test support: a tiny HTTP/1.1 upstream on a free loopback port that answers every
 * request 200 with its request head as the body, and counts the connections it accepted */
#ifndef CP_TEST_UPSTREAM_H
#define CP_TEST_UPSTREAM_H

#include <pthread.h>
#include <stdatomic.h>

/** A running upstream (one thread, one connection at a time, `Connection: close`). */
typedef struct cp_test_upstream {
    int fd;
    int port;
    pthread_t tid;
    atomic_long requests; /* connections accepted so far */
} cp_test_upstream_t;

/** Listens on 127.0.0.1:<free port> and starts serving. Returns 0 or -1. THREAD SAFETY: one test
 *  thread starts and stops it; `requests` may be read from any thread. */
int cp_test_upstream_start(cp_test_upstream_t *u);

/** Stops serving and joins the thread. */
void cp_test_upstream_stop(cp_test_upstream_t *u);

#endif
