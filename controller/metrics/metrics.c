/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.c - the metrics registry (fixed label sets, atomics) and its Prometheus text rendering */
#include "controller/metrics/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/metrics/metrics_ondemand.h"
#include "shared/mem.h"
#include "shared/status.h"

/* A growing text buffer (aborts on out of memory). */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf_t;

static void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The label values are fixed here so that a client sending odd method names cannot grow the
 * registry. */
static const char *const k_transports[] = {"grpc", "http", "other"};
#define N_TRANSPORTS (sizeof(k_transports) / sizeof(k_transports[0]))

static const char *const k_methods[] = {"CreateCertificate",
                                        "GetCertificate",
                                        "ListCertificates",
                                        "DeleteCertificate",
                                        "RenewCertificate",
                                        "RevokeCertificate",
                                        "ImportCertificate",
                                        "Watch",
                                        "ReportEdgeStatus",
                                        "ListEdges",
                                        "Check",
                                        "RequestOnDemandCertificate",
                                        "other"};
#define N_METHODS (sizeof(k_methods) / sizeof(k_methods[0]))

#define N_CODES CP_GRPC_N_CODES

/* Upper bounds of the ACME latency buckets in seconds; +Inf is implicit. */
static const double k_buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define N_BUCKETS (sizeof(k_buckets) / sizeof(k_buckets[0]))

static const char *const k_states[CTL_METRICS_N_STATES] = {
    "STATE_UNSPECIFIED", "PENDING", "ISSUING", "VALID", "RENEWING", "FAILED", "REVOKED"};

static atomic_ulong g_requests[N_TRANSPORTS][N_METHODS][N_CODES];
static atomic_ulong g_acme_buckets[N_BUCKETS + 1]; /* not cumulative; the last is +Inf */
static atomic_ulong g_acme_count;
static _Atomic uint64_t g_acme_sum_bits; /* a double, updated with compare-and-swap */
static atomic_ulong g_issuances[2][2];   /* [renewal][ok] */
static atomic_long g_watch_streams[N_TRANSPORTS];
static atomic_ulong g_failovers;
/* OCSP stapling (issue 14) */
static atomic_ulong g_ocsp_fetches[2]; /* [ok] */
static atomic_ulong g_ocsp_stored;
static _Atomic int64_t g_ocsp_this_update_ms; /* of the newest response this controller stored */
/* webhooks (issue 16): deliveries by outcome, in k_webhook_outcomes order */
static const char *const k_webhook_outcomes[] = {"ok", "failed", "retried", "dead"};
static atomic_ulong g_webhooks[4];

static size_t index_of(const char *const *table, size_t n, const char *v)
{
    for (size_t i = 0; v != NULL && i + 1 < n; i++)
        if (strcmp(table[i], v) == 0)
            return i;
    return n - 1; /* "other" */
}

void ctl_metrics_request(const char *transport, const char *method, int grpc_code)
{
    if (method != NULL && strrchr(method, '/') != NULL)
        method = strrchr(method, '/') + 1;
    size_t ti = index_of(k_transports, N_TRANSPORTS, transport);
    size_t mi = index_of(k_methods, N_METHODS, method);
    int ci = (grpc_code >= 0 && grpc_code < N_CODES) ? grpc_code : CP_GRPC_UNKNOWN;
    atomic_fetch_add_explicit(&g_requests[ti][mi][ci], 1, memory_order_relaxed);
}

void ctl_metrics_acme_latency(double seconds)
{
    if (!(seconds > 0)) /* also catches NaN */
        seconds = 0;
    size_t b = 0;
    while (b < N_BUCKETS && seconds > k_buckets[b])
        b++;
    atomic_fetch_add_explicit(&g_acme_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_acme_count, 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&g_acme_sum_bits, memory_order_relaxed), nv;
    do {
        double d;
        memcpy(&d, &old, sizeof(d));
        d += seconds;
        memcpy(&nv, &d, sizeof(nv));
    } while (!atomic_compare_exchange_weak_explicit(&g_acme_sum_bits, &old, nv,
                                                    memory_order_relaxed, memory_order_relaxed));
}

void ctl_metrics_failover(void)
{
    atomic_fetch_add_explicit(&g_failovers, 1, memory_order_relaxed);
}

void ctl_metrics_issuance(bool renewal, bool ok)
{
    atomic_fetch_add_explicit(&g_issuances[renewal ? 1 : 0][ok ? 1 : 0], 1, memory_order_relaxed);
}

void ctl_metrics_webhook(const char *outcome)
{
    for (size_t i = 0; i < 4; i++)
        if (strcmp(k_webhook_outcomes[i], outcome) == 0)
            atomic_fetch_add_explicit(&g_webhooks[i], 1, memory_order_relaxed);
}

void ctl_metrics_watch_streams(const char *transport, int delta)
{
    size_t ti = index_of(k_transports, N_TRANSPORTS, transport);
    atomic_fetch_add_explicit(&g_watch_streams[ti], delta, memory_order_relaxed);
}

/* --- OCSP stapling (issue 14) --- */
void ctl_metrics_ocsp_fetch(bool ok)
{
    atomic_fetch_add_explicit(&g_ocsp_fetches[ok ? 1 : 0], 1, memory_order_relaxed);
}

void ctl_metrics_ocsp_stored(int64_t this_update_ms)
{
    atomic_fetch_add_explicit(&g_ocsp_stored, 1, memory_order_relaxed);
    atomic_store_explicit(&g_ocsp_this_update_ms, this_update_ms, memory_order_relaxed);
}

/* --- end OCSP stapling --- */

void ctl_metrics_reset(void)
{
    for (size_t t = 0; t < N_TRANSPORTS; t++) {
        for (size_t m = 0; m < N_METHODS; m++)
            for (size_t c = 0; c < N_CODES; c++)
                atomic_store(&g_requests[t][m][c], 0);
        atomic_store(&g_watch_streams[t], 0);
    }
    for (size_t b = 0; b <= N_BUCKETS; b++)
        atomic_store(&g_acme_buckets[b], 0);
    atomic_store(&g_acme_count, 0);
    atomic_store(&g_failovers, 0);
    atomic_store(&g_ocsp_fetches[0], 0);
    atomic_store(&g_ocsp_fetches[1], 0);
    atomic_store(&g_ocsp_stored, 0);
    atomic_store(&g_ocsp_this_update_ms, 0);
    atomic_store(&g_acme_sum_bits, 0);
    ctl_metrics_ondemand_reset();
    for (int r = 0; r < 2; r++)
        for (int o = 0; o < 2; o++)
            atomic_store(&g_issuances[r][o], 0);
    for (size_t i = 0; i < 4; i++)
        atomic_store(&g_webhooks[i], 0);
}

/* ---- text buffer ---- */

static void buf_printf(buf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            abort();
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->p = cp_xrealloc(b->p, b->cap);
    }
}

static void buf_escape(buf_t *b, const char *v)
{
    for (const char *s = v; *s != '\0'; s++) {
        if (*s == '\\')
            buf_printf(b, "\\\\");
        else if (*s == '"')
            buf_printf(b, "\\\"");
        else if (*s == '\n')
            buf_printf(b, "\\n");
        else
            buf_printf(b, "%c", *s);
    }
}

static void header(buf_t *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- rendering ---- */

static void render_requests(buf_t *b)
{
    header(b, "certplane_requests_total", "counter",
           "RPCs answered, by transport, method and gRPC status code.");
    for (size_t t = 0; t < N_TRANSPORTS; t++)
        for (size_t m = 0; m < N_METHODS; m++)
            for (size_t c = 0; c < N_CODES; c++) {
                unsigned long v = atomic_load_explicit(&g_requests[t][m][c], memory_order_relaxed);
                if (v != 0) /* series appear when first used, as usual for labelled counters */
                    buf_printf(b,
                               "certplane_requests_total{transport=\"%s\",method=\"%s\","
                               "code=\"%s\"} %lu\n",
                               k_transports[t], k_methods[m], cp_grpc_status_name((int)c), v);
            }
}

static void render_acme(buf_t *b)
{
    header(b, "certplane_acme_request_duration_seconds", "histogram",
           "Duration of ACME HTTP requests to the CA.");
    unsigned long cum = 0;
    for (size_t i = 0; i <= N_BUCKETS; i++) {
        cum += atomic_load_explicit(&g_acme_buckets[i], memory_order_relaxed);
        if (i < N_BUCKETS)
            buf_printf(b, "certplane_acme_request_duration_seconds_bucket{le=\"%g\"} %lu\n",
                       k_buckets[i], cum);
        else
            buf_printf(b, "certplane_acme_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
    }
    uint64_t bits = atomic_load_explicit(&g_acme_sum_bits, memory_order_relaxed);
    double sum;
    memcpy(&sum, &bits, sizeof(sum));
    buf_printf(b, "certplane_acme_request_duration_seconds_sum %.9g\n", sum);
    /* The count is the +Inf bucket, so the histogram is self-consistent even during updates. */
    buf_printf(b, "certplane_acme_request_duration_seconds_count %lu\n", cum);
}

/* OCSP stapling (issue 14) */
static void render_ocsp(buf_t *b)
{
    header(b, "certplane_ocsp_fetches_total", "counter",
           "OCSP responses fetched for stapling, by outcome (failed: transport, HTTP or "
           "verification).");
    for (int ok = 1; ok >= 0; ok--)
        buf_printf(b, "certplane_ocsp_fetches_total{result=\"%s\"} %lu\n", ok ? "ok" : "failed",
                   atomic_load_explicit(&g_ocsp_fetches[ok], memory_order_relaxed));
    header(b, "certplane_ocsp_responses_stored_total", "counter",
           "Verified OCSP responses stored and streamed to the edges.");
    buf_printf(b, "certplane_ocsp_responses_stored_total %lu\n",
               atomic_load_explicit(&g_ocsp_stored, memory_order_relaxed));
    int64_t at = atomic_load_explicit(&g_ocsp_this_update_ms, memory_order_relaxed);
    if (at <= 0)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    header(b, "certplane_ocsp_response_age_seconds", "gauge",
           "Age (now - thisUpdate) of the newest OCSP response this controller stored.");
    buf_printf(b, "certplane_ocsp_response_age_seconds %.0f\n",
               floor((double)now.tv_sec - (double)at / 1000.0));
}
static void render_issuances(buf_t *b)
{
    header(b, "certplane_issuances_total", "counter",
           "Finished certificate issuances and renewals, by outcome.");
    for (int r = 0; r < 2; r++)
        for (int o = 1; o >= 0; o--)
            buf_printf(b, "certplane_issuances_total{kind=\"%s\",result=\"%s\"} %lu\n",
                       r ? "renew" : "issue", o ? "success" : "failure",
                       atomic_load_explicit(&g_issuances[r][o], memory_order_relaxed));
    header(b, "certplane_acme_failovers_total", "counter",
           "Issuances moved on from a failed issuer to the next of the certificate's issuers.");
    buf_printf(b, "certplane_acme_failovers_total %lu\n",
               atomic_load_explicit(&g_failovers, memory_order_relaxed));
    header(b, "certplane_webhook_deliveries_total", "counter",
           "Webhook delivery attempts by outcome: ok (2xx), failed (any other answer or none), "
           "retried (a failure scheduled again), dead (given up: in the dead-letter list).");
    for (size_t i = 0; i < 4; i++)
        buf_printf(b, "certplane_webhook_deliveries_total{result=\"%s\"} %lu\n",
                   k_webhook_outcomes[i],
                   atomic_load_explicit(&g_webhooks[i], memory_order_relaxed));
    header(b, "certplane_watch_streams", "gauge", "Open Watch streams, by transport.");
    for (size_t t = 0; t + 1 < N_TRANSPORTS; t++)
        buf_printf(b, "certplane_watch_streams{transport=\"%s\"} %ld\n", k_transports[t],
                   atomic_load_explicit(&g_watch_streams[t], memory_order_relaxed));
}

/* One per-certificate gauge of Unix times; certificates whose value is 0 have no series. */
static void render_times(buf_t *b, const ctl_metrics_certs_t *s, const char *metric,
                         const char *help, size_t offset)
{
    header(b, metric, "gauge", help);
    for (size_t i = 0; i < s->n_expiry; i++) {
        double v;
        memcpy(&v, (const char *)&s->expiry[i] + offset, sizeof(v));
        if (v == 0)
            continue;
        buf_printf(b, "%s{name=\"", metric);
        buf_escape(b, s->expiry[i].name);
        buf_printf(b, "\"} %.0f\n", floor(v));
    }
}

/* The renewal time and the ARI window (RFC 9773) of every certificate. */
static void render_renewal(buf_t *b, const ctl_metrics_certs_t *s)
{
    render_times(b, s, "certplane_certificate_renew_time_seconds",
                 "When the certificate is due for renewal (Unix time): inside the ARI window when "
                 "the CA offers one, else by the lifetime rule.",
                 offsetof(ctl_metrics_expiry_t, renew_at));
    render_times(b, s, "certplane_certificate_ari_window_start_seconds",
                 "Start of the renewal window the CA suggests (ARI, RFC 9773), Unix time.",
                 offsetof(ctl_metrics_expiry_t, ari_start));
    render_times(b, s, "certplane_certificate_ari_window_end_seconds",
                 "End of the renewal window the CA suggests (ARI, RFC 9773), Unix time.",
                 offsetof(ctl_metrics_expiry_t, ari_end));
    header(b, "certplane_certificate_ari_explanation_info", "gauge",
           "1 for a certificate whose ARI window comes with an explanationURL (label url).");
    for (size_t i = 0; i < s->n_expiry; i++) {
        if (s->expiry[i].ari_explanation == NULL || s->expiry[i].ari_explanation[0] == '\0')
            continue;
        buf_printf(b, "certplane_certificate_ari_explanation_info{name=\"");
        buf_escape(b, s->expiry[i].name);
        buf_printf(b, "\",url=\"");
        buf_escape(b, s->expiry[i].ari_explanation);
        buf_printf(b, "\"} 1\n");
    }
    header(b, "certplane_certificate_issuer_info", "gauge",
           "1 for every issued certificate, with the provider that issued it (label issued_by).");
    for (size_t i = 0; i < s->n_expiry; i++) {
        if (s->expiry[i].issued_by == NULL || s->expiry[i].issued_by[0] == '\0')
            continue;
        buf_printf(b, "certplane_certificate_issuer_info{name=\"");
        buf_escape(b, s->expiry[i].name);
        buf_printf(b, "\",issued_by=\"");
        buf_escape(b, s->expiry[i].issued_by);
        buf_printf(b, "\"} 1\n");
    }
}

static void render_scrape(buf_t *b, const ctl_metrics_certs_t *s)
{
    header(b, "certplane_certificates_scrape_success", "gauge",
           "1 when the certificate store could be listed for this scrape.");
    buf_printf(b, "certplane_certificates_scrape_success %d\n", s->ok ? 1 : 0);
    if (!s->ok)
        return;
    header(b, "certplane_certificates", "gauge", "Managed certificates, by state.");
    for (size_t i = 1; i < CTL_METRICS_N_STATES; i++)
        buf_printf(b, "certplane_certificates{state=\"%s\"} %llu\n", k_states[i],
                   (unsigned long long)s->by_state[i]);
    header(b, "certplane_certificate_expiry_seconds", "gauge",
           "Seconds until the current certificate expires (negative once expired).");
    for (size_t i = 0; i < s->n_expiry; i++) {
        buf_printf(b, "certplane_certificate_expiry_seconds{name=\"");
        buf_escape(b, s->expiry[i].name);
        buf_printf(b, "\"} %.0f\n", floor(s->expiry[i].seconds));
    }
    render_renewal(b, s);
}

char *ctl_metrics_render_text(const ctl_metrics_certs_t *scrape, size_t *len)
{
    buf_t b = {0};
    buf_printf(&b, "# HELP certplane_build_info Build of this controller.\n"
                   "# TYPE certplane_build_info gauge\n");
#ifdef CERTPLANE_VERSION
    buf_printf(&b, "certplane_build_info{version=\"%s\"} 1\n", CERTPLANE_VERSION);
#endif
    render_requests(&b);
    render_acme(&b);
    render_issuances(&b);
    render_ocsp(&b);
    size_t od_len = 0; /* on-demand TLS (issue 14) */
    char *od = ctl_metrics_ondemand_text(&od_len);
    buf_printf(&b, "%s", od);
    free(od);
    if (scrape != NULL)
        render_scrape(&b, scrape);
    *len = b.len;
    return b.p;
}
