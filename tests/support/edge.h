/* SPDX-License-Identifier: Apache-2.0 */
/* edge.h - test harness part: a real certplane-edge process on free loopback ports */
#ifndef CP_TEST_EDGE_H
#define CP_TEST_EDGE_H

#include "tests/support/harness.h"

/** A running certplane-edge started by cp_test_edge_start. */
typedef struct cp_test_edge {
    cp_test_proc_t proc;
    int https_port;
    int http_port;
    int admin_port;
    char log_path[512]; /* its stderr (JSON log lines) */
} cp_test_edge_t;

/** Path of the certplane-edge binary: $CP_EDGE_BIN, else $CP_BINARY_DIR/bin/certplane-edge. */
const char *cp_test_edge_bin(void);

/** Starts the edge on free loopback ports (HTTPS, HTTP, admin) with `args` (NULL-terminated, may be
 *  NULL; e.g. "--controller=127.0.0.1:P") and `env` ("K=V", NULL-terminated, may be NULL), and
 * waits until the admin port answers. Its log goes to `log_dir`/edge-<pid>-<n>.log. Returns 0 or -1
 * (the process is then stopped and its log printed). THREAD SAFETY: one test thread. */
int cp_test_edge_start(cp_test_edge_t *e, const char *log_dir, const char *const *args,
                       const char *const *env);

/** As cp_test_edge_start, with its HTTP port (challenges, redirects) on `http_port` instead of a
 *  free one (0: a free one), for a CA that must validate HTTP-01 on a port fixed before the edge
 *  starts. */
int cp_test_edge_start_http(cp_test_edge_t *e, const char *log_dir, int http_port,
                            const char *const *args, const char *const *env);

/** Sends SIGTERM and waits; returns the exit status or -1 when it had to be killed. */
int cp_test_edge_stop(cp_test_edge_t *e);

/** Prints the last `lines` lines of the edge's log to stderr. */
void cp_test_edge_dump_log(const cp_test_edge_t *e, int lines);

/** Runs a shell command (curl, openssl) and returns its standard output, at most 64 KiB, in a
 *  static buffer valid until the next call. THREAD SAFETY: one test thread. */
const char *cp_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
