/* SPDX-License-Identifier: Apache-2.0 */
/* work_ari.h - ACME Renewal Information (RFC 9773) in the work machinery: the window of a
 * certificate after its issuance, the "ari" poll job, and the ARI fields of the record */
#ifndef CTL_WORK_ARI_H
#define CTL_WORK_ARI_H

#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/acme/acme.h"
#include "controller/store/store_jobs.h"
#include "controller/work/work_types.h"

/*
 * How ARI drives renewals (design.md, "Renewal time"; the choice itself is renew.c's):
 * - After an issuance, and at every poll, the worker asks the certificate's CA for its window when
 *   the directory offers renewalInfo. The renewal time (renew_after) is a uniformly random moment
 *   in the window (kept while the window does not move), at once when it already ended; the next
 *   poll is the CA's Retry-After clamped to --ari-poll-min..--ari-poll-max. certs:by_expiry holds
 *   the earlier of the two, and the scheduler queues an "ari" job when the poll comes first.
 * - A CA without renewalInfo: the lifetime rule, no ARI fields, no polls.
 * - A poll that fails (the CA unreachable, an error answer) keeps the last window and renewal time
 *   and polls again after --ari-poll-min.
 *
 * THREAD SAFETY: the thread that owns t (a worker).
 */

/** What the CA said about one certificate; timestamps are storage the record's fields point to. */
typedef struct ctl_work_ari {
    int offered;     /* the CA's directory has renewalInfo */
    int have_window; /* ari holds the window the CA answered */
    ctl_acme_ari_t ari;
    char *cert_id; /* RFC 9773 ID of the certificate, malloc'd, or NULL */
    Google__Protobuf__Timestamp start, end, next_poll;
} ctl_work_ari_t;

/** Asks c's CA for the window of the leaf of `fullchain_pem` (the certificate just issued, or c's
 * own). Never fails: what went wrong is logged and leaves a->have_window 0. Dispose of a with
 * ctl_work__ari_dispose. */
void ctl_work__ari_fetch(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                         const char *fullchain_pem, ctl_work_ari_t *a);

/** Writes the ARI fields of the record m (pointing into a) and returns the renewal time: the
 * window's choice when there is one (the previous choice `prev_at_ms` kept while m's previous
 * window is unchanged: pass -1 for a new certificate), otherwise `policy_at_ms` (the lifetime
 * rule). *index_at_ms is the earlier of the renewal time and the next poll. */
int64_t ctl_work__ari_apply(const ctl_work_t *w, ctl_work_ari_t *a, Certplane__V1__Certificate *m,
                            int64_t prev_at_ms, int64_t policy_at_ms, int64_t *index_at_ms);

/** Frees what a holds. */
void ctl_work__ari_dispose(ctl_work_ari_t *a);

/** Runs an "ari" job under the certificate's lock: polls the window, commits the new renewal time
 * and next poll onto the revision read. Returns CTL_WORK_ACK or CTL_WORK_LEAVE. */
int ctl_work__ari_run(ctl_work_thread_t *t, const ctl_store_job_t *job);

#endif
