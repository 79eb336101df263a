/* SPDX-License-Identifier: Apache-2.0 */
/* acme_ari.c - ACME Renewal Information (RFC 9773): certificate IDs and suggested windows */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "controller/acme/acme_internal.h"
#include "shared/base64.h"
#include "shared/clock.h"
#include "shared/mem.h"

/* The DER content octets of the serial number (the INTEGER without tag and length, so a leading
 * zero byte of a positive serial whose top bit is set is kept), base64url. NULL on failure. */
static char *serial_b64(const X509 *x)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    unsigned char *der = NULL;
    int n = serial != NULL ? i2d_ASN1_INTEGER(serial, &der) : -1;
    if (n <= 0)
        return NULL;
    const unsigned char *p = der;
    long len = 0;
    int tag = 0, cls = 0;
    char *out = NULL;
    if ((ASN1_get_object(&p, &len, &tag, &cls, n) & 0x80) == 0 && tag == V_ASN1_INTEGER && len > 0)
        out = cp_base64_encode(p, (size_t)len, CP_BASE64_URL);
    OPENSSL_free(der);
    return out;
}

int ctl_acme_ari_cert_id(const char *cert_pem, char **out, cp_err_t *err)
{
    BIO *bio = cert_pem != NULL ? BIO_new_mem_buf(cert_pem, (int)strlen(cert_pem)) : NULL;
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    char *aki = NULL, *serial = NULL;
    int rc = 0;
    if (x == NULL) {
        rc = cp_err_set(err, CP_EINVAL, "ARI certificate ID: no PEM certificate");
        goto out;
    }
    const ASN1_OCTET_STRING *kid = X509_get0_authority_key_id(x);
    if (kid == NULL || ASN1_STRING_length(kid) <= 0) {
        rc = cp_err_set(err, CP_EINVAL,
                        "ARI certificate ID: the certificate has no authority key identifier");
        goto out;
    }
    aki = cp_base64_encode(ASN1_STRING_get0_data(kid), (size_t)ASN1_STRING_length(kid),
                           CP_BASE64_URL);
    serial = serial_b64(x);
    if (serial == NULL) {
        rc = cp_err_set(err, CP_EINVAL, "ARI certificate ID: unreadable serial number");
        goto out;
    }
    *out = cp_xasprintf("%s.%s", aki, serial);
out:
    free(aki);
    free(serial);
    X509_free(x);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

void ctl_acme_ari_dispose(ctl_acme_ari_t *ari)
{
    if (ari == NULL)
        return;
    free(ari->explanation_url);
    memset(ari, 0, sizeof(*ari));
}

int ctl_acme_has_ari(ctl_acme_t *c, cp_err_t *err)
{
    ctl_acme__deadline_start(c);
    int rc = ctl_acme__directory(c, err);
    if (rc != 0)
        return rc;
    return c->url_renewal_info != NULL ? 1 : 0;
}

/* An RFC 3339 member of `obj` as Unix ms; -1 when missing or malformed. */
static int time_member(const json_t *obj, const char *key, int64_t *ms)
{
    const char *s = json_string_value(json_object_get(obj, key));
    int64_t sec = 0;
    int32_t nanos = 0;
    if (s == NULL || cp_clock_rfc3339_parse(s, strlen(s), &sec, &nanos) != 0)
        return -1;
    *ms = sec * 1000 + nanos / 1000000;
    return 0;
}

/* The window of a renewalInfo answer. */
static int parse_window(const ctl_acme__resp_t *r, ctl_acme_ari_t *out, cp_err_t *err)
{
    json_t *j = NULL;
    int rc = ctl_acme__resp_json(r, "renewalInfo", &j, err);
    if (rc != 0)
        return rc;
    const json_t *w = json_object_get(j, "suggestedWindow");
    ctl_acme_ari_t a = {.retry_after_s = ctl_acme__retry_after_parse(r->retry_after, time(NULL))};
    if (!json_is_object(w) || time_member(w, "start", &a.start_ms) != 0 ||
        time_member(w, "end", &a.end_ms) != 0 || a.end_ms < a.start_ms) {
        rc = cp_err_set(err, CP_EPROTO, "renewalInfo: no well-formed suggestedWindow");
        goto out;
    }
    const char *expl = json_string_value(json_object_get(j, "explanationURL"));
    a.explanation_url = expl != NULL ? cp_xstrdup(expl) : NULL;
    *out = a;
out:
    json_decref(j);
    return rc;
}

int ctl_acme_renewal_info(ctl_acme_t *c, const char *cert_id, ctl_acme_ari_t *out, cp_err_t *err)
{
    ctl_acme__resp_t r = {0};
    char *url = NULL;
    ctl_acme__deadline_start(c);
    int rc = ctl_acme__directory(c, err);
    if (rc != 0)
        return rc;
    if (c->url_renewal_info == NULL)
        return cp_err_set(err, CP_ENOTFOUND, "the CA offers no renewalInfo");
    if (cert_id == NULL || cert_id[0] == '\0' || strchr(cert_id, '/') != NULL)
        return cp_err_set(err, CP_EINVAL, "renewalInfo: bad certificate ID");
    size_t n = strlen(c->url_renewal_info);
    url = cp_xasprintf("%s%s%s", c->url_renewal_info,
                       n > 0 && c->url_renewal_info[n - 1] == '/' ? "" : "/", cert_id);
    rc = ctl_acme__exchange(c, "GET", url, "renewalInfo", &r, err);
    if (rc != 0)
        goto out;
    if (r.status != 200) {
        rc = ctl_acme__problem_err(&r, "renewalInfo", err);
        goto out;
    }
    rc = parse_window(&r, out, err);
    if (rc == 0)
        c->stats.ari_fetches++;
out:
    ctl_acme__resp_dispose(&r);
    free(url);
    return rc;
}
