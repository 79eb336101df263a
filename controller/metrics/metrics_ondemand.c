/* SPDX-License-Identifier: Apache-2.0 */
/* metrics_ondemand.c - on-demand TLS counters (metrics_ondemand.h) */
#include "controller/metrics/metrics_ondemand.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"

static const char *const k_decisions[] = {"allowed", "refused", "cooldown"};
#define N_DECISIONS 3
static const char *const k_reasons[] = {"created",  "exists",  "pattern",  "ask",  "rate",
                                        "cooldown", "invalid", "disabled", "other"};
#define N_REASONS (sizeof k_reasons / sizeof k_reasons[0])
/* Time to certificate, seconds; +Inf is implicit. */
static const double k_buckets[] = {1, 2, 5, 10, 20, 30, 60, 120, 300};
#define N_BUCKETS (sizeof k_buckets / sizeof k_buckets[0])

static atomic_ulong g_decisions[N_DECISIONS][N_REASONS];
static atomic_ulong g_buckets[N_BUCKETS + 1]; /* not cumulative */
static atomic_ullong g_sum_ms;

static size_t find(const char *const *t, size_t n, const char *v)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        if (strcmp(t[i], v) == 0)
            return i;
    return n; /* not found */
}

void ctl_metrics_ondemand_decision(const char *decision, const char *reason)
{
    size_t d = find(k_decisions, N_DECISIONS, decision);
    size_t r = find(k_reasons, N_REASONS, reason);
    if (d == N_DECISIONS)
        return;
    atomic_fetch_add_explicit(&g_decisions[d][r < N_REASONS ? r : N_REASONS - 1], 1,
                              memory_order_relaxed);
}

void ctl_metrics_ondemand_ready(double seconds)
{
    if (!(seconds > 0))
        seconds = 0;
    size_t b = 0;
    while (b < N_BUCKETS && seconds > k_buckets[b])
        b++;
    atomic_fetch_add_explicit(&g_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_sum_ms, (unsigned long long)(seconds * 1000.0),
                              memory_order_relaxed);
}

#define TEXT_MAX 8192

char *ctl_metrics_ondemand_text(size_t *len)
{
    char *p = cp_xmalloc(TEXT_MAX);
    size_t o = 0;
#define PUT(...) o += (size_t)snprintf(p + o, o < TEXT_MAX ? TEXT_MAX - o : 0, __VA_ARGS__)
    PUT("# HELP certplane_ondemand_requests_total On-demand certificate requests from edges, by "
        "decision and reason.\n# TYPE certplane_ondemand_requests_total counter\n");
    for (size_t d = 0; d < N_DECISIONS; d++)
        for (size_t r = 0; r < N_REASONS; r++) {
            unsigned long v = atomic_load_explicit(&g_decisions[d][r], memory_order_relaxed);
            if (v > 0)
                PUT("certplane_ondemand_requests_total{decision=\"%s\",reason=\"%s\"} %lu\n",
                    k_decisions[d], k_reasons[r], v);
        }
    PUT("# HELP certplane_ondemand_time_to_certificate_seconds From an on-demand certificate's "
        "creation to its first issuance.\n"
        "# TYPE certplane_ondemand_time_to_certificate_seconds histogram\n");
    unsigned long cum = 0;
    for (size_t b = 0; b <= N_BUCKETS; b++) {
        cum += atomic_load_explicit(&g_buckets[b], memory_order_relaxed);
        if (b < N_BUCKETS)
            PUT("certplane_ondemand_time_to_certificate_seconds_bucket{le=\"%g\"} %lu\n",
                k_buckets[b], cum);
        else
            PUT("certplane_ondemand_time_to_certificate_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
    }
    PUT("certplane_ondemand_time_to_certificate_seconds_sum %.3f\n"
        "certplane_ondemand_time_to_certificate_seconds_count %lu\n",
        (double)atomic_load_explicit(&g_sum_ms, memory_order_relaxed) / 1000.0, cum);
#undef PUT
    *len = o < TEXT_MAX ? o : TEXT_MAX - 1;
    return p;
}

void ctl_metrics_ondemand_reset(void)
{
    for (size_t d = 0; d < N_DECISIONS; d++)
        for (size_t r = 0; r < N_REASONS; r++)
            atomic_store(&g_decisions[d][r], 0);
    for (size_t b = 0; b <= N_BUCKETS; b++)
        atomic_store(&g_buckets[b], 0);
    atomic_store(&g_sum_ms, 0);
}
