/* SPDX-License-Identifier: Apache-2.0 */
/* store_owner.h - controller presence: who is alive, so a dead controller's jobs and locks are
 * taken over in seconds (design decision 3) */
#ifndef CTL_STORE_OWNER_H
#define CTL_STORE_OWNER_H

/*
 * Every controller process is an owner "<controller-id>@<incarnation>": its configured (or default)
 * ID and 16 random hex digits drawn at start, so a controller restarted under the same ID is a new
 * owner. It keeps `controller:{id}` = incarnation alive with a short TTL (ctl_store_presence_set
 * every second or so). An owner is dead when that key is gone or holds another incarnation.
 *
 *   - Locks taken through a store with opts.owner carry the owner in their token; a lock whose
 *     owner is dead is taken over by the next ctl_store_lock_acquire() instead of waiting for its
 *     TTL.
 *   - Worker consumers are named "<id>/<worker>@<incarnation>"; ctl_store_job_reclaim_dead() claims
 *     pending jobs of dead owners' consumers at once (ctl_store_job_reclaim() still claims jobs
 * idle longer than --job-timeout, whoever holds them).
 *
 * A live controller whose presence lapses (Redis away longer than the TTL) loses its locks and jobs
 * to others; it notices (ctl_store_presence_set() reports the key was gone) and stops taking jobs
 * until it is present again. What it was doing meanwhile is fenced by the record's revision.
 */

#include <stdbool.h>

#include "shared/err.h"

typedef struct ctl_store ctl_store_t;

/** Longest controller ID (an owner is "<id>@<16 hex>"). */
#define CTL_STORE_ID_MAX 200

/** Whether id is a usable controller ID: 1..CTL_STORE_ID_MAX characters of [A-Za-z0-9._:-]. */
bool ctl_store_id_ok(const char *id);

/** Sets controller:{id} = incarnation with a TTL of ttl_ms. *was_present (may be NULL) tells
 * whether the key held this incarnation before (false at the first call, and after a lapse).
 * Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_presence_set(ctl_store_t *s, const char *id, const char *incarnation, int ttl_ms,
                           bool *was_present, cp_err_t *err);

/** Deletes controller:{id} if it still holds incarnation (a clean stop: others take over at once).
 * Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. */
int ctl_store_presence_clear(ctl_store_t *s, const char *id, const char *incarnation,
                             cp_err_t *err);

#endif
