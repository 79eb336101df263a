/* SPDX-License-Identifier: Apache-2.0 */
/* metrics_ondemand.h - on-demand TLS counters (issue 14): decisions by reason, time to certificate
 */
#ifndef CTL_METRICS_ONDEMAND_H
#define CTL_METRICS_ONDEMAND_H

#include <stddef.h>

/** Counts one RequestOnDemandCertificate decision: `decision` "allowed", "refused" or "cooldown",
 *  `reason` one of "created", "exists", "pattern", "ask", "rate", "cooldown", "invalid",
 *  "disabled" (others count as "other"). THREAD SAFETY: any thread (relaxed atomics). */
void ctl_metrics_ondemand_decision(const char *decision, const char *reason);

/** Observes the time from an on-demand certificate's creation to its first issuance (seconds).
 *  THREAD SAFETY: any thread. */
void ctl_metrics_ondemand_ready(double seconds);

/** The Prometheus text of these metrics, malloc'd (the caller frees); *len its length.
 *  THREAD SAFETY: any thread. */
char *ctl_metrics_ondemand_text(size_t *len);

/** Zeroes everything (tests). */
void ctl_metrics_ondemand_reset(void);

#endif
