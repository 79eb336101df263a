/* SPDX-License-Identifier: Apache-2.0 */
/* metrics_internal.h - the text buffer of the metrics registry (metrics.c) */
#ifndef CTL_METRICS_INTERNAL_H
#define CTL_METRICS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
