/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_fixture.h - the fixture every test_gateway*.c end-to-end test shares: one redis-server
 * per executable, a started service behind the HTTP/JSON gateway on a free loopback port (with an
 * HTTP-01 lookup that knows one token), and a libcurl client.
 *
 * THREAD SAFETY: gw_http() and gw_post() may run on any thread; the rest belongs to the test's main
 * thread.
 */
#ifndef TESTS_UNIT_CONTROLLER_GATEWAY_FIXTURE_H
#define TESTS_UNIT_CONTROLLER_GATEWAY_FIXTURE_H

#include <stddef.h>

#include "controller/config/config.h"
#include "controller/gateway/gateway.h"
#include "controller/service/service.h"
#include "tests/support/harness.h"

extern cp_test_redis_t g_redis;
extern ctl_service_t *g_svc;
extern ctl_gateway_t *g_gw;
extern int g_port;

#define GW_ADMIN "admintok-0123456789"
#define GW_READ "readtok-0123456789"
/* The gateway's Watch queue in these tests: small, so a snapshot can outgrow it. */
#define GW_WATCH_QUEUE (128 * 1024)
#define GW_EDGE "edgetok-0123456789"

/* A create body for certificate n with domain n.example.com (n a string literal). */
#define GW_CERT(n)                                                                                 \
    "{\"name\":\"" n "\",\"domains\":[\"" n ".example.com\"],\"email\":\"ops@example.com\"}"

typedef struct gw_resp {
    long status;
    char *body; /* never NULL after gw_http(); free with free() (gw_expect() does) */
    size_t len;
    char allow[64];
    char ctype[64];
} gw_resp_t;

/** Group setup: SIGPIPE ignored, curl, g_redis, the service (tokens GW_ADMIN/GW_READ/GW_EDGE) and
 *  the gateway (watch check every 200 ms; /.well-known/acme-challenge/tok_A-1 answers
 *  "tok_A-1.thumbprint"). Group teardown stops them all. */
int gw_setup(void **state);
int gw_teardown(void **state);

/** libcurl callbacks that append a body to a gw_resp_t / pick its Allow and Content-Type. */
size_t gw_on_body(char *p, size_t sz, size_t n, void *u);
size_t gw_on_header(char *p, size_t sz, size_t n, void *u);

/** One request; ctype NULL means application/json when there is a body; token NULL: none. Fails
 *  the test when no answer comes. */
gw_resp_t gw_http(const char *method, const char *path, const char *token, const char *ctype,
                  const char *body, size_t blen);

/** POST of a JSON body. */
gw_resp_t gw_post(const char *path, const char *token, const char *json);

/** Asserts the status and, when code >= 0, the JSON error shape with that gRPC code; part, when not
 *  NULL, must be in the body. Frees r's body. */
void gw_expect(gw_resp_t r, long status, int code, const char *part);

/** Creates certificate name (domain name.example.com) as admin; must answer 200. */
void gw_create_ok(const char *name);

/** Rewrites certificate name in Redis, as a worker would, with state and (when not NULL) an issued
 *  chain: renew reads the record from the store, so the state it meets is exactly this one. */
void gw_force_record(const char *name, Certplane__V1__State state, const char *fullchain);

/** Entries in the jobs stream. */
long long gw_jobs_queued(void);

#endif
