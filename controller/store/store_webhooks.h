/* SPDX-License-Identifier: Apache-2.0 */
/* store_webhooks.h - webhook subscriptions, the webhook:events stream, the delivery schedule and
 * the dead-letter list in Redis (issue 16) */
#ifndef CTL_STORE_WEBHOOKS_H
#define CTL_STORE_WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/store/store.h"

/*
 * Keys: webhook:subs (hash id -> "url\tevents\tname_filter\tcreate_ms\tsealed secret", the secret
 * sealed with the store's keyring for the record "webhook:subs/<id>"), webhook:events (stream of
 * events, consumer group "webhooks"), webhook:retry (zset of deliveries scored by due wall ms; a
 * delivery in flight is leased by moving its score ahead), webhook:dead (list, newest first,
 * capped), webhook:marks:expiring and webhook:marks:lagging (hashes: what was already announced).
 *
 * Errors of every call: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO besides those named. THREAD SAFETY: every
 * function, one thread at a time per s (each thread has its own ctl_store_t).
 */

#define CTL_STORE_WEBHOOKS_MAX 100      /* subscriptions */
#define CTL_STORE_WEBHOOK_DEAD_MAX 1000 /* dead letters kept */

/** A subscription; strings malloc'd (ctl_store_webhooks_free); secret is the plaintext. */
typedef struct ctl_store_webhook {
    char *id;
    char *url;
    char *events; /* comma-separated event types */
    char *name_filter;
    int64_t create_ms;
    char *secret; /* NULL when listed without secrets */
} ctl_store_webhook_t;

/** One entry of webhook:events: id and field/value pairs (kv[2i], kv[2i+1]), malloc'd. */
typedef struct ctl_store_whevent {
    char id[48];
    char **kv;
    size_t n_kv; /* number of strings (pairs * 2) */
} ctl_store_whevent_t;

/** Stores a new subscription (HSETNX), the secret sealed. Errors: CP_EINVAL (tab or newline in a
 * field), CP_ETOOBIG (CTL_STORE_WEBHOOKS_MAX reached), CP_EEXIST, CP_ECRYPTO, CP_EUNAVAIL,
 * CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_webhook_put(ctl_store_t *s, const ctl_store_webhook_t *w, cp_err_t *err);

/** Every subscription, sorted by id; secrets opened only when with_secrets. Errors: CP_EUNAVAIL,
 * CP_EAUTH, CP_EPROTO, and ctl_keywrap_open()'s. THREAD SAFETY: one thread at a time per s. */
int ctl_store_webhook_list(ctl_store_t *s, bool with_secrets, ctl_store_webhook_t **out, size_t *n,
                           cp_err_t *err);

/** Deletes a subscription. Errors: CP_ENOTFOUND, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread
 * at a time per s. */
int ctl_store_webhook_delete(ctl_store_t *s, const char *id, cp_err_t *err);

/** Frees n subscriptions (secrets wiped) and the array. NULL is a no-op. */
void ctl_store_webhooks_free(ctl_store_webhook_t *w, size_t n);

/** Appends an event (NULL-terminated field/value pairs, "type" among them) to webhook:events
 * (trimmed to about 100000 entries). Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one
 * thread at a time per s. */
int ctl_store_webhook_emit(ctl_store_t *s, const char *const *kv, cp_err_t *err);

/** ctl_store_webhook_emit() of a certificate event: type, name and, when non-NULL and non-empty,
 * serial, notAfter (RFC 3339) and error. */
int ctl_store_webhook_cert_event(ctl_store_t *s, const char *type, const char *name,
                                 const char *serial, const char *not_after, const char *error,
                                 cp_err_t *err);

/** Creates the group "webhooks" on webhook:events (MKSTREAM); an existing one is fine. */
int ctl_store_webhook_events_init(ctl_store_t *s, cp_err_t *err);

/** Takes up to max new events for consumer (XREADGROUP, waits up to block_ms), or with
 * min_idle_ms >= 0 claims up to max entries pending longer than that for any consumer
 * (XAUTOCLAIM). *out malloc'd (ctl_store_whevents_free), NULL when *n is 0. Errors: CP_EINVAL,
 * CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_webhook_events_take(ctl_store_t *s, const char *consumer, int block_ms,
                                  int min_idle_ms, size_t max, ctl_store_whevent_t **out, size_t *n,
                                  cp_err_t *err);

/** Acknowledges and deletes an event (XACK + XDEL). THREAD SAFETY: one thread at a time per s. */
int ctl_store_webhook_event_ack(ctl_store_t *s, const char *id, cp_err_t *err);

void ctl_store_whevents_free(ctl_store_whevent_t *ev, size_t n);

/** Schedules delivery `member` at due_ms (ZADD; the same member again only moves it). */
int ctl_store_webhook_schedule(ctl_store_t *s, const char *member, int64_t due_ms, cp_err_t *err);

/** Leases up to max deliveries due at now_ms: each one's score moves to now_ms + lease_ms, so a
 * controller that dies with it leaves it due again then. *members malloc'd
 * (ctl_store_strv_free). THREAD SAFETY: one thread at a time per s. */
int ctl_store_webhook_due(ctl_store_t *s, int64_t now_ms, int64_t lease_ms, size_t max,
                          char ***members, size_t *n, cp_err_t *err);

/** The earliest due time (wall ms) of any delivery, INT64_MAX when none. */
int ctl_store_webhook_next_due(ctl_store_t *s, int64_t *when_ms, cp_err_t *err);

/** Finishes delivery `member`: next NULL removes it (sent); otherwise replaces it with `next` due
 * at due_ms (a retry) - or, with dead non-NULL, removes it and pushes `dead` on webhook:dead
 * (capped at CTL_STORE_WEBHOOK_DEAD_MAX). One MULTI/EXEC. THREAD SAFETY: one thread at a time per
 * s. */
int ctl_store_webhook_finish(ctl_store_t *s, const char *member, const char *next, int64_t due_ms,
                             const char *dead, cp_err_t *err);

/** Up to max dead letters, newest first (*entries malloc'd, ctl_store_strv_free). */
int ctl_store_webhook_dead_list(ctl_store_t *s, size_t max, char ***entries, size_t *n,
                                cp_err_t *err);

/** Reads field of the marks hash webhook:marks:<which> (*value malloc'd, NULL when absent). */
int ctl_store_webhook_mark_get(ctl_store_t *s, const char *which, const char *field, char **value,
                               cp_err_t *err);

/** Sets (value non-NULL) or deletes a field of webhook:marks:<which>. */
int ctl_store_webhook_mark_set(ctl_store_t *s, const char *which, const char *field,
                               const char *value, cp_err_t *err);

#endif
