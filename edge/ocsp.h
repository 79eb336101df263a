/* SPDX-License-Identifier: Apache-2.0 */
/* ocsp.h - OCSP stapling on the edge (issue 14): the responses the controller streams, stapled to
 * the handshakes that ask (status_request) while they are fresh */
#ifndef EDGE_OCSP_H
#define EDGE_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "shared/err.h"

/*
 * One process-wide table: SHA-256 of a leaf -> its OCSP response (DER) and nextUpdate. Keyed by the
 * leaf, not the certificate name, so a response is only ever stapled to the certificate it was
 * issued for (a renewed certificate gets none until its own arrives), whatever the order of events.
 * At staple time the response's nextUpdate is checked against the clock: a response that has
 * become stale is never stapled, even when the controller is gone. Entries past their nextUpdate
 * are dropped when the next response arrives.
 * THREAD SAFETY: any thread (a read-write lock; handshakes only read, and copy the DER).
 */

/** Most responses held. */
#define EDGE_OCSP_MAX 65536

/** Stores the response `der` for the leaf whose SHA-256 is leaf_sha256 (32 bytes). Its nextUpdate
 * is the earlier of next_update_ms (the controller's, 0: none) and the one in the DER; a response
 * already stale at now_ms, or older (thisUpdate) than the one held for that leaf, is not stored
 * (0). Errors: CP_EPROTO (not a successful OCSP response, no nextUpdate, a digest of the wrong
 * size), CP_ETOOBIG (the table is full). THREAD SAFETY: any thread. */
int edge_ocsp_put(const unsigned char *leaf_sha256, size_t leaf_len, const unsigned char *der,
                  size_t len, int64_t next_update_ms, int64_t now_ms, cp_err_t *err);

/** Installs the status_request callback on ctx: a handshake that asks gets the response held for
 * the certificate it is served, when fresh. THREAD SAFETY: before the loops run. */
void edge_ocsp_install(SSL_CTX *ctx);

/** Counters. */
typedef struct edge_ocsp_stats {
    unsigned long long stapled;       /* handshakes that got a response */
    unsigned long long stale_skipped; /* handshakes that asked, whose response had gone stale */
    unsigned long long held;          /* responses held now */
} edge_ocsp_stats_t;

void edge_ocsp_get_stats(edge_ocsp_stats_t *out);

/** Empties the table (tests). THREAD SAFETY: any thread. */
void edge_ocsp_clear(void);

#endif
