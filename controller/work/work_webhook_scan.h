/* SPDX-License-Identifier: Apache-2.0 */
/* work_webhook_scan.h - the webhook thread's scans: expiring_soon and edge_lagging events */
#ifndef CTL_WORK_WEBHOOK_SCAN_H
#define CTL_WORK_WEBHOOK_SCAN_H

#include <stdint.h>

#include "controller/work/work_types.h"

/** Where the scans are: the next run (monotonic ms) and the certificate list's cursor. */
typedef struct ctl_work__webhook_scan {
    int64_t next_ms;
    char *after; /* the last certificate name read, NULL: from the start */
} ctl_work__webhook_scan_t;

/** Every --webhook-scan-interval: reads up to 500 certificates (resuming where the last run
 * stopped) and emits expiring_soon for each one whose not-after is within
 * --webhook-expiring-within, once per not-after (webhook:marks:expiring); then checks the live
 * edges: one that stays behind a revision for longer than --webhook-edge-lag gets one
 * edge_lagging event until it catches up (webhook:marks:lagging). Failures are logged and retried
 * at the next run. THREAD SAFETY: the webhook thread. */
void ctl_work__webhook_scan(ctl_work_thread_t *t, ctl_work__webhook_scan_t *s);

void ctl_work__webhook_scan_dispose(ctl_work__webhook_scan_t *s);

#endif
