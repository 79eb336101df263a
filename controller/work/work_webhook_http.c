/* SPDX-License-Identifier: Apache-2.0 */
/* work_webhook_http.c - one signed webhook POST (work_webhook_http.h) */
#include "controller/work/work_webhook_http.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Counts and drops the answer; more than the limit aborts the transfer. */
static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    size_t *got = arg;
    *got += size * n;
    return *got > CTL_WORK_WEBHOOK_MAX_RESPONSE ? 0 : size * n;
}

int ctl_work__webhook_post(const char *url, const char *id, int64_t timestamp, const char *sig,
                           const char *body, int64_t timeout_ms, char *why, size_t why_size)
{
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(why, why_size, "curl_easy_init failed");
        return 0;
    }
    char h_id[160], h_ts[64], h_sig[128];
    snprintf(h_id, sizeof h_id, "webhook-id: %s", id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %" PRId64, timestamp);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: certplane-webhooks/1");
    h = curl_slist_append(h, "Expect:");
    h = curl_slist_append(h, h_id);
    h = curl_slist_append(h, h_ts);
    h = curl_slist_append(h, h_sig);
    size_t got = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc == CURLE_WRITE_ERROR && got > CTL_WORK_WEBHOOK_MAX_RESPONSE)
        snprintf(why, why_size, "answer longer than %d bytes", CTL_WORK_WEBHOOK_MAX_RESPONSE);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        snprintf(why, why_size, "timeout after %" PRId64 " ms", timeout_ms);
    else if (rc != CURLE_OK)
        snprintf(why, why_size, "%s", curl_easy_strerror(rc));
    else if (status < 200 || status > 299)
        snprintf(why, why_size, "HTTP %ld", status);
    else
        return 1;
    return 0;
}
