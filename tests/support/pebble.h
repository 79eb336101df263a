/* SPDX-License-Identifier: Apache-2.0 */
/* pebble.h - test support: Pebble (test ACME CA) and pebble-challtestsrv (mock DNS) on loopback */
#ifndef CP_TEST_PEBBLE_H
#define CP_TEST_PEBBLE_H

#include <stddef.h>

#include "tests/support/harness.h"

/*
 * Starts pebble-challtestsrv (mock DNS answering every A query with 127.0.0.1, its management API
 * for TXT records) and pebble (config generated here: loopback listeners on free ports, a TLS
 * certificate from a throwaway CA written to ca_file, PEBBLE_VA_NOSLEEP=1, badNonce rejection left
 * at Pebble's default 5 %). Functions return 0 or a negative CP_E* code and print what went wrong
 * to stderr. Link with libcurl and OpenSSL (pebble.c uses both). THREAD SAFETY: one
 * cp_test_pebble_t per thread; start and stop from the same thread.
 */

typedef struct cp_test_pebble_opts {
    int http_port;       /* where Pebble validates HTTP-01 (the test's responder); required */
    int tls_port;        /* where Pebble validates TLS-ALPN-01; 0: a free port (nobody answers) */
    long validity_s;     /* certificateValidityPeriod; 0: Pebble's default */
    const char *eab_kid; /* when set, externalAccountBindingRequired with this kid ... */
    const char *eab_key; /* ... and this base64url MAC key */
    const char *blocked_domain; /* one domainBlocklist entry, or NULL */
    int alternate_roots;        /* PEBBLE_ALTERNATE_ROOTS */
} cp_test_pebble_opts_t;

typedef struct cp_test_pebble {
    cp_test_proc_t pebble;
    cp_test_proc_t challtestsrv;
    int acme_port;
    int mgmt_port;
    int dns_port;
    int chall_mgmt_port;
    char dir[256];           /* config, TLS files, logs */
    char directory_url[320]; /* https://127.0.0.1:<acme_port>/dir */
    char ca_file[320];       /* the CA that signed Pebble's HTTPS certificate */
    char log_path[320];      /* pebble's stdout+stderr */
    char chall_mgmt_url[64]; /* http://127.0.0.1:<chall_mgmt_port> */
} cp_test_pebble_t;

/** Starts both servers and waits until they accept connections. Errors: CP_EIO, CP_EUNAVAIL. */
int cp_test_pebble_start(cp_test_pebble_t *p, const cp_test_pebble_opts_t *opts);

/** Stops both servers (by PID) and removes the directory (see CP_KEEP_TMP). */
void cp_test_pebble_stop(cp_test_pebble_t *p);

/** GET https://127.0.0.1:<mgmt_port><path> (e.g. "/roots/0", "/intermediates/0",
 *  "/cert-status-by-serial/<hex>"); *body is malloc'd and NUL-terminated. Errors: CP_EUNAVAIL,
 * CP_EIO (a status other than 200). */
int cp_test_pebble_mgmt_get(const cp_test_pebble_t *p, const char *path, char **body);

/** Number of lines of Pebble's log containing `needle` (e.g. "/order-plz" for new-order requests).
 */
int cp_test_pebble_log_count(const cp_test_pebble_t *p, const char *needle);

/** Number of orders Pebble created ("Added order" lines of its log). Not the POSTs to newOrder: a
 *  POST that Pebble refused with badNonce (5 % of them) is sent again and would count twice. */
int cp_test_pebble_new_orders(const cp_test_pebble_t *p);

#endif
