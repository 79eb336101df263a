/* SPDX-License-Identifier: Apache-2.0 */
/* cert.h - one servable certificate: kept compact, checked, parsed on demand, reference-counted */
#ifndef EDGE_CERT_H
#define EDGE_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "shared/err.h"

/*
 * An edge_cert_t is immutable once made (but for its cache slot, below) and shared by every
 * certificate table version that holds it (and by handshakes in flight); the last
 * edge_cert_release frees it.
 *
 * Compact until served: a cert keeps its leaf as DER, its key as the PEM it came in, its names,
 * expiry and digests, and a reference to its shared intermediates (~1.3 KB for a P-256 leaf).
 * edge_cert_new reads the leaf's names and public key from the DER (edge/certder.h, no d2i_X509)
 * and checks the key against that public key (edge_key_from_der without building the EVP_PKEY),
 * so an edge becomes ready without parsing leaves. The parsed X509 and EVP_PKEY a handshake needs
 * are made by edge_cert_materialize on the first handshake that needs them (~150 us) and kept in
 * one process-wide cache, least recently used first out, of at most edge_cert_cache_set_max
 * certificates (the fallback is always parsed and never counted). A cert whose leaf or key fails
 * there (not reached for input edge_cert_new accepted, but checked again as a belt) is marked bad:
 * it is never served, and the caller serves the fallback.
 * THREAD SAFETY: any thread may read a cert it holds a reference on, retain, release and
 * materialize it; the cache has one lock, held only for list and pointer updates (parsing happens
 * outside it).
 */
typedef struct edge_cert {
    char *name;              /* certificate name (controller's), "" for the fallback */
    unsigned char *leaf_der; /* the leaf, DER */
    size_t leaf_len;
    char *
        key_pem; /* the private key as received (secret: cp_secure_free'd), NULL for the fallback */
    size_t key_len;
    STACK_OF(X509) * chain;   /* the rest of the chain, may be empty; shared by every cert with the
                                 same intermediates (read only) */
    unsigned char sha256[32]; /* SHA-256 of the leaf: the TLS session id context */
    unsigned char pem_digest[32]; /* SHA-256 of fullchain PEM and key PEM: same input, same cert */
    char **names; /* DNS names it serves (SAN, else CN without SAN addresses), lower case */
    size_t n_names;
    char **ips; /* IP addresses it serves (SAN iPAddress), canonical (edge_cert_ip_text) */
    size_t n_ips;
    int64_t not_after;
    int64_t revision;
    /* private */
    int refs_;
    int bad_;     /* materializing failed: never served (atomic) */
    int pinned_;  /* always materialized, not in the cache (the fallback) */
    void *chain_; /* the shared chain entry `chain` belongs to (edge/cert.c), NULL: own stack */
    X509 *leaf_;  /* the parsed leaf and key while materialized (under the cache lock) */
    EVP_PKEY *key_;
    struct edge_cert *lru_prev_, *lru_next_; /* in the cache's list (under the cache lock) */
} edge_cert_t;

/** Reads `fullchain_pem` (leaf first) and `key_pem`, checks the key belongs to the leaf and makes
 * a cert (one reference, the caller's) named `name`, compact (see above). The subject CN counts as
 * a DNS name only when the leaf has no subjectAltName DNS name or IP address. Errors: CP_EINVAL
 * (unparsable chain or key, key does not match, neither a DNS name nor an IP address),
 * CP_ECRYPTO. Never logs; messages never quote the key. THREAD SAFETY: any thread. */
int edge_cert_new(const char *name, const char *fullchain_pem, size_t chain_len,
                  const char *key_pem, size_t key_len, int64_t revision, edge_cert_t **out,
                  cp_err_t *err);

/** The parsed leaf and key of `c` (references: the caller frees them), from the cache or parsed
 *  now and cached (evicting the least recently used beyond the cache's size). Errors: CP_EINVAL
 *  when the leaf does not parse or the key does not match it (then `c` is marked bad and every
 *  later call fails at once). THREAD SAFETY: any thread holding a reference to `c`. */
int edge_cert_materialize(edge_cert_t *c, X509 **leaf, EVP_PKEY **key, cp_err_t *err);

/** Whether `c` was found bad by edge_cert_materialize. THREAD SAFETY: any thread. */
int edge_cert_is_bad(const edge_cert_t *c);

/** Default of edge_cert_cache_set_max. */
#define EDGE_CERT_CACHE_DEFAULT 16384

/** Sets how many certificates the cache keeps parsed (at least 1), evicting beyond it.
 *  THREAD SAFETY: any thread. */
void edge_cert_cache_set_max(size_t max);

/** The cache's counters. */
typedef struct edge_cert_cache_stats {
    size_t held, max;
    unsigned long long hits, misses, evictions, bad;
} edge_cert_cache_stats_t;

/** Reads the cache's counters. THREAD SAFETY: any thread. */
void edge_cert_cache_stats(edge_cert_cache_stats_t *out);

/** Makes the self-signed fallback certificate (EC P-256, CN and SAN `cn`, valid 10 years).
 *  Errors: CP_EINVAL, CP_ECRYPTO. THREAD SAFETY: any thread. */
int edge_cert_new_self_signed(const char *cn, edge_cert_t **out, cp_err_t *err);

/** Makes the TLS-ALPN-01 validation certificate (RFC 8737) for the DNS name `identifier`: a fresh
 * P-256 key, self-signed, the name as its SAN, and the critical acmeIdentifier extension holding
 * the SHA-256 of key_auth. Errors: CP_EINVAL (not a DNS name), CP_ECRYPTO. THREAD SAFETY: any. */
int edge_cert_new_alpn(const char *identifier, const char *key_auth, edge_cert_t **out,
                       cp_err_t *err);

/** Computes the digest edge_cert_new stores in pem_digest, so a caller can reuse a parsed cert for
 *  identical input without parsing it again. THREAD SAFETY: any thread. */
void edge_cert_pem_digest(const char *fullchain_pem, size_t chain_len, const char *key_pem,
                          size_t key_len, unsigned char out[32]);

/** Takes one more reference; returns `c`. NULL is a no-op. THREAD SAFETY: any thread. */
edge_cert_t *edge_cert_retain(edge_cert_t *c);

/** Drops one reference and frees the cert with the last. NULL is a no-op. THREAD SAFETY: any
 *  thread. */
void edge_cert_release(edge_cert_t *c);

/** Live edge_cert_t objects in this process (for tests of freeing). THREAD SAFETY: any thread. */
long edge_cert_live_count(void);

/** Distinct chains (intermediates after the leaf) held for all live certs: certs sending the same
 *  intermediates share one copy. THREAD SAFETY: any thread. */
size_t edge_cert_shared_chains(void);

/** Lower-cases `name` into buf (size bytes), dropping one trailing dot. Returns 0, or CP_EINVAL
 * when it is empty or does not fit. THREAD SAFETY: any thread. */
int edge_cert_normalize_name(const char *name, char *buf, size_t size);

/** Room for the canonical text of an IP address (INET6_ADDRSTRLEN). */
#define EDGE_CERT_IP_MAX 46

/** Canonical text of an IP literal `text` ("127.0.0.1", "::1"; an IPv4-mapped IPv6 address is
 *  written as its IPv4 address), the key under which IP-address certificates are found. Returns 0,
 *  or CP_EINVAL when `text` (NULL, a DNS name, an address with a zone) is no IP literal. THREAD
 *  SAFETY: any thread. */
int edge_cert_ip_text(const char *text, char buf[EDGE_CERT_IP_MAX]);

/** The same for a socket address (AF_INET, or AF_INET6 with IPv4-mapped ones as IPv4, as a dual-
 *  stack socket reports an IPv4 connection). CP_EINVAL for other families. THREAD SAFETY: any. */
int edge_cert_ip_text_sa(const struct sockaddr *sa, char buf[EDGE_CERT_IP_MAX]);

#endif
