/* SPDX-License-Identifier: Apache-2.0 */
/* acme_env.h - shared fixture of the ACME integration tests: redis + pebble + HTTP-01 responder */
#ifndef CP_TEST_ACME_ENV_H
#define CP_TEST_ACME_ENV_H

#include "controller/acme/acme.h"
#include "controller/gateway/http01.h"
#include "controller/store/store.h"
#include "tests/support/harness.h"
#include "tests/support/pebble.h"

#define ENV_MAX_TOKENS 64

/* Everything one test group needs; hooks go through Redis as the controller wires them. */
typedef struct acme_env {
    cp_test_redis_t redis;
    cp_test_pebble_t pebble;
    ctl_store_t *store;        /* main thread: hooks */
    ctl_store_t *store_http01; /* the responder thread's own connection */
    ctl_http01_server_t *http01;
    ctl_acme_hooks_t hooks;
    int present_drops;            /* 1: challenge_present pretends to store but does not */
    char *tokens[ENV_MAX_TOKENS]; /* every token presented, to check cleanup */
    size_t n_tokens;
    char dns_script[512];
    double wall_s, cpu_s; /* accumulated per issued certificate */
    int issued;
} acme_env_t;

/** Starts redis, the responder and pebble (opts->http_port is filled in). 0 or a CP_E* code. */
int acme_env_start(acme_env_t *e, cp_test_pebble_opts_t *opts);
void acme_env_stop(acme_env_t *e);

/** A client for pebble with the env's hooks; email distinguishes accounts. */
ctl_acme_t *acme_env_client(acme_env_t *e, const char *email, cp_key_type_t account_key,
                            long deadline_ms);

/** Issues and measures; 0 or the error code (err filled). */
int acme_env_issue(acme_env_t *e, ctl_acme_t *c, const ctl_acme_request_t *req,
                   ctl_acme_result_t *res, cp_err_t *err);

/** Verifies chain against pebble's root and intermediate, checks names and key type; 0 when fine.
 */
int acme_env_verify(acme_env_t *e, const ctl_acme_result_t *res, const char *const *names,
                    size_t n);

/** 1 when no presented token is left in Redis. */
int acme_env_no_challenge_left(acme_env_t *e);

#endif
