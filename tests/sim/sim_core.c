/* SPDX-License-Identifier: Apache-2.0 */
/* sim_core.c - event heap and generator of the renewal simulation (sim_core.h) */
#include "tests/sim/sim_core.h"

#include <stdlib.h>

#include "shared/mem.h"

static int before(const sim_ev_t *a, const sim_ev_t *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

void sim_heap_push(sim_heap_t *h, int64_t at, int kind, int id, uint32_t gen)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->v = cp_xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    sim_ev_t e = {.at = at, .seq = h->seq++, .kind = kind, .id = id, .gen = gen};
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&e, &h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
}

int sim_heap_pop(sim_heap_t *h, sim_ev_t *out)
{
    if (h->n == 0)
        return 0;
    *out = h->v[0];
    sim_ev_t last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const sim_ev_t *best = &last;
        if (l < h->n && before(&h->v[l], best))
            m = l, best = &h->v[l];
        if (l + 1 < h->n && before(&h->v[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n > 0)
        h->v[i] = last;
    return 1;
}

void sim_heap_dispose(sim_heap_t *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

uint64_t sim_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

double sim_unit(uint64_t *s)
{
    return (double)(sim_rand(s) >> 11) / 9007199254740992.0;
}
