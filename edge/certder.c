/* SPDX-License-Identifier: Apache-2.0 */
/* certder.c - a leaf's names, expiry and public key from its DER (see certder.h) */
#include "edge/certder.h"

#include <string.h>

#include <openssl/obj_mac.h>

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const unsigned char *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return 0;
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 4.1.2.5) as Unix time. */
static int read_time(edge_der_t *r, int64_t *out)
{
    edge_der_t v;
    int utc = edge_der_peek(r, 0x17);
    if (edge_der_get(r, utc ? 0x17 : 0x18, &v) != 0)
        return -1;
    size_t yl = utc ? 2 : 4, n = (size_t)(v.end - v.p);
    unsigned y, mo, d, h, mi, s;
    if (n != yl + 11 || v.p[n - 1] != 'Z' || digits(v.p, yl, &y) != 0 ||
        digits(v.p + yl, 2, &mo) != 0 || digits(v.p + yl + 2, 2, &d) != 0 ||
        digits(v.p + yl + 4, 2, &h) != 0 || digits(v.p + yl + 6, 2, &mi) != 0 ||
        digits(v.p + yl + 8, 2, &s) != 0)
        return -1;
    if (utc)
        y += y < 50 ? 2000 : 1900;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

/* Whether the OBJECT IDENTIFIER next in r is `oid` (its content bytes); moves past it. */
static int oid_is(edge_der_t *r, const unsigned char *oid, size_t n)
{
    edge_der_t v;
    return edge_der_get(r, 0x06, &v) == 0 && (size_t)(v.end - v.p) == n && memcmp(v.p, oid, n) == 0;
}

/* The first CN of a Name, when it is a PrintableString, IA5String or UTF8String without NUL. */
static int read_cn(edge_der_t name, edge_der_t *cn)
{
    static const unsigned char cn_oid[] = {0x55, 0x04, 0x03};
    cn->p = cn->end = NULL;
    edge_der_t set, atv, val;
    while (name.p < name.end) {
        if (edge_der_get(&name, 0x31, &set) != 0)
            return -1;
        while (set.p < set.end) {
            if (edge_der_get(&set, 0x30, &atv) != 0)
                return -1;
            if (!oid_is(&atv, cn_oid, sizeof cn_oid) || cn->p != NULL)
                continue;
            unsigned tag = atv.p < atv.end ? atv.p[0] : 0;
            if ((tag != 0x13 && tag != 0x16 && tag != 0x0c) || edge_der_get(&atv, tag, &val) != 0 ||
                memchr(val.p, '\0', (size_t)(val.end - val.p)) != NULL)
                return -1;
            *cn = val;
        }
    }
    return 0;
}

/* SubjectPublicKeyInfo: algorithm, curve, and the BIT STRING's bytes (no unused bits). */
static int read_spki(edge_der_t spki, edge_spki_t *out)
{
    edge_der_t alg, bits;
    if (edge_der_get(&spki, 0x30, &alg) != 0 || edge_der_get(&spki, 0x03, &bits) != 0 ||
        spki.p != spki.end || bits.p == bits.end || bits.p[0] != 0)
        return -1;
    out->alg = edge_der_oid_nid(&alg);
    out->curve = NID_undef;
    if (out->alg == NID_undef)
        return -1;
    if (out->alg == NID_X9_62_id_ecPublicKey && (out->curve = edge_der_oid_nid(&alg)) == NID_undef)
        return -1;
    out->pub = bits.p + 1;
    out->pub_len = (size_t)(bits.end - bits.p) - 1;
    return 0;
}

/* GeneralNames: dNSName [2] and iPAddress [7] entries; other kinds are skipped. */
static int read_sans(edge_der_t ext, edge_leaf_t *out)
{
    edge_der_t names, v;
    if (edge_der_get(&ext, 0x30, &names) != 0 || ext.p != ext.end)
        return -1;
    while (names.p < names.end) {
        unsigned tag = names.p[0];
        if ((tag & 0x1f) == 0x1f || edge_der_get(&names, tag, &v) != 0)
            return -1; /* a high tag number form is no GeneralName */
        size_t n = (size_t)(v.end - v.p);
        if (tag == 0x82) {
            if (out->n_dns == EDGE_LEAF_NAMES_MAX || memchr(v.p, '\0', n) != NULL)
                return -1;
            out->dns[out->n_dns++] = v;
        } else if (tag == 0x87) {
            if (out->n_ip == EDGE_LEAF_NAMES_MAX || (n != 4 && n != 16))
                return -1;
            out->ip[out->n_ip++] = v;
        }
    }
    return 0;
}

/* Extensions [3]: the subjectAltName one (exactly one, or none). */
static int read_extensions(edge_der_t r, edge_leaf_t *out)
{
    static const unsigned char san_oid[] = {0x55, 0x1d, 0x11};
    edge_der_t exts, ext, val, b;
    int seen = 0;
    if (edge_der_get(&r, 0x30, &exts) != 0 || r.p != r.end)
        return -1;
    while (exts.p < exts.end) {
        if (edge_der_get(&exts, 0x30, &ext) != 0)
            return -1;
        if (!oid_is(&ext, san_oid, sizeof san_oid))
            continue;
        if (edge_der_peek(&ext, 0x01) && edge_der_get(&ext, 0x01, &b) != 0)
            return -1;
        if (seen++ || edge_der_get(&ext, 0x04, &val) != 0 || ext.p != ext.end ||
            read_sans(val, out) != 0)
            return -1;
    }
    return 0;
}

int edge_leaf_read(const unsigned char *der, size_t len, edge_leaf_t *out)
{
    edge_der_t r = {der, der + len}, cert, tbs, v, validity, subject, spki;
    memset(out, 0, sizeof *out);
    if (edge_der_get(&r, 0x30, &cert) != 0 || r.p != r.end || edge_der_get(&cert, 0x30, &tbs) != 0)
        return 1;
    if (edge_der_peek(&tbs, 0xa0) && edge_der_get(&tbs, 0xa0, &v) != 0)
        return 1;
    int64_t not_before;
    if (edge_der_get(&tbs, 0x02, &v) != 0 || edge_der_get(&tbs, 0x30, &v) != 0 ||
        edge_der_get(&tbs, 0x30, &v) != 0 || edge_der_get(&tbs, 0x30, &validity) != 0 ||
        read_time(&validity, &not_before) != 0 || read_time(&validity, &out->not_after) != 0 ||
        validity.p != validity.end || edge_der_get(&tbs, 0x30, &subject) != 0 ||
        edge_der_get(&tbs, 0x30, &spki) != 0 || read_cn(subject, &out->cn) != 0 ||
        read_spki(spki, &out->spki) != 0)
        return 1;
    if (edge_der_peek(&tbs, 0x81) && edge_der_get(&tbs, 0x81, &v) != 0)
        return 1;
    if (edge_der_peek(&tbs, 0x82) && edge_der_get(&tbs, 0x82, &v) != 0)
        return 1;
    if (edge_der_peek(&tbs, 0xa3) &&
        (edge_der_get(&tbs, 0xa3, &v) != 0 || read_extensions(v, out) != 0))
        return 1;
    return tbs.p == tbs.end ? 0 : 1;
}
