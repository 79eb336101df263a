/* SPDX-License-Identifier: Apache-2.0 */
/* certparse.c - PEM and private keys without OpenSSL 3's decoder search (see certparse.h) */
#include "edge/certparse.h"

#include <pthread.h>
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

typedef struct rd {
    const unsigned char *p, *end;
} rd_t;

/* Reads one element with identifier octet `tag` (definite length) into *v. */
static int der_get(rd_t *r, unsigned tag, rd_t *v)
{
    if (r->end - r->p < 2 || r->p[0] != tag)
        return -1;
    const unsigned char *p = r->p + 1;
    size_t len = *p++;
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 4 || (size_t)(r->end - p) < nb)
            return -1;
        len = 0;
        for (size_t i = 0; i < nb; i++)
            len = (len << 8) | *p++;
    }
    if ((size_t)(r->end - p) < len)
        return -1;
    v->p = p;
    v->end = p + len;
    r->p = p + len;
    return 0;
}

static int der_peek(const rd_t *r, unsigned tag)
{
    return r->p < r->end && r->p[0] == tag;
}

/* An INTEGER that must be positive, as a BIGNUM. */
static BIGNUM *der_uint(rd_t *r)
{
    rd_t v;
    if (der_get(r, 0x02, &v) != 0 || v.p == v.end || (v.p[0] & 0x80) != 0)
        return NULL;
    return BN_bin2bn(v.p, (int)(v.end - v.p), NULL);
}

/* An OBJECT IDENTIFIER's NID. */
static int der_oid_nid(rd_t *r)
{
    const unsigned char *start = r->p;
    rd_t v;
    if (der_get(r, 0x06, &v) != 0)
        return NID_undef;
    const unsigned char *p = start;
    ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, r->p - start);
    int nid = o != NULL ? OBJ_obj2nid(o) : NID_undef;
    ASN1_OBJECT_free(o);
    return nid;
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

/* The certificate's public key bytes and its algorithm and curve NIDs. */
static int leaf_pub(X509 *leaf, int *alg, int *curve_nid, const unsigned char **pub, size_t *len)
{
    X509_PUBKEY *xpk = X509_get_X509_PUBKEY(leaf);
    ASN1_OBJECT *alg_oid = NULL;
    const unsigned char *pk = NULL;
    int pklen = 0;
    X509_ALGOR *palg = NULL;
    if (xpk == NULL || X509_PUBKEY_get0_param(&alg_oid, &pk, &pklen, &palg, xpk) != 1)
        return -1;
    *alg = OBJ_obj2nid(alg_oid);
    *curve_nid = NID_undef;
    if (*alg == NID_X9_62_id_ecPublicKey) {
        int ptype = 0;
        const void *pval = NULL;
        X509_ALGOR_get0(NULL, &ptype, &pval, palg);
        if (ptype != V_ASN1_OBJECT)
            return -1;
        *curve_nid = OBJ_obj2nid(pval);
    }
    *pub = pk;
    *len = (size_t)pklen;
    return 0;
}

/* SEC1 ECPrivateKey (RFC 5915) on curve `nid` (0: the key's own [0] parameters say). */
static int ec_key(rd_t in, int nid, X509 *leaf, EVP_PKEY **out)
{
    rd_t seq, ver, priv;
    if (der_get(&in, 0x30, &seq) != 0 || der_get(&seq, 0x02, &ver) != 0 || ver.end - ver.p != 1 ||
        ver.p[0] != 1 || der_get(&seq, 0x04, &priv) != 0)
        return 1;
    if (der_peek(&seq, 0xa0)) {
        rd_t params;
        if (der_get(&seq, 0xa0, &params) != 0)
            return 1;
        int own = der_oid_nid(&params);
        if (own == NID_undef || (nid != NID_undef && own != nid))
            return 1;
        nid = own;
    }
    int alg, cert_nid;
    const unsigned char *cpub;
    size_t cpub_len;
    const EC_GROUP *g = curve(nid);
    if (g == NULL || leaf_pub(leaf, &alg, &cert_nid, &cpub, &cpub_len) != 0)
        return 1;
    if (alg != NID_X9_62_id_ecPublicKey || cert_nid != nid)
        return -1; /* an EC key for a certificate of another algorithm or curve */
    int rc = 1;
    BN_CTX *bctx = BN_CTX_new();
    BIGNUM *d = BN_bin2bn(priv.p, (int)(priv.end - priv.p), NULL);
    EC_POINT *pt = EC_POINT_new(g), *cpt = EC_POINT_new(g);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    unsigned char pub[1 + 2 * 66];
    size_t pub_len = 0;
    if (bctx == NULL || d == NULL || pt == NULL || cpt == NULL || bld == NULL)
        goto out;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0)
        goto out;
    /* The check that matters: this private scalar makes the certificate's public point. */
    if (EC_POINT_mul(g, pt, d, NULL, NULL, bctx) != 1 ||
        EC_POINT_oct2point(g, cpt, cpub, cpub_len, bctx) != 1)
        goto out;
    if (EC_POINT_cmp(g, pt, cpt, bctx) != 0) {
        rc = -1;
        goto out;
    }
    pub_len = EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub, bctx);
    if (pub_len == 0 ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) != 1)
        goto out;
    *out = from_params("EC", bld);
    rc = *out != NULL ? 0 : 1;
out:
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(pt);
    EC_POINT_free(cpt);
    BN_clear_free(d);
    BN_CTX_free(bctx);
    return rc;
}

/* The certificate's RSA n and e. */
static int leaf_rsa(X509 *leaf, BIGNUM **n, BIGNUM **e)
{
    int alg, cnid;
    const unsigned char *pk;
    size_t len;
    rd_t r, seq;
    if (leaf_pub(leaf, &alg, &cnid, &pk, &len) != 0 || alg != NID_rsaEncryption)
        return -1;
    r.p = pk;
    r.end = pk + len;
    if (der_get(&r, 0x30, &seq) != 0 || (*n = der_uint(&seq)) == NULL)
        return -1;
    if ((*e = der_uint(&seq)) == NULL) {
        BN_free(*n);
        *n = NULL; /* the caller frees both */
        return -1;
    }
    return 0;
}

/* PKCS#1 RSAPrivateKey (two primes). */
static int rsa_key(rd_t in, X509 *leaf, EVP_PKEY **out)
{
    enum { N, E, D, P, Q, DP, DQ, QI, COUNT };
    static const char *const names[COUNT] = {
        OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    BIGNUM *v[COUNT] = {0}, *cn = NULL, *ce = NULL, *t = NULL, *u = NULL;
    BN_CTX *bctx = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    rd_t seq, ver;
    int rc = 1;
    if (der_get(&in, 0x30, &seq) != 0 || der_get(&seq, 0x02, &ver) != 0 || ver.end - ver.p != 1 ||
        ver.p[0] != 0)
        return 1;
    for (int i = 0; i < COUNT; i++)
        if ((v[i] = der_uint(&seq)) == NULL)
            goto out;
    if (seq.p != seq.end) /* otherPrimeInfos: not ours */
        goto out;
    for (int i = D; i < COUNT; i++)
        BN_set_flags(v[i], BN_FLG_CONSTTIME);
    if (leaf_rsa(leaf, &cn, &ce) != 0) {
        rc = -1;
        goto out;
    }
    bctx = BN_CTX_new();
    t = BN_new();
    u = BN_new();
    bld = OSSL_PARAM_BLD_new();
    if (bctx == NULL || t == NULL || u == NULL || bld == NULL)
        goto out;
    rc = -1;
    /* n and e are the certificate's, n = p q, and d, dP, dQ, qInv belong to them. */
    if (BN_cmp(v[N], cn) != 0 || BN_cmp(v[E], ce) != 0 || !BN_mul(t, v[P], v[Q], bctx) ||
        BN_cmp(t, v[N]) != 0)
        goto out;
    for (int i = 0; i < 2; i++) {
        BIGNUM *prime = v[P + i], *exp = v[DP + i];
        /* prime - 1 in t; dP = d mod (p - 1); e dP = 1 mod (p - 1) */
        if (!BN_sub(t, prime, BN_value_one()) || !BN_mod(u, v[D], t, bctx) || BN_cmp(u, exp) != 0 ||
            !BN_mod_mul(u, v[E], exp, t, bctx) || !BN_is_one(u))
            goto out;
    }
    if (!BN_mod_mul(t, v[QI], v[Q], v[P], bctx) || !BN_is_one(t))
        goto out;
    rc = 1;
    for (int i = 0; i < COUNT; i++)
        if (OSSL_PARAM_BLD_push_BN(bld, names[i], v[i]) != 1)
            goto out;
    *out = from_params("RSA", bld);
    rc = *out != NULL ? 0 : 1;
out:
    OSSL_PARAM_BLD_free(bld);
    for (int i = 0; i < COUNT; i++)
        BN_clear_free(v[i]);
    BN_free(cn);
    BN_free(ce);
    BN_clear_free(t);
    BN_clear_free(u);
    BN_CTX_free(bctx);
    return rc;
}

/* PKCS#8 PrivateKeyInfo (RFC 5208; version 0 or 1, attributes and public key ignored). */
static int pkcs8_key(rd_t in, X509 *leaf, EVP_PKEY **out)
{
    rd_t seq, ver, alg, inner;
    if (der_get(&in, 0x30, &seq) != 0 || der_get(&seq, 0x02, &ver) != 0 || ver.end - ver.p != 1 ||
        ver.p[0] > 1 || der_get(&seq, 0x30, &alg) != 0)
        return 1;
    int type = der_oid_nid(&alg);
    if (der_get(&seq, 0x04, &inner) != 0)
        return 1;
    if (type == NID_X9_62_id_ecPublicKey) {
        int nid = der_oid_nid(&alg);
        return nid == NID_undef ? 1 : ec_key(inner, nid, leaf, out);
    }
    if (type == NID_rsaEncryption)
        return rsa_key(inner, leaf, out);
    return 1;
}

int edge_key_from_der(const char *label, const unsigned char *der, size_t len, X509 *leaf,
                      EVP_PKEY **out)
{
    rd_t r = {der, der + len};
    int rc = 1;
    *out = NULL;
    if (strcmp(label, "PRIVATE KEY") == 0)
        rc = pkcs8_key(r, leaf, out);
    else if (strcmp(label, "EC PRIVATE KEY") == 0)
        rc = ec_key(r, NID_undef, leaf, out);
    else if (strcmp(label, "RSA PRIVATE KEY") == 0)
        rc = rsa_key(r, leaf, out);
    ERR_clear_error();
    return rc;
}
