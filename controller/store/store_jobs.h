/* SPDX-License-Identifier: Apache-2.0 */
/* store_jobs.h - the functions of store_jobs.c (split from store.h) */
#ifndef CTL_STORE_JOBS_H
#define CTL_STORE_JOBS_H

#include "controller/store/store.h"

/** Reads the account key PEM, opened with the store's keyring (a plaintext seed key reads as is),
 * and URL (both malloc'd, caller frees, the key with cp_secure_free_str(); *account_url is NULL
 * when only the key is stored, as in seed data; account_url may be NULL). Errors: CP_EINVAL,
 * CP_ENOTFOUND, CP_EUNAVAIL, CP_EAUTH, and ctl_keywrap_open()'s CP_ESTATE (unknown KEK) and
 * CP_ECRYPTO (a value that does not open). THREAD SAFETY: one thread at a time per s. */
int ctl_store_account_get(ctl_store_t *s, const char *provider, const char *email, char **key_pem,
                          char **account_url, cp_err_t *err);

/** Writes the account key PEM, sealed with the store's keyring, and URL (NULL: no URL, an old one
 * is removed) in one MULTI/EXEC. Errors: CP_EINVAL, CP_ECRYPTO, CP_EUNAVAIL, CP_EAUTH. THREAD
 * SAFETY: one thread at a time per s. */
int ctl_store_account_put(ctl_store_t *s, const char *provider, const char *email,
                          const char *key_pem, const char *account_url, cp_err_t *err);

/** Takes lock:cert:{name} for ttl_ms with a fresh random token written to `token` (prefixed with
 *  the store's owner, store_owner.h). Returns 0, or 1 when the lock was taken over from a dead
 *  owner. Errors: CP_EINVAL, CP_EBUSY (held by someone), CP_EIO (no randomness), CP_EUNAVAIL,
 * CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_lock_acquire(ctl_store_t *s, const char *name, int ttl_ms,
                           char token[CTL_STORE_LOCK_TOKEN_SIZE], cp_err_t *err);

/** Sets the lock's TTL to ttl_ms if it is still held with token. Errors: CP_EINVAL, CP_ESTATE
 * (lost: expired or taken by another), CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time
 * per s. */
int ctl_store_lock_extend(ctl_store_t *s, const char *name, const char *token, int ttl_ms,
                          cp_err_t *err);

/** Deletes the lock if it is still held with token (compare-and-delete). Errors: CP_EINVAL,
 * CP_ESTATE (not held with this token; nothing deleted), CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one
 * thread at a time. */
int ctl_store_lock_release(ctl_store_t *s, const char *name, const char *token, cp_err_t *err);

/** Creates the consumer group `controllers` on `jobs` (MKSTREAM); an existing group is fine.
 *  Errors: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_jobs_init(ctl_store_t *s, cp_err_t *err);

/** Appends a job (kind issue|renew|revoke|ari). Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH.
 *  THREAD SAFETY: one thread at a time per s. */
int ctl_store_job_enqueue(ctl_store_t *s, const char *kind, const char *name, int64_t revision,
                          cp_err_t *err);

/** Takes the next new job for `consumer` (XREADGROUP ... >), waiting up to block_ms (0: no wait).
 * Creates the group when it is missing. job is filled on success only. Errors: CP_EINVAL,
 * CP_ETIMEDOUT (no job), CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per
 * s. */
int ctl_store_job_read(ctl_store_t *s, const char *consumer, int block_ms, ctl_store_job_t *job,
                       cp_err_t *err);

/** Claims one job another consumer took and has not acknowledged for min_idle_ms (XAUTOCLAIM COUNT
 * 1). job is filled on success only. Errors: CP_EINVAL, CP_ENOTFOUND (none), CP_EUNAVAIL, CP_EAUTH,
 * CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_job_reclaim(ctl_store_t *s, const char *consumer, int min_idle_ms,
                          ctl_store_job_t *job, cp_err_t *err);

/** Claims one pending job of a consumer whose owner is dead (store_owner.h: consumer names
 * "<id>/<worker>@<incarnation>", controller:{id} gone or holding another incarnation), however
 * briefly it was idle. Errors: CP_ENOTFOUND (none), CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. THREAD
 * SAFETY: one thread at a time per s. */
int ctl_store_job_reclaim_dead(ctl_store_t *s, const char *consumer, ctl_store_job_t *job,
                               cp_err_t *err);

/** Acknowledges and deletes a job (XACK + XDEL in one MULTI/EXEC). Errors: CP_EINVAL, CP_EUNAVAIL,
 *  CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_job_ack(ctl_store_t *s, const ctl_store_job_t *job, cp_err_t *err);

/** Frees job->name and zeroes job. NULL is a no-op. */
void ctl_store_job_dispose(ctl_store_job_t *job);

#endif
