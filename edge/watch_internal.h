/* SPDX-License-Identifier: Apache-2.0 */
/* watch_internal.h - internal to edge/watch*.c: applying stream events to a table version */
#ifndef EDGE_WATCH_INTERNAL_H
#define EDGE_WATCH_INTERNAL_H

#include <stdbool.h>

#include "certplane/v1/certplane.pb-c.h"
#include "edge/hamt.h"
#include "edge/watch.h"

typedef struct edge_watch__pool edge_watch__pool_t;

/** Called for an event whose certificate was parsed in the background and failed (a snapshot's
 *  UPSERTs are parsed on a pool of threads and applied, in order, at SNAPSHOT_END). */
typedef void (*edge_watch__error_fn)(void *arg, const char *name, int64_t revision,
                                     const cp_err_t *err);

/** What one stream has applied but not yet published. */
typedef struct edge_watch__batch {
    edge_certmap_t *builder; /* unpublished version, NULL when nothing is pending */
    edge_hamt_t seen_names;  /* certificates named in this snapshot (for SNAPSHOT_END) */
    edge_hamt_t seen_tokens; /* challenges set in this snapshot */
    bool in_snapshot;        /* between SNAPSHOT_BEGIN and SNAPSHOT_END: nothing may be published */
    bool saw_end;            /* SNAPSHOT_END seen on this stream */
    int64_t max_rev;         /* revision the events bring the table to (not inside a snapshot) */
    int64_t end_rev;         /* SNAPSHOT_END's revision */
    size_t n;                /* events in the pending batch */
    /* Set before the first event: threads that parse a snapshot's certificates while it streams
     * (0: parse each on the calling thread), and where their failures go (may be NULL). */
    int parse_threads;
    edge_watch__error_fn on_error;
    void *on_error_arg;
    edge_watch__pool_t *pool; /* private: the snapshot's parse jobs, NULL when none */
} edge_watch__batch_t;

/* The parts (each declares the functions of its .c file); included last, so that they see the
 * types above and users of this header keep the whole API. */
#include "edge/watch_apply.h"

#endif
