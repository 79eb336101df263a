/* SPDX-License-Identifier: Apache-2.0 */
/* acme_fake.h - a scripted fake ACME server (HTTPS on loopback) for failures Pebble never makes */
#ifndef CP_TEST_ACME_FAKE_H
#define CP_TEST_ACME_FAKE_H

#include <stddef.h>
#include <stdint.h>

/*
 * One server thread answers one HTTPS/1.1 request per connection ("Connection: close", so curl
 * never retries on a reused connection behind our back) with a throwaway self-signed certificate
 * for "localhost". Every answer carries a fresh Replay-Nonce.
 *
 * Built in, used when a path has nothing queued:
 *   GET  /dir       directory: newNonce /nonce, newAccount /acct-new, newOrder /order-new,
 *                   revokeCert /revoke, keyChange /key-change
 *   HEAD /nonce     200 with a nonce
 *   POST /acct-new  201, Location $BASE/acct/1
 *   anything else   404 with a problem document
 * JWS signatures are not checked; the nonce of every POST is, for reuse (acme_fake_nonce_reuses).
 *
 * THREAD SAFETY: every function may be called from the test thread while the server runs.
 */

typedef struct acme_fake acme_fake_t;

typedef enum acme_fake_action {
    FAKE_ANSWER = 0, /* status, headers and body */
    FAKE_HANG,       /* read the request and never answer (until the client hangs up) */
    FAKE_RESET,      /* send the headers and part of the body, then reset the connection */
    FAKE_CLOSE,      /* close the connection without a word */
} acme_fake_action_t;

/** A scripted answer. Strings are copied; "$BASE" in them becomes "https://localhost:<port>". */
typedef struct acme_fake_reply {
    acme_fake_action_t action;
    int status;
    const char *headers; /* extra header lines, each ending in "\r\n", or NULL */
    const char *body;    /* NULL: empty. Content-Type defaults to application/problem+json for a
                          * status >= 400 and application/json otherwise */
    size_t pad;          /* spaces appended to the body (oversized answers) */
    const char *preface; /* raw bytes sent before the answer (an interim 1xx response), or NULL */
    int sticky;          /* stays queued and answers every later request of its path */
} acme_fake_reply_t;

/** Starts the server on a free loopback port. 0 or a CP_E* code. */
int acme_fake_start(acme_fake_t **out);

/** Stops the thread, frees everything, removes the CA file; NULL is a no-op. */
void acme_fake_stop(acme_fake_t *f);

/** "https://localhost:<port>" (borrowed). */
const char *acme_fake_base(const acme_fake_t *f);

/** The listening port. */
int acme_fake_port(const acme_fake_t *f);

/** Path of a PEM file with the server's certificate, the client's ca_file (borrowed). */
const char *acme_fake_ca_file(const acme_fake_t *f);

/** Queues `reply` for requests of `path` (e.g. "/acct-new"), after what is queued already. */
void acme_fake_push(acme_fake_t *f, const char *path, const acme_fake_reply_t *reply);

/** Forgets every queued reply and the request log. */
void acme_fake_reset(acme_fake_t *f);

/** Number of requests of `path` so far; their arrival times (monotonic ms) go to times[0..max). */
size_t acme_fake_hits(acme_fake_t *f, const char *path, int64_t *times, size_t max);

/** The decoded JWS payload of the last POST to `path` (malloc'd, the caller frees), or NULL (no
 * such POST, or an empty payload). */
char *acme_fake_last_payload(acme_fake_t *f, const char *path);

/** Number of POSTs whose JWS nonce was missing, not issued by this server, or used before. */
int acme_fake_nonce_reuses(acme_fake_t *f);

#endif
