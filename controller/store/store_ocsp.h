/* SPDX-License-Identifier: Apache-2.0 */
/* store_ocsp.h - OCSP responses for stapling (issue 14): ocsp:{name} and the schedule ocsp:due */
#ifndef CTL_STORE_OCSP_H
#define CTL_STORE_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include "controller/store/store.h"

/*
 * ocsp:{name}  hash: der (the verified OCSPResponse), leaf (hex SHA-256 of the leaf it is for),
 *              this, next (thisUpdate, nextUpdate, Unix ms), fails (failed fetches in a row)
 * ocsp:due     sorted set: certificate name -> when (Unix ms) its OCSP state is due to be looked
 * at. Every certificate write (cert_put) sets 0: a renewed or imported certificate is looked at at
 * once; a delete removes both keys. A controller claims a due entry by moving its score to a lease
 * (one fetch for the fleet), then stores the response and the next time, or only the next time; a
 * write whose lease was overtaken (the certificate changed meanwhile) leaves the schedule alone.
 * ocsp:held    sorted set: the names that have a stored response -> its nextUpdate (Unix ms),
 * written with the response, removed with the certificate.
 * THREAD SAFETY: one thread at a time per s, as the rest of the store.
 */

/** A stored response. */
typedef struct ctl_store_ocsp {
    unsigned char *der; /* malloc'd; NULL when none is stored */
    size_t der_len;
    char leaf[65]; /* hex SHA-256 of the leaf */
    int64_t this_update_ms, next_update_ms;
    int fails;
} ctl_store_ocsp_t;

/** Names due at now_ms (at most max, 1..1000), malloc'd (ctl_store_strv_free). */
int ctl_store_ocsp_due(ctl_store_t *s, int64_t now_ms, size_t max, char ***names, size_t *n,
                       cp_err_t *err);

/** Names holding a stored response (ocsp:held, kept by the put and the certificate's delete), from
 *  index `offset` (at most max): what a Watch snapshot reads - not the whole schedule, which holds
 *  every certificate (a snapshot read each of them, one round trip apiece). */
int ctl_store_ocsp_names(ctl_store_t *s, size_t offset, size_t max, char ***names, size_t *n,
                         cp_err_t *err);

/** Adds every certificate of the index `certs` that the schedule lacks (due now), for
 * certificates stored before this controller version. */
int ctl_store_ocsp_discover(ctl_store_t *s, cp_err_t *err);

/** Claims name when it is due at now_ms: its score becomes lease_ms. *won 1 when this caller has
 * it; 0 when it is not due (another controller has it) or not scheduled. */
int ctl_store_ocsp_claim(ctl_store_t *s, const char *name, int64_t now_ms, int64_t lease_ms,
                         int *won, cp_err_t *err);

/** Reads ocsp:{name} into *out (der NULL when none; free with ctl_store_ocsp_dispose). */
int ctl_store_ocsp_get(ctl_store_t *s, const char *name, ctl_store_ocsp_t *out, cp_err_t *err);

/** Stores a verified response (fails 0) and appends an OCSP_RESPONSE event, unless the stored one
 * is for the same leaf and newer (*stored 0 then); schedules name at due_ms when its score is
 * still lease_ms. *rev (may be NULL) gets the event's revision. Errors: CP_ENOTFOUND (the
 * certificate is gone), the store's. */
int ctl_store_ocsp_put(ctl_store_t *s, const char *name, const ctl_store_ocsp_t *in, int64_t due_ms,
                       int64_t lease_ms, int *stored, int64_t *rev, cp_err_t *err);

/** Schedules name at due_ms when its score is still lease_ms, recording fails (< 0: unchanged);
 * the stored response stays as it is. */
int ctl_store_ocsp_reschedule(ctl_store_t *s, const char *name, int64_t due_ms, int64_t lease_ms,
                              int fails, cp_err_t *err);

void ctl_store_ocsp_dispose(ctl_store_ocsp_t *o);

#endif
