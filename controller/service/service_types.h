/* SPDX-License-Identifier: Apache-2.0 */
/* service_types.h - the types the controller/service/ files share (types and macros only) */
#ifndef CTL_SERVICE_TYPES_H
#define CTL_SERVICE_TYPES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "controller/config/config.h"
#include "controller/service/relay.h"
#include "controller/service/service.h"
#include "controller/store/certcache.h"
#include "controller/store/certrepo.h"
#include "controller/store/store.h"

/* A configured bearer token, kept as its SHA-256 so comparisons take the same time whatever
 * matches. */
typedef struct ctl_service__token {
    unsigned char digest[32];
    unsigned scopes;
    char id[16]; /* first 4 characters and "…", for logs */
} ctl_service__token_t;

/* A loaded token table. */
typedef struct ctl_service__tokens {
    ctl_service__token_t *v;
    size_t n;
} ctl_service__tokens_t;

/* Open Watch streams of one token (ctl_caller_t.token_key); entries with none are removed. */
typedef struct ctl_service__watch_count {
    unsigned char key[32];
    int n;
    struct ctl_service__watch_count *next;
} ctl_service__watch_count_t;

struct ctl_service {
    const ctl_config_t *cfg; /* borrowed: outlives the service */
    ctl_store_opts_t store_opts;
    /* Replaced as a whole by ctl_service_reload_tokens (SIGHUP); read under the lock's read side.
     */
    pthread_rwlock_t tokens_lock;
    ctl_service__tokens_t tokens;
    ctl_relay_t *relay; /* NULL until ctl_service_start() */
    /* Key-less certificates for GetCertificate, kept current by the relay (certcache.h). */
    ctl_certcache_t *cache;
    /* Open Watch streams per token, bounded by --watch-max-per-token (service_watch.c). */
    pthread_mutex_t watch_mu;
    ctl_service__watch_count_t *watch_counts;
    ctl_work_t *work; /* borrowed, set by ctl_service_set_work(); NULL: no account operations */
};

struct ctl_thread {
    ctl_service_t *svc;
    ctl_store_t *store;
    ctl_certrepo_t repo; /* store and svc->cache: certificate records */
};

/* How often a write that lost a revision race (CP_ECONFLICT) is re-read and retried. */
#define CTL_SERVICE__RETRIES 5

#endif
