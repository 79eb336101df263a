/* SPDX-License-Identifier: Apache-2.0 */
/* sni.h - the edge's TLS context: Mozilla intermediate settings, SNI certificate choice, sessions
 */
#ifndef EDGE_SNI_H
#define EDGE_SNI_H

#include <stdatomic.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "edge/certmap.h"
#include "shared/err.h"

/*
 * One SSL_CTX serves every name. The certificate is chosen per handshake from the current table:
 *   1. the ClientHello callback (runs before OpenSSL looks at a session or ticket to resume) reads
 *      the SNI, looks it up (exact, wildcard, fallback), keeps a reference to the chosen cert on
 * the SSL and sets the session id context to the SHA-256 of its leaf, so OpenSSL refuses to resume
 *      a session made under another certificate. A client that connects to an IP address sends no
 *      SNI (RFC 6066 allows no IP literal there; some clients send one anyway): then, when the
 *      table holds IP-address certificates, the IP literal of the SNI and else the connection's
 *      local address (getsockname; an IPv4-mapped address of a dual-stack socket counts as IPv4)
 *      choose one (EDGE_MATCH_IP); none matching: as before (an IP literal is still looked up as
 *      a name, then the fallback). A DNS name in the SNI never looks at addresses;
 *      The chosen cert is made servable there (edge_cert_materialize: parsed on the first
 *      handshake that needs it, then cached); one that cannot be is replaced by the fallback
 *      (EDGE_MATCH_FALLBACK), so a key that does not match its leaf is never served;
 *   2. the certificate callback installs that cert (SSL_use_cert_and_key);
 *   3. the ticket decryption callback rejects a ticket whose session id context differs (belt and
 *      braces for TLS 1.3 tickets), which turns the resumption into a full handshake.
 * Never an error before the handshake: an unknown or absent name gets the fallback.
 *
 * THREAD SAFETY: edge_sni_init/dispose on one thread before/after the loops run; the callbacks run
 * on any loop thread; edge_sni_swap on the one writer thread; counters are atomics.
 */
/** Writes the local address of the connection `ssl` runs on into *out; 0, or -1 when unknown. */
typedef int (*edge_sni_local_addr_fn)(SSL *ssl, struct sockaddr_storage *out);

/** Told once about a certificate that could not be parsed at its first handshake (edge/cert.h:
 *  it is never served; the fallback is). Runs on a loop thread: keep it short. */
typedef void (*edge_sni_bad_fn)(const edge_cert_t *cert, const cp_err_t *err);

typedef struct edge_sni {
    SSL_CTX *ctx;
    _Atomic(edge_certmap_t *) current;
    atomic_ullong handshakes[EDGE_MATCH_KINDS]; /* by edge_match_t, once per ClientHello */
    atomic_ullong tickets_rejected;
    atomic_ullong alpn_answered; /* acme-tls/1 handshakes answered with a validation certificate */
    atomic_ullong tickets_renewed; /* tickets decrypted with an older fleet key (re-issued) */
    atomic_ullong tickets_resumed; /* handshakes resumed from a ticket (made by any edge) */
    edge_tickets_t *own_tickets;   /* this edge's own key, until the fleet's arrive */
    /* The connection's local address: this hook when set (an SSL whose BIO is no socket, as in
     * h2o), else getsockname on SSL_get_fd. Set before the loops run (edge_sni_set_local_addr). */
    edge_sni_local_addr_fn local_addr;
    edge_sni_bad_fn on_bad; /* may be NULL; set before the loops run (edge_sni_set_on_bad) */
} edge_sni_t;

/** The Mozilla "intermediate" TLS 1.2 cipher list (ECDHE with AEAD only). */
#define EDGE_SNI_CIPHERS                                                                           \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/** Makes the server SSL_CTX (TLS 1.2 minimum, the ciphers above, TLS 1.3 suites as OpenSSL's
 *  defaults, groups X25519/P-256/P-384, no compression or renegotiation) serving `initial`
 *  (retained; it carries the fallback). Errors: CP_ECRYPTO. */
int edge_sni_init(edge_sni_t *s, edge_certmap_t *initial, cp_err_t *err);

/** Sets the local-address hook (see edge_sni_t). THREAD SAFETY: before any handshake. */
void edge_sni_set_local_addr(edge_sni_t *s, edge_sni_local_addr_fn fn);

/** Sets the hook for certificates found bad at their first handshake (see edge_sni_t).
 *  THREAD SAFETY: before any handshake. */
void edge_sni_set_on_bad(edge_sni_t *s, edge_sni_bad_fn fn);

/** The certificate for a ClientHello with SNI `sni` (NULL: none) on a connection with local
 *  address `local` (NULL: unknown), as the callback chooses it (see above); never NULL, borrowed
 *  from `map`. THREAD SAFETY: any thread holding a reference to `map`. */
edge_cert_t *edge_sni_choose0(const edge_certmap_t *map, const char *sni,
                              const struct sockaddr *local, edge_match_t *how);

/** Frees the context and drops the current table. */
void edge_sni_dispose(edge_sni_t *s);

/** Publishes `next` (reference taken over) with one atomic swap and returns the previous version:
 *  the caller releases it once no loop thread can still be reading it (edge/server.h).
 *  THREAD SAFETY: one writer thread. */
edge_certmap_t *edge_sni_swap(edge_sni_t *s, edge_certmap_t *next);

/** The current version, borrowed. Valid during a loop iteration on a loop thread (RCU), or on the
 *  writer thread until its next swap. */
edge_certmap_t *edge_sni_current0(edge_sni_t *s);

/** The cert chosen for `ssl` (borrowed, valid while `ssl` lives), or NULL before the ClientHello.
 */
const edge_cert_t *edge_sni_chosen0(const SSL *ssl);

#endif
