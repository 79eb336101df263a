/* SPDX-License-Identifier: Apache-2.0 */
/* work_types.h - the types the controller/work/ files share (types and macros only); not API */
#ifndef CTL_WORK_TYPES_H
#define CTL_WORK_TYPES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/acme/acme.h"
#include "controller/store/certrepo.h"
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
    ctl_certrepo_t repo; /* store, no read cache: certificate records */
    char consumer[320];
    ctl_work_client_t *clients; /* ACME clients of this thread, one per provider + email */
    /* The job in progress, for the ACME hooks (lock extension, order records, logs). */
    const char *cert_name;
    const char *order_request;  /* canonical request text of the issuance (store_orders.h) */
    const char *order_replaces; /* serial of the certificate being replaced, "" for none */
    /* Set with CP_EBUSY by ctl_work__issue when the order must wait (the account is rate limited
     * at its CA, or a cap of the provider is reached): when to try again, wall ms. */
    int64_t defer_until_ms;
    /* The provider (as the certificate's issuers name it) that issued in the issuance in progress,
     * "" before: ARI after issuance and the record's issued_by use it. Cleared after the commit. */
    char issued_by[520];
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
    ctl_work_thread_t beat;  /* keeps controller:{id} alive (work_presence.c) */
    ctl_work_thread_t ocsp;  /* OCSP responses for stapling (work_ocsp.c) */
    ctl_work_thread_t hooks; /* webhook fan-out and deliveries (work_webhook.c) */
    /* Who this process is (store_owner.h): 16 random hex digits drawn at start, and
     * "<controller-id>@<incarnation>", the owner of its locks. */
    char incarnation[17];
    char owner[CTL_STORE_OWNER_MAX];
    /* 1 while controller:{id} holds our incarnation: workers take jobs only then. */
    atomic_int present;
    /* Bumped by every account key rollover this controller made (work_account.c): a worker's
     * cached ACME client made under an older value holds a key that may be gone, and is remade. */
    atomic_uint account_gen;
};

/* Outcomes of one attempt at a job: acknowledge it, retry it soon (its certificate was locked), or
 * leave it pending (reclaimed after --job-timeout). */
enum { CTL_WORK_ACK = 0, CTL_WORK_DEFER = 1, CTL_WORK_LEAVE = 2 };

/* Adds delta to one counter of w->stats under the mutex. */
#define CTL_WORK_STAT(w, field, delta)                                                             \
    do {                                                                                           \
        pthread_mutex_lock(&(w)->mu);                                                              \
        (w)->stats.field += (delta);                                                               \
        pthread_mutex_unlock(&(w)->mu);                                                            \
    } while (0)

#endif
