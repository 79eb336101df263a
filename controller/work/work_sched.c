/* SPDX-License-Identifier: Apache-2.0 */
/* work_sched.c - the renewal scheduler: sleeps until the earliest renewal time, enqueues due work
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/work/work_ondemand.h"
#include "controller/work/work_sched.h"
#include "controller/work/work_util.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

/* Certificates taken from certs:by_expiry per round trip. */
#define DUE_BATCH 100
/* Shortest sleep between rounds: a certificate that cannot be scheduled does not spin the thread.
 */
#define MIN_SLEEP_MS 100
/* Pause after a Redis failure. */
#define ERROR_PAUSE_MS 1000
/* How far an unreadable record is pushed back, so it is looked at again without spinning. */
#define UNREADABLE_RETRY_MS (3600LL * 1000)

/* Whether a due certificate is due for an ARI poll rather than its renewal: it has a next poll and
 * its renewal time is still ahead (work_ari.h). */
static int ari_poll_due(const Certplane__V1__Certificate *c, int64_t now)
{
    return c->state == CERTPLANE__V1__STATE__VALID && ctl_work__has_cert(c) &&
           c->ari_next_poll != NULL && cp_clock_ts_ms(c->renew_after, -1) > now;
}

/* Marks one due certificate and enqueues its job in the same write, leased for --job-timeout. A
 * concurrent change (another controller's scheduler, a worker, the API) makes the write fail with
 * CP_ECONFLICT: then the other writer's decision stands and nothing is enqueued twice. */
static void schedule_one(ctl_work_thread_t *t, const char *name)
{
    cp_err_t err = {0};
    Certplane__V1__Certificate *c = NULL;
    int64_t now = cp_clock_wall_ms();
    int rc = ctl_certrepo_load(&t->repo, name, &c, &err);
    if (rc == CP_EINVAL) {
        ctl_work__log_cert(CP_LOG_ERROR, "sched", name, "unreadable record, not renewed: %s",
                           err.msg);
        ctl_store_cert_index(t->store, name, (double)(now + UNREADABLE_RETRY_MS) / 1000.0, NULL);
    }
    if (rc != 0)
        goto out;
    if (c->state == CERTPLANE__V1__STATE__REVOKED) {
        ctl_store_cert_index(t->store, name, -1, NULL);
        goto out;
    }
    int state = c->state;
    /* A pending revocation (a lost job, or a retry after a failure) is queued again as such; the
     * certificate stays as it is, served until the CA has revoked it. */
    const char *kind = ctl_work__revoke_pending(c) ? "revoke"
                       : !ctl_work__has_cert(c)    ? "issue"
                       : ari_poll_due(c, now)      ? "ari"
                                                   : "renew";
    if (strcmp(kind, "renew") == 0 && ctl_work__ondemand_skip(t, c, now))
        goto out; /* on-demand TLS: unused for --on-demand-unused-after */
    if (state == CERTPLANE__V1__STATE__VALID && strcmp(kind, "revoke") != 0 &&
        strcmp(kind, "ari") != 0)
        state = CERTPLANE__V1__STATE__RENEWING;
    int64_t lease = now + t->w->cfg->job_timeout_ms;
    Certplane__V1__Certificate m = *c;
    Google__Protobuf__Timestamp renew_after, update_time;
    cp_clock_ts_set(&renew_after, lease);
    cp_clock_ts_set(&update_time, now);
    m.state = (Certplane__V1__State)state;
    /* An ARI poll leaves the renewal time alone: only the index is leased. */
    if (strcmp(kind, "ari") != 0)
        m.renew_after = &renew_after;
    m.update_time = &update_time;
    ctl_certrepo_write_t w = {.mode = CTL_STORE_MATCH,
                              .expected_revision = c->revision,
                              .renew_at_ms = lease,
                              .job_kind = kind};
    rc = ctl_certrepo_put(&t->repo, &m, &w, NULL, &err);
    if (rc == 0) {
        CTL_WORK_STAT(t->w, enqueued, 1);
        ctl_work__log_cert(CP_LOG_INFO, "sched", name, "due: %s job queued", kind);
    } else if (rc == CP_ECONFLICT || rc == CP_ENOTFOUND) {
        ctl_work__log_cert(CP_LOG_DEBUG, "sched", name, "changed concurrently, not queued: %s",
                           err.msg);
    } else {
        ctl_work__log_cert(CP_LOG_WARN, "sched", name, "cannot queue: %s", err.msg);
    }
out:
    ctl_certrepo_cert_free(c);
}

/* Enqueues everything due now. Returns 0 or a store error. */
static int run_due(ctl_work_thread_t *t, cp_err_t *err)
{
    for (int rounds = 0; rounds < 1000 && !ctl_work__stopping(t->w); rounds++) {
        char **names = NULL;
        size_t n = 0;
        int rc = ctl_store_due(t->store, (double)cp_clock_wall_ms() / 1000.0, DUE_BATCH, &names, &n,
                               err);
        if (rc != 0)
            return rc;
        for (size_t i = 0; i < n && !ctl_work__stopping(t->w); i++)
            schedule_one(t, names[i]);
        ctl_store_strv_free(names, n);
        if (n < DUE_BATCH)
            break;
    }
    return 0;
}

/* Gives a record without a renewal time (seed data) its certs:by_expiry entry. */
static void index_one(ctl_work_thread_t *t, const Certplane__V1__Certificate *c)
{
    cp_err_t err = {0};
    if (c == NULL || c->renew_after != NULL || c->state == CERTPLANE__V1__STATE__REVOKED)
        return;
    /* Without a certificate the record's issue job is probably queued: look again after a lease. */
    int64_t at = ctl_work__has_cert(c) ? ctl_work__policy_renew_at(t->w, c)
                                       : cp_clock_wall_ms() + t->w->cfg->job_timeout_ms;
    if (ctl_store_cert_index(t->store, c->name, (double)at / 1000.0, &err) == 0) {
        char when[32];
        snprintf(when, sizeof(when), "%" PRId64, at / 1000);
        ctl_work__log_cert(CP_LOG_INFO, "sched", c->name, "indexed for renewal at %s", when);
    }
}

static int index_seeds(ctl_work_thread_t *t, cp_err_t *err)
{
    uint64_t cursor = 0;
    do {
        char **names = NULL;
        size_t n = 0;
        int rc = ctl_store_cert_scan(t->store, cursor, &cursor, &names, &n, err);
        /* Only records outside `certs` (seed data): those a controller wrote are indexed as they
         * must be, so a start does not read and decode every record (issue 13: 1,000,000). */
        if (rc == 0)
            rc = ctl_store_cert_unlisted(t->store, names, &n, err);
        if (rc != 0) {
            ctl_store_strv_free(names, n);
            return rc;
        }
        Certplane__V1__Certificate **certs = cp_xcalloc(n > 0 ? n : 1, sizeof(*certs));
        rc = ctl_certrepo_load_many(&t->repo, (const char *const *)names, n, certs, NULL, err);
        for (size_t i = 0; i < n; i++) {
            if (rc == 0)
                index_one(t, certs[i]);
            ctl_certrepo_cert_free(certs[i]);
        }
        free(certs);
        ctl_store_strv_free(names, n);
        if (rc != 0)
            return rc;
    } while (cursor != 0 && !ctl_work__stopping(t->w));
    return 0;
}

/* How long to sleep: until the earliest renewal time, at most --renew-interval. */
static int64_t sleep_ms(ctl_work_thread_t *t, cp_err_t *err)
{
    double when = -1;
    int64_t ms = t->w->cfg->renew_interval_ms;
    if (ctl_store_next_due(t->store, &when, err) != 0)
        return ERROR_PAUSE_MS;
    if (when >= 0) {
        int64_t until = (int64_t)(when * 1000.0) - cp_clock_wall_ms();
        if (until < ms)
            ms = until;
    }
    return ms < MIN_SLEEP_MS ? MIN_SLEEP_MS : ms;
}

void *ctl_work__sched_main(void *arg)
{
    ctl_work_thread_t *t = arg;
    int indexed = 0;
    while (!ctl_work__stopping(t->w)) {
        cp_err_t err = {0};
        int rc = indexed ? 0 : index_seeds(t, &err);
        if (rc == 0) {
            indexed = 1;
            rc = run_due(t, &err);
        }
        if (rc != 0) {
            CP_LOG(CP_LOG_WARN, "sched", "scheduler: %s", err.msg);
            ctl_work__sleep(t->w, ERROR_PAUSE_MS, 0);
            continue;
        }
        ctl_work__sleep(t->w, sleep_ms(t, &err), 1);
    }
    return NULL;
}
