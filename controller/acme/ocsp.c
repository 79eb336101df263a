/* SPDX-License-Identifier: Apache-2.0 */
/* ocsp.c - OCSP request, verification and refresh times (ocsp.h) */
#include "controller/acme/ocsp.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "shared/mem.h"
#include "shared/ocsp.h"

int ctl_ocsp_chain(const char *fullchain_pem, X509 **leaf, X509 **issuer, cp_err_t *err)
{
    *leaf = *issuer = NULL;
    BIO *b = BIO_new_mem_buf(fullchain_pem, -1);
    if (b != NULL) {
        *leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
        *issuer = *leaf != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    }
    BIO_free(b);
    ERR_clear_error();
    if (*issuer != NULL && X509_check_issued(*issuer, *leaf) == X509_V_OK)
        return 0;
    X509_free(*leaf);
    X509_free(*issuer);
    *leaf = *issuer = NULL;
    return cp_err_set(err, CP_EINVAL, "OCSP: the chain holds no leaf and its issuer");
}

char *ctl_ocsp_url(X509 *leaf)
{
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(leaf);
    char *out = NULL;
    for (int i = 0; out == NULL && i < sk_OPENSSL_STRING_num(urls); i++) {
        const char *u = sk_OPENSSL_STRING_value(urls, i);
        if (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0)
            out = cp_xstrdup(u);
    }
    X509_email_free(urls);
    return out;
}

int ctl_ocsp_request(X509 *leaf, X509 *issuer, unsigned char **der, size_t *len, cp_err_t *err)
{
    *der = NULL;
    *len = 0;
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer);
    int rc = CP_ECRYPTO;
    if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL)
        goto out;
    id = NULL; /* the request owns it */
    int n = i2d_OCSP_REQUEST(req, NULL);
    if (n <= 0)
        goto out;
    *der = cp_xmalloc((size_t)n);
    unsigned char *p = *der;
    *len = (size_t)i2d_OCSP_REQUEST(req, &p);
    rc = 0;
out:
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(req);
    ERR_clear_error();
    return rc == 0 ? 0 : cp_err_set(err, rc, "OCSP: cannot build the request");
}

/* The signature: by the issuer itself, or by a responder certificate in the response that the
 * issuer issued with id-kp-OCSPSigning (OCSP_basic_verify checks both, with the issuer as the one
 * trust anchor: partial chains, as the issuer is usually an intermediate). */
static int verify_signature(OCSP_BASICRESP *bs, X509 *issuer, cp_err_t *err)
{
    X509_STORE *st = X509_STORE_new();
    STACK_OF(X509) *certs = sk_X509_new_null();
    int ok = st != NULL && certs != NULL && X509_STORE_add_cert(st, issuer) == 1 &&
             X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN) == 1 &&
             sk_X509_push(certs, issuer) > 0 && OCSP_basic_verify(bs, certs, st, 0) == 1;
    unsigned long e = ok ? 0 : ERR_peek_last_error();
    ERR_clear_error();
    sk_X509_free(certs);
    X509_STORE_free(st);
    return ok ? 0
              : cp_err_set(err, CP_EINVAL, "OCSP: signature not verified: %s",
                           e != 0 ? ERR_reason_error_string(e) : "?");
}

/* The single response for the leaf: good, with sound times. */
static int check_status(OCSP_BASICRESP *bs, X509 *leaf, X509 *issuer, ctl_ocsp_info_t *in,
                        cp_err_t *err)
{
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, issuer);
    int status = -1, reason = 0;
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    int found = id != NULL &&
                OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd) == 1;
    OCSP_CERTID_free(id);
    ERR_clear_error();
    if (!found)
        return cp_err_set(err, CP_EINVAL, "OCSP: no response for this certificate");
    if (status != V_OCSP_CERTSTATUS_GOOD)
        return cp_err_set(err, CP_EINVAL, "OCSP: certificate status %s",
                          OCSP_cert_status_str(status));
    in->this_update_ms = cp_ocsp_time_ms(thisupd);
    in->next_update_ms = cp_ocsp_time_ms(nextupd);
    return 0;
}

static int check_times(const ctl_ocsp_info_t *in, int64_t now_ms, cp_err_t *err)
{
    if (in->this_update_ms == 0)
        return cp_err_set(err, CP_EINVAL, "OCSP: no thisUpdate");
    if (in->this_update_ms > now_ms + CTL_OCSP_SKEW_MS)
        return cp_err_set(err, CP_EINVAL, "OCSP: thisUpdate is in the future");
    if (in->next_update_ms == 0)
        return cp_err_set(err, CP_EINVAL,
                          "OCSP: no nextUpdate (a response without one is not "
                          "stapled: its freshness is unknown)");
    if (in->next_update_ms <= in->this_update_ms)
        return cp_err_set(err, CP_EINVAL, "OCSP: nextUpdate is not after thisUpdate");
    if (in->next_update_ms <= now_ms)
        return cp_err_set(err, CP_EINVAL, "OCSP: stale (nextUpdate has passed)");
    return 0;
}

int ctl_ocsp_verify(const unsigned char *der, size_t len, X509 *leaf, X509 *issuer, int64_t now_ms,
                    ctl_ocsp_info_t *info, cp_err_t *err)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp =
        len <= CTL_OCSP_MAX_RESPONSE ? d2i_OCSP_RESPONSE(NULL, &p, (long)len) : NULL;
    OCSP_BASICRESP *bs = NULL;
    ctl_ocsp_info_t in = {0};
    int rc;
    if (resp == NULL || p != der + len) {
        rc = cp_err_set(err, CP_EINVAL, "OCSP: not a DER OCSPResponse");
        goto out;
    }
    int st = OCSP_response_status(resp);
    if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        rc =
            cp_err_set(err, CP_EINVAL, "OCSP: responder answered %s", OCSP_response_status_str(st));
        goto out;
    }
    bs = OCSP_response_get1_basic(resp);
    if (bs == NULL) {
        rc = cp_err_set(err, CP_EINVAL, "OCSP: not a basic response");
        goto out;
    }
    rc = verify_signature(bs, issuer, err);
    if (rc == 0)
        rc = check_status(bs, leaf, issuer, &in, err);
    if (rc == 0)
        rc = check_times(&in, now_ms, err);
    if (rc == 0 && info != NULL)
        *info = in;
out:
    ERR_clear_error();
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return rc;
}

static int64_t half_way(const ctl_ocsp_info_t *info)
{
    return info->this_update_ms + (info->next_update_ms - info->this_update_ms) / 2;
}

int ctl_ocsp_refresh_due(const ctl_ocsp_info_t *info, int64_t now_ms)
{
    return info->next_update_ms <= info->this_update_ms || now_ms >= half_way(info);
}

int64_t ctl_ocsp_refresh_at(const ctl_ocsp_info_t *info, int64_t now_ms)
{
    int64_t at = half_way(info);
    return at < now_ms + CTL_OCSP_MIN_WAIT_MS ? now_ms + CTL_OCSP_MIN_WAIT_MS : at;
}

int64_t ctl_ocsp_retry_at(int failures, int64_t next_update_ms, int64_t now_ms)
{
    int64_t wait = 30 * 1000LL;
    for (int i = 1; i < failures && wait < CTL_OCSP_MAX_RETRY_MS; i++)
        wait *= 2;
    if (wait > CTL_OCSP_MAX_RETRY_MS)
        wait = CTL_OCSP_MAX_RETRY_MS;
    if (next_update_ms > now_ms && (next_update_ms - now_ms) / 4 < wait)
        wait = (next_update_ms - now_ms) / 4;
    return now_ms + (wait < CTL_OCSP_MIN_WAIT_MS ? CTL_OCSP_MIN_WAIT_MS : wait);
}
