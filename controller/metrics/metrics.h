/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.h - the controller's Prometheus metrics: a fixed-label registry of atomics plus
 * scrape-time gauges */
#ifndef CTL_METRICS_H
#define CTL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/err.h"

/*
 * One process-wide registry. Every label set is fixed when the program is built (transport x method
 * x gRPC code, issuance kind x result, histogram buckets), so the memory never grows with traffic.
 * The only per-certificate series (seconds to expiry) are computed at scrape time from the store
 * and never kept.
 *
 * Metrics (text format 0.0.4):
 *   certplane_requests_total{transport,method,code}        counter, RPCs answered
 *   certplane_acme_request_duration_seconds                histogram, one ACME HTTP round trip
 *   certplane_issuances_total{kind="issue|renew",result="success|failure"}  counter
 *   certplane_watch_streams{transport}                     gauge, open Watch streams
 *   certplane_certificates{state}                          gauge, at scrape (every State but
 * UNSPECIFIED) certplane_certificate_expiry_seconds{name}             gauge, not_after - now, at
 * scrape certplane_certificates_scrape_success                  gauge, 1 when the store could be
 * listed
 *   certplane_certificate_renew_time_seconds{name}          gauge, the chosen renewal time (Unix)
 *   certplane_certificate_ari_window_start_seconds{name}    gauge, ARI window start (Unix), when
 * the certplane_certificate_ari_window_end_seconds{name}      gauge  CA offers renewalInfo; window
 * end certplane_certificate_ari_explanation_info{name,url}    gauge, 1, when the window has an
 *                                                           explanationURL
 *   certplane_certificate_issuer_info{name,issued_by}       gauge, 1: the provider that issued
 *   certplane_acme_failovers_total                          counter, issuances moved on to the
 *                                                           next issuer
 *
 * THREAD SAFETY (module): every function may be called from any thread at any time; the counters
 * are lock-free atomics (relaxed: a scrape may see one counter a moment before another).
 */

struct ctl_service;
struct ctl_thread;

/** Counts one answered RPC. transport: "grpc" or "http" (anything else counts as "other"); method:
 * the RPC name ("GetCertificate") or its gRPC path ("/certplane.v1.Certificates/GetCertificate"); a
 * method that is not one of certplane's counts as "other"; grpc_code: 0-16 (others count as 2,
 * UNKNOWN). THREAD SAFETY: any thread. */
void ctl_metrics_request(const char *transport, const char *method, int grpc_code);

/** Observes the duration of one ACME request in seconds (negative values count as 0).
 *  THREAD SAFETY: any thread. */
void ctl_metrics_acme_latency(double seconds);

/** Counts one finished issuance (renewal = false) or renewal (true), successful or not.
 *  THREAD SAFETY: any thread. */
void ctl_metrics_issuance(bool renewal, bool ok);

/** Counts one issuance moved on from a failed issuer to the next. THREAD SAFETY: any thread. */
void ctl_metrics_failover(void);

/** OCSP stapling (issue 14): counts one OCSP fetch (ok: a verified good response), and one
 * verified response stored (its thisUpdate, Unix ms, for the age gauge). THREAD SAFETY: any. */
void ctl_metrics_ocsp_fetch(bool ok);
void ctl_metrics_ocsp_stored(int64_t this_update_ms);
/** Counts one webhook delivery attempt outcome: "ok", "failed", "retried" or "dead" (anything else
 * is ignored). THREAD SAFETY: any thread. */
void ctl_metrics_webhook(const char *outcome);

/** Adds delta (+1 when a Watch stream opens, -1 when it ends) to the open-stream gauge of transport
 *  ("grpc" or "http"). THREAD SAFETY: any thread. */
void ctl_metrics_watch_streams(const char *transport, int delta);

/** Number of certplane.v1.State values (STATE_UNSPECIFIED = 0 ... REVOKED = 6). */
#define CTL_METRICS_N_STATES 7

/** One certificate's gauges. */
typedef struct ctl_metrics_expiry {
    char *name;                /* malloc'd */
    double seconds;            /* not_after - now; negative once expired */
    double renew_at;           /* renew_after, Unix seconds; 0: none */
    double ari_start, ari_end; /* the ARI window (RFC 9773), Unix seconds; 0: none */
    char *ari_explanation;     /* its explanationURL, malloc'd, or NULL */
    char *issued_by;           /* the provider that issued it, malloc'd, or NULL */
} ctl_metrics_expiry_t;

/** What a scrape of the store found. */
typedef struct ctl_metrics_certs {
    bool ok;                                 /* false: the store could not be listed */
    uint64_t by_state[CTL_METRICS_N_STATES]; /* indexed by the State value */
    ctl_metrics_expiry_t *expiry;
    size_t n_expiry;
} ctl_metrics_certs_t;

/** Renders the registry plus `certs` (NULL: no store gauges at all) as Prometheus text; returns a
 *  malloc'd NUL-terminated string and its length in *len. Aborts on out of memory. */
char *ctl_metrics_render_text(const ctl_metrics_certs_t *scrape, size_t *len);

/** Sets every counter back to zero. For tests only. THREAD SAFETY: any thread (not atomic as a
 * whole). */
void ctl_metrics_reset(void);

#endif
