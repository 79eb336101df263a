/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_internal.h - the gateway server object its files share (types only: every function is
 * declared by the header of the file that defines it) */
#ifndef CTL_GATEWAY_INTERNAL_H
#define CTL_GATEWAY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <h2o.h>

#include "controller/gateway/gateway.h"
#include "controller/service/service.h"

/* The request body limit; opts.max_body may lower it. */
#define CTL_GATEWAY__MAX_BODY (1024 * 1024)

typedef struct ctl_gateway__watch ctl_gateway__watch_t;

/* Slots of the loop's cache of encoded GetCertificate answers (direct-mapped by name). */
#define CTL_GATEWAY__JSON_SLOTS 1024

/* One encoded key-less certificate: its protobuf encoding (the key: equal bytes encode to the same
 * JSON, whatever revisions mean after a Redis reset) and its JSON text. */
typedef struct ctl_gateway__json_slot {
    uint8_t *packed; /* NULL: empty */
    size_t packed_len;
    char *text;
    size_t len;
} ctl_gateway__json_slot_t;

struct ctl_gateway {
    ctl_service_t *svc;
    struct ctl_gateway_pool *pool; /* service threads: everything that may wait on Redis */
    ctl_gateway_opts_t opts;
    pthread_t thread;
    atomic_int stop;
    atomic_int watchers;
    int fd;
    int port;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_evloop_t *loop;
    h2o_socket_t *listener;
    /* Watch plumbing: sinks on other threads put streams on `dirty` and wake the loop with one
     * message, which is never queued twice (wake_pending), so it can live in this struct. */
    h2o_multithread_receiver_t rx;
    h2o_multithread_message_t wake_msg;
    pthread_mutex_t dirty_mu;
    ctl_gateway__watch_t *dirty; /* each holds a reference */
    bool wake_pending;
    h2o_linklist_t watches; /* open streams; loop thread only */
    h2o_timeout_t check_timeout;
    h2o_timeout_entry_t check_entry;
    ctl_gateway__json_slot_t json_cache[CTL_GATEWAY__JSON_SLOTS]; /* loop thread only */
    uint8_t *json_scratch; /* loop thread only: the packed answer being looked up */
    size_t json_scratch_size;
    struct ctl_gateway__acme *acme; /* HTTP-01 answers; NULL without a lookup */
};

#endif
