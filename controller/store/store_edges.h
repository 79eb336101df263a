/* SPDX-License-Identifier: Apache-2.0 */
/* store_edges.h - edge reports in Redis (ReportEdgeStatus / ListEdges, and the wait for edges to
 * apply) */
#ifndef CTL_STORE_EDGES_H
#define CTL_STORE_EDGES_H

#include <stddef.h>
#include <stdint.h>

#include "controller/store/store.h"

/*
 * Redis schema (an addition to store.h's):
 *
 *   edges        hash, edge_id ->
 * `{"edge_id","applied_revision","certificates","version","address", "last_seen_ms"}` (64-bit
 * numbers as JSON integers) edges:seen   sorted set, member = edge_id, score = last_seen_ms
 *
 * An edge is live while its last report is at most the TTL old. Entries older than 10 x the TTL are
 * removed by ctl_store_edges_live(), so edges that went away for good do not pile up.
 *
 * THREAD SAFETY: as store.h: a ctl_store_t is used by one thread at a time.
 */

/** One edge's last report. Strings are malloc'd in results (ctl_store_edges_free()); borrowed in
 * input. */
typedef struct ctl_store_edge {
    char *edge_id;
    int64_t applied_revision;
    int32_t certificates;
    char *version;
    char *address;
    int64_t last_seen_ms; /* Unix milliseconds */
} ctl_store_edge_t;

/** Stores e as the edge's last report (HSET + ZADD in one MULTI/EXEC). edge_id must be non-empty;
 *  version and address may be NULL (stored as ""). Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH.
 *  THREAD SAFETY: one thread at a time per s. */
int ctl_store_edge_report(ctl_store_t *s, const ctl_store_edge_t *e, cp_err_t *err);

/** The edges whose last report is at most ttl_ms before now_ms (last_seen_ms >= now_ms - ttl_ms),
 * in order of last report, oldest first, and in the same script removes those older than 10 x
 * ttl_ms. *out is a malloc'd array (ctl_store_edges_free()), NULL when *n is 0. A record that
 * cannot be read is skipped. Errors: CP_EINVAL (ttl_ms <= 0), CP_EUNAVAIL, CP_EAUTH, CP_EPROTO.
 * THREAD SAFETY: one thread at a time per s. */
int ctl_store_edges_live(ctl_store_t *s, int64_t now_ms, int64_t ttl_ms, ctl_store_edge_t **out,
                         size_t *n, cp_err_t *err);

/** Frees n edges and the array. NULL is a no-op. */
void ctl_store_edges_free(ctl_store_edge_t *e, size_t n);

/* ---- HTTP-01 challenges, for the Watch snapshot --------------------------------------------- */

/** A current challenge:{token} record. Strings malloc'd; expires_at as stored (RFC 3339), may be
 * NULL. */
typedef struct ctl_store_challenge {
    char *token;
    char *key_authorization;
    char *expires_at;
    char *identifier; /* TLS-ALPN-01: the name or address it is for; NULL for HTTP-01 */
} ctl_store_challenge_t;

/** Every challenge:{token} key that exists now (SCAN + GET; seed records read as well). Keys that
 * vanish meanwhile or that are not challenge JSON are skipped. *out is malloc'd
 * (ctl_store_challenges_free()), NULL when *n is 0. Errors: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO.
 * THREAD SAFETY: one thread at a time. */
int ctl_store_challenges_list(ctl_store_t *s, ctl_store_challenge_t **out, size_t *n,
                              cp_err_t *err);

/** Frees n challenges and the array. NULL is a no-op. */
void ctl_store_challenges_free(ctl_store_challenge_t *c, size_t n);

#endif
