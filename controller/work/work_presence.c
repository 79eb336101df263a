/* SPDX-License-Identifier: Apache-2.0 */
/* work_presence.c - the presence thread: controller:{id} = incarnation, refreshed well within its
 * TTL, so that other controllers can tell this one from a dead one (design decision 3) */
#include "controller/work/work_presence.h"
#include "controller/work/work_tickets.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "controller/work/work_util.h"
#include "shared/clock.h"
#include "shared/log.h"

/* --presence-ttl; 5 s when the configuration was not parsed from flags (tests build it). */
static int64_t ttl_ms(const ctl_work_t *w)
{
    return w->cfg->presence_ttl_ms > 0 ? w->cfg->presence_ttl_ms : 5000;
}

int ctl_work__presence_init(ctl_work_t *w, cp_err_t *err)
{
    unsigned char raw[8];
    if (!ctl_store_id_ok(w->cfg->controller_id))
        return cp_err_set(err, CP_EINVAL,
                          "--controller-id: 1 to %d letters, digits and ._:- characters",
                          CTL_STORE_ID_MAX);
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return cp_err_set(err, CP_EIO, "presence: getrandom: %s", strerror(errno));
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(w->incarnation + 2 * i, 3, "%02x", raw[i]);
    snprintf(w->owner, sizeof w->owner, "%s@%s", w->cfg->controller_id, w->incarnation);
    return 0;
}

/* One refresh. A refresh that finds the key gone (its TTL ran out while Redis was away) is a lapse:
 * others may have taken our jobs and locks meanwhile, which is logged; we are present again now. */
static void refresh(ctl_work_thread_t *t, int64_t *last_ok_ms)
{
    ctl_work_t *w = t->w;
    cp_err_t err = {0};
    bool was = false;
    int64_t ttl = ttl_ms(w);
    int rc = ctl_store_presence_set(t->store, w->cfg->controller_id, w->incarnation, (int)ttl, &was,
                                    &err);
    int64_t now = cp_clock_mono_ms();
    if (rc == 0) {
        if (!was && *last_ok_ms != 0)
            CP_LOG(CP_LOG_WARN, "work",
                   "presence of %s had lapsed: other controllers may have "
                   "taken over its jobs",
                   w->owner);
        *last_ok_ms = now;
        atomic_store(&w->present, 1);
        return;
    }
    if (atomic_load(&w->present) && now - *last_ok_ms >= ttl) {
        atomic_store(&w->present, 0);
        CP_LOG(CP_LOG_WARN, "work", "presence lapsed (%s): no new jobs until Redis answers",
               err.msg);
    }
}

void *ctl_work__presence_main(void *arg)
{
    ctl_work_thread_t *t = arg;
    ctl_work_t *w = t->w;
    int64_t last_ok = 0, tickets_next = 0;
    int64_t period = ttl_ms(w) / 5;
    while (!ctl_work__stopping(w)) {
        refresh(t, &last_ok);
        if (atomic_load(&w->present))
            ctl_work__tickets_tick(t, &tickets_next);
        ctl_work__sleep(w, atomic_load(&w->present) ? period : period / 4, 0);
    }
    return NULL;
}

void ctl_work__presence_clear(ctl_work_t *w)
{
    cp_err_t err = {0};
    if (w->beat.store == NULL || !atomic_load(&w->present))
        return;
    if (ctl_store_presence_clear(w->beat.store, w->cfg->controller_id, w->incarnation, &err) != 0)
        CP_LOG(CP_LOG_WARN, "work", "presence: clear: %s", err.msg);
    atomic_store(&w->present, 0);
}
