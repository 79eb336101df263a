/* SPDX-License-Identifier: Apache-2.0 */
/* certcache.h - the read cache of certificates (keys only sealed) behind reads and Watch snapshots
 */
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
 * private key in the clear: beside the certificate it may hold the key as it is stored in Redis,
 * sealed (keywrap.h), so that a Watch snapshot for edges, which needs every key, reads neither
 * Redis nor JSON for a cached certificate (ctl_certcache_get_sealed(); the caller opens the key).
 * When it is full, a fill evicts one entry.
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

/** The default size: ~1.8 KiB per entry with its sealed key, so at most ~115 MiB. */
#define CTL_CERTCACHE_DEFAULT 65536

/** A cache of at most max_entries certificates (0: CTL_CERTCACHE_DEFAULT); it starts disabled
 * (every get misses).
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

/** As ctl_certcache_get(), but only an entry whose sealed key is known (filled by
 *  ctl_certcache_fill_sealed()): *sealed receives a copy of it ("" when the certificate has no
 *  key), freed by the caller. The certificate's private_key_pem is empty. */
int ctl_certcache_get_sealed(ctl_certcache_t *c, const char *name, Certplane__V1__Certificate **out,
                             char **sealed);

/** As ctl_certcache_fill(), with the private key as stored (sealed; "" when there is none; NULL:
 *  not known) kept beside it. A fill with the key known replaces an entry of the same revision
 *  without it. */
bool ctl_certcache_fill_sealed(ctl_certcache_t *c, Certplane__V1__Certificate *cert,
                               const char *sealed, uint64_t gen);

/** The revision cached for `name`, or -1 (none, or the cache is disabled or NULL). */
int64_t ctl_certcache_revision(ctl_certcache_t *c, const char *name);

/** Drops `name` (a write or a delete). */
void ctl_certcache_invalidate(ctl_certcache_t *c, const char *name);

/** Drops every entry and enables or disables the cache. */
void ctl_certcache_reset(ctl_certcache_t *c, bool enabled);

/** Counters, for metrics and tests. */
typedef struct ctl_certcache_stats {
    unsigned long hits, misses, fills, evictions, entries;
} ctl_certcache_stats_t;
void ctl_certcache_get_stats(ctl_certcache_t *c, ctl_certcache_stats_t *out);

#endif
