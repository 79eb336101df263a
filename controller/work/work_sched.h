/* SPDX-License-Identifier: Apache-2.0 */
/* work_sched.h - the renewal scheduler thread */
#ifndef CTL_WORK_SCHED_H
#define CTL_WORK_SCHED_H

/** The scheduler thread's main function; arg is its ctl_work_thread_t (index -1). Sleeps until the
 *  earliest renewal time, enqueues the due work, until ctl_work_stop(). THREAD SAFETY: its own
 * thread. */
void *ctl_work__sched_main(void *arg);

#endif
