/* SPDX-License-Identifier: Apache-2.0 */
/* work_internal.h - internals shared by controller/work*.c; not part of the API */
#ifndef CTL_WORK_INTERNAL_H
#define CTL_WORK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/acme/acme.h"
#include "controller/store/store.h"
#include "controller/work/work.h"

/* Keys per key type the workers' pool keeps ready (only for types that were used). */
#define CTL_WORK_KEYPOOL_PER_TYPE 4

/* Jobs a worker keeps aside because their certificate was locked, to retry soon. */
#define CTL_WORK_DEFER_MAX 16

typedef struct ctl_work_client ctl_work_client_t;

typedef struct ctl_work_deferred {
    ctl_store_job_t job;
    int64_t retry_at_ms;
} ctl_work_deferred_t;

/** One thread: a worker (index >= 0) or the scheduler (index -1). Touched only by that thread once
 * it runs, except `w`, which is shared. */
typedef struct ctl_work_thread {
    ctl_work_t *w;
    int index;
    int started;
    pthread_t tid;
    ctl_store_t *store;
    char consumer[320];
    ctl_work_client_t *clients; /* ACME clients of this thread, one per provider + email */
    /* The job in progress, for the ACME hooks (lock extension, logs). */
    const char *cert_name;
    char lock_token[CTL_STORE_LOCK_TOKEN_SIZE];
    ctl_work_deferred_t deferred[CTL_WORK_DEFER_MAX];
    int n_deferred;
} ctl_work_thread_t;

struct ctl_work {
    const ctl_config_t *cfg;
    ctl_acme_dns_t *dns;    /* DNS-01 provider from --dns-exec, or NULL */
    ctl_keypool_t *keypool; /* certificate keys made ahead of use, shared by the workers */
    atomic_int stopping;
    pthread_mutex_t mu; /* guards kicked, stats */
    pthread_cond_t cv;  /* signalled on stop and kick */
    int kicked;
    ctl_work_stats_t stats;
    ctl_work_thread_t *workers;
    int n_workers;
    ctl_work_thread_t sched;
};

/* Adds delta to one counter of w->stats under the mutex. */
#define CTL_WORK_STAT(w, field, delta)                                                             \
    do {                                                                                           \
        pthread_mutex_lock(&(w)->mu);                                                              \
        (w)->stats.field += (delta);                                                               \
        pthread_mutex_unlock(&(w)->mu);                                                            \
    } while (0)

/* ---- work.c ---- */
int64_t ctl_work__now_ms(void);
int ctl_work__stopping(ctl_work_t *w);
/** Sleeps up to ms or until stop (returns 1) or a kick (when wake_on_kick; returns 0). */
int ctl_work__sleep(ctl_work_t *w, int64_t ms, int wake_on_kick);
/** Lock TTL of one job: a bit above the ACME deadline plus the edge waits. */
int ctl_work__lock_ttl_ms(const ctl_work_t *w);

/* ---- work_rec.c: certificate records ---- */
int ctl_work__cert_load(ctl_store_t *s, const char *name, Certplane__V1__Certificate **out,
                        cp_err_t *err);
void ctl_work__cert_free(Certplane__V1__Certificate *c);
/** Encodes c (its revision field is ignored) and writes it with MATCH on `expected`, by_expiry =
 * renew_at_ms
 *  (< 0: removed), and a job when job_kind is set. */
int ctl_work__cert_put(ctl_store_t *s, const Certplane__V1__Certificate *c, int64_t expected,
                       int64_t renew_at_ms, const char *job_kind, int64_t *new_rev, cp_err_t *err);
void ctl_work__ts_set(Google__Protobuf__Timestamp *ts, int64_t ms);
int64_t ctl_work__ts_ms(const Google__Protobuf__Timestamp *ts);
int ctl_work__has_cert(const Certplane__V1__Certificate *c);
/** 1 when a and b ask for the same certificate: names, IP addresses and key type. */
int ctl_work__same_request(const Certplane__V1__Certificate *a,
                           const Certplane__V1__Certificate *b);
/** The policy's renewal time of c's current certificate (ms), or now when it has none. */
int64_t ctl_work__policy_renew_at(const ctl_work_t *w, const Certplane__V1__Certificate *c);
const char *ctl_work__state_name(int state);

/* ---- work_acme.c: ACME clients and hooks ---- */
/** Issues c's certificate with the thread's client for its provider and email. */
int ctl_work__issue(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                    ctl_acme_result_t *res, cp_err_t *err);
void ctl_work__clients_free(ctl_work_thread_t *t);

/* ---- work_job.c ---- */
/** Outcomes of one attempt at a job. */
enum { CTL_WORK_ACK = 0, CTL_WORK_DEFER = 1, CTL_WORK_LEAVE = 2 };
int ctl_work__job_run(ctl_work_thread_t *t, const ctl_store_job_t *job);

/* ---- work_sched.c ---- */
void *ctl_work__sched_main(void *arg);

/* One log line about certificate `name` from `module` ("work", "sched"); never with keys or tokens.
 */
void ctl_work__log_cert(int level, const char *module, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
