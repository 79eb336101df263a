/* SPDX-License-Identifier: Apache-2.0 */
/* certparse.c - PEM and private keys without OpenSSL 3's decoder search (see certparse.h) */
#include "edge/certparse.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include "edge/der.h"
#include "shared/base64.h"
#include "shared/mem.h"

/* ---- PEM ---------------------------------------------------------------------------------- */

static const char *find(const char *p, const char *end, const char *what)
{
    size_t n = strlen(what);
    while ((size_t)(end - p) >= n) {
        const char *q = memchr(p, what[0], (size_t)(end - p) - n + 1);
        if (q == NULL)
            return NULL;
        if (memcmp(q, what, n) == 0)
            return q;
        p = q + 1;
    }
    return NULL;
}

int edge_pem_next(const char **pos, const char *end, char label[EDGE_PEM_LABEL_MAX],
                  unsigned char **der, size_t *der_len)
{
    static const char begin[] = "-----BEGIN ", dashes[] = "-----";
    const char *b = find(*pos, end, begin);
    if (b == NULL)
        return 1;
    const char *l = b + sizeof begin - 1, *le = find(l, end, dashes);
    if (le == NULL || le == l || (size_t)(le - l) >= EDGE_PEM_LABEL_MAX ||
        memchr(l, '\n', (size_t)(le - l)) != NULL || memchr(l, '\0', (size_t)(le - l)) != NULL)
        return -1;
    size_t ll = (size_t)(le - l);
    memcpy(label, l, ll);
    label[ll] = '\0';
    char endline[EDGE_PEM_LABEL_MAX + 16];
    memcpy(endline, "-----END ", 9);
    memcpy(endline + 9, label, ll);
    memcpy(endline + 9 + ll, dashes, sizeof dashes);
    const char *body = le + sizeof dashes - 1, *e = find(body, end, endline);
    if (e == NULL)
        return -1;
    unsigned char *out = cp_xmalloc(CP_BASE64_DECODED_MAX((size_t)(e - body)));
    /* A header ("Proc-Type: ...", an encrypted key) fails the decoding: ':' is not base64. */
    if (cp_base64_decode_to(body, (size_t)(e - body), CP_BASE64_PEM, out, der_len) != 0 ||
        *der_len == 0) {
        cp_secure_free(out, CP_BASE64_DECODED_MAX((size_t)(e - body))); /* may be a key */
        return -1;
    }
    *der = out;
    *pos = e + 9 + ll + sizeof dashes - 1;
    return 0;
}

/* ---- DER ---------------------------------------------------------------------------------- */

/* An INTEGER that must be positive, as a BIGNUM. */
static BIGNUM *der_uint(edge_der_t *r)
{
    edge_der_t v;
    if (edge_der_get(r, 0x02, &v) != 0 || v.p == v.end || (v.p[0] & 0x80) != 0)
        return NULL;
    return BN_bin2bn(v.p, (int)(v.end - v.p), NULL);
}

/* ---- keys --------------------------------------------------------------------------------- */

enum { CURVES = 3 };
static const int curve_nids[CURVES] = {NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1};
static EC_GROUP *curve_groups[CURVES];
static pthread_once_t curves_once = PTHREAD_ONCE_INIT;

/* One group per curve for the process: a group is only read by EC_POINT_mul and friends. */
static void curves_init(void)
{
    for (int i = 0; i < CURVES; i++)
        curve_groups[i] = EC_GROUP_new_by_curve_name(curve_nids[i]);
}

static const EC_GROUP *curve(int nid)
{
    pthread_once(&curves_once, curves_init);
    for (int i = 0; i < CURVES; i++)
        if (curve_nids[i] == nid)
            return curve_groups[i];
    return NULL;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = params != NULL ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    EVP_PKEY *key = NULL;
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return key;
}

int edge_spki_from_x509(X509 *leaf, edge_spki_t *out)
{
    X509_PUBKEY *xpk = X509_get_X509_PUBKEY(leaf);
    ASN1_OBJECT *alg_oid = NULL;
    const unsigned char *pk = NULL;
    int pklen = 0;
    X509_ALGOR *palg = NULL;
    if (xpk == NULL || X509_PUBKEY_get0_param(&alg_oid, &pk, &pklen, &palg, xpk) != 1)
        return -1;
    out->alg = OBJ_obj2nid(alg_oid);
    out->curve = NID_undef;
    if (out->alg == NID_X9_62_id_ecPublicKey) {
        int ptype = 0;
        const void *pval = NULL;
        X509_ALGOR_get0(NULL, &ptype, &pval, palg);
        if (ptype != V_ASN1_OBJECT)
            return -1;
        out->curve = OBJ_obj2nid(pval);
    }
    out->pub = pk;
    out->pub_len = (size_t)pklen;
    return 0;
}

/* SEC1 ECPrivateKey (RFC 5915) on curve `nid` (0: the key's own [0] parameters say). */
/* The EVP_PKEY of private scalar d (whose point is pt) on curve nid: 0, or 1 on failure. */
static int ec_make(const EC_GROUP *g, int nid, const BIGNUM *d, const EC_POINT *pt, BN_CTX *bctx,
                   EVP_PKEY **out)
{
    unsigned char pub[1 + 2 * 66];
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    size_t pub_len =
        EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub, bctx);
    if (bld != NULL && pub_len != 0 &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) == 1)
        *out = from_params("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    return *out != NULL ? 0 : 1;
}

/* Whether what is left of an ECPrivateKey after its parameters (`rest`) is its [1] publicKey and
 * that point, byte for byte, is the certificate's (OpenSSL and every ACME client write it). */
static bool ec_pub_matches(edge_der_t rest, const edge_spki_t *spki)
{
    edge_der_t tagged, bits;
    if (!edge_der_peek(&rest, 0xa1) || edge_der_get(&rest, 0xa1, &tagged) != 0 ||
        edge_der_get(&tagged, 0x03, &bits) != 0 || bits.end - bits.p < 2 || bits.p[0] != 0)
        return false;
    size_t len = (size_t)(bits.end - bits.p) - 1;
    return len == spki->pub_len && memcmp(bits.p + 1, spki->pub, len) == 0;
}

static int ec_key(edge_der_t in, int nid, const edge_spki_t *spki, EVP_PKEY **out)
{
    edge_der_t seq, ver, priv;
    if (edge_der_get(&in, 0x30, &seq) != 0 || edge_der_get(&seq, 0x02, &ver) != 0 ||
        ver.end - ver.p != 1 || ver.p[0] != 1 || edge_der_get(&seq, 0x04, &priv) != 0)
        return 1;
    if (edge_der_peek(&seq, 0xa0)) {
        edge_der_t params;
        if (edge_der_get(&seq, 0xa0, &params) != 0)
            return 1;
        int own = edge_der_oid_nid(&params);
        if (own == NID_undef || (nid != NID_undef && own != nid))
            return 1;
        nid = own;
    }
    const EC_GROUP *g = curve(nid);
    if (g == NULL)
        return 1;
    if (spki->alg != NID_X9_62_id_ecPublicKey || spki->curve != nid)
        return -1; /* an EC key for a certificate of another algorithm or curve */
    if (out == NULL && ec_pub_matches(seq, spki))
        return 0; /* the check only: the public half the key carries is the certificate's */
    int rc = 1;
    BN_CTX *bctx = BN_CTX_new();
    BIGNUM *d = BN_bin2bn(priv.p, (int)(priv.end - priv.p), NULL);
    EC_POINT *pt = EC_POINT_new(g), *cpt = EC_POINT_new(g);
    if (bctx == NULL || d == NULL || pt == NULL || cpt == NULL)
        goto out;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0)
        goto out;
    /* The check that matters: this private scalar makes the certificate's public point. */
    if (EC_POINT_mul(g, pt, d, NULL, NULL, bctx) != 1 ||
        EC_POINT_oct2point(g, cpt, spki->pub, spki->pub_len, bctx) != 1)
        goto out;
    if (EC_POINT_cmp(g, pt, cpt, bctx) != 0) {
        rc = -1;
        goto out;
    }
    rc = out == NULL ? 0 : ec_make(g, nid, d, pt, bctx, out); /* out NULL: the check only */
out:
    EC_POINT_free(pt);
    EC_POINT_free(cpt);
    BN_clear_free(d);
    BN_CTX_free(bctx);
    return rc;
}

/* The certificate's RSA n and e. */
static int leaf_rsa(const edge_spki_t *spki, BIGNUM **n, BIGNUM **e)
{
    edge_der_t r = {spki->pub, spki->pub + spki->pub_len}, seq;
    if (spki->alg != NID_rsaEncryption)
        return -1;
    if (edge_der_get(&r, 0x30, &seq) != 0 || (*n = der_uint(&seq)) == NULL)
        return -1;
    if ((*e = der_uint(&seq)) == NULL) {
        BN_free(*n);
        *n = NULL; /* the caller frees both */
        return -1;
    }
    return 0;
}

enum { RSA_N, RSA_E, RSA_D, RSA_P, RSA_Q, RSA_DP, RSA_DQ, RSA_QI, RSA_COUNT };

/* The EVP_PKEY of the eight numbers v: 0, or 1 on failure. */
static int rsa_make(BIGNUM *const *v, EVP_PKEY **out)
{
    static const char *const names[RSA_COUNT] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    int ok = bld != NULL;
    for (int i = 0; ok && i < RSA_COUNT; i++)
        ok = OSSL_PARAM_BLD_push_BN(bld, names[i], v[i]) == 1;
    if (ok)
        *out = from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    return *out != NULL ? 0 : 1;
}

/* PKCS#1 RSAPrivateKey (two primes). */
static int rsa_key(edge_der_t in, const edge_spki_t *spki, EVP_PKEY **out)
{
    BIGNUM *v[RSA_COUNT] = {0}, *cn = NULL, *ce = NULL, *t = NULL, *u = NULL;
    BN_CTX *bctx = NULL;
    edge_der_t seq, ver;
    int rc = 1;
    if (edge_der_get(&in, 0x30, &seq) != 0 || edge_der_get(&seq, 0x02, &ver) != 0 ||
        ver.end - ver.p != 1 || ver.p[0] != 0)
        return 1;
    for (int i = 0; i < RSA_COUNT; i++)
        if ((v[i] = der_uint(&seq)) == NULL)
            goto out;
    if (seq.p != seq.end) /* otherPrimeInfos: not ours */
        goto out;
    for (int i = RSA_D; i < RSA_COUNT; i++)
        BN_set_flags(v[i], BN_FLG_CONSTTIME);
    if (leaf_rsa(spki, &cn, &ce) != 0) {
        rc = -1;
        goto out;
    }
    bctx = BN_CTX_new();
    t = BN_new();
    u = BN_new();
    if (bctx == NULL || t == NULL || u == NULL)
        goto out;
    rc = -1;
    /* n and e are the certificate's, n = p q, and d, dP, dQ, qInv belong to them. */
    if (BN_cmp(v[RSA_N], cn) != 0 || BN_cmp(v[RSA_E], ce) != 0 ||
        !BN_mul(t, v[RSA_P], v[RSA_Q], bctx) || BN_cmp(t, v[RSA_N]) != 0)
        goto out;
    for (int i = 0; i < 2; i++) {
        BIGNUM *prime = v[RSA_P + i], *exp = v[RSA_DP + i];
        /* prime - 1 in t; dP = d mod (p - 1); e dP = 1 mod (p - 1) */
        if (!BN_sub(t, prime, BN_value_one()) || !BN_mod(u, v[RSA_D], t, bctx) ||
            BN_cmp(u, exp) != 0 || !BN_mod_mul(u, v[RSA_E], exp, t, bctx) || !BN_is_one(u))
            goto out;
    }
    if (!BN_mod_mul(t, v[RSA_QI], v[RSA_Q], v[RSA_P], bctx) || !BN_is_one(t))
        goto out;
    rc = out == NULL ? 0 : rsa_make(v, out); /* out NULL: the check only */
out:
    for (int i = 0; i < RSA_COUNT; i++)
        BN_clear_free(v[i]);
    BN_free(cn);
    BN_free(ce);
    BN_clear_free(t);
    BN_clear_free(u);
    BN_CTX_free(bctx);
    return rc;
}

/* PKCS#8 PrivateKeyInfo (RFC 5208; version 0 or 1, attributes and public key ignored). */
static int pkcs8_key(edge_der_t in, const edge_spki_t *spki, EVP_PKEY **out)
{
    edge_der_t seq, ver, alg, inner;
    if (edge_der_get(&in, 0x30, &seq) != 0 || edge_der_get(&seq, 0x02, &ver) != 0 ||
        ver.end - ver.p != 1 || ver.p[0] > 1 || edge_der_get(&seq, 0x30, &alg) != 0)
        return 1;
    int type = edge_der_oid_nid(&alg);
    if (edge_der_get(&seq, 0x04, &inner) != 0)
        return 1;
    if (type == NID_X9_62_id_ecPublicKey) {
        int nid = edge_der_oid_nid(&alg);
        return nid == NID_undef ? 1 : ec_key(inner, nid, spki, out);
    }
    if (type == NID_rsaEncryption)
        return rsa_key(inner, spki, out);
    return 1;
}

int edge_key_from_der(const char *label, const unsigned char *der, size_t len,
                      const edge_spki_t *spki, EVP_PKEY **out)
{
    edge_der_t r = {der, der + len};
    int rc = 1;
    if (out != NULL)
        *out = NULL;
    if (strcmp(label, "PRIVATE KEY") == 0)
        rc = pkcs8_key(r, spki, out);
    else if (strcmp(label, "EC PRIVATE KEY") == 0)
        rc = ec_key(r, NID_undef, spki, out);
    else if (strcmp(label, "RSA PRIVATE KEY") == 0)
        rc = rsa_key(r, spki, out);
    ERR_clear_error();
    return rc;
}
