/* SPDX-License-Identifier: Apache-2.0 */
/* ocsp.h - OCSP stapling (issue 14): the responder URL of a leaf, the request, the verification of
 * a response and when to refresh it. No I/O (ocsp_fetch.h sends the request). */
#ifndef CTL_OCSP_H
#define CTL_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "shared/err.h"

/** Largest OCSP response accepted (responses are a few hundred bytes to a few KB). */
#define CTL_OCSP_MAX_RESPONSE (64 * 1024)
/** Clock skew allowed for thisUpdate in the future (RFC 6960 leaves it to the client). */
#define CTL_OCSP_SKEW_MS (5 * 60 * 1000LL)
/** Shortest wait before the next fetch of one certificate (refresh or retry). */
#define CTL_OCSP_MIN_WAIT_MS (10 * 1000LL)
/** Longest wait before a retry after failures. */
#define CTL_OCSP_MAX_RETRY_MS (60 * 60 * 1000LL)

/** What a verified response says. */
typedef struct ctl_ocsp_info {
    int64_t this_update_ms, next_update_ms; /* Unix ms */
} ctl_ocsp_info_t;

/** The leaf and its issuer, parsed from a full chain PEM (leaf first, then its issuer). *leaf and
 * *issuer are the caller's (X509_free). Errors: CP_EINVAL (unparsable, no issuer in the chain,
 * the second certificate did not issue the first). THREAD SAFETY: any thread. */
int ctl_ocsp_chain(const char *fullchain_pem, X509 **leaf, X509 **issuer, cp_err_t *err);

/** The first OCSP responder URL of the leaf's Authority Information Access (http or https),
 * malloc'd, or NULL when it has none. THREAD SAFETY: any thread. */
char *ctl_ocsp_url(X509 *leaf);

/** A DER OCSPRequest for the leaf (CertID with SHA-1, as responders expect), malloc'd into *der.
 * Errors: CP_ECRYPTO. THREAD SAFETY: any thread. */
int ctl_ocsp_request(X509 *leaf, X509 *issuer, unsigned char **der, size_t *len, cp_err_t *err);

/** Verifies a DER OCSPResponse for leaf at now_ms: status successful, signed by the issuer or by a
 * responder certificate the issuer issued for OCSP signing (carried in the response), a single
 * response for the leaf's CertID, cert status good, thisUpdate at most CTL_OCSP_SKEW_MS ahead,
 * nextUpdate present, after thisUpdate and after now. Fills *info (may be NULL). Errors:
 * CP_EINVAL (with the reason: not good, stale, wrong certificate, bad signature, ...).
 * THREAD SAFETY: any thread. */
int ctl_ocsp_verify(const unsigned char *der, size_t len, X509 *leaf, X509 *issuer, int64_t now_ms,
                    ctl_ocsp_info_t *info, cp_err_t *err);

/** Whether a response with these times is due for a refresh at now_ms: half of its validity
 * (thisUpdate to nextUpdate) has passed. THREAD SAFETY: any thread. */
int ctl_ocsp_refresh_due(const ctl_ocsp_info_t *info, int64_t now_ms);

/** When to fetch again after a good response: half way from thisUpdate to nextUpdate, not before
 * now + CTL_OCSP_MIN_WAIT_MS. THREAD SAFETY: any thread. */
int64_t ctl_ocsp_refresh_at(const ctl_ocsp_info_t *info, int64_t now_ms);

/** When to try again after `failures` (>= 1) failed fetches in a row: 30 s doubling up to
 * CTL_OCSP_MAX_RETRY_MS; while a good response is held (next_update_ms > now, else pass 0) no later
 * than a quarter of its remaining validity; never before now + CTL_OCSP_MIN_WAIT_MS.
 * THREAD SAFETY: any thread. */
int64_t ctl_ocsp_retry_at(int failures, int64_t next_update_ms, int64_t now_ms);

#endif
