/* SPDX-License-Identifier: Apache-2.0 */
/* work.c - ACME worker threads on the jobs stream; start, stop and counters of the work machinery
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/work/work.h"
#include "controller/work/work_acme.h"
#include "controller/work/work_job.h"
#include "controller/work/work_sched.h"
#include "controller/work/work_util.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

/* How long one XREADGROUP waits: short enough that ctl_work_stop() returns promptly. */
#define READ_BLOCK_MS 1000
/* Retry delay of a job whose certificate was locked. */
#define BUSY_RETRY_MS 2000
/* Pause after a Redis failure, so a dead Redis does not spin the workers. */
#define ERROR_PAUSE_MS 1000

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
static void defer_job(ctl_work_thread_t *t, ctl_store_job_t *job)
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
    t->deferred[t->n_deferred].retry_at_ms = cp_clock_wall_ms() + BUSY_RETRY_MS;
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
        defer_job(t, job);
    }
    ctl_store_job_dispose(job);
}

/* The next job: a deferred one that is due, a job left by a dead consumer (checked every reclaim
 * period), or a new one (waits up to READ_BLOCK_MS). 0, CP_ETIMEDOUT (none) or a store error. */
static int next_job(ctl_work_thread_t *t, int64_t *next_reclaim, ctl_store_job_t *job,
                    cp_err_t *err)
{
    const ctl_config_t *cfg = t->w->cfg;
    if (take_deferred(t, job))
        return 0;
    if (cp_clock_wall_ms() >= *next_reclaim) {
        int rc = ctl_store_job_reclaim(t->store, t->consumer, (int)cfg->job_timeout_ms, job, err);
        if (rc == 0) {
            CTL_WORK_STAT(t->w, jobs_reclaimed, 1);
            CP_LOG(CP_LOG_INFO, "work", "job %s (%s %s): reclaimed after %" PRId64 " deliveries",
                   job->id, job->kind, job->name, job->deliveries - 1);
            return 0;
        }
        if (rc != CP_ENOTFOUND)
            return rc;
        int64_t period = cfg->job_timeout_ms / 2;
        *next_reclaim = cp_clock_wall_ms() + (period < 250 ? 250 : period > 10000 ? 10000 : period);
    }
    return ctl_store_job_read(t->store, t->consumer, READ_BLOCK_MS, job, err);
}

static void *worker_main(void *arg)
{
    ctl_work_thread_t *t = arg;
    cp_err_t err = {0};
    int64_t next_reclaim = 0;
    int initialized = 0;
    while (!ctl_work__stopping(t->w)) {
        ctl_store_job_t job = {0};
        int rc = initialized ? 0 : ctl_store_jobs_init(t->store, &err);
        if (rc == 0) {
            initialized = 1;
            rc = next_job(t, &next_reclaim, &job, &err);
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
    if (index >= 0)
        snprintf(t->consumer, sizeof(t->consumer), "%s/%d", w->cfg->controller_id, index);
    else
        snprintf(t->consumer, sizeof(t->consumer), "%s/scheduler", w->cfg->controller_id);
    ctl_store_opts_t opts = {.keyring = w->cfg->keyring};
    int rc = ctl_store_new(w->cfg->redis_url, &opts, &t->store, err);
    t->repo.store = t->store;
    return rc;
}

static int check_config(const ctl_config_t *cfg, cp_err_t *err)
{
    if (cfg->redis_url == NULL || cfg->controller_id == NULL || cfg->controller_id[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "work: --redis-url and --controller-id are required");
    if (cfg->workers < 1)
        return cp_err_set(err, CP_EINVAL, "work: --workers must be at least 1");
    if (cfg->job_timeout_ms < 100 || cfg->job_timeout_ms > INT32_MAX)
        return cp_err_set(err, CP_EINVAL, "work: --job-timeout out of range");
    return 0;
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
    return 0;
}

int ctl_work_start(const ctl_config_t *cfg, ctl_work_t **out, cp_err_t *err)
{
    int rc = check_config(cfg, err);
    if (rc != 0)
        return rc;
    ctl_work_t *w = cp_xcalloc(1, sizeof(*w));
    w->cfg = cfg;
    atomic_init(&w->stopping, 0);
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
        rc = ctl_keypool_new(CTL_WORK_KEYPOOL_PER_TYPE, &w->keypool, err);
    for (int i = 0; rc == 0 && i < w->n_workers; i++)
        rc = thread_init(w, &w->workers[i], i, err);
    if (rc == 0)
        rc = thread_init(w, &w->sched, -1, err);
    if (rc == 0)
        rc = start_threads(w, err);
out:
    if (rc != 0) {
        ctl_work_stop(w);
        return rc;
    }
    CP_LOG(CP_LOG_INFO, "work", "%d workers and the scheduler started as %s", w->n_workers,
           cfg->controller_id);
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
