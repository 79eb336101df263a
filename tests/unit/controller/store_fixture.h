/* SPDX-License-Identifier: Apache-2.0 */
/* store_fixture.h - the fixture every test_store_*.c shares: one redis-server per executable (with
 * a password that needs percent-encoding in the URL), a fresh ctl_store_t per test, and a raw
 * hiredis connection that checks what the store wrote.
 *
 * THREAD SAFETY: the fixture's globals and the raw connection belong to the test's main thread.
 */
#ifndef TESTS_UNIT_CONTROLLER_STORE_FIXTURE_H
#define TESTS_UNIT_CONTROLLER_STORE_FIXTURE_H

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "controller/store/store.h"
#include "tests/support/harness.h"

extern cp_test_redis_t g_redis; /* the executable's server */
extern ctl_store_t *g_store;    /* opened by st_setup(), freed by st_teardown() */
extern const char g_password[]; /* "pw:s3cr@t/x" */

/** Milliseconds on CLOCK_MONOTONIC. */
long long st_now_ms(void);

/** Sleeps ms milliseconds. */
void st_sleep_ms(int ms);

/** Group setup: SIGPIPE to its default (the store must cope without a process-wide SIG_IGN), then
 *  starts g_redis with g_password. Group teardown stops it. */
int st_group_setup(void **state);
int st_group_teardown(void **state);

/** Per-test setup: FLUSHALL, then g_store on g_redis (3 s command timeout, default events cap).
 *  Teardown frees g_store and the raw connection. */
int st_setup(void **state);
int st_teardown(void **state);

/** Opens a store on url; fails the test on error. maxlen 0: the default events cap. */
ctl_store_t *st_open(const char *url, int command_timeout_ms, long maxlen);

/** A command on the test's own authenticated connection (reconnects after an error); never NULL. */
redisReply *st_raw(const char *fmt, ...);

/** st_raw with up to two string arguments; fails the test on an error reply. */
void st_raw_ok(const char *fmt, const char *a1, const char *a2);

/** st_raw whose reply must be an integer. */
long long st_raw_int(const char *fmt, const char *arg);

/** The string reply of a command, or "(nil)"; valid until the next call. */
const char *st_raw_str(const char *fmt, const char *arg);

/** Every key with its DUMP (value and type) and TTL, sorted: equal snapshots mean nothing changed.
 *  Free with free(). */
char *st_snapshot(void);

/** ctl_store_cert_put on g_store with the given mode (renew_at -1); returns the rc, *rev the new
 *  revision. */
int st_put(const char *name, const char *json, int mode, int64_t expected, int64_t *rev,
           cp_err_t *err);

/** Asserts that ctl_store_cert_get returns exactly `expected` for name. */
void st_assert_stored(const char *name, const char *expected);

/** Asserts that st_put fails with `code`, a message, *rev untouched and no key changed. */
void st_assert_put_fails_unchanged(const char *name, const char *json, int mode, int64_t expected,
                                   int code);

#endif
