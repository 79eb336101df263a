/* SPDX-License-Identifier: Apache-2.0 */
/* work_presence.h - the presence thread: keeps controller:{id} alive (store_owner.h); not API */
#ifndef CTL_WORK_PRESENCE_H
#define CTL_WORK_PRESENCE_H

#include "controller/work/work_types.h"

/** Draws w->incarnation and fills w->owner from --controller-id. Errors: CP_EINVAL (an ID that is
 * not 1..200 characters of [A-Za-z0-9._:-]), CP_EIO (no randomness). */
int ctl_work__presence_init(ctl_work_t *w, cp_err_t *err);

/** Thread body (arg: &w->beat): sets controller:{id} every --presence-ttl / 5 (more often while it
 * fails) and keeps w->present, until the work machinery stops. */
void *ctl_work__presence_main(void *arg);

/** Deletes controller:{id} (when it was set), so other controllers take over what this one left at
 * once. Call after every thread of w was joined. */
void ctl_work__presence_clear(ctl_work_t *w);

#endif
