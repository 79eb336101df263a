/* SPDX-License-Identifier: Apache-2.0 */
/* certrepo.h - the certificate repository: load, revision-checked put and delete of cert:{name} */
#ifndef CTL_CERTREPO_H
#define CTL_CERTREPO_H

#include <stddef.h>
#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/store/certcache.h"
#include "controller/store/store.h"
#include "shared/err.h"

/*
 * The one place where a certificate record is read and written, for the service core, the workers,
 * the scheduler and the event relay: decode (certrec.h) after GET/MGET, encode before the
 * revision-checked write (ctl_store_cert_put), the sealing of the private key with the store's
 * keyring before the write and its opening after a read (keywrap.h; a plaintext key of an old or
 * seed record is read as is and sealed on the next put), the wiping of the encoded JSON (it holds
 * the private key), and the invalidation of this controller's read cache (certcache.h) on every
 * write, whether it succeeded or not (a write that failed in flight may have been applied).
 *
 * A repository is a pair of borrowed handles on the caller's stack: the calling thread's store and
 * the read cache (NULL for threads that serve no reads, such as the workers).
 *
 * Ownership: certificates returned through `out` are freed with ctl_certrepo_cert_free(), which
 * wipes the private key first.
 * THREAD SAFETY: as the store: one thread at a time per repository (the cache is thread-safe).
 */

typedef struct ctl_certrepo {
    ctl_store_t *store;     /* borrowed; the calling thread's own connection */
    ctl_certcache_t *cache; /* borrowed, may be NULL: invalidated on every write */
} ctl_certrepo_t;

/** One write of ctl_certrepo_put(). */
typedef struct ctl_certrepo_write {
    int mode;                  /* CTL_STORE_CREATE, CTL_STORE_MATCH or CTL_STORE_ANY */
    int64_t expected_revision; /* MATCH: the revision read */
    int64_t renew_at_ms;       /* certs:by_expiry score (Unix ms); < 0: removed from it */
    const char
        *job_kind; /* NULL: no job; "issue", "renew", "revoke" or "ari", enqueued atomically */
} ctl_certrepo_write_t;

/** Reads and decodes cert:{name} into *out (NULL on failure), its key opened. Errors: CP_ENOTFOUND
 * ("certificate \"x\" not found"), CP_EINVAL (a record that is not a certificate: "cert:x: ...";
 * also an empty name), CP_ESTATE (sealed under a KEK the keyring lacks; the record is left as it
 * is), CP_ECRYPTO (a sealed key that does not open), and the store's CP_EUNAVAIL, CP_EAUTH,
 * CP_EPROTO. */
int ctl_certrepo_load(const ctl_certrepo_t *r, const char *name, Certplane__V1__Certificate **out,
                      cp_err_t *err);

/** Reads n certificates: those in the read cache with their sealed key from there, the rest in one
 *  MGET (offered to the cache with their sealed keys). out[i] is the decoded record, or NULL when
 * it is missing or unreadable (including a key that does not open); *unreadable (may be NULL)
 * receives how many were unreadable. On failure every out[i] is NULL. Errors: the store's
 * (CP_EINVAL, CP_EUNAVAIL, CP_EAUTH). */
int ctl_certrepo_load_many(const ctl_certrepo_t *r, const char *const *names, size_t n,
                           Certplane__V1__Certificate **out, size_t *unreadable, cp_err_t *err);

/** Encodes c (its revision field is ignored) and writes it under c->name as `w` says, with its
 * index entries, UPSERT event and optional job in one script; the cache entry is dropped. The
 * encoded record is wiped before it is freed. *new_revision (may be NULL) receives the revision.
 * c is not changed. Errors: CP_EINVAL (c cannot be encoded, bad arguments), CP_EEXIST ("certificate
 * \"x\" already exists"), CP_ENOTFOUND ("certificate \"x\" not found"), CP_ECONFLICT, and the
 * store's CP_ESTATE, CP_EUNAVAIL, CP_EAUTH (see ctl_store_cert_put()). */
int ctl_certrepo_put(const ctl_certrepo_t *r, const Certplane__V1__Certificate *c,
                     const ctl_certrepo_write_t *w, int64_t *new_revision, cp_err_t *err);

/** Deletes cert:{name} (expected_revision 0: any) with its index entries and a DELETE event; the
 *  cache entry is dropped. Errors: CP_ENOTFOUND ("certificate \"x\" not found"), and those of
 *  ctl_store_cert_delete(). */
int ctl_certrepo_delete(const ctl_certrepo_t *r, const char *name, int64_t expected_revision,
                        int64_t *new_revision, cp_err_t *err);

/** Frees a certificate from this module, wiping its private key first. NULL is a no-op. */
void ctl_certrepo_cert_free(Certplane__V1__Certificate *c);

#endif
