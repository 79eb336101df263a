/* SPDX-License-Identifier: Apache-2.0 */
/* controller.h - test harness part: a real certplane-controller process on free loopback ports */
#ifndef CP_TEST_CONTROLLER_H
#define CP_TEST_CONTROLLER_H

#include "tests/support/harness.h"

/** A running certplane-controller started by cp_test_controller_start. */
typedef struct cp_test_controller {
    cp_test_proc_t proc;
    int grpc_port;
    int http_port;
    char log_path[512]; /* its stderr (JSON log lines) */
} cp_test_controller_t;

/** Path of the certplane-controller binary: $CP_CONTROLLER_BIN, else $CP_BINARY_DIR/bin/... */
const char *cp_test_controller_bin(void);

/** Writes `dir`/test-kek (mode 0600; one fixed test key "test-kek-1", the same for every controller
 * of a test, so restarted controllers read what the others sealed) if it is missing and returns
 * "CERTPLANE_KEK_FILE=<that path>" in static storage (valid until the next call), or NULL when it
 * cannot be written. cp_test_controller_start() adds it unless args or env name --kek-file /
 * CERTPLANE_KEK_FILE or the insecure plaintext mode. */
const char *cp_test_kek_env(const char *dir);

/** Starts the controller against `redis_url` on free loopback ports with the given extra flags
 *  (NULL-terminated, may be NULL) and extra environment ("K=V", NULL-terminated, may be NULL), and
 * waits until both ports accept connections. `log_dir` receives controller-<pid>.log. Returns 0 or
 * -1 (the process is then stopped and its log printed). */
int cp_test_controller_start(cp_test_controller_t *c, const char *redis_url, const char *log_dir,
                             const char *const *args, const char *const *env);

/** cp_test_controller_start on given ports (0: pick a free one), for tests that must know a port
 * before the controller starts (Pebble's HTTP-01 port) or restart a controller on its old
 * addresses. */
int cp_test_controller_start_on(cp_test_controller_t *c, int grpc_port, int http_port,
                                const char *redis_url, const char *log_dir, const char *const *args,
                                const char *const *env);

/** Sends SIGTERM and waits; returns the exit status (0 for a clean exit) or -1 when it had to be
 * killed. */
int cp_test_controller_stop(cp_test_controller_t *c);

/** Prints the last `lines` lines of the controller's log to stderr (for failing tests). */
void cp_test_controller_dump_log(const cp_test_controller_t *c, int lines);

#endif
