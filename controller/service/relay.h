/* SPDX-License-Identifier: Apache-2.0 */
/* relay.h - the event relay: one thread tails the `events` stream and fans events out */
#ifndef CTL_RELAY_H
#define CTL_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/service/watch_sink.h"
#include "controller/store/certcache.h"
#include "controller/store/store.h"

/*
 * Design decision 4. One relay per controller owns the live set of watchers; only its thread sends
 * live events, so each event reaches each watcher once and in order. A watcher joins at a position:
 * the last revision it has (after its snapshot or replay, which the Watch call sends on its own
 * thread). Before the relay thread adds it to the live set, it sends the events between that
 * position and the relay's own position itself; every watcher also remembers the last revision it
 * was sent and skips events at or below it. So whatever happens between the replay and the
 * hand-over, there is no gap and no duplicate.
 *
 * An UPSERT event carries the certificate as it is when the event is sent (cert:{name} is re-read;
 * an event whose certificate is gone is skipped, its DELETE follows). Private keys go only to
 * watchers that asked for them. A watcher whose send fails (CP_ECANCELED, CP_ETOOBIG) is dropped at
 * once; one that is closed is dropped within one poll interval. When the stream lost events the
 * relay had not read yet (trimmed, or Redis was reset), every watcher is finished with ABORTED so
 * that it reconnects and gets a snapshot.
 */

typedef struct ctl_relay ctl_relay_t;

/** Creates a relay that reads with its own store on `redis_url` (opts copied; NULL: defaults); no
 *  thread yet. Errors: CP_EINVAL (bad URL). THREAD SAFETY: any thread. */
int ctl_relay_new(const char *redis_url, const ctl_store_opts_t *opts, ctl_relay_t **out,
                  cp_err_t *err);

/** Makes the relay keep `cache` (borrowed: it must outlive the relay) current: for every event it
 *  refreshes or drops the certificate's entry before sending the event, and it empties and disables
 *  the cache while it cannot read the stream (see certcache.h). Call before ctl_relay_start().
 *  THREAD SAFETY: the thread that made r. */
void ctl_relay_set_cache(ctl_relay_t *r, ctl_certcache_t *cache);

/** Starts the thread at the current revision. When Redis does not answer this one try (a
 *  controller may start before its Redis), the thread keeps trying with a capped backoff and relays
 *  from where the stream ends then; until then ctl_relay_ready() is false and added watchers wait.
 *  Errors:
 *  CP_ESTATE (started before), CP_EIO (thread). THREAD SAFETY: the thread that made r. */
int ctl_relay_start(ctl_relay_t *r, cp_err_t *err);

/** Whether the thread runs. THREAD SAFETY: any thread. */
bool ctl_relay_running(ctl_relay_t *r);

/** Hands a watcher over: the relay sends it every event after `pos`, first as a catch-up, then
 * live. The sink (copied) belongs to the relay on 0, which finishes and releases it when it drops
 * it. Errors: CP_EUNAVAIL (not running; the sink is untouched). THREAD SAFETY: any thread. */
int ctl_relay_add(ctl_relay_t *r, const ctl_watch_sink_t *sink, bool with_keys, int64_t pos,
                  const char *who, cp_err_t *err);

/** Whether the thread has read where the stream ends and follows it (false while it waits for
 *  Redis at start). THREAD SAFETY: any thread. */
bool ctl_relay_ready(ctl_relay_t *r);

/** Number of watchers (live and waiting to join), for metrics and tests. THREAD SAFETY: any thread.
 */
size_t ctl_relay_watchers(ctl_relay_t *r);

/** Stops the thread, finishes every watcher with UNAVAILABLE "controller shutting down", releases
 * them and frees r. NULL is a no-op. THREAD SAFETY: one thread, once. */
void ctl_relay_free(ctl_relay_t *r);

/* ---- events (shared with the Watch call, which replays and snapshots on its own thread) ----- */

/** Converts a stream entry into an event (*out, free with protobuf_c_message_free_unpacked()); an
 *  UPSERT reads cert:{name} through s (with its private key). *out is NULL when there is nothing to
 * send (the certificate is gone, or an unknown type). Errors: CP_EUNAVAIL and the store's other
 * errors. THREAD SAFETY: any thread, with its own s. */
/** Fills ev as a TICKET_KEYS event with the current session-ticket keys (store_tickets.h); free
 * it with ctl_relay_event_free. Errors: those of ctl_store_tickets_get(). */
int ctl_relay_ticket_keys(ctl_store_t *s, Certplane__V1__CertificateEvent *ev, cp_err_t *err);

/** Wipes the secrets ev carries (ticket keys, a private key) and frees it; NULL is a no-op. */
void ctl_relay_event_free(Certplane__V1__CertificateEvent *ev);

int ctl_relay_event_build(ctl_store_t *s, const ctl_store_event_t *in,
                          Certplane__V1__CertificateEvent **out, cp_err_t *err);

/** Sends ev to sink, without the private key unless with_keys (ev is restored before it returns).
 *  Errors: those of sink->send. THREAD SAFETY: any thread. */
int ctl_relay_event_send(const ctl_watch_sink_t *sink, Certplane__V1__CertificateEvent *ev,
                         bool with_keys, cp_err_t *err);

/** Parses an RFC 3339 time into a new Timestamp (malloc'd); NULL when it is not one. */
Google__Protobuf__Timestamp *ctl_relay_parse_time(const char *rfc3339);

#endif
