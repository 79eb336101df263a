/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.h - the edge's counters and gauges (atomics), rendered as Prometheus text */
#ifndef EDGE_METRICS_H
#define EDGE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#include "edge/sni.h"

/** Counters shared by every thread. THREAD SAFETY: any thread (relaxed atomics). */
typedef struct edge_metrics {
    atomic_ullong requests[6]; /* by status class: [1]..[5] = 1xx..5xx, [0] = other */
    atomic_ullong upstream_errors;
    atomic_int stream_connected; /* 0/1 */
    atomic_int ready;            /* 1 after the first snapshot was applied */
    atomic_llong revision;       /* last revision applied */
    atomic_ullong swaps;         /* table versions published */
    atomic_ullong events;        /* stream events applied */
    atomic_ullong apply_errors;  /* events rejected (e.g. a key that does not match) */
    atomic_ullong reconnects;
    atomic_int connections;             /* client connections open on every listener */
    atomic_ullong connections_rejected; /* closed at once: --max-connections reached */
    atomic_ullong heap_trims;           /* heap given back after a burst of connections ended */
    /* ---- on-demand TLS (issue 14; edge/ondemand.h, edge/park.h) ---- */
    atomic_ullong od_asks;             /* questions queued to the controller */
    atomic_int od_parked;              /* handshakes held now */
    atomic_ullong od_resumed_cert;     /* held handshakes that went on with the new certificate */
    atomic_ullong od_resumed_fallback; /* held handshakes that went on with the fallback */
    atomic_ullong od_fallback_refused; /* handshakes of a refused name: the fallback at once */
    atomic_ullong od_park_full;        /* not held: --on-demand-max-parked reached */
    atomic_ullong od_refused;          /* controller answers: refused or cooldown */
    atomic_ullong od_errors;           /* questions that failed (controller unreachable) */
    atomic_ullong od_names_full;       /* new names answered at once: the name table was full */
    /* ---- end on-demand TLS ---- */
} edge_metrics_t;

/** Writes the Prometheus text exposition of `m`, the handshake counters of `sni` and the current
 *  table's size into buf (at most size bytes, NUL-terminated). Returns the length written.
 *  THREAD SAFETY: a loop thread (it reads the current table). */
size_t edge_metrics_render(const edge_metrics_t *m, edge_sni_t *sni, char *buf, size_t size);

#endif
