/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_pool.c - the gateway's service threads and the hand-back of their answers to the loop */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "controller/gateway/gateway_pool.h"
#include "shared/mem.h"

/* Lives in the request's pool (h2o_mem_alloc_shared): h2o calls guard_dispose when it disposes the
 * request, which is how a job learns that its request is gone. Loop thread only. */
struct ctl_gateway__job_guard {
    ctl_gateway_job_t *job; /* NULL once the job answered */
};

typedef struct lane {
    pthread_cond_t cv;
    ctl_gateway_job_t *head, *tail; /* under the pool's mu */
} lane_t;

typedef struct worker {
    ctl_gateway_pool_t *pool;
    lane_t *lane;
    pthread_t thread;
} worker_t;

struct ctl_gateway_pool {
    ctl_service_t *svc;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t rx;
    pthread_mutex_t mu;
    bool stop; /* under mu */
    lane_t lanes[2];
    worker_t *workers;
    unsigned n_workers;
    size_t inflight; /* loop only: submitted, `done` not called yet */
};

static void guard_dispose(void *p)
{
    struct ctl_gateway__job_guard *g = p;
    if (g->job != NULL) {
        g->job->req = NULL;
        g->job->guard = NULL;
    }
}

/* Loop thread: detaches the job from its request and lets it answer. */
static void finish(ctl_gateway_pool_t *p, ctl_gateway_job_t *job)
{
    h2o_req_t *req = job->req;
    if (job->guard != NULL)
        job->guard->job = NULL;
    job->guard = NULL;
    job->req = NULL;
    p->inflight--;
    job->done(job, req);
}

static void on_done(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    ctl_gateway_pool_t *p = H2O_STRUCT_FROM_MEMBER(ctl_gateway_pool_t, rx, rx);
    while (!h2o_linklist_is_empty(messages)) {
        ctl_gateway_job_t *job =
            H2O_STRUCT_FROM_MEMBER(ctl_gateway_job_t, super.link, messages->next);
        h2o_linklist_unlink(&job->super.link);
        finish(p, job);
    }
}

/* Takes the next job of w's lane; NULL when the pool stops. */
static ctl_gateway_job_t *take(worker_t *w)
{
    ctl_gateway_pool_t *p = w->pool;
    ctl_gateway_job_t *job = NULL;
    pthread_mutex_lock(&p->mu);
    while (!p->stop && w->lane->head == NULL)
        pthread_cond_wait(&w->lane->cv, &p->mu);
    if (!p->stop) {
        job = w->lane->head;
        w->lane->head = job->next;
        if (w->lane->head == NULL)
            w->lane->tail = NULL;
        job->next = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    return job;
}

static void *work(void *arg)
{
    worker_t *w = arg;
    ctl_thread_t *t = NULL; /* a ctl_thread_t belongs to the thread that made it: this one */
    ctl_gateway_job_t *job;
    while ((job = take(w)) != NULL) {
        if (t == NULL)
            t = ctl_thread_new(w->pool->svc);
        job->run(job, t);
        h2o_multithread_send_message(&w->pool->rx, &job->super);
    }
    ctl_thread_free(t);
    return NULL;
}

ctl_gateway_pool_t *ctl_gateway_pool_new(ctl_service_t *svc, h2o_context_t *ctx, unsigned n_any,
                                         unsigned n_read)
{
    ctl_gateway_pool_t *p = cp_xcalloc(1, sizeof(*p));
    p->svc = svc;
    p->queue = ctx->queue;
    pthread_mutex_init(&p->mu, NULL);
    for (int i = 0; i < 2; i++)
        pthread_cond_init(&p->lanes[i].cv, NULL);
    h2o_multithread_register_receiver(p->queue, &p->rx, on_done);
    p->n_workers = n_any + n_read;
    p->workers = cp_xcalloc(p->n_workers, sizeof(*p->workers));
    for (unsigned i = 0; i < p->n_workers; i++) {
        worker_t *w = &p->workers[i];
        w->pool = p;
        w->lane = &p->lanes[i < n_any ? CTL_GW_LANE_ANY : CTL_GW_LANE_READ];
        if (pthread_create(&w->thread, NULL, work, w) != 0) {
            fprintf(stderr, "certplane: cannot start a gateway service thread\n");
            abort();
        }
    }
    return p;
}

void ctl_gateway_pool_submit(ctl_gateway_pool_t *p, ctl_gateway_job_t *job, h2o_req_t *req,
                             ctl_gateway_lane_t lane)
{
    struct ctl_gateway__job_guard *g = h2o_mem_alloc_shared(&req->pool, sizeof(*g), guard_dispose);
    g->job = job;
    job->guard = g;
    job->req = req;
    job->pool = p;
    job->next = NULL;
    job->cancelled = false;
    p->inflight++;
    lane_t *l = &p->lanes[lane];
    pthread_mutex_lock(&p->mu);
    if (l->tail != NULL)
        l->tail->next = job;
    else
        l->head = job;
    l->tail = job;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&p->mu);
}

void ctl_gateway_pool_stop(ctl_gateway_pool_t *p, h2o_evloop_t *loop)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    for (int i = 0; i < 2; i++)
        pthread_cond_broadcast(&p->lanes[i].cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_workers; i++)
        pthread_join(p->workers[i].thread, NULL);
    /* No thread takes jobs any more: what is still queued is answered without running. */
    for (int i = 0; i < 2; i++) {
        while (p->lanes[i].head != NULL) {
            ctl_gateway_job_t *job = p->lanes[i].head;
            p->lanes[i].head = job->next;
            job->cancelled = true;
            finish(p, job);
        }
        p->lanes[i].tail = NULL;
    }
    /* The answers of the jobs that ran are on the receiver's queue: deliver them. */
    while (p->inflight > 0)
        h2o_evloop_run(loop, 10);
    h2o_multithread_unregister_receiver(p->queue, &p->rx);
    for (int i = 0; i < 2; i++)
        pthread_cond_destroy(&p->lanes[i].cv);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}
