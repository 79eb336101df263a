/* SPDX-License-Identifier: Apache-2.0 */
/* cert.c - one servable certificate: parsed chain and key, checked, reference-counted */
#include "edge/cert.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "edge/certparse.h"
#include "shared/mem.h"
#include "shared/x509.h"

static atomic_long live;

int edge_cert_normalize_name(const char *name, char *buf, size_t size)
{
    size_t len = name == NULL ? 0 : strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len >= size)
        return CP_EINVAL;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)tolower((unsigned char)name[i]);
    buf[len] = '\0';
    return 0;
}

void edge_cert_pem_digest(const char *fullchain_pem, size_t chain_len, const char *key_pem,
                          size_t key_len, unsigned char out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len = 32;
    /* The NUL between the inputs makes moving bytes from one to the other change the digest. */
    if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(c, fullchain_pem, chain_len) != 1 || EVP_DigestUpdate(c, "", 1) != 1 ||
        EVP_DigestUpdate(c, key_pem, key_len) != 1 || EVP_DigestFinal_ex(c, out, &len) != 1) {
        fputs("edge_cert: SHA-256 failed\n", stderr);
        abort();
    }
    EVP_MD_CTX_free(c);
}

static edge_cert_t *cert_alloc(const char *name)
{
    edge_cert_t *c = cp_xcalloc(1, sizeof *c);
    c->name = cp_xstrdup(name);
    c->refs_ = 1;
    atomic_fetch_add(&live, 1);
    return c;
}

int edge_cert_ip_text_sa(const struct sockaddr *sa, char buf[EDGE_CERT_IP_MAX])
{
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return inet_ntop(AF_INET, &in->sin_addr, buf, EDGE_CERT_IP_MAX) != NULL ? 0 : CP_EINVAL;
    }
    if (sa == NULL || sa->sa_family != AF_INET6)
        return CP_EINVAL;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) /* a dual-stack socket's IPv4 connection */
        return inet_ntop(AF_INET, &a->s6_addr[12], buf, EDGE_CERT_IP_MAX) != NULL ? 0 : CP_EINVAL;
    return inet_ntop(AF_INET6, a, buf, EDGE_CERT_IP_MAX) != NULL ? 0 : CP_EINVAL;
}

int edge_cert_ip_text(const char *text, char buf[EDGE_CERT_IP_MAX])
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    if (text == NULL)
        return CP_EINVAL;
    if (inet_pton(AF_INET, text, &in.sin_addr) == 1)
        return edge_cert_ip_text_sa((struct sockaddr *)&in, buf);
    if (inet_pton(AF_INET6, text, &in6.sin6_addr) == 1)
        return edge_cert_ip_text_sa((struct sockaddr *)&in6, buf);
    return CP_EINVAL;
}

/* The DNS names a cert serves: the SAN dNSNames, else the CN when there is no SAN address either
 * (RFC 6125 6.4.4: the CN is only looked at without subjectAltName identifiers). */
static size_t info_dns_count(const cp_x509_info_t *info)
{
    if (info->n_dns_names > 0)
        return info->n_dns_names;
    return info->common_name != NULL && info->n_ip_addresses == 0 ? 1 : 0;
}

static const char *info_dns(const cp_x509_info_t *info, size_t i)
{
    return info->n_dns_names > 0 ? info->dns_names[i] : info->common_name;
}

/* Fills names, ips, not_after and sha256 from the leaf. The names, the addresses and their array
 * are one allocation (the strings follow the array): a certificate keeps only what the handshake
 * and the table need. */
static int cert_fill_info(edge_cert_t *c, cp_err_t *err)
{
    cp_x509_info_t info;
    int rc = cp_x509_info_get(c->leaf, &info, err);
    if (rc != 0)
        return rc;
    size_t n = info_dns_count(&info), m = info.n_ip_addresses, total = 0;
    char buf[256];
    if (n + m == 0) {
        rc = cp_err_set(err, CP_EINVAL, "certificate has no DNS name or IP address");
        goto out;
    }
    for (size_t i = 0; i < n + m; i++) {
        if (i < n ? edge_cert_normalize_name(info_dns(&info, i), buf, sizeof buf) != 0
                  : edge_cert_ip_text(info.ip_addresses[i - n], buf) != 0) {
            rc = cp_err_set(err, CP_EINVAL, "certificate %s %zu is empty, too long or unreadable",
                            i < n ? "name" : "IP address", i < n ? i + 1 : i - n + 1);
            goto out;
        }
        total += strlen(buf) + 1;
    }
    c->names = cp_xcalloc(1, (n + m) * sizeof *c->names + total);
    c->ips = c->names + n;
    char *p = (char *)(c->names + n + m);
    for (size_t i = 0; i < n + m; i++) {
        if (i < n)
            edge_cert_normalize_name(info_dns(&info, i), p, 256);
        else
            edge_cert_ip_text(info.ip_addresses[i - n], p);
        c->names[i] = p; /* ips[i - n] for an address */
        p += strlen(p) + 1;
    }
    c->n_names = n;
    c->n_ips = m;
    c->not_after = info.not_after;
    memcpy(c->sha256, info.sha256, sizeof c->sha256);
out:
    cp_x509_info_dispose(&info);
    return rc;
}

/* ---- shared chains ------------------------------------------------------------------------
 * Thousands of leaves share one intermediate: the rest of a chain (everything after the leaf) is
 * kept once per distinct content, keyed by the SHA-256 of its DER, and shared read-only by every
 * cert that sends it (SSL_use_cert_and_key only takes references on its X509s). */

typedef struct chain_entry {
    struct chain_entry *next;
    size_t refs; /* under chain_lock */
    unsigned char digest[32];
    STACK_OF(X509) * stack;
} chain_entry_t;

#define CHAIN_BUCKETS 64
static pthread_mutex_t chain_lock = PTHREAD_MUTEX_INITIALIZER;
static chain_entry_t *chain_buckets[CHAIN_BUCKETS];
static size_t chain_entries;

/* The digest of DER blocks 1..n-1 (each preceded by its length). */
static void chain_digest(unsigned char *const *der, const size_t *len, size_t n,
                         unsigned char out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int md_len = 32;
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    for (size_t i = 1; ok && i < n; i++) {
        unsigned char be[8];
        for (int k = 0; k < 8; k++)
            be[k] = (unsigned char)(len[i] >> (56 - 8 * k));
        ok = EVP_DigestUpdate(c, be, sizeof be) == 1 && EVP_DigestUpdate(c, der[i], len[i]) == 1;
    }
    if (!ok || EVP_DigestFinal_ex(c, out, &md_len) != 1) {
        fputs("edge_cert: SHA-256 failed\n", stderr);
        abort();
    }
    EVP_MD_CTX_free(c);
}

/* The shared entry for `digest`, retained, or NULL. */
static chain_entry_t *chain_find(const unsigned char digest[32])
{
    pthread_mutex_lock(&chain_lock);
    chain_entry_t *e = chain_buckets[digest[0] % CHAIN_BUCKETS];
    while (e != NULL && memcmp(e->digest, digest, 32) != 0)
        e = e->next;
    if (e != NULL)
        e->refs++;
    pthread_mutex_unlock(&chain_lock);
    return e;
}

/* Adds `stack` (taken over) under `digest`, or returns the entry another thread added meanwhile
 * (then `stack` is freed). Retained either way. */
static chain_entry_t *chain_add(const unsigned char digest[32], STACK_OF(X509) * stack)
{
    chain_entry_t *e = chain_find(digest);
    if (e != NULL) {
        sk_X509_pop_free(stack, X509_free);
        return e;
    }
    e = cp_xcalloc(1, sizeof *e);
    memcpy(e->digest, digest, 32);
    e->stack = stack;
    e->refs = 1;
    pthread_mutex_lock(&chain_lock);
    chain_entry_t **head = &chain_buckets[digest[0] % CHAIN_BUCKETS], *other = *head;
    while (other != NULL && memcmp(other->digest, digest, 32) != 0)
        other = other->next;
    if (other != NULL) {
        other->refs++;
        pthread_mutex_unlock(&chain_lock);
        sk_X509_pop_free(stack, X509_free);
        free(e);
        return other;
    }
    e->next = *head;
    *head = e;
    chain_entries++;
    pthread_mutex_unlock(&chain_lock);
    return e;
}

static void chain_release(chain_entry_t *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&chain_lock);
    if (--e->refs > 0) {
        pthread_mutex_unlock(&chain_lock);
        return;
    }
    chain_entry_t **pp = &chain_buckets[e->digest[0] % CHAIN_BUCKETS];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    chain_entries--;
    pthread_mutex_unlock(&chain_lock);
    sk_X509_pop_free(e->stack, X509_free);
    free(e);
}

size_t edge_cert_shared_chains(void)
{
    pthread_mutex_lock(&chain_lock);
    size_t n = chain_entries;
    pthread_mutex_unlock(&chain_lock);
    return n;
}

/* ---- parsing ------------------------------------------------------------------------------ */

typedef struct ders {
    unsigned char *der[CP_X509_CHAIN_MAX];
    size_t len[CP_X509_CHAIN_MAX];
    size_t n;
} ders_t;

static void ders_free(ders_t *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->der[i]);
    d->n = 0;
}

/* The chain's CERTIFICATE blocks as DER. 0, or 1 for anything OpenSSL's reader should judge. */
static int chain_ders(const char *pem, size_t len, ders_t *d)
{
    const char *pos = pem, *end = pem + len;
    char label[EDGE_PEM_LABEL_MAX];
    unsigned char *der;
    size_t der_len;
    int rc;
    d->n = 0;
    while ((rc = edge_pem_next(&pos, end, label, &der, &der_len)) == 0) {
        if (d->n == CP_X509_CHAIN_MAX || strcmp(label, "CERTIFICATE") != 0) {
            free(der);
            rc = -1;
            break;
        }
        d->der[d->n] = der;
        d->len[d->n++] = der_len;
    }
    if (rc < 0 || d->n == 0) {
        ders_free(d);
        return 1;
    }
    return 0;
}

static X509 *x509_from_der(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = len <= LONG_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
    if (x != NULL && p != der + len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* Leaf and shared rest of the chain from DER blocks; 1 when one does not parse (the caller lets
 * OpenSSL's reader say why). */
static int chain_from_ders(edge_cert_t *c, const ders_t *d)
{
    unsigned char digest[32];
    if ((c->leaf = x509_from_der(d->der[0], d->len[0])) == NULL)
        return 1;
    chain_digest(d->der, d->len, d->n, digest);
    chain_entry_t *e = chain_find(digest);
    if (e == NULL) {
        STACK_OF(X509) *stack = cp_xcheck(sk_X509_new_null(), "sk_X509_new_null");
        for (size_t i = 1; i < d->n; i++) {
            X509 *x = x509_from_der(d->der[i], d->len[i]);
            if (x == NULL) {
                sk_X509_pop_free(stack, X509_free);
                return 1;
            }
            sk_X509_push(stack, x);
        }
        e = chain_add(digest, stack);
    }
    c->chain_ = e;
    c->chain = e->stack;
    return 0;
}

/* The same from OpenSSL's reader (the fallback, and its error messages). */
static int chain_from_pem(edge_cert_t *c, const char *pem, size_t len, cp_err_t *err)
{
    cp_x509_chain_t *chain = NULL;
    ders_t d = {.n = 0};
    int rc = cp_x509_chain_parse(pem, len, &chain, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < chain->n; i++) {
        unsigned char *der = NULL;
        int n = i2d_X509(chain->certs[i], &der);
        if (n <= 0)
            abort();
        d.der[d.n] = der;
        d.len[d.n++] = (size_t)n;
    }
    unsigned char digest[32];
    chain_digest(d.der, d.len, d.n, digest);
    for (size_t i = 0; i < d.n; i++)
        OPENSSL_free(d.der[i]);
    c->leaf = chain->certs[0];
    X509_up_ref(c->leaf);
    chain_entry_t *e = chain_find(digest);
    if (e == NULL) {
        STACK_OF(X509) *stack = cp_xcheck(sk_X509_new_null(), "sk_X509_new_null");
        for (size_t i = 1; i < chain->n; i++) {
            X509_up_ref(chain->certs[i]);
            sk_X509_push(stack, chain->certs[i]);
        }
        e = chain_add(digest, stack);
    }
    c->chain_ = e;
    c->chain = e->stack;
    cp_x509_chain_free(chain);
    return 0;
}

/* The private key, checked against the leaf: directly for EC and RSA in PKCS#8, SEC1 or PKCS#1,
 * else through OpenSSL's PEM reader. */
static int key_for_leaf(edge_cert_t *c, const char *pem, size_t len, cp_err_t *err)
{
    const char *pos = pem;
    char label[EDGE_PEM_LABEL_MAX];
    unsigned char *der = NULL;
    size_t der_len = 0;
    int rc = 1;
    if (edge_pem_next(&pos, pem + len, label, &der, &der_len) == 0) {
        rc = edge_key_from_der(label, der, der_len, c->leaf, &c->key);
        cp_secure_free(der, der_len);
    }
    if (rc < 0)
        return cp_err_set(err, CP_EINVAL, "private key does not match the certificate");
    if (rc > 0 && (rc = cp_x509_key_from_pem(pem, len, &c->key, err)) != 0)
        return rc;
    /* And OpenSSL's own comparison of the public halves, as before. */
    return cp_x509_key_matches(c->leaf, c->key, err);
}

int edge_cert_new(const char *name, const char *fullchain_pem, size_t chain_len,
                  const char *key_pem, size_t key_len, int64_t revision, edge_cert_t **out,
                  cp_err_t *err)
{
    edge_cert_t *c = cert_alloc(name);
    ders_t d;
    int rc = 1;
    if (chain_ders(fullchain_pem, chain_len, &d) == 0) {
        rc = chain_from_ders(c, &d);
        ders_free(&d);
        if (rc != 0) { /* start over on OpenSSL's reader */
            X509_free(c->leaf);
            c->leaf = NULL;
        }
    }
    if (rc != 0)
        rc = chain_from_pem(c, fullchain_pem, chain_len, err);
    /* The transaction rule: a key is checked against its certificate before anything is published.
     */
    if (rc == 0)
        rc = key_for_leaf(c, key_pem, key_len, err);
    if (rc == 0)
        rc = cert_fill_info(c, err);
    if (rc == 0) {
        c->revision = revision;
        edge_cert_pem_digest(fullchain_pem, chain_len, key_pem, key_len, c->pem_digest);
    }
    if (rc != 0) {
        edge_cert_release(c);
        c = NULL;
    }
    ERR_clear_error();
    *out = c;
    return rc;
}

int edge_cert_new_self_signed(const char *cn, edge_cert_t **out, cp_err_t *err)
{
    edge_cert_t *c = cert_alloc("");
    const char *names[] = {cn};
    int rc = cp_x509_key_generate(CP_KEY_EC_P256, &c->key, err);
    if (rc == 0)
        rc = cp_x509_self_signed(c->key, names, 1, 3650, &c->leaf, err);
    if (rc == 0) {
        c->chain = sk_X509_new_null();
        rc = c->chain != NULL ? cert_fill_info(c, err) : cp_err_set(err, CP_ECRYPTO, "no memory");
    }
    if (rc != 0) {
        edge_cert_release(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

/* Adds the critical id-pe-acmeIdentifier extension (RFC 8737 section 3): the DER OCTET STRING of
 * the SHA-256 of key_auth, then signs the leaf again. */
static int add_acme_identifier(X509 *leaf, EVP_PKEY *key, const char *key_auth, cp_err_t *err)
{
    unsigned char der[2 + SHA256_DIGEST_LENGTH] = {0x04, SHA256_DIGEST_LENGTH};
    SHA256((const unsigned char *)key_auth, strlen(key_auth), der + 2);
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    int ok = oid != NULL && value != NULL && ASN1_OCTET_STRING_set(value, der, sizeof der) == 1 &&
             (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, value)) != NULL &&
             X509_add_ext(leaf, ext, -1) == 1 && X509_sign(leaf, key, EVP_sha256()) > 0;
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(value);
    ASN1_OBJECT_free(oid);
    if (!ok) {
        ERR_clear_error();
        return cp_err_set(err, CP_ECRYPTO, "TLS-ALPN-01 validation certificate: signing failed");
    }
    return 0;
}

int edge_cert_new_alpn(const char *identifier, const char *key_auth, edge_cert_t **out,
                       cp_err_t *err)
{
    edge_cert_t *c = cert_alloc("");
    const char *names[] = {identifier};
    int rc = cp_x509_key_generate(CP_KEY_EC_P256, &c->key, err);
    if (rc == 0)
        rc = cp_x509_self_signed(c->key, names, 1, 7, &c->leaf, err);
    if (rc == 0)
        rc = add_acme_identifier(c->leaf, c->key, key_auth, err);
    if (rc == 0) {
        c->chain = sk_X509_new_null();
        rc = c->chain != NULL ? cert_fill_info(c, err) : cp_err_set(err, CP_ECRYPTO, "no memory");
    }
    if (rc != 0) {
        edge_cert_release(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

edge_cert_t *edge_cert_retain(edge_cert_t *c)
{
    if (c != NULL)
        __atomic_fetch_add(&c->refs_, 1, __ATOMIC_RELAXED);
    return c;
}

void edge_cert_release(edge_cert_t *c)
{
    if (c == NULL || __atomic_fetch_sub(&c->refs_, 1, __ATOMIC_ACQ_REL) != 1)
        return;
    free(c->names); /* and the names: one allocation */
    X509_free(c->leaf);
    if (c->chain_ != NULL)
        chain_release(c->chain_);
    else
        sk_X509_pop_free(c->chain, X509_free);
    EVP_PKEY_free(c->key);
    free(c->name);
    free(c);
    atomic_fetch_sub(&live, 1);
}

long edge_cert_live_count(void)
{
    return atomic_load(&live);
}
