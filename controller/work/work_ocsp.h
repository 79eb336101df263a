/* SPDX-License-Identifier: Apache-2.0 */
/* work_ocsp.h - the OCSP thread (issue 14): fetches, verifies and stores the OCSP responses the
 * edges staple, once for the fleet */
#ifndef CTL_WORK_OCSP_H
#define CTL_WORK_OCSP_H

#include "controller/work/work_util.h"

/** How long a claim on one certificate's fetch holds (a dead controller's claim lapses). */
#define CTL_WORK_OCSP_LEASE_MS (60 * 1000LL)
/** When a certificate without an OCSP responder URL is looked at again (a new certificate of that
 * name is looked at at once anyway). */
#define CTL_WORK_OCSP_IDLE_MS (7 * 24 * 3600 * 1000LL)

/** The OCSP thread: while this controller is present, once adds certificates stored before the
 * schedule existed (store_ocsp.h), then every second claims the due ones (store_ocsp.h: one
 * controller wins each) and for each: reads the record; no certificate or no OCSP URL: looked at
 * again in CTL_WORK_OCSP_IDLE_MS; a stored response for this leaf not yet half way to its
 * nextUpdate: looked at again then; else fetches (ocsp_fetch.h, bounded), verifies (ocsp.h) and
 * stores it with an OCSP_RESPONSE event, refreshed half way; a failed fetch or a bad response
 * leaves the stored one as it is and is retried with back-off (ctl_ocsp_retry_at).
 * THREAD SAFETY: its own thread (blocking I/O, never an event loop). */
void *ctl_work__ocsp_main(void *arg);

#endif
