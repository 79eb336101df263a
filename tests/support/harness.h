/* SPDX-License-Identifier: Apache-2.0 */
/* harness.h - the shared test harness: free ports, temporary directories, child processes,
 * redis-server */
#ifndef CP_TEST_HARNESS_H
#define CP_TEST_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Every function returns 0 or a negative CP_E* code (shared/err.h) and prints what went wrong to
 * stderr, so a test can simply `assert_int_equal(cp_test_redis_start(&r, NULL), 0)`.
 *
 * Processes are started in their own process group with PR_SET_PDEATHSIG = SIGKILL, so a test that
 * crashes never leaves one behind, and they are only ever stopped by the PID we started. The death
 * signal follows the THREAD that forked: start servers from the test's main thread (or a thread
 * that outlives them).
 *
 * CP_KEEP_TMP=1 in the environment keeps temporary directories (cp_test_rmrf() prints and skips
 * them).
 *
 * THREAD SAFETY: each object (cp_test_proc_t, cp_test_redis_t) is used by one thread at a time.
 */

/** A free TCP port on 127.0.0.1 (bind to port 0, read it, close), or a negative CP_E* code. Another
 *  process may take it before the caller binds it: callers retry on "address in use". */
int cp_test_free_port(void);

/** Creates a fresh directory `$TMPDIR/<prefix>XXXXXX` (or /tmp) with mkdtemp and writes its path to
 * out. Errors: CP_ETOOBIG (out too small), CP_EIO. */
int cp_test_tmpdir(const char *prefix, char *out, size_t size);

/** Removes dir and everything below it (not following symbolic links). Refuses relative paths and
 * "/". With CP_KEEP_TMP=1 it prints the path and removes nothing. Errors: CP_EINVAL, CP_EIO. */
int cp_test_rmrf(const char *dir);

/** A child process started by cp_test_spawn(); pid is 0 when none runs. */
typedef struct cp_test_proc {
    pid_t pid;
    char name[32];      /* for messages */
    char log_path[512]; /* "" when the output went to /dev/null */
} cp_test_proc_t;

/** Starts argv[0] (searched in PATH) with argv, the environment plus env_extra ("K=V" strings,
 * NULL-ended, may be NULL; they replace variables of the same name), stdin from /dev/null and
 * stdout+stderr appended to log_path (NULL: /dev/null). The child gets its own process group and
 * PR_SET_PDEATHSIG = SIGKILL. Returns once exec succeeded. Errors: CP_EINVAL, CP_ENOTFOUND (exec
 * failed: the program is missing), CP_EIO (fork, pipe, log file). */
int cp_test_spawn(cp_test_proc_t *p, const char *name, char *const argv[], char *const env_extra[],
                  const char *log_path);

/** Waits until a TCP connection to 127.0.0.1:port succeeds. Errors: CP_ETIMEDOUT. */
int cp_test_wait_port(int port, int timeout_ms);

/** Sends sig to p->pid (only that PID) and reaps it; sends SIGKILL if it is still alive after
 * timeout_ms. Sets p->pid to 0. A p without a process is a no-op. Errors: CP_EIO (waitpid failed).
 */
int cp_test_stop(cp_test_proc_t *p, int sig, int timeout_ms);

/** Waits up to timeout_ms for p to exit on its own and reaps it (*status: waitpid status, may be
 * NULL); p->pid becomes 0. Errors: CP_EINVAL (no process), CP_ETIMEDOUT (still running), CP_EIO. */
int cp_test_wait_exit(cp_test_proc_t *p, int timeout_ms, int *status);

/** A redis-server for one test (or one group of tests). */
typedef struct cp_test_redis {
    cp_test_proc_t proc;
    int port;
    char dir[256];     /* its --dir: AOF files and redis.log */
    char url[512];     /* redis://[:password@]127.0.0.1:port (password percent-encoded) */
    char password[64]; /* "" for none */
} cp_test_redis_t;

/** Starts redis-server on a free loopback port: --bind 127.0.0.1 --port P --appendonly yes
 *  --appendfsync everysec --save "" --dir <fresh tmp dir> --daemonize no [--requirepass pw],
 * logging to <dir>/redis.log, and waits until it answers PING (after loading its data). Picks
 * another port when the chosen one was taken meanwhile. password NULL or "": none. Errors:
 * CP_EINVAL, CP_EUNAVAIL (did not start or answer: see the log), CP_EIO. */
int cp_test_redis_start(cp_test_redis_t *r, const char *password);

/** Stops the server with SIGTERM (Redis flushes its AOF on the way out), waits for it, and starts
 * it again on the same port and dir; returns when it answers PING. Errors: as
 * cp_test_redis_start(). */
int cp_test_redis_restart(cp_test_redis_t *r);

/** As cp_test_redis_restart, stopping it with `sig` (SIGKILL: a crash; the AOF keeps what was
 * fsynced, about all but the last second) and leaving it down for down_ms first. */
int cp_test_redis_crash_restart(cp_test_redis_t *r, int sig, int down_ms);

/** Stops the server (SIGTERM, SIGKILL after 10 s) and removes its directory (see CP_KEEP_TMP). */
void cp_test_redis_stop(cp_test_redis_t *r);

#endif
