/* SPDX-License-Identifier: Apache-2.0 */
/* store_events.h - the functions of store_events.c (split from store.h) */
#ifndef CTL_STORE_EVENTS_H
#define CTL_STORE_EVENTS_H

#include "controller/store/store.h"

/** Reads up to max (1..10000) events with revision > after_revision, oldest first. With block_ms >
 * 0 and nothing newer, waits up to block_ms for one (the socket timeout is raised meanwhile); 0
 * does not wait. *out is a malloc'd array (ctl_store_events_free()), NULL when *n is 0. A blocking
 * read that fails in flight is not retried. Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH, CP_EPROTO.
 *  THREAD SAFETY: one thread at a time per s. */
int ctl_store_events_read(ctl_store_t *s, int64_t after_revision, size_t max, int block_ms,
                          ctl_store_event_t **out, size_t *n, cp_err_t *err);

/** Revision of the oldest event still in the stream, 0 when it is empty. Event IDs are contiguous,
 * so a replay after revision R is complete when R >= first - 1; otherwise R is too old (send a
 * snapshot). Errors: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per s.
 */
int ctl_store_events_first(ctl_store_t *s, int64_t *first_revision, cp_err_t *err);

/** Frees n events and the array. NULL is a no-op. */
void ctl_store_events_free(ctl_store_event_t *ev, size_t n);

/** Stores challenge:{token} in the seed's JSON format with a TTL (ttl_s <= 0: 3600 s) and appends a
 *  CHALLENGE_SET event (token, key_authorization, expires_at), in one script. *rev (may be NULL)
 * receives the event's revision. Edges expire challenges by expires_at: a TTL expiry emits no
 * event. Errors: CP_EINVAL, CP_ESTATE, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time
 * per s. */
int ctl_store_challenge_set(ctl_store_t *s, const char *token, const char *key_authorization,
                            int ttl_s, int64_t *rev, cp_err_t *err);

/** ctl_store_challenge_set for a TLS-ALPN-01 challenge (RFC 8737) of `identifier` (the name or
 * address the edges answer acme-tls/1 handshakes for), recorded in the record and the event;
 * NULL: an HTTP-01 challenge, as ctl_store_challenge_set. */
int ctl_store_challenge_set_for(ctl_store_t *s, const char *token, const char *key_authorization,
                                const char *identifier, int ttl_s, int64_t *rev, cp_err_t *err);

/** The key authorization of challenge:{token} (malloc'd, caller frees); reads seed records too.
 *  Errors: CP_EINVAL, CP_ENOTFOUND, CP_EPROTO (not the expected JSON), CP_EUNAVAIL, CP_EAUTH.
 *  THREAD SAFETY: one thread at a time per s. */
int ctl_store_challenge_get(ctl_store_t *s, const char *token, char **key_authorization,
                            cp_err_t *err);

/** Deletes challenge:{token} (absent is fine: it may have expired) and appends a CHALLENGE_CLEAR
 * event. Errors: CP_EINVAL, CP_ESTATE, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time
 * per s. */
int ctl_store_challenge_clear(ctl_store_t *s, const char *token, int64_t *rev, cp_err_t *err);

#endif
