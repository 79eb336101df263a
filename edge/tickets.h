/* SPDX-License-Identifier: Apache-2.0 */
/* tickets.h - TLS session-ticket keys: the fleet's (from the controller) or this edge's own */
#ifndef EDGE_TICKETS_H
#define EDGE_TICKETS_H

#include <stddef.h>

#include <openssl/evp.h>

#include "shared/err.h"

#define EDGE_TICKET_NAME_LEN 16
#define EDGE_TICKET_SECRET_LEN 64 /* 32 for HMAC-SHA256, then 32 for AES-256-CBC */
#define EDGE_TICKETS_MAX 8

typedef struct edge_ticket_key {
    unsigned char name[EDGE_TICKET_NAME_LEN];
    unsigned char secret[EDGE_TICKET_SECRET_LEN];
} edge_ticket_key_t;

/* An immutable, reference-counted set of keys; the first encrypts, every one decrypts. */
typedef struct edge_tickets edge_tickets_t;

/** A set of the n keys (copied; 1..EDGE_TICKETS_MAX). Errors: CP_EINVAL. THREAD SAFETY: any. */
int edge_tickets_new(const edge_ticket_key_t *keys, size_t n, edge_tickets_t **out, cp_err_t *err);

/** One random key: this edge's own, used until the controller sends the fleet's. Errors:
 *  CP_ECRYPTO. */
int edge_tickets_new_random(edge_tickets_t **out, cp_err_t *err);

edge_tickets_t *edge_tickets_retain(edge_tickets_t *t);

/** Drops a reference; the last one wipes the keys. NULL is a no-op. */
void edge_tickets_release(edge_tickets_t *t);

/** The body of OpenSSL's ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb) for the keys
 * of t: enc 1 sets up encryption with the first key (returns 1, or -1 on failure); enc 0 finds
 * the key by name and returns 1 (the first key), 2 (an older key: the ticket is renewed) or 0 (no
 * such key: a full handshake). THREAD SAFETY: any thread holding t. */
int edge_tickets_crypt(const edge_tickets_t *t, unsigned char name[EDGE_TICKET_NAME_LEN],
                       unsigned char *iv, EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc);

#endif
