/* SPDX-License-Identifier: Apache-2.0 */
/* work.c - ACME worker threads on the jobs stream; start, stop and counters of the work machinery
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/work/renew.h"
#include "controller/work/work.h"
#include "controller/work/work_acme.h"
#include "controller/work/work_issuers.h"
#include "controller/work/work_job.h"
#include "controller/work/work_ocsp.h"
#include "controller/work/work_presence.h"
#include "controller/work/work_sched.h"
#include "controller/work/work_util.h"
#include "controller/work/work_webhook.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

/* How long one XREADGROUP waits: short enough that ctl_work_stop() returns promptly. */
#define READ_BLOCK_MS 1000
/* Retry delay of a job whose certificate was locked. */
#define BUSY_RETRY_MS 2000
/* Pause after a Redis failure, so a dead Redis does not spin the workers. */
#define ERROR_PAUSE_MS 1000
/* How often a worker looks for jobs of dead controllers (store_owner.h). */
#define DEAD_RECLAIM_MS 1000
/* Retry delay of a job left unfinished by a live worker (Redis away, too many conflicts). */
#define LEAVE_RETRY_MS 3000
/* How often a worker that is not present (controller:{id} not set yet, or lapsed) looks again. */
#define ABSENT_WAIT_MS 100

/* A job from the deferred list whose retry time has come, removed from the list; 0 when none. */
static int take_deferred(ctl_work_thread_t *t, ctl_store_job_t *job)
{
    int64_t now = cp_clock_wall_ms();
    for (int i = 0; i < t->n_deferred; i++)
        if (t->deferred[i].retry_at_ms <= now) {
            *job = t->deferred[i].job;
            t->deferred[i] = t->deferred[--t->n_deferred];
            return 1;
        }
    return 0;
}

/* Keeps a busy job aside for a retry. When the list is full the job simply stays pending in the
 * stream: it is reclaimed after --job-timeout like the job of a dead controller. */
static void defer_job(ctl_work_thread_t *t, ctl_store_job_t *job, int64_t delay_ms)
{
    /* A deferred job can come back through a reclaim (its idle time counts from its delivery): one
     * copy is enough. */
    int dup = 0;
    for (int i = 0; i < t->n_deferred; i++)
        dup |= strcmp(t->deferred[i].job.id, job->id) == 0;
    if (dup || t->n_deferred == CTL_WORK_DEFER_MAX) {
        ctl_store_job_dispose(job);
        return;
    }
    t->deferred[t->n_deferred].job = *job;
    t->deferred[t->n_deferred].retry_at_ms = cp_clock_wall_ms() + delay_ms;
    t->n_deferred++;
    memset(job, 0, sizeof(*job));
}

static void run_job(ctl_work_thread_t *t, ctl_store_job_t *job)
{
    cp_err_t err = {0};
    int outcome = ctl_work__job_run(t, job);
    if (outcome == CTL_WORK_ACK) {
        if (ctl_store_job_ack(t->store, job, &err) == 0)
            CTL_WORK_STAT(t->w, jobs_acked, 1);
        else
            CP_LOG(CP_LOG_WARN, "work", "job %s: ack failed: %s", job->id, err.msg);
    } else if (outcome == CTL_WORK_DEFER) {
        CTL_WORK_STAT(t->w, jobs_busy, 1);
        defer_job(t, job, BUSY_RETRY_MS);
    } else if (!ctl_work__stopping(t->w)) {
        /* Left unfinished by a live worker: retried here soon rather than after --job-timeout. */
        defer_job(t, job, LEAVE_RETRY_MS);
    }
    ctl_store_job_dispose(job);
}

/* A job of a dead controller (checked every DEAD_RECLAIM_MS), or one any consumer has held longer
 * than --job-timeout (checked every reclaim period). 0, CP_ENOTFOUND or a store error. */
static int reclaim(ctl_work_thread_t *t, int64_t *next_dead, int64_t *next_idle,
                   ctl_store_job_t *job, cp_err_t *err)
{
    const ctl_config_t *cfg = t->w->cfg;
    int64_t now = cp_clock_wall_ms();
    int rc = CP_ENOTFOUND;
    const char *why = "its controller is gone";
    if (now >= *next_dead) {
        rc = ctl_store_job_reclaim_dead(t->store, t->consumer, job, err);
        if (rc == CP_ENOTFOUND)
            *next_dead = now + DEAD_RECLAIM_MS;
    }
    if (rc == CP_ENOTFOUND && now >= *next_idle) {
        why = "it was idle too long";
        rc = ctl_store_job_reclaim(t->store, t->consumer, (int)cfg->job_timeout_ms, job, err);
        int64_t period = cfg->job_timeout_ms / 2;
        if (rc == CP_ENOTFOUND)
            *next_idle = now + (period < 250 ? 250 : period > 10000 ? 10000 : period);
    }
    if (rc == 0) {
        CTL_WORK_STAT(t->w, jobs_reclaimed, 1);
        CP_LOG(CP_LOG_INFO, "work", "job %s (%s %s): reclaimed after %" PRId64 " deliveries: %s",
               job->id, job->kind, job->name, job->deliveries - 1, why);
    }
    return rc;
}

/* The next job: a deferred one that is due, a job left by a dead consumer, or a new one (waits up
 * to READ_BLOCK_MS). 0, CP_ETIMEDOUT (none) or a store error. */
static int next_job(ctl_work_thread_t *t, int64_t *next_dead, int64_t *next_idle,
                    ctl_store_job_t *job, cp_err_t *err)
{
    if (take_deferred(t, job))
        return 0;
    int rc = reclaim(t, next_dead, next_idle, job, err);
    if (rc != CP_ENOTFOUND)
        return rc;
    return ctl_store_job_read(t->store, t->consumer, READ_BLOCK_MS, job, err);
}

static void *worker_main(void *arg)
{
    ctl_work_thread_t *t = arg;
    cp_err_t err = {0};
    int64_t next_dead = 0, next_idle = 0;
    int initialized = 0;
    while (!ctl_work__stopping(t->w)) {
        ctl_store_job_t job = {0};
        /* Jobs only while present: a worker of a controller that others cannot see alive would
         * work on certificates they take over. */
        if (!atomic_load(&t->w->present)) {
            ctl_work__sleep(t->w, ABSENT_WAIT_MS, 0);
            continue;
        }
        int rc = initialized ? 0 : ctl_store_jobs_init(t->store, &err);
        if (rc == 0) {
            initialized = 1;
            rc = next_job(t, &next_dead, &next_idle, &job, &err);
        }
        if (rc == 0) {
            CTL_WORK_STAT(t->w, jobs_taken, 1);
            run_job(t, &job);
        } else if (rc != CP_ETIMEDOUT) {
            CP_LOG(CP_LOG_WARN, "work", "worker %d: %s", t->index, err.msg);
            ctl_work__sleep(t->w, ERROR_PAUSE_MS, 0);
        }
    }
    return NULL;
}

static int thread_init(ctl_work_t *w, ctl_work_thread_t *t, int index, cp_err_t *err)
{
    t->w = w;
    t->index = index;
    /* "<id>/<worker>@<incarnation>": other controllers tell a dead owner's consumers by it. */
    if (index >= 0)
        snprintf(t->consumer, sizeof(t->consumer), "%s/%d@%s", w->cfg->controller_id, index,
                 w->incarnation);
    else
        snprintf(t->consumer, sizeof(t->consumer), "%s/%s@%s", w->cfg->controller_id,
                 index == -1   ? "scheduler"
                 : index == -2 ? "presence"
                 : index == -3 ? "ocsp"
                               : "webhooks",
                 w->incarnation);
    ctl_store_opts_t so = {.owner = w->owner,
                           .keyring = w->cfg->keyring,
                           .wait_replicas = w->cfg->redis_wait_replicas,
                           .wait_timeout_ms = (int)w->cfg->redis_wait_timeout_ms,
                           .sentinel_password = w->cfg->redis_sentinel_password,
                           .tls = w->cfg->redis_tls};
    int rc = ctl_store_new(w->cfg->redis_url, &so, &t->store, err);
    t->repo.store = t->store;
    return rc;
}

int ctl_work_check_config(const ctl_config_t *cfg, cp_err_t *err)
{
    if (cfg->redis_url == NULL || cfg->controller_id == NULL || cfg->controller_id[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "work: --redis-url and --controller-id are required");
    if (cfg->workers < 1)
        return cp_err_set(err, CP_EINVAL, "work: --workers must be at least 1");
    if (cfg->job_timeout_ms < 100 || cfg->job_timeout_ms > INT32_MAX)
        return cp_err_set(err, CP_EINVAL, "work: --job-timeout out of range");
    /* The lifetime of a certificate is known only once it is issued (the floor of renew.c holds
     * then); what can be checked now is the longest lifetime any public CA may give. */
    if (cfg->renew_before_ms >= CTL_RENEW_MAX_PUBLIC_LIFETIME_MS)
        return cp_err_set(err, CP_EINVAL,
                          "--renew-before %lld s is at least the longest lifetime of a publicly "
                          "trusted certificate (%lld days): every certificate would be renewed at "
                          "once after issuance; use 0 (a third of the lifetime) or less",
                          (long long)(cfg->renew_before_ms / 1000),
                          (long long)(CTL_RENEW_MAX_PUBLIC_LIFETIME_MS / 86400000));
    return ctl_work_check_providers(cfg, err);
}

static int start_threads(ctl_work_t *w, cp_err_t *err)
{
    for (int i = 0; i < w->n_workers; i++) {
        if (pthread_create(&w->workers[i].tid, NULL, worker_main, &w->workers[i]) != 0)
            return cp_err_set(err, CP_EINTERNAL, "work: cannot create worker thread");
        w->workers[i].started = 1;
    }
    if (pthread_create(&w->sched.tid, NULL, ctl_work__sched_main, &w->sched) != 0)
        return cp_err_set(err, CP_EINTERNAL, "work: cannot create scheduler thread");
    w->sched.started = 1;
    if (pthread_create(&w->beat.tid, NULL, ctl_work__presence_main, &w->beat) != 0)
        return cp_err_set(err, CP_EINTERNAL, "work: cannot create presence thread");
    w->beat.started = 1;
    /* OCSP stapling (issue 14): fetches block, so they have a thread of their own. */
    if (pthread_create(&w->ocsp.tid, NULL, ctl_work__ocsp_main, &w->ocsp) != 0)
        return cp_err_set(err, CP_EINTERNAL, "work: cannot create OCSP thread");
    w->ocsp.started = 1;
    if (pthread_create(&w->hooks.tid, NULL, ctl_work__webhook_main, &w->hooks) != 0)
        return cp_err_set(err, CP_EINTERNAL, "work: cannot create webhook thread");
    w->hooks.started = 1;
    return 0;
}

int ctl_work_start(const ctl_config_t *cfg, ctl_work_t **out, cp_err_t *err)
{
    int rc = ctl_work_check_config(cfg, err);
    if (rc != 0)
        return rc;
    ctl_work_t *w = cp_xcalloc(1, sizeof(*w));
    w->cfg = cfg;
    atomic_init(&w->stopping, 0);
    atomic_init(&w->present, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->n_workers = cfg->workers;
    w->workers = cp_xcalloc((size_t)w->n_workers, sizeof(*w->workers));
    if (cfg->dns_exec != NULL && cfg->dns_exec[0] != '\0') {
        rc = ctl_acme_dns_exec_new(cfg->dns_exec, 0, &w->dns, err);
        if (rc != 0)
            goto out;
        w->dns->propagation_wait_ms = (long)cfg->dns_propagation_ms;
    }
    if (rc == 0)
        rc = ctl_work__presence_init(w, err);
    if (rc == 0)
        rc = ctl_keypool_new(CTL_WORK_KEYPOOL_PER_TYPE, &w->keypool, err);
    for (int i = 0; rc == 0 && i < w->n_workers; i++)
        rc = thread_init(w, &w->workers[i], i, err);
    if (rc == 0)
        rc = thread_init(w, &w->sched, -1, err);
    if (rc == 0)
        rc = thread_init(w, &w->beat, -2, err);
    if (rc == 0)
        rc = thread_init(w, &w->ocsp, -3, err);
    if (rc == 0)
        rc = thread_init(w, &w->hooks, -4, err);
    if (rc == 0)
        rc = start_threads(w, err);
out:
    if (rc != 0) {
        ctl_work_stop(w);
        return rc;
    }
    CP_LOG(CP_LOG_INFO, "work", "%d workers and the scheduler started as %s", w->n_workers,
           w->owner);
    *out = w;
    return 0;
}

static void thread_dispose(ctl_work_thread_t *t)
{
    if (t->started)
        pthread_join(t->tid, NULL);
    for (int i = 0; i < t->n_deferred; i++)
        ctl_store_job_dispose(&t->deferred[i].job);
    ctl_work__clients_free(t);
    ctl_store_free(t->store);
}

void ctl_work_stop(ctl_work_t *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    atomic_store(&w->stopping, 1);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->n_workers; i++)
        thread_dispose(&w->workers[i]);
    thread_dispose(&w->sched);
    thread_dispose(&w->ocsp);
    thread_dispose(&w->hooks);
    if (w->beat.started)
        pthread_join(w->beat.tid, NULL);
    w->beat.started = 0;
    ctl_work__presence_clear(w); /* every thread is done: others may take over at once */
    thread_dispose(&w->beat);
    ctl_keypool_free(w->keypool); /* after the workers: they borrow it */
    ctl_acme_dns_free(w->dns);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->workers);
    free(w);
}

void ctl_work_kick(ctl_work_t *w)
{
    ctl_work__kick(w);
}

void ctl_work_get_stats(ctl_work_t *w, ctl_work_stats_t *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}
