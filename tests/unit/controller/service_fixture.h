/* SPDX-License-Identifier: Apache-2.0 */
/* service_fixture.h - the fixture every test_service_*.c on the unary RPCs shares: one redis-server
 * per executable, one service (not started: no workers) with file and list tokens, one service
 * thread, a raw hiredis connection to look at what a call wrote, and test certificates.
 *
 * Each test makes the records it needs under its own names, so the tests of an executable do not
 * depend on each other's order.
 *
 * THREAD SAFETY: the fixture's globals and the raw connection belong to the test's main thread.
 */
#ifndef TESTS_UNIT_CONTROLLER_SERVICE_FIXTURE_H
#define TESTS_UNIT_CONTROLLER_SERVICE_FIXTURE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "controller/service/service.h"
#include "tests/support/harness.h"

extern cp_test_redis_t g_redis; /* the executable's server */
extern ctl_config_t g_cfg;      /* the configuration g_svc was made with */
extern ctl_service_t *g_svc;
extern ctl_thread_t *g_t;
extern char *g_pem, *g_key; /* self-signed for imp.example.com (+ alt.example.com), its key */
extern char *g_other_key;   /* a key that matches no certificate here */
extern char *g_expired_pem; /* old.example.com, expired yesterday */
extern char *g_expired_key; /* its key */

extern const ctl_caller_t SF_ADMIN; /* token "adm", peer 10.0.0.1 */
extern const ctl_caller_t SF_READ;  /* token "rd", peer 10.0.0.2 */
extern const ctl_caller_t SF_EDGE;  /* token "edg", peer 10.0.0.3:55 */

/* What a failed request must leave alone: the revision counter, the number of keys, the jobs. */
typedef struct sf_snap {
    long long revision, keys, jobs;
} sf_snap_t;

/** Group setup: g_redis, a tokens file ("file-admin-token admin", "file-read-token read"), g_cfg
 *  (tokens "list:admin:token:admin,edge-token:edge", email ops@example.com), g_svc, g_t and the
 *  test certificates. Group teardown frees them all. */
int sf_group_setup(void **state);
int sf_group_teardown(void **state);

/** A command on the raw connection; never NULL. Free with freeReplyObject(). */
redisReply *sf_raw(const char *fmt, ...);

/** sf_raw with at most one string argument: an integer reply, a string read as a number, or 0. */
long long sf_raw_int(const char *fmt, const char *arg);

/** The revision, DBSIZE and XLEN jobs now. */
sf_snap_t sf_snap(void);

/** A self-signed certificate for name and alt.example.com valid for days, as PEM (*key too when not
 *  NULL). Free both with free(). */
void sf_make_pem(const char *name, int days, char **pem, char **key);

/** Invokes rpc on g_svc/g_t as who; checks that a response comes exactly on success. resp NULL:
 *  the response is freed. Returns the rc. */
int sf_call(const ctl_caller_t *who, const char *rpc, const void *req, void **resp, cp_err_t *err);

/** Frees a response message. */
void sf_free_msg(void *m);

/** CreateCertificate {name, [domain]} as admin; *rc its rc. Returns the response or NULL. */
Certplane__V1__Certificate *sf_create(const char *name, const char *domain, cp_err_t *err, int *rc);

/** sf_create that must succeed; returns nothing. */
void sf_create_ok(const char *name, const char *domain);

/** ImportCertificate as admin with overwrite; *rc its rc. Returns the response or NULL. */
Certplane__V1__Certificate *sf_import_ow(const char *name, const char *pem, const char *key,
                                         bool auto_renew, bool overwrite, cp_err_t *err, int *rc);

/** sf_import_ow without overwrite. */
Certplane__V1__Certificate *sf_import(const char *name, const char *pem, const char *key,
                                      bool auto_renew, cp_err_t *err, int *rc);

/** Imports name from g_pem/g_key (no auto-renew); must succeed. */
void sf_import_ok(const char *name);

/** Stores record name again with state, as a worker's write would (bypassing the service). */
void sf_force_state(const char *name, Certplane__V1__State state);

/** Calls rpc as admin and asserts rc == code, a message holding msg and an unchanged sf_snap();
 *  what names the case in a failure. */
void sf_expect_bad(const char *rpc, const void *req, int code, const char *msg, const char *what);

#endif
