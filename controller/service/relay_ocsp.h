/* SPDX-License-Identifier: Apache-2.0 */
/* relay_ocsp.h - OCSP_RESPONSE events for the Watch stream (OCSP stapling, issue 14) */
#ifndef CTL_RELAY_OCSP_H
#define CTL_RELAY_OCSP_H

#include <stdbool.h>
#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/store/store.h"

/** Fills ev as the OCSP_RESPONSE event of certificate `name` from ocsp:{name} (store_ocsp.h).
 * *skip is true when there is nothing stapleable: no response, or one whose nextUpdate is not
 * after now_ms (a stale response is never streamed). Errors: the store's. THREAD SAFETY: any
 * thread, with its own s. */
int ctl_relay_ocsp_event(ctl_store_t *s, const char *name, int64_t now_ms,
                         Certplane__V1__CertificateEvent *ev, bool *skip, cp_err_t *err);

/** Sends one event; returns 0 or an error (the snapshot stops). */
typedef int (*ctl_relay_ocsp_send_fn)(void *u, Certplane__V1__CertificateEvent *ev, cp_err_t *err);

/** The snapshot's OCSP_RESPONSE events (revision `rev`), one per certificate with a stapleable
 * response, through send. Errors: the store's (as ctl_service__store_fail maps them) or send's.
 * THREAD SAFETY: any thread, with its own s. */
int ctl_relay_ocsp_snapshot(ctl_store_t *s, int64_t rev, ctl_relay_ocsp_send_fn send, void *u,
                            cp_err_t *err);

#endif
