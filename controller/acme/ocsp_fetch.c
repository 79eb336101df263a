/* SPDX-License-Identifier: Apache-2.0 */
/* ocsp_fetch.c - one OCSP request over HTTP POST (ocsp_fetch.h) */
#include "controller/acme/ocsp_fetch.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "controller/acme/ocsp.h"
#include "shared/mem.h"

typedef struct body {
    unsigned char *p;
    size_t len;
    int too_big;
} body_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    body_t *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > CTL_OCSP_MAX_RESPONSE) {
        b->too_big = 1;
        return 0; /* aborts the transfer */
    }
    b->p = cp_xrealloc(b->p, b->len + n + 1);
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return n;
}

static int check_answer(CURL *cu, CURLcode cc, const body_t *b, const char *msg, cp_err_t *err)
{
    if (b->too_big)
        return cp_err_set(err, CP_ETOOBIG, "OCSP: response over %d bytes", CTL_OCSP_MAX_RESPONSE);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return cp_err_set(err, CP_ETIMEDOUT, "OCSP: responder timed out");
    if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL)
        return cp_err_set(err, CP_EINVAL, "OCSP: unusable responder URL");
    if (cc != CURLE_OK)
        return cp_err_set(err, CP_EUNAVAIL, "OCSP: responder: %s",
                          msg[0] != '\0' ? msg : curl_easy_strerror(cc));
    long status = 0;
    char *type = NULL;
    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(cu, CURLINFO_CONTENT_TYPE, &type);
    if (status != 200)
        return cp_err_set(err, CP_EUNAVAIL, "OCSP: responder answered HTTP %ld", status);
    if (type == NULL || strncmp(type, "application/ocsp-response", 25) != 0)
        return cp_err_set(err, CP_EINVAL, "OCSP: responder answered %s, not an OCSP response",
                          type != NULL ? type : "without a content type");
    return 0;
}

int ctl_ocsp_fetch(const char *url, const unsigned char *req, size_t req_len, unsigned char **der,
                   size_t *len, cp_err_t *err)
{
    *der = NULL;
    *len = 0;
    CURL *cu = curl_easy_init();
    if (cu == NULL)
        return cp_err_set(err, CP_EINTERNAL, "curl_easy_init failed");
    char msg[CURL_ERROR_SIZE] = "";
    body_t b = {0};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/ocsp-request");
    curl_easy_setopt(cu, CURLOPT_URL, url);
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, CTL_OCSP_CONNECT_MS);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, CTL_OCSP_TOTAL_MS);
    curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(cu, CURLOPT_USERAGENT, "certplane/" CERTPLANE_VERSION);
    curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, msg);
    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(cu, CURLOPT_POSTFIELDS, (const char *)req);
    curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE, (long)req_len);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(cu, CURLOPT_WRITEDATA, &b);
    CURLcode cc = curl_easy_perform(cu);
    int rc = check_answer(cu, cc, &b, msg, err);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(cu);
    if (rc != 0) {
        free(b.p);
        return rc;
    }
    *der = b.p;
    *len = b.len;
    return 0;
}
