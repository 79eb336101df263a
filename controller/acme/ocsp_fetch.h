/* SPDX-License-Identifier: Apache-2.0 */
/* ocsp_fetch.h - one OCSP request over HTTP POST (RFC 6960 appendix A.1), libcurl, bounded */
#ifndef CTL_OCSP_FETCH_H
#define CTL_OCSP_FETCH_H

#include <stddef.h>

#include "shared/err.h"

/** Connect and total timeouts of one fetch. */
#define CTL_OCSP_CONNECT_MS 5000L
#define CTL_OCSP_TOTAL_MS 10000L

/** POSTs the DER request `req` to `url` (http or https, no redirects) as application/ocsp-request
 * and returns the body of a 200 answer of type application/ocsp-response (malloc'd, at most
 * CTL_OCSP_MAX_RESPONSE bytes) in *der. Errors: CP_EUNAVAIL (connect, TLS, HTTP status),
 * CP_ETIMEDOUT, CP_ETOOBIG, CP_EINVAL (URL, content type). Blocks up to CTL_OCSP_TOTAL_MS: work
 * threads only. THREAD SAFETY: any thread. */
int ctl_ocsp_fetch(const char *url, const unsigned char *req, size_t req_len, unsigned char **der,
                   size_t *len, cp_err_t *err);

#endif
