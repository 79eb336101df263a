/* SPDX-License-Identifier: Apache-2.0 */
/* work_ondemand.h - on-demand TLS in the scheduler: an on-demand certificate unused for
 * --on-demand-unused-after is not renewed (issue 14) */
#ifndef CTL_WORK_ONDEMAND_H
#define CTL_WORK_ONDEMAND_H

#include <stdbool.h>
#include <stdint.h>

#include "controller/work/work_types.h"

/** For a certificate due for renewal: when it is an on-demand one that no edge reported serving
 *  (store_ondemand.h: ondemand:used; its creation counts as a use) for --on-demand-unused-after,
 *  it is not renewed: its last_error says so (one write, so an UPSERT event tells watchers) and it
 *  is looked at again in a day (served again by then, it renews). Returns true when it skipped the
 *  renewal. Redis trouble: false (renewed as usual). THREAD SAFETY: the scheduler thread, with t.
 */
bool ctl_work__ondemand_skip(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                             int64_t now_ms);

#endif
