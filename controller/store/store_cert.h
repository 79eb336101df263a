/* SPDX-License-Identifier: Apache-2.0 */
/* store_cert.h - the functions of store_cert.c (split from store.h) */
#ifndef CTL_STORE_CERT_H
#define CTL_STORE_CERT_H

#include "controller/store/store.h"

/** Writes a certificate in one script: checks mode and revision, increments `revision`, stores the
 * record with the new revision first, indexes it in `certs` and `certs:by_expiry`, appends an
 * UPSERT event with ID
 *  `<revision>-0` and, when job_kind is set, a job. *new_revision (may be NULL) receives the
 * revision. Errors: CP_EINVAL (bad name, mode or JSON), CP_EEXIST (CREATE on an existing one),
 * CP_ENOTFOUND (MATCH on a missing one), CP_ECONFLICT (revision differs), CP_ESTATE (events stream
 * ahead of the revision counter), CP_EUNAVAIL, CP_EAUTH. A failed call changes nothing in Redis -
 * except that a CP_EUNAVAIL may mean the write was applied before the connection broke: retry it
 * with MATCH/CREATE, never blindly. THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_put(ctl_store_t *s, const ctl_store_cert_write_t *w, int64_t *new_revision,
                       cp_err_t *err);

/** Reads cert:{name} as stored. *json (malloc'd, NUL-terminated, caller frees) and *len (may be
 * NULL). Errors: CP_EINVAL, CP_ENOTFOUND, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a
 * time per s. */
int ctl_store_cert_get(ctl_store_t *s, const char *name, char **json, size_t *len, cp_err_t *err);

/** Reads n certificates in one MGET. jsons[i] receives a malloc'd copy (the caller frees each) or
 *  NULL where the certificate is missing; on failure every jsons[i] is NULL. Errors: CP_EINVAL,
 *  CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_mget(ctl_store_t *s, const char *const *names, size_t n, char **jsons,
                        cp_err_t *err);

/** Deletes a certificate with its index entries and appends a DELETE event, in one script.
 *  expected_revision 0 deletes whatever revision is stored. *new_revision (may be NULL) receives
 * the event's revision. Errors: CP_EINVAL, CP_ENOTFOUND, CP_ECONFLICT, CP_ESTATE, CP_EUNAVAIL,
 * CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_delete(ctl_store_t *s, const char *name, int64_t expected_revision,
                          int64_t *new_revision, cp_err_t *err);

/** Lists up to `limit` names (1..10000) in byte order, strictly after `after` (NULL or "": from the
 * start), from the `certs` index. *names is a malloc'd array of malloc'd strings
 * (ctl_store_strv_free()); a page shorter than limit is the last. Errors: CP_EINVAL, CP_EUNAVAIL,
 * CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_list(ctl_store_t *s, const char *after, size_t limit, char ***names, size_t *n,
                        cp_err_t *err);

/** Adds an existing certificate to `certs` and sets (renew_at >= 0) or removes (< 0) its
 * certs:by_expiry entry, without a new revision or event: the backfill for seed data. Errors:
 * CP_EINVAL, CP_ENOTFOUND (no cert:{name}), CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a
 * time per s. */
int ctl_store_cert_index(ctl_store_t *s, const char *name, double renew_at, cp_err_t *err);

/** One step of SCAN over cert:* keys (start with cursor 0; done when *next is 0). *names receives
 * the names without the `cert:` prefix (ctl_store_strv_free()); SCAN may return a name twice.
 *  Errors: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_scan(ctl_store_t *s, uint64_t cursor, uint64_t *next, char ***names, size_t *n,
                        cp_err_t *err);

/** Keeps in names[0..*n) only the names `certs` does not hold, in order, and frees the others:
 * records no controller wrote or indexed (seed data), in one ZMSCORE (Redis >= 6.2). The
 * scheduler's start reads only those, not every record. Errors: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO
 * (names are left as they were). THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_unlisted(ctl_store_t *s, char **names, size_t *n, cp_err_t *err);

/** Names whose renewal time is <= now, earliest first, at most limit (1..10000)
 * (ctl_store_strv_free()). Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a
 * time per s. */
int ctl_store_due(ctl_store_t *s, double now, size_t limit, char ***names, size_t *n,
                  cp_err_t *err);

/** Earliest renewal time in certs:by_expiry, or -1 when it is empty.
 *  Errors: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_next_due(ctl_store_t *s, double *when, cp_err_t *err);

#endif
