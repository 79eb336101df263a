/* SPDX-License-Identifier: Apache-2.0 */
/* acme_front.h - test support: the test ACME front (acme_front.py) in front of a running Pebble */
#ifndef CP_TEST_ACME_FRONT_H
#define CP_TEST_ACME_FRONT_H

#include "tests/support/harness.h"
#include "tests/support/pebble.h"

/*
 * Starts tests/support/acme_front.py (with /usr/bin/python3) on two free loopback ports: the ACME
 * port (HTTPS with Pebble's own TLS certificate, so clients keep Pebble's ca_file) proxying to
 * Pebble, and a plain-HTTP management port. See the header of acme_front.py for what it adds
 * (renewalInfo, meta.profiles, newOrder records, refusing `replaces`, outage modes) and for the
 * management API. Functions return 0 or a negative CP_E* code and print what went wrong to stderr.
 * THREAD SAFETY: one cp_test_front_t per thread; start and stop from the same thread.
 */

typedef struct cp_test_front_opts {
    int no_ari;              /* 1: the directory has no renewalInfo */
    const char *profiles;    /* JSON object name -> description for meta.profiles, or NULL */
    int retry_after_s;       /* Retry-After of renewalInfo answers; 0: 6 hours */
    const char *ip_profiles; /* JSON list: IP identifiers only under these profiles, or NULL */
} cp_test_front_opts_t;

typedef struct cp_test_front {
    cp_test_proc_t proc;
    int port;
    int mgmt_port;
    char directory_url[320]; /* https://127.0.0.1:<port>/dir */
    char ca_file[320];       /* Pebble's: the front serves Pebble's TLS certificate */
    char log_path[400];
} cp_test_front_t;

/** Starts the front for Pebble p (started, and outliving the front) and waits until both ports
 *  accept connections. opts may be NULL. Errors: CP_ENOTFOUND (no python3), CP_EUNAVAIL, CP_EIO. */
int cp_test_front_start(cp_test_front_t *f, const cp_test_pebble_t *p,
                        const cp_test_front_opts_t *opts);

/** Stops it (SIGTERM by PID). */
void cp_test_front_stop(cp_test_front_t *f);

/** POST http://127.0.0.1:<mgmt_port><path> with the JSON `body` ("/window", "/config", "/outage").
 *  Errors: CP_EUNAVAIL, CP_EIO (a status other than 200). */
int cp_test_front_post(const cp_test_front_t *f, const char *path, const char *body);

/** GET of a management path ("/orders", "/certs", "/polls", "/stats"); *body malloc'd, NUL-ended.
 */
int cp_test_front_get(const cp_test_front_t *f, const char *path, char **body);

#endif
