/* SPDX-License-Identifier: Apache-2.0 */
/* work.h - the controller's work machinery: ACME workers on the jobs stream and the renewal
 * scheduler */
#ifndef CTL_WORK_H
#define CTL_WORK_H

#include <stdint.h>

#include "controller/config/config.h"
#include "shared/err.h"

/*
 * Design decisions 3 and 6. ctl_work_start() runs `--workers` ACME worker threads and one scheduler
 * thread. Each thread has its own Redis connection (ctl_store_t) and its own ACME clients (one per
 * provider and account email). Nothing is shared between the threads but the configuration, the
 * DNS-01 provider (safe for concurrent use) and a few atomic counters.
 *
 * Workers take jobs from the `jobs` stream (consumer "<controller_id>/<index>"), reclaim jobs that
 * another consumer left unacknowledged for --job-timeout, and run each one under lock:cert:{name}:
 * re-read the certificate, check the work is still needed, mark it ISSUING or RENEWING, issue
 * through ACME, and commit the result only onto the revision they started from (MATCH). A failure
 * backs off (1 min, 10 min, 100 min, daily) and keeps the old certificate served. A "revoke" job
 * (RevokeCertificate queues one) revokes the certificate at its CA and commits REVOKED, or the
 * failure with the same back-off; the scheduler queues a pending revocation again when it is due.
 *
 * The scheduler sleeps until the earliest score of certs:by_expiry (at most --renew-interval),
 * marks each due certificate RENEWING and enqueues its job in one write, and leases it for
 * --job-timeout so it is not enqueued again meanwhile. At start it indexes seed records that have
 * no renewal time.
 *
 * Ownership: ctl_work_start() gives a handle the caller stops with ctl_work_stop(); `cfg` is
 * borrowed and must outlive it. curl_global_init() must have been called before.
 */

typedef struct ctl_work ctl_work_t;

/** Checks the settings the work machinery needs (ctl_work_start does it again): --redis-url and
 * --controller-id set, --workers and --job-timeout in range, a --renew-before shorter than any
 * public certificate's lifetime (else every certificate would renew at once after issuance).
 * Errors: CP_EINVAL naming the flag. THREAD SAFETY: any thread. */
int ctl_work_check_config(const ctl_config_t *cfg, cp_err_t *err);

/** Starts the workers and the scheduler. Errors: CP_EINVAL (bad settings: no --redis-url, workers <
 * 1, an unusable --dns-exec), CP_EINTERNAL (a thread could not be created). Redis need not be up
 * yet: threads retry. THREAD SAFETY: any one thread. */
int ctl_work_start(const ctl_config_t *cfg, ctl_work_t **out, cp_err_t *err);

/** Stops every thread and joins them: workers finish the ACME step in progress (bounded by
 *  --acme-timeout; an edge-propagation wait is cut short) and leave unfinished jobs pending for
 * another controller. Frees w; NULL is a no-op. THREAD SAFETY: the thread that started it. */
void ctl_work_stop(ctl_work_t *w);

/** Wakes the scheduler now, e.g. after a write that moved a renewal time earlier.
 *  THREAD SAFETY: any thread. */
void ctl_work_kick(ctl_work_t *w);

/** Counters since start, for metrics and tests. */
typedef struct ctl_work_stats {
    unsigned long jobs_taken;     /* jobs read or reclaimed from the stream */
    unsigned long jobs_reclaimed; /* of those, taken over from another consumer */
    unsigned long jobs_acked;
    unsigned long jobs_busy; /* attempts that found the certificate locked (retried later) */
    unsigned long issued;    /* certificates committed VALID */
    unsigned long failed;    /* issuances that failed and were committed with a back-off */
    unsigned long conflicts; /* commits that met a concurrent change and were re-decided */
    unsigned long enqueued;  /* jobs the scheduler enqueued */
    unsigned long revoked;   /* certificates revoked at the CA and committed REVOKED */
    double issue_wall_s;     /* total wall time of successful issuances */
    double issue_cpu_s;      /* total CPU time (of the issuing thread) of successful issuances */
} ctl_work_stats_t;

/** Copies the counters. THREAD SAFETY: any thread. */
void ctl_work_get_stats(ctl_work_t *w, ctl_work_stats_t *out);

#endif
