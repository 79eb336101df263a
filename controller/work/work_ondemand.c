/* SPDX-License-Identifier: Apache-2.0 */
/* work_ondemand.c - unused on-demand certificates are not renewed (work_ondemand.h) */
#include "controller/work/work_ondemand.h"

#include <stdio.h>
#include <string.h>

#include "controller/store/store_cert.h"
#include "controller/store/store_ondemand.h"
#include "controller/work/work_util.h"
#include "shared/clock.h"
#include "shared/log.h"

#define DAY_MS 86400000LL

bool ctl_work__ondemand_skip(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                             int64_t now_ms)
{
    int64_t limit = t->w->cfg->on_demand_unused_ms;
    if (!c->on_demand || limit <= 0 || !ctl_work__has_cert(c))
        return false;
    cp_err_t err = {0};
    int64_t used = 0;
    if (ctl_store_ondemand_last_used(t->store, c->name, &used, &err) != 0)
        return false;
    int64_t created = cp_clock_ts_ms(c->create_time, 0);
    if (created > used)
        used = created;
    if (now_ms - used < limit)
        return false;
    char msg[160], when[CP_CLOCK_RFC3339_MAX];
    cp_clock_rfc3339_format(used / 1000, 0, when, sizeof when);
    snprintf(msg, sizeof msg,
             "on-demand certificate unused since %s: not renewed (--on-demand-unused-after)", when);
    if (strcmp(c->last_error, msg) == 0) {
        ctl_store_cert_index(t->store, c->name, (double)(now_ms + DAY_MS) / 1000.0, NULL);
        return true;
    }
    Certplane__V1__Certificate m = *c;
    Google__Protobuf__Timestamp update_time;
    cp_clock_ts_set(&update_time, now_ms);
    m.last_error = msg;
    m.update_time = &update_time;
    ctl_certrepo_write_t w = {
        .mode = CTL_STORE_MATCH, .expected_revision = c->revision, .renew_at_ms = now_ms + DAY_MS};
    if (ctl_certrepo_put(&t->repo, &m, &w, NULL, &err) == 0)
        ctl_work__log_cert(CP_LOG_INFO, "sched", c->name, "%s", msg);
    return true;
}
