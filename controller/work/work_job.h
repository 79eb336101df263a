/* SPDX-License-Identifier: Apache-2.0 */
/* work_job.h - one job of the jobs stream, run under lock:cert:{name} */
#ifndef CTL_WORK_JOB_H
#define CTL_WORK_JOB_H

#include "controller/store/store.h"
#include "controller/work/work_types.h"

/** Runs one job ("issue" and "renew": issue and commit; "revoke": ctl_work__revoke_run()) under the
 * certificate's lock. Returns its outcome (CTL_WORK_ACK, CTL_WORK_DEFER, CTL_WORK_LEAVE). THREAD
 * SAFETY: t's thread. */
int ctl_work__job_run(ctl_work_thread_t *t, const ctl_store_job_t *job);

#endif
