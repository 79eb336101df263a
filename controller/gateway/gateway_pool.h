/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_pool.h - the gateway's service threads: work that may wait on Redis runs here, never on
 * the h2o loop, and its answer comes back to the loop through h2o's multithread receiver */
#ifndef CTL_GATEWAY_POOL_H
#define CTL_GATEWAY_POOL_H

#include <stdbool.h>

#include <h2o.h>

#include "controller/service/service.h"

/*
 * A job is made on the loop thread for one request, runs `run` on a service thread (with that
 * thread's own ctl_thread_t, NULL when it cannot be made), then `done` on the loop thread. Each job
 * stays tied to its h2o request through a small dispose hook in the request's pool: when h2o
 * disposes the request first (the client went away, the gateway stops), the job's request becomes
 * NULL and `done` is called with NULL, so the answer is dropped and nothing touches the freed
 * request. The job is allocated by the caller (embedding ctl_gateway_job_t first) and freed by its
 * `done`.
 *
 * Two lanes, each with threads of its own: CTL_GW_LANE_READ for reads that the service normally
 * answers from memory (GetCertificate without a private key, HTTP-01 lookups), CTL_GW_LANE_ANY for
 * everything else, so that calls stuck on a slow Redis (List, Create, Watch replays, /metrics)
 * never hold up the cheap reads behind them.
 *
 * THREAD SAFETY: ctl_gateway_pool_new, _submit and _stop on the loop thread (new: before the loop
 * runs or on it); `run` on a service thread; `done` on the loop thread.
 */

typedef struct ctl_gateway_pool ctl_gateway_pool_t;
typedef struct ctl_gateway_job ctl_gateway_job_t;

typedef enum ctl_gateway_lane {
    CTL_GW_LANE_ANY,
    CTL_GW_LANE_READ,
} ctl_gateway_lane_t;

struct ctl_gateway_job {
    h2o_multithread_message_t super; /* the hand-back to the loop */
    /** Service thread: the blocking part. `t` is NULL when no Redis connection can be made. Must
     * not touch the request. Not called when the pool stops first (job->cancelled is then true). */
    void (*run)(ctl_gateway_job_t *job, ctl_thread_t *t);
    /** Loop thread: answers `req` (NULL: the request is gone, drop the answer) and frees the job.
     */
    void (*done)(ctl_gateway_job_t *job, h2o_req_t *req);
    bool cancelled; /* the pool stopped before `run` */
    /* the pool's */
    ctl_gateway_job_t *next;
    ctl_gateway_pool_t *pool;
    h2o_req_t *req;
    struct ctl_gateway__job_guard *guard;
};

/** Starts `n_any` + `n_read` service threads and registers the hand-back receiver on ctx's queue.
 *  THREAD SAFETY: the loop's thread, or before the loop thread exists. */
ctl_gateway_pool_t *ctl_gateway_pool_new(ctl_service_t *svc, h2o_context_t *ctx, unsigned n_any,
                                         unsigned n_read);

/** Queues `job` for `req` on `lane`; job->run and job->done must be set. THREAD SAFETY: loop. */
void ctl_gateway_pool_submit(ctl_gateway_pool_t *p, ctl_gateway_job_t *job, h2o_req_t *req,
                             ctl_gateway_lane_t lane);

/** Stops the threads (each finishes the job it runs; queued jobs are cancelled), then runs the loop
 * until every job's `done` was called, and frees the pool. NULL is a no-op. THREAD SAFETY: the loop
 * thread, while it is stopping (the loop is run from here). */
void ctl_gateway_pool_stop(ctl_gateway_pool_t *p, h2o_evloop_t *loop);

#endif
