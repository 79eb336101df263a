/* SPDX-License-Identifier: Apache-2.0 */
/* watch.h - the watch client thread: certificates and challenges streamed from the controllers */
#ifndef EDGE_WATCH_H
#define EDGE_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "edge/metrics.h"
#include "edge/sni.h"
#include "shared/err.h"

/*
 * One thread calls /certplane.v1.Certificates/Watch on the controllers (tried in turn) with the
 * edge's bearer token, applies the events to a new table version and publishes it (edge_sni_swap)
 * when a burst of events is over (several events, one swap). It reconnects from the last applied
 * revision with capped exponential back-off and jitter; meanwhile the loops serve the last table.
 * After each published batch, and every report interval, it calls ReportEdgeStatus.
 *
 * Snapshot handling: a stream that starts with SNAPSHOT_BEGIN is a snapshot. Its events build a new
 * table version that is published in one swap at SNAPSHOT_END, with every certificate and challenge
 * the snapshot did not name dropped, and the resume revision set to SNAPSHOT_END's; a stream cut
 * before SNAPSHOT_END publishes nothing and asks again from the old revision. A stream without
 * SNAPSHOT_BEGIN is a replay in revision order (as are the live events after a snapshot): each
 * published burst moves the resume revision to its last event. Controllers must send
 * SNAPSHOT_BEGIN (older ones do not; upgrade controllers before edges).
 *
 * THREAD SAFETY: new/start/stop/free from the main thread; everything else is on the watch thread.
 */
typedef struct edge_watch edge_watch_t;

typedef struct edge_watch_opts {
    const char *const *targets; /* host:port, at least one */
    size_t n_targets;
    const char *token;       /* may be NULL */
    const char *ca_file;     /* NULL: plaintext */
    const char *cert_file;   /* mTLS, may be NULL */
    const char *key_file;    /* mTLS, may be NULL */
    const char *server_name; /* TLS name override, may be NULL */
    const char *edge_id;
    int64_t report_interval_ms;
    int64_t backoff_max_ms;
    /* Called with each replaced table version: release it once no reader can hold it. */
    void (*retire)(void *arg, edge_certmap_t *old);
    void *retire_arg;
    /* On-demand TLS (issue 14), may be NULL: moves up to max certificate names served lately into
     * names (malloc'd, freed by the caller), sent in ReportEdgeStatus.on_demand_used. */
    size_t (*used)(void *arg, char **names, size_t max);
    void *used_arg;
} edge_watch_opts_t;

/** Prepares the client (reads the TLS files). `opts` strings, `sni` and `metrics` must outlive it.
 *  Errors: CP_EINVAL (unreadable file). */
int edge_watch_new(const edge_watch_opts_t *opts, edge_sni_t *sni, edge_metrics_t *metrics,
                   edge_watch_t **out, cp_err_t *err);

/** Starts the watch thread. Errors: CP_EIO. */
int edge_watch_start(edge_watch_t *w, cp_err_t *err);

/** Cancels the stream and joins the thread (within about 300 ms). */
void edge_watch_stop(edge_watch_t *w);

/** Frees the client (after stop). NULL is a no-op. */
void edge_watch_free(edge_watch_t *w);

#endif
