/* SPDX-License-Identifier: Apache-2.0 */
/* acme_jws.c - JWK, RFC 7638 thumbprints, JWS (RS256/ES256/ES384) and EAB (HS256) */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "controller/acme/acme_internal.h"
#include "shared/base64.h"
#include "shared/mem.h"

/* Curve of an EC key and its coordinate size, or NULL. */
static const char *ec_curve(EVP_PKEY *key, size_t *coord)
{
    char group[64];
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       NULL) != 1)
        return NULL;
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
        *coord = 32;
        return "P-256";
    }
    if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
        *coord = 48;
        return "P-384";
    }
    return NULL;
}

const char *ctl_acme__jws_alg(EVP_PKEY *key)
{
    size_t coord;
    if (EVP_PKEY_is_a(key, "RSA"))
        return "RS256";
    if (EVP_PKEY_is_a(key, "EC")) {
        const char *crv = ec_curve(key, &coord);
        if (crv == NULL)
            return NULL;
        return coord == 32 ? "ES256" : "ES384";
    }
    return NULL;
}

/* base64url of a big number parameter, left-padded to `pad` bytes (0: minimal). */
static char *bn_param_b64(EVP_PKEY *key, const char *name, size_t pad)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
        return NULL;
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    unsigned char *buf = cp_xmalloc(n ? n : 1);
    char *s = NULL;
    if (BN_bn2binpad(bn, buf, (int)n) >= 0)
        s = cp_base64_encode(buf, n, CP_BASE64_URL);
    free(buf);
    BN_free(bn);
    return s;
}

int ctl_acme__jwk(EVP_PKEY *key, json_t **out, cp_err_t *err)
{
    json_t *j = json_object();
    char *a = NULL, *b = NULL;
    size_t coord = 0;
    const char *crv = NULL;
    int rc = 0;
    if (EVP_PKEY_is_a(key, "RSA")) {
        a = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_E, 0);
        b = bn_param_b64(key, OSSL_PKEY_PARAM_RSA_N, 0);
        if (a == NULL || b == NULL)
            goto fail;
        json_object_set_new(j, "e", json_string(a));
        json_object_set_new(j, "kty", json_string("RSA"));
        json_object_set_new(j, "n", json_string(b));
    } else if (EVP_PKEY_is_a(key, "EC") && (crv = ec_curve(key, &coord)) != NULL) {
        a = bn_param_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, coord);
        b = bn_param_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, coord);
        if (a == NULL || b == NULL)
            goto fail;
        json_object_set_new(j, "crv", json_string(crv));
        json_object_set_new(j, "kty", json_string("EC"));
        json_object_set_new(j, "x", json_string(a));
        json_object_set_new(j, "y", json_string(b));
    } else {
        rc = cp_err_set(err, CP_EINVAL, "account key: only RSA, EC P-256 and P-384 are supported");
        goto out;
    }
    *out = j;
    j = NULL;
    goto out;
fail:
    rc = cp_err_set(err, CP_ECRYPTO, "cannot read the public key parameters");
out:
    json_decref(j);
    free(a);
    free(b);
    return rc;
}

int ctl_acme__thumbprint(EVP_PKEY *key, char *out, size_t out_size, cp_err_t *err)
{
    json_t *jwk = NULL;
    int rc = ctl_acme__jwk(key, &jwk, err);
    if (rc != 0)
        return rc;
    /* RFC 7638: required members only, sorted, no whitespace. */
    char *s = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    char *b = cp_base64_encode(md, sizeof(md), CP_BASE64_URL);
    if (strlen(b) + 1 > out_size)
        rc = cp_err_set(err, CP_EINVAL, "thumbprint buffer too small");
    else
        memcpy(out, b, strlen(b) + 1);
    free(b);
    free(s);
    json_decref(jwk);
    return rc;
}

/* Converts a DER ECDSA signature into the fixed-size r||s form JWS wants. */
static int ecdsa_der_to_raw(const unsigned char *der, size_t n, size_t coord, unsigned char **sig,
                            size_t *sig_len)
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    if (es == NULL)
        return -1;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    unsigned char *buf = cp_xmalloc(2 * coord);
    int ok = BN_bn2binpad(r, buf, (int)coord) >= 0 && BN_bn2binpad(s, buf + coord, (int)coord) >= 0;
    ECDSA_SIG_free(es);
    if (!ok) {
        free(buf);
        return -1;
    }
    *sig = buf;
    *sig_len = 2 * coord;
    return 0;
}

int ctl_acme__sign_raw(EVP_PKEY *key, const unsigned char *in, size_t n, unsigned char **sig,
                       size_t *sig_len, cp_err_t *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    size_t len = 0, coord = 0;
    int rc = CP_ECRYPTO;
    int is_ec = EVP_PKEY_is_a(key, "EC");
    const EVP_MD *hash = EVP_sha256();
    if (is_ec && ec_curve(key, &coord) == NULL)
        goto out;
    if (coord == 48)
        hash = EVP_sha384();
    if (md == NULL || EVP_DigestSignInit(md, NULL, hash, NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &len, in, n) != 1)
        goto out;
    der = cp_xmalloc(len);
    if (EVP_DigestSign(md, der, &len, in, n) != 1)
        goto out;
    if (is_ec) {
        if (ecdsa_der_to_raw(der, len, coord, sig, sig_len) != 0)
            goto out;
    } else {
        *sig = der;
        *sig_len = len;
        der = NULL;
    }
    rc = 0;
out:
    if (rc != 0)
        cp_err_set(err, rc, "JWS signing failed");
    free(der);
    EVP_MD_CTX_free(md);
    return rc;
}

/* Assembles {"protected","payload","signature"} from a protected header object and the payload. */
static int jws_assemble(json_t *protected_hdr, const char *payload, EVP_PKEY *key,
                        const unsigned char *mac, size_t mac_len, json_t **out, cp_err_t *err)
{
    char *ph = json_dumps(protected_hdr, JSON_COMPACT);
    char *ph64 = cp_base64_encode((const unsigned char *)ph, strlen(ph), CP_BASE64_URL);
    char *pl64 = cp_base64_encode((const unsigned char *)payload, strlen(payload), CP_BASE64_URL);
    size_t in_len = strlen(ph64) + 1 + strlen(pl64);
    char *in = cp_xmalloc(in_len + 1);
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    int rc = 0;
    snprintf(in, in_len + 1, "%s.%s", ph64, pl64);
    if (key != NULL) {
        rc = ctl_acme__sign_raw(key, (const unsigned char *)in, in_len, &sig, &sig_len, err);
    } else {
        unsigned int hl = EVP_MAX_MD_SIZE;
        sig = cp_xmalloc(EVP_MAX_MD_SIZE);
        if (HMAC(EVP_sha256(), mac, (int)mac_len, (const unsigned char *)in, in_len, sig, &hl) ==
            NULL)
            rc = cp_err_set(err, CP_ECRYPTO, "EAB: HMAC failed");
        sig_len = hl;
    }
    if (rc == 0) {
        char *s64 = cp_base64_encode(sig, sig_len, CP_BASE64_URL);
        json_t *j = json_object();
        json_object_set_new(j, "protected", json_string(ph64));
        json_object_set_new(j, "payload", json_string(pl64));
        json_object_set_new(j, "signature", json_string(s64));
        free(s64);
        *out = j;
    }
    free(sig);
    free(in);
    free(pl64);
    free(ph64);
    free(ph);
    return rc;
}

int ctl_acme__jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
                       const char *payload, json_t **out, cp_err_t *err)
{
    const char *alg = ctl_acme__jws_alg(key);
    json_t *hdr = json_object();
    int rc = 0;
    if (alg == NULL) {
        rc = cp_err_set(err, CP_EINVAL, "unsupported JWS key type");
        goto out;
    }
    json_object_set_new(hdr, "alg", json_string(alg));
    if (kid != NULL) {
        json_object_set_new(hdr, "kid", json_string(kid));
    } else {
        json_t *jwk = NULL;
        rc = ctl_acme__jwk(key, &jwk, err);
        if (rc != 0)
            goto out;
        json_object_set_new(hdr, "jwk", jwk);
    }
    if (nonce != NULL)
        json_object_set_new(hdr, "nonce", json_string(nonce));
    json_object_set_new(hdr, "url", json_string(url));
    rc = jws_assemble(hdr, payload ? payload : "", key, NULL, 0, out, err);
out:
    json_decref(hdr);
    return rc;
}

int ctl_acme__jws_eab(const char *eab_kid, const unsigned char *mac, size_t mac_len, EVP_PKEY *acct,
                      const char *url, json_t **out, cp_err_t *err)
{
    json_t *jwk = NULL;
    json_t *hdr = NULL;
    char *payload = NULL;
    int rc = ctl_acme__jwk(acct, &jwk, err);
    if (rc != 0)
        goto out;
    payload = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", eab_kid, "url", url);
    rc = jws_assemble(hdr, payload, NULL, mac, mac_len, out, err);
out:
    free(payload);
    json_decref(hdr);
    json_decref(jwk);
    return rc;
}
