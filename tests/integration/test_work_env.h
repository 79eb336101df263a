/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_env.h - fixture of the work machinery's integration tests: redis + pebble + responder
 */
#ifndef CP_TEST_WORK_ENV_H
#define CP_TEST_WORK_ENV_H

#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/config/config.h"
#include "controller/work/work.h"
#include "tests/integration/acme_env.h"

/* The ACME integration fixture (acme_env: redis, pebble, challtestsrv, HTTP-01 responder answering
 * from Redis) plus what the work tests add: controller configurations and certificate records. */
#define WORK_ENV_MAX 4

typedef struct work_env {
    acme_env_t acme;
    char email[64];
    ctl_config_t cfgs[WORK_ENV_MAX]; /* outlive the controllers that borrow them */
    ctl_work_t
        *works[WORK_ENV_MAX]; /* running controllers, stopped by work_env_stop at the latest */
    int n_cfgs;
} work_env_t;

/** Starts everything; validity_s sets Pebble's certificateValidityPeriod (0: default). Pebble
 * reuses no authorization (PEBBLE_AUTHZREUSE=0), so every order validates its challenges. 0 or a
 * CP_E* code. */
int work_env_start(work_env_t *e, long validity_s);
void work_env_stop(work_env_t *e);

/** A controller configuration for this environment, stored in e (strings borrowed from e and id;
 * fast timeouts); the caller may adjust it before work_env_run. */
ctl_config_t *work_env_config(work_env_t *e, const char *controller_id, int workers,
                              int64_t job_timeout_ms);

/** Starts a controller's work machinery with cfg (from work_env_config); NULL on failure. A failed
 *  assertion cannot leave it running: work_env_stop stops it. */
ctl_work_t *work_env_run(work_env_t *e, const ctl_config_t *cfg);

/** Stops a controller started by work_env_run. */
void work_env_halt(work_env_t *e, ctl_work_t *w);

/** Writes `name` (one domain `<name>.example.test`) as CreateCertificate does: PENDING, CREATE,
 * with an "issue" job, leased in certs:by_expiry for lease_ms. 0 or a CP_E* code. */
int work_env_create(work_env_t *e, const char *name, cp_key_type_t key_type, int64_t lease_ms);

/** Reads and decodes cert:{name} with e's store (NULL when missing or unreadable). */
Certplane__V1__Certificate *work_env_get(work_env_t *e, const char *name);
void work_env_cert_free(Certplane__V1__Certificate *c);

/** Waits up to timeout_ms until cert:{name} is in `state` (and, when serial_not is set, has another
 *  serial). Returns the record or NULL after the timeout. */
Certplane__V1__Certificate *work_env_wait(work_env_t *e, const char *name, int state,
                                          const char *serial_not, int timeout_ms);

/** Verifies the record's chain against Pebble's root, its names, and that its key matches the leaf.
 */
int work_env_verify(work_env_t *e, const Certplane__V1__Certificate *c);

/** 1 when the record's private key matches the leaf of its chain (both present), 0 otherwise. */
int work_env_key_matches(const Certplane__V1__Certificate *c);

/** Number of challenge:* keys in Redis, or -1. */
long work_env_challenge_keys(work_env_t *e);

/** Orders Pebble created ("Added order" lines of its log; a POST /order-plz repeated after badNonce
 *  is logged twice but creates one order). */
int work_env_orders(work_env_t *e);

/** Wall-clock milliseconds. */
int64_t work_env_now_ms(void);

/** Prints the work counters (per-issuance wall and CPU time). */
void work_env_print_stats(const char *label, ctl_work_t *w);

/* Reads w's counters, waiting up to 2 s until `done(st)` holds: a record turns VALID in Redis just
 * before its worker counts it, so a test that saw the record may read the counter a moment early.
 */
void work_env_stats_until(ctl_work_t *w, ctl_work_stats_t *st,
                          int (*done)(const ctl_work_stats_t *));

/* cmocka group setup and teardown of the work tests: curl's global state plus work_env_start/stop.
 */
int work_env_setup(work_env_t *e, long validity_s);
int work_env_teardown(work_env_t *e);

#endif
