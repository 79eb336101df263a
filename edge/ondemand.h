/* SPDX-License-Identifier: Apache-2.0 */
/* ondemand.h - on-demand TLS on the edge: which unknown names to wait for, and the thread that asks
 * the controller (RequestOnDemandCertificate) */
#ifndef EDGE_ONDEMAND_H
#define EDGE_ONDEMAND_H

#include <stdbool.h>
#include <stdint.h>

#include "edge/metrics.h"
#include "edge/rpc.h"
#include "shared/err.h"

/*
 * The event loops (edge/park.h) hold a handshake for a name the edge has no certificate for and
 * ask here what to do with it. A name's first handshake queues one question to the controller;
 * every later handshake for it (on any loop) waits for that answer instead of asking again. The
 * answers are kept: ALLOWED for the wait plus 30 s (the certificate comes through Watch), a
 * refusal or cooldown for the controller's retry_after (5 s..300 s), a failed call for 5 s. At most
 * 4,096 names are known at once; beyond that (a flood of random names) a new name is answered
 * FALLBACK at once without a question. After each answer `wake` runs on the asking thread, so the
 * loops look at their waiting handshakes again.
 *
 * THREAD SAFETY: new/start/stop/free from the main thread; check and the park counter from any
 * loop thread (a mutex, taken only for names the edge has no certificate for).
 */
typedef struct edge_ondemand edge_ondemand_t;

typedef struct edge_ondemand_opts {
    edge_rpc_opts_t rpc;
    const char *edge_id;
    int64_t wait_ms; /* --on-demand-wait */
    int max_parked;  /* --on-demand-max-parked */
    void (*wake)(void *arg);
    void *wake_arg;
} edge_ondemand_opts_t;

typedef enum edge_ondemand_verdict {
    EDGE_ONDEMAND_WAIT = 0,     /* asked or allowed: hold the handshake for the certificate */
    EDGE_ONDEMAND_FALLBACK = 1, /* refused, cooling down, or too many names: go on at once */
} edge_ondemand_verdict_t;

/** Errors: CP_EINVAL (unreadable TLS files). `opts` strings and `m` must outlive it. */
int edge_ondemand_new(const edge_ondemand_opts_t *opts, edge_metrics_t *m, edge_ondemand_t **out,
                      cp_err_t *err);

/** Starts the asking thread. Errors: CP_EIO. */
int edge_ondemand_start(edge_ondemand_t *od, cp_err_t *err);

/** What to do with a handshake for `name` (an eligible name, edge/clienthello.h), queueing the
 *  question when the name is new. THREAD SAFETY: any thread. */
edge_ondemand_verdict_t edge_ondemand_check(edge_ondemand_t *od, const char *name);

/** Whether a held handshake for `name` should keep waiting: asked and not refused. Never queues a
 *  question. THREAD SAFETY: any thread. */
bool edge_ondemand_waiting(edge_ondemand_t *od, const char *name);

/** Takes one of the --on-demand-max-parked places (false: all taken); put it back with release. */
bool edge_ondemand_park_take(edge_ondemand_t *od);
void edge_ondemand_park_release(edge_ondemand_t *od);

/** Notes that a handshake was served certificate `cert` (the controller's certificate name), for
 *  the next ReportEdgeStatus (at most 4,096 names kept; the controller keeps the last use of
 *  on-demand ones). The loops call it at most once a minute per certificate. THREAD SAFETY: any. */
void edge_ondemand_used(edge_ondemand_t *od, const char *cert);

/** edge_watch_opts_t.used (arg: the edge_ondemand_t): moves up to max names noted by
 *  edge_ondemand_used into names (malloc'd; the caller frees each). THREAD SAFETY: any. */
size_t edge_ondemand_take_used(void *arg, char **names, size_t max);

/** How long a handshake waits (--on-demand-wait). */
int64_t edge_ondemand_wait_ms(const edge_ondemand_t *od);

/** Stops and joins the thread (a call in flight ends within its 5 s deadline). */
void edge_ondemand_stop(edge_ondemand_t *od);

/** Frees (after stop). NULL is a no-op. */
void edge_ondemand_free(edge_ondemand_t *od);

#endif
