/* SPDX-License-Identifier: Apache-2.0 */
/* certcache.h - the read cache of key-less certificates behind GetCertificate */
#ifndef CTL_CERTCACHE_H
#define CTL_CERTCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"

/*
 * GetCertificate without include_private_key reads a certificate that changes a few times a year,
 * so parsing its stored JSON (private key included) on every call is wasted work. This cache keeps
 * the key-less certificate, packed as protobuf, by name, with its revision. It never holds a
 * private key: reads that ask for the key go to Redis.
 *
 * Consistency (docs/api.md): the cache is only used while the controller's event relay tails the
 * `events` stream. The relay refreshes or drops an entry for every event, before it sends the event
 * to watchers, so a change made through any controller is seen here within the relay's lag (a few
 * ms), and a client that saw a Watch event reads that revision or a later one. The service drops
 * the entry synchronously when it writes a certificate itself, so a read after a write through this
 * controller sees the write. A fill (a value read from Redis) is taken only when no change was
 * recorded since the reader started its Redis read (a generation counter) and never replaces a
 * newer revision, so a slow reader cannot put back a value older than a change it raced with. When
 * the relay cannot read the stream, or the stream lost events, the cache is emptied (and unused
 * until the relay reads again), because it can no longer know what changed.
 *
 * Ownership: ctl_certcache_new() gives a cache freed with ctl_certcache_free(); ctl_certcache_get()
 * gives a message the caller frees with protobuf_c_message_free_unpacked().
 * THREAD SAFETY: every function but ctl_certcache_free() may be called from any thread at once.
 */

typedef struct ctl_certcache ctl_certcache_t;

/** A cache of at most max_entries certificates (0: 16384); it starts disabled (every get misses).
 */
ctl_certcache_t *ctl_certcache_new(size_t max_entries);

/** Frees the cache; NULL is a no-op. THREAD SAFETY: one thread, once nobody else uses it. */
void ctl_certcache_free(ctl_certcache_t *c);

/** The certificate `name` without its private key into *out (1), or 0 on a miss (also when the
 *  cache is disabled or NULL). */
int ctl_certcache_get(ctl_certcache_t *c, const char *name, Certplane__V1__Certificate **out);

/** The generation to pass to ctl_certcache_fill(): take it before reading the record from Redis. */
uint64_t ctl_certcache_gen(ctl_certcache_t *c);

/** Offers `cert` (as read from Redis after `gen` was taken; its private key is not stored and cert
 *  is unchanged on return) to the cache. Ignored when the cache is disabled, when anything was
 *  invalidated since `gen`, or when the cache holds the same or a newer revision. Returns whether
 * it was stored. */
bool ctl_certcache_fill(ctl_certcache_t *c, Certplane__V1__Certificate *cert, uint64_t gen);

/** Drops `name` (a write or a delete). */
void ctl_certcache_invalidate(ctl_certcache_t *c, const char *name);

/** Drops every entry and enables or disables the cache. */
void ctl_certcache_reset(ctl_certcache_t *c, bool enabled);

/** Counters, for metrics and tests. */
typedef struct ctl_certcache_stats {
    unsigned long hits, misses, fills, entries;
} ctl_certcache_stats_t;
void ctl_certcache_get_stats(ctl_certcache_t *c, ctl_certcache_stats_t *out);

#endif
