/* SPDX-License-Identifier: Apache-2.0 */
/* store_tickets.h - TLS session-ticket keys shared by every edge (issue 14) */
#ifndef CTL_STORE_TICKETS_H
#define CTL_STORE_TICKETS_H

#include <stddef.h>
#include <stdint.h>

#include "controller/store/store.h"

/*
 * tls:ticket_keys holds the keys, newest (active) first, sealed at rest like private keys (keywrap,
 * AAD "tls:ticket_keys"). Each key: a 16-byte name (sent in every ticket), a 64-byte secret (32 for
 * HMAC-SHA256, 32 for AES-256-CBC, RFC 5077's layout), and when it was made. A change appends a
 * TICKET_KEYS event (no key material in the stream); the relay reads the keys and streams them to
 * edge-scope watchers only.
 */

#define CTL_STORE_TICKET_NAME_LEN 16
#define CTL_STORE_TICKET_SECRET_LEN 64
#define CTL_STORE_TICKET_KEYS_MAX 4

typedef struct ctl_store_ticket_key {
    unsigned char name[CTL_STORE_TICKET_NAME_LEN];
    unsigned char secret[CTL_STORE_TICKET_SECRET_LEN];
    int64_t created_ms; /* wall clock */
} ctl_store_ticket_key_t;

/** Reads the keys (newest first, at most CTL_STORE_TICKET_KEYS_MAX) into keys; *n 0 when there are
 * none yet. Wipe keys after use. Errors: CP_EUNAVAIL, CP_EAUTH, CP_ESTATE/CP_ECRYPTO (cannot be
 * opened with this keyring), CP_EPROTO (malformed). THREAD SAFETY: one thread at a time per s. */
int ctl_store_tickets_get(ctl_store_t *s, ctl_store_ticket_key_t *keys, size_t *n, cp_err_t *err);

/** Rotates when the newest key is older than rotate_ms (or there is none): a fresh random key
 * becomes the first, the newest keep - 1 stay (keep 1..CTL_STORE_TICKET_KEYS_MAX). The write
 * happens only if nobody changed the keys since they were read (another controller rotated them
 * meanwhile: then nothing is done). *rotated (may be NULL) tells whether this call rotated.
 * Errors: as ctl_store_tickets_get(), CP_EINVAL (keep). THREAD SAFETY: one thread at a time. */
int ctl_store_tickets_rotate(ctl_store_t *s, int64_t now_ms, int64_t rotate_ms, size_t keep,
                             int *rotated, cp_err_t *err);

#endif
