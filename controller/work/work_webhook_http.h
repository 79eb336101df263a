/* SPDX-License-Identifier: Apache-2.0 */
/* work_webhook_http.h - one signed webhook POST (libcurl, bounded) */
#ifndef CTL_WORK_WEBHOOK_HTTP_H
#define CTL_WORK_WEBHOOK_HTTP_H

#include <stddef.h>
#include <stdint.h>

/** Response bytes read from a receiver at most; a longer answer fails the attempt. */
#define CTL_WORK_WEBHOOK_MAX_RESPONSE (64 * 1024)

/** POSTs body (JSON) to url with the Standard Webhooks headers webhook-id, webhook-timestamp and
 * webhook-signature, following no redirect, within timeout_ms (connection included). Returns 1 for
 * a 2xx answer; 0 otherwise, with why ("HTTP 500", "timeout", ...) in `why`. Never logs the body or
 * the signature. THREAD SAFETY: any thread (curl_global_init() done before). */
int ctl_work__webhook_post(const char *url, const char *id, int64_t timestamp, const char *sig,
                           const char *body, int64_t timeout_ms, char *why, size_t why_size);

#endif
