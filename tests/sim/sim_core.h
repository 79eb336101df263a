/* SPDX-License-Identifier: Apache-2.0 */
/* sim_core.h - the virtual clock of the renewal simulation: an event heap ordered by due time (ties
 * in push order) and a seeded generator, so a run is deterministic and never sleeps */
#ifndef SIM_CORE_H
#define SIM_CORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * THREAD SAFETY (whole module): one thread per heap or generator state.
 */

/** One event: at `at` (virtual Unix ms), of `kind`, for certificate `id`; `gen` lets the model drop
 * an entry that a later one replaced (the way ZADD overwrites a score in certs:by_expiry). */
typedef struct sim_ev {
    int64_t at;
    uint64_t seq;
    int kind;
    int id;
    uint32_t gen;
} sim_ev_t;

typedef struct sim_heap {
    sim_ev_t *v;
    size_t n, cap;
    uint64_t seq;
} sim_heap_t;

/** Adds an event (the heap grows as needed, cp_xrealloc). */
void sim_heap_push(sim_heap_t *h, int64_t at, int kind, int id, uint32_t gen);

/** Takes the earliest event into *out: 1, or 0 when the heap is empty. */
int sim_heap_pop(sim_heap_t *h, sim_ev_t *out);

/** Frees the heap's storage (the struct itself is the caller's). */
void sim_heap_dispose(sim_heap_t *h);

/** The next value of a splitmix64 generator whose state is *s. */
uint64_t sim_rand(uint64_t *s);

/** A uniform double in [0, 1) from *s. */
double sim_unit(uint64_t *s);

#endif
