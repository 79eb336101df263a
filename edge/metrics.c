/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.c - the edge's counters and gauges (atomics), rendered as Prometheus text */
#include "edge/metrics.h"
#include "edge/ocsp.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct out {
    char *buf;
    size_t size, len;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out_t *o, const char *fmt, ...)
{
    if (o->len >= o->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len = o->len + (size_t)n < o->size ? o->len + (size_t)n : o->size - 1;
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

/* On-demand TLS (issue 14). */
static void render_ondemand(out_t *o, const edge_metrics_t *m)
{
    put(o,
        "# HELP certplane_edge_ondemand_asks_total On-demand certificate questions sent to the "
        "controller.\n# TYPE certplane_edge_ondemand_asks_total counter\n"
        "certplane_edge_ondemand_asks_total %llu\n"
        "# HELP certplane_edge_ondemand_parked Handshakes held for an on-demand certificate now.\n"
        "# TYPE certplane_edge_ondemand_parked gauge\ncertplane_edge_ondemand_parked %d\n",
        LOAD(m->od_asks), atomic_load(&m->od_parked));
    put(o,
        "# HELP certplane_edge_ondemand_handshakes_total Handshakes of names without a "
        "certificate, by outcome.\n# TYPE certplane_edge_ondemand_handshakes_total counter\n"
        "certplane_edge_ondemand_handshakes_total{outcome=\"certificate\"} %llu\n"
        "certplane_edge_ondemand_handshakes_total{outcome=\"fallback_wait\"} %llu\n"
        "certplane_edge_ondemand_handshakes_total{outcome=\"fallback_refused\"} %llu\n"
        "certplane_edge_ondemand_handshakes_total{outcome=\"fallback_full\"} %llu\n",
        LOAD(m->od_resumed_cert), LOAD(m->od_resumed_fallback), LOAD(m->od_fallback_refused),
        LOAD(m->od_park_full) + LOAD(m->od_names_full));
    put(o,
        "# HELP certplane_edge_ondemand_refused_total Controller answers that refused a name or "
        "asked to wait.\n# TYPE certplane_edge_ondemand_refused_total counter\n"
        "certplane_edge_ondemand_refused_total %llu\n"
        "# TYPE certplane_edge_ondemand_errors_total counter\n"
        "certplane_edge_ondemand_errors_total %llu\n",
        LOAD(m->od_refused), LOAD(m->od_errors));
}

size_t edge_metrics_render(const edge_metrics_t *m, edge_sni_t *sni, char *buf, size_t size)
{
    out_t o = {buf, size, 0};
    if (size == 0)
        return 0;
    buf[0] = '\0';
    static const char *const how[EDGE_MATCH_KINDS] = {"exact", "wildcard", "fallback", "ip"};
    put(&o, "# HELP certplane_edge_tls_handshakes_total TLS handshakes by certificate match.\n"
            "# TYPE certplane_edge_tls_handshakes_total counter\n");
    for (int i = 0; i < EDGE_MATCH_KINDS; i++)
        put(&o, "certplane_edge_tls_handshakes_total{match=\"%s\"} %llu\n", how[i],
            LOAD(sni->handshakes[i]));
    put(&o,
        "# HELP certplane_edge_tls_tickets_rejected_total Session tickets of another "
        "certificate refused.\n# TYPE certplane_edge_tls_tickets_rejected_total counter\n"
        "certplane_edge_tls_tickets_rejected_total %llu\n",
        LOAD(sni->tickets_rejected));
    put(&o,
        "# HELP certplane_edge_acme_tls_alpn_answered_total acme-tls/1 handshakes answered with "
        "a TLS-ALPN-01 validation certificate.\n"
        "# TYPE certplane_edge_acme_tls_alpn_answered_total counter\n"
        "certplane_edge_acme_tls_alpn_answered_total %llu\n",
        LOAD(sni->alpn_answered));
    put(&o,
        "# HELP certplane_edge_tls_tickets_renewed_total Session tickets sealed with an older "
        "fleet "
        "key, accepted and re-issued.\n# TYPE certplane_edge_tls_tickets_renewed_total counter\n"
        "certplane_edge_tls_tickets_renewed_total %llu\n",
        LOAD(sni->tickets_renewed));
    put(&o,
        "# HELP certplane_edge_tls_tickets_resumed_total Handshakes resumed from a session ticket "
        "(sealed with the fleet's keys: made by this edge or any other).\n"
        "# TYPE certplane_edge_tls_tickets_resumed_total counter\n"
        "certplane_edge_tls_tickets_resumed_total %llu\n",
        LOAD(sni->tickets_resumed));
    edge_cert_cache_stats_t cs;
    edge_cert_cache_stats(&cs);
    put(&o,
        "# HELP certplane_edge_cert_cache Certificates kept parsed for handshakes (--cert-cache).\n"
        "# TYPE certplane_edge_cert_cache gauge\ncertplane_edge_cert_cache %zu\n"
        "# TYPE certplane_edge_cert_cache_hits_total counter\n"
        "certplane_edge_cert_cache_hits_total %llu\n"
        "# HELP certplane_edge_cert_cache_misses_total Handshakes that parsed their certificate.\n"
        "# TYPE certplane_edge_cert_cache_misses_total counter\n"
        "certplane_edge_cert_cache_misses_total %llu\n"
        "# TYPE certplane_edge_cert_cache_evictions_total counter\n"
        "certplane_edge_cert_cache_evictions_total %llu\n"
        "# HELP certplane_edge_cert_bad_total Certificates that failed to parse at their first "
        "handshake (never served: the fallback was).\n"
        "# TYPE certplane_edge_cert_bad_total counter\ncertplane_edge_cert_bad_total %llu\n",
        cs.held, cs.hits, cs.misses, cs.evictions, cs.bad);
    /* OCSP stapling (issue 14) */
    edge_ocsp_stats_t os;
    edge_ocsp_get_stats(&os);
    put(&o,
        "# HELP certplane_edge_ocsp_stapled_total Handshakes that asked for certificate status and "
        "got a stapled OCSP response.\n# TYPE certplane_edge_ocsp_stapled_total counter\n"
        "certplane_edge_ocsp_stapled_total %llu\n"
        "# HELP certplane_edge_ocsp_stale_skipped_total Handshakes that asked for certificate "
        "status "
        "whose OCSP response had passed its nextUpdate (not stapled).\n"
        "# TYPE certplane_edge_ocsp_stale_skipped_total counter\n"
        "certplane_edge_ocsp_stale_skipped_total %llu\n"
        "# HELP certplane_edge_ocsp_responses OCSP responses held for stapling.\n"
        "# TYPE certplane_edge_ocsp_responses gauge\ncertplane_edge_ocsp_responses %llu\n",
        os.stapled, os.stale_skipped, os.held);
    edge_certmap_t *map = edge_sni_current0(sni);
    put(&o,
        "# HELP certplane_edge_certificates Certificates held.\n"
        "# TYPE certplane_edge_certificates gauge\ncertplane_edge_certificates %zu\n",
        edge_certmap_count(map));
    put(&o,
        "# HELP certplane_edge_challenges HTTP-01 answers held.\n"
        "# TYPE certplane_edge_challenges gauge\ncertplane_edge_challenges %zu\n",
        edge_certmap_challenge_count(map));
    put(&o,
        "# HELP certplane_edge_revision Revision of the applied certificate table.\n"
        "# TYPE certplane_edge_revision gauge\ncertplane_edge_revision %lld\n",
        (long long)atomic_load(&m->revision));
    put(&o,
        "# HELP certplane_edge_stream_connected 1 while the Watch stream is up.\n"
        "# TYPE certplane_edge_stream_connected gauge\ncertplane_edge_stream_connected %d\n",
        atomic_load(&m->stream_connected));
    put(&o,
        "# HELP certplane_edge_ready 1 once the first snapshot is applied.\n"
        "# TYPE certplane_edge_ready gauge\ncertplane_edge_ready %d\n",
        atomic_load(&m->ready));
    put(&o, "# HELP certplane_edge_http_requests_total Requests by status class.\n"
            "# TYPE certplane_edge_http_requests_total counter\n");
    for (int i = 1; i <= 5; i++)
        put(&o, "certplane_edge_http_requests_total{code=\"%dxx\"} %llu\n", i,
            LOAD(m->requests[i]));
    put(&o,
        "# HELP certplane_edge_upstream_errors_total Proxied requests answered 502-504.\n"
        "# TYPE certplane_edge_upstream_errors_total counter\n"
        "certplane_edge_upstream_errors_total %llu\n",
        LOAD(m->upstream_errors));
    put(&o,
        "# TYPE certplane_edge_table_swaps_total counter\ncertplane_edge_table_swaps_total %llu\n"
        "# TYPE certplane_edge_events_total counter\ncertplane_edge_events_total %llu\n"
        "# TYPE certplane_edge_event_errors_total counter\n"
        "certplane_edge_event_errors_total %llu\n"
        "# TYPE certplane_edge_reconnects_total counter\ncertplane_edge_reconnects_total %llu\n",
        LOAD(m->swaps), LOAD(m->events), LOAD(m->apply_errors), LOAD(m->reconnects));
    put(&o,
        "# HELP certplane_edge_connections Client connections open (every listener).\n"
        "# TYPE certplane_edge_connections gauge\ncertplane_edge_connections %d\n"
        "# HELP certplane_edge_heap_trims_total Heap returned to the system after a burst of "
        "connections ended.\n# TYPE certplane_edge_heap_trims_total counter\n"
        "certplane_edge_heap_trims_total %llu\n"
        "# HELP certplane_edge_connections_rejected_total Connections closed at once because "
        "--max-connections were open.\n# TYPE certplane_edge_connections_rejected_total counter\n"
        "certplane_edge_connections_rejected_total %llu\n",
        atomic_load(&m->connections), LOAD(m->heap_trims), LOAD(m->connections_rejected));
    render_ondemand(&o, m);
    return o.len;
}
