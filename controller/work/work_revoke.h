/* SPDX-License-Identifier: Apache-2.0 */
/* work_revoke.h - a "revoke" job: revoke at the CA, commit REVOKED (or the failure, backed off) */
#ifndef CTL_WORK_REVOKE_H
#define CTL_WORK_REVOKE_H

#include "controller/store/store.h"
#include "controller/work/work_types.h"

/** Runs a "revoke" job; the caller holds lock:cert:{name}. Reads the certificate; when its
 * revocation is still pending, revokes it at the CA and commits REVOKED (no longer renewed), or on
 * failure last_error, failure_count + 1 and a retry time after the back-off (the scheduler queues
 * the revocation again then), onto the revision read. Returns CTL_WORK_ACK or CTL_WORK_LEAVE.
 * THREAD SAFETY: t's thread. */
int ctl_work__revoke_run(ctl_work_thread_t *t, const ctl_store_job_t *job);

#endif
