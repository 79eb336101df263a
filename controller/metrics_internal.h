/* SPDX-License-Identifier: Apache-2.0 */
/* metrics_internal.h - between the metrics registry (metrics.c) and its store scrape
 * (metrics_scrape.c) */
#ifndef CTL_METRICS_INTERNAL_H
#define CTL_METRICS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Number of certplane.v1.State values (STATE_UNSPECIFIED = 0 ... REVOKED = 6). */
#define CTL_METRICS__N_STATES 7

/** One certificate's expiry gauge. */
typedef struct ctl_metrics__expiry {
    char *name;     /* malloc'd */
    double seconds; /* not_after - now; negative once expired */
} ctl_metrics__expiry_t;

/** What a scrape of the store found. */
typedef struct ctl_metrics__scrape {
    bool ok;                                  /* false: the store could not be listed */
    uint64_t by_state[CTL_METRICS__N_STATES]; /* indexed by the State value */
    ctl_metrics__expiry_t *expiry;
    size_t n_expiry;
} ctl_metrics__scrape_t;

/** Renders the registry plus `scrape` (NULL: no store gauges at all) as Prometheus text; returns a
 *  malloc'd NUL-terminated string and its length in *len. Aborts on out of memory. */
char *ctl_metrics__render(const ctl_metrics__scrape_t *scrape, size_t *len);

/** A growing text buffer (aborts on out of memory). */
typedef struct ctl_metrics__buf {
    char *p;
    size_t len, cap;
} ctl_metrics__buf_t;
/** Appends formatted text to b. */
void ctl_metrics__printf(ctl_metrics__buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Appends v to b escaped as a Prometheus label value (backslash, double quote, newline). */
void ctl_metrics__escape(ctl_metrics__buf_t *b, const char *v);

#endif
