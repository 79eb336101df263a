/* SPDX-License-Identifier: Apache-2.0 */
/* work_util.h - helpers every controller/work/ file uses: clock, sleep, lock TTL, record facts */
#ifndef CTL_WORK_UTIL_H
#define CTL_WORK_UTIL_H

#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/work/work_types.h"

/*
 * One floor below work.c, work_job.c, work_revoke.c, work_acme.c and work_sched.c, so that none of
 * them calls back into another. THREAD SAFETY: any thread (w is shared; its state is guarded).
 */

/** Whether ctl_work_stop() was called. */
int ctl_work__stopping(ctl_work_t *w);

/** Sleeps up to ms or until stop (returns 1) or a kick (when wake_on_kick; returns 0). */
int ctl_work__sleep(ctl_work_t *w, int64_t ms, int wake_on_kick);

/** Wakes the scheduler (ctl_work_kick()). */
void ctl_work__kick(ctl_work_t *w);

/** Lock TTL of one job: a bit above the ACME deadline plus the edge waits. */
int ctl_work__lock_ttl_ms(const ctl_work_t *w);

/** Waits before try number `attempt` (0, 1, ...) of a Redis call that failed with CP_EUNAVAIL:
 * 250 ms doubling up to 2 s. Returns 1 when the controller is stopping (give up), else 0. */
int ctl_work__redis_backoff(ctl_work_t *w, int attempt);

/** 1 when c holds an issued certificate. */
/** The lifetime of c's current certificate (notAfter - notBefore), 0 when it has none. */
int64_t ctl_work__lifetime_ms(const Certplane__V1__Certificate *c);

int ctl_work__has_cert(const Certplane__V1__Certificate *c);

/** 1 when a revocation was requested (RevokeCertificate) and is not done yet. */
int ctl_work__revoke_pending(const Certplane__V1__Certificate *c);

/** 1 when a and b ask for the same certificate: names, IP addresses and key type. */
int ctl_work__same_request(const Certplane__V1__Certificate *a,
                           const Certplane__V1__Certificate *b);

/** The policy's renewal time of c's current certificate (ms), or now when it has none. */
int64_t ctl_work__policy_renew_at(const ctl_work_t *w, const Certplane__V1__Certificate *c);

/** The name of a certplane.v1.State value ("VALID"), "?" when unknown. */
const char *ctl_work__state_name(int state);

/** One log line about certificate `name` from `module` ("work", "sched"); never with keys or
 * tokens. */
void ctl_work__log_cert(int level, const char *module, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Appends a webhook event about certificate `name` (store_webhooks.h; serial and error may be
 * NULL). A failure is logged, not returned: the certificate's change is committed already. */
void ctl_work__webhook_event(ctl_work_thread_t *t, const char *type, const char *name,
                             const char *serial, const char *error);

#endif
