/* SPDX-License-Identifier: Apache-2.0 */
/* work_tickets.c - rotation of the edges' TLS session-ticket keys (work_tickets.h) */
#include "controller/work/work_tickets.h"

#include "controller/store/store_tickets.h"
#include "shared/clock.h"
#include "shared/log.h"

#define CHECK_MAX_MS 60000

void ctl_work__tickets_tick(ctl_work_thread_t *t, int64_t *next_ms)
{
    int64_t now = cp_clock_mono_ms(), rotation = t->w->cfg->ticket_key_rotation_ms;
    if (rotation <= 0 || now < *next_ms)
        return;
    *next_ms = now + (rotation / 4 < CHECK_MAX_MS ? rotation / 4 : CHECK_MAX_MS);
    cp_err_t err = {0};
    int rotated = 0;
    if (ctl_store_tickets_rotate(t->store, cp_clock_wall_ms(), rotation, CTL_WORK_TICKET_KEYS_KEPT,
                                 &rotated, &err) != 0)
        CP_LOG(CP_LOG_WARN, "work", "session-ticket keys not rotated: %s", err.msg);
    else if (rotated)
        CP_LOG(CP_LOG_INFO, "work", "session-ticket keys rotated: a new key is active, %d kept",
               CTL_WORK_TICKET_KEYS_KEPT);
}
