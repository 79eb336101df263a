/* SPDX-License-Identifier: Apache-2.0 */
/* certmap.h - the edge's certificate table: immutable versions sharing structure, SNI lookup */
#ifndef EDGE_CERTMAP_H
#define EDGE_CERTMAP_H

#include <stddef.h>
#include <stdint.h>

#include "edge/cert.h"
#include "edge/hamt.h"
#include "edge/tickets.h"

/*
 * A table version holds five persistent hash tries (edge/hamt.h):
 *   by_name    certificate name -> cert        (to find what an UPSERT or DELETE replaces)
 *   exact      "www.example.com" -> cert       (every non-wildcard DNS name of every cert)
 *   wildcard   "example.com" -> cert           (a "*.example.com" name, keyed by its parent)
 *   by_ip      "192.0.2.1", "2001:db8::1" -> cert (every SAN iPAddress, RFC 8738 certificates;
 *              canonical text of edge_cert_ip_text)
 *   challenges token -> key authorization      (HTTP-01 answers)
 * plus the fallback cert. A new version starts as an O(1) clone of the current one; each change
 * copies only the trie paths it touches (about 3 nodes for 10,000 names), so one UPSERT into a
 * 10,000-certificate table allocates a handful of nodes and shares everything else, including every
 * parsed cert (edge_cert_t, reference-counted). The writer publishes the finished version with one
 * atomic pointer swap (edge/sni.h); a version is never changed after it is published.
 *
 * When two certificates claim the same name (or IP address), the one put last serves it; deleting
 * it removes the name (the other certificate serves it again after its next UPSERT or snapshot).
 *
 * THREAD SAFETY: a published version may be read (get0 functions) from any number of threads while
 * a reference is held (or within the RCU grace period of edge/server.h). Changing functions are for
 * the one thread that built the unpublished version.
 */
typedef struct edge_certmap edge_certmap_t;

/** How edge_certmap_get0 found its answer. */
typedef enum edge_match {
    EDGE_MATCH_EXACT = 0,
    EDGE_MATCH_WILDCARD = 1,
    EDGE_MATCH_FALLBACK = 2,
    EDGE_MATCH_IP = 3, /* an IP-address certificate (edge/sni.h: no SNI, or an IP literal) */
} edge_match_t;

/** Kinds of edge_match_t. */
#define EDGE_MATCH_KINDS 4

/** A new, empty version serving `fallback` (retained; must not be NULL) for every name. The caller
 *  owns one reference. THREAD SAFETY: any thread. */
edge_certmap_t *edge_certmap_new(edge_cert_t *fallback);

/** A new unpublished version with the same content as `m` (O(1)); `empty_certs` leaves out every
 *  certificate and challenge (for a snapshot that replaces everything). The caller owns one
 *  reference. THREAD SAFETY: any thread holding a reference to `m`. */
edge_certmap_t *edge_certmap_clone(const edge_certmap_t *m, int empty);

/** Takes a reference; returns m. THREAD SAFETY: any thread holding a reference. */
edge_certmap_t *edge_certmap_retain(edge_certmap_t *m);

/** Drops a reference; the last one frees the version (and the nodes and certs no other version
 *  shares). NULL is a no-op. THREAD SAFETY: any thread. */
void edge_certmap_release(edge_certmap_t *m);

/** Stores `cert` (retained) under cert->name, replacing the cert of that name and its names
 *  and IP addresses.
 *  THREAD SAFETY: the builder of the unpublished `m`. */
void edge_certmap_put(edge_certmap_t *m, edge_cert_t *cert);

/** Removes the cert named `name` and its DNS names and IP addresses. Returns 1 when it was there,
 * else 0. THREAD SAFETY: the builder of the unpublished `m`. */
int edge_certmap_delete(edge_certmap_t *m, const char *name);

/** Stores an HTTP-01 answer (copied). THREAD SAFETY: the builder of the unpublished `m`. */
void edge_certmap_challenge_set(edge_certmap_t *m, const char *token, const char *key_auth);

/** Stores a TLS-ALPN-01 answer (RFC 8737): the key authorization under token (served over HTTP
 * too, which is harmless) and `cert`, the validation certificate (retained), for handshakes naming
 * `identifier` (lower case) and offering ALPN acme-tls/1. THREAD SAFETY: the builder. */
void edge_certmap_alpn_set(edge_certmap_t *m, const char *token, const char *key_auth,
                           const char *identifier, edge_cert_t *cert);

/** Replaces the session-ticket keys (retained; NULL: none). THREAD SAFETY: the builder. */
void edge_certmap_set_tickets(edge_certmap_t *m, edge_tickets_t *tickets);

/** The session-ticket keys, or NULL. Borrowed from m. THREAD SAFETY: any thread holding m. */
edge_tickets_t *edge_certmap_tickets0(const edge_certmap_t *m);

/** TLS-ALPN-01 answers held (0: a handshake need not look at its ALPN list). THREAD SAFETY: any
 *  thread holding m. */
size_t edge_certmap_alpn_count(const edge_certmap_t *m);

/** The TLS-ALPN-01 validation certificate for identifier, or NULL. Borrowed from m. THREAD SAFETY:
 *  any thread holding m. */
edge_cert_t *edge_certmap_alpn_get0(const edge_certmap_t *m, const char *identifier);

/** Removes an HTTP-01 or TLS-ALPN-01 answer. Returns 1 when it was there. THREAD SAFETY: the
 * builder. */
int edge_certmap_challenge_clear(edge_certmap_t *m, const char *token);

/** Removes every certificate whose name and every challenge whose token `keep` (may be NULL for
 *  "none") does not hold; `keep` maps names and tokens to any non-NULL value. THREAD SAFETY: the
 *  builder of the unpublished `m`. */
void edge_certmap_prune(edge_certmap_t *m, const edge_hamt_t *keep_names,
                        const edge_hamt_t *keep_tokens);

/** Sets the revision this version reflects. THREAD SAFETY: the builder. */
void edge_certmap_set_revision(edge_certmap_t *m, int64_t revision);

/** Cert for SNI `name` (any case, one trailing dot ignored): exact name, then a wildcard one label
 *  up, else the fallback; never NULL. NULL or an invalid name gets the fallback. *how (may be NULL)
 *  says which. Borrowed: valid while `m` is referenced (retain the cert to keep it longer).
 *  THREAD SAFETY: any thread holding a reference to `m`. */
edge_cert_t *edge_certmap_get0(const edge_certmap_t *m, const char *name, edge_match_t *how);

/** Cert serving IP address `ip` (canonical text, edge_cert_ip_text; NULL gets NULL), or NULL: the
 *  fallback is the caller's choice. Borrowed, as above. Lock-free like edge_certmap_get0. */
edge_cert_t *edge_certmap_get0_ip(const edge_certmap_t *m, const char *ip);

/** IP addresses indexed (0: no IP-address certificate, a handshake need not look). */
size_t edge_certmap_ip_count(const edge_certmap_t *m);

/** Cert named `name` (the controller's certificate name), or NULL. Borrowed, as above. */
edge_cert_t *edge_certmap_get0_by_name(const edge_certmap_t *m, const char *name);

/** Key authorization for an HTTP-01 `token`, or NULL. Borrowed, as above. */
const char *edge_certmap_challenge_get0(const edge_certmap_t *m, const char *token);

/** Certificates held (not counting the fallback), challenges held, revision. */
size_t edge_certmap_count(const edge_certmap_t *m);
size_t edge_certmap_challenge_count(const edge_certmap_t *m);
int64_t edge_certmap_revision(const edge_certmap_t *m);

/** Calls cb for every certificate. THREAD SAFETY: as get0. */
void edge_certmap_foreach(const edge_certmap_t *m, void (*cb)(edge_cert_t *cert, void *arg),
                          void *arg);

/** Trie nodes of `b` shared with `a`, and nodes of `b` in total (tests prove an update copies only
 *  a few nodes). */
size_t edge_certmap_shared_nodes(const edge_certmap_t *a, const edge_certmap_t *b);
size_t edge_certmap_node_count(const edge_certmap_t *m);

#endif
