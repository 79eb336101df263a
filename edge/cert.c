/* SPDX-License-Identifier: Apache-2.0 */
/* cert.c - one servable certificate: kept compact, checked, parsed on demand, reference-counted */
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

#include "edge/certder.h"
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

/* Fills names, ips and not_after from `info` (and disposes it). The names, the addresses and their
 * array are one allocation (the strings follow the array): a certificate keeps only what the
 * handshake and the table need. */
static int cert_fill_info(edge_cert_t *c, cp_x509_info_t *info, cp_err_t *err)
{
    size_t n = info_dns_count(info), m = info->n_ip_addresses, total = 0;
    char buf[256];
    int rc = 0;
    if (n + m == 0) {
        rc = cp_err_set(err, CP_EINVAL, "certificate has no DNS name or IP address");
        goto out;
    }
    for (size_t i = 0; i < n + m; i++) {
        if (i < n ? edge_cert_normalize_name(info_dns(info, i), buf, sizeof buf) != 0
                  : edge_cert_ip_text(info->ip_addresses[i - n], buf) != 0) {
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
            edge_cert_normalize_name(info_dns(info, i), p, 256);
        else
            edge_cert_ip_text(info->ip_addresses[i - n], p);
        c->names[i] = p; /* ips[i - n] for an address */
        p += strlen(p) + 1;
    }
    c->n_names = n;
    c->n_ips = m;
    c->not_after = info->not_after;
out:
    cp_x509_info_dispose(info);
    return rc;
}

static char *slice_dup(edge_der_t s)
{
    return cp_xstrndup((const char *)s.p, (size_t)(s.end - s.p));
}

/* The same facts from edge_leaf_read, in the form cert_fill_info takes. */
static void info_from_leaf(const edge_leaf_t *l, cp_x509_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->not_after = l->not_after;
    info->common_name = l->cn.p != NULL ? slice_dup(l->cn) : NULL;
    info->dns_names = cp_xcalloc(l->n_dns + 1, sizeof *info->dns_names);
    for (size_t i = 0; i < l->n_dns; i++)
        info->dns_names[info->n_dns_names++] = slice_dup(l->dns[i]);
    info->ip_addresses = cp_xcalloc(l->n_ip + 1, sizeof *info->ip_addresses);
    for (size_t i = 0; i < l->n_ip; i++) {
        char text[EDGE_CERT_IP_MAX];
        size_t n = (size_t)(l->ip[i].end - l->ip[i].p);
        inet_ntop(n == 4 ? AF_INET : AF_INET6, l->ip[i].p, text, sizeof text);
        info->ip_addresses[info->n_ip_addresses++] = cp_xstrdup(text);
    }
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

/* The same through OpenSSL's reader (odd PEM, and its error messages). */
static int chain_ders_openssl(const char *pem, size_t len, ders_t *d, cp_err_t *err)
{
    cp_x509_chain_t *chain = NULL;
    int rc = cp_x509_chain_parse(pem, len, &chain, err);
    d->n = 0;
    for (size_t i = 0; rc == 0 && i < chain->n; i++) {
        unsigned char *der = NULL;
        int n = i2d_X509(chain->certs[i], &der);
        if (n <= 0)
            abort();
        d->der[d->n] = cp_xmalloc((size_t)n);
        memcpy(d->der[d->n], der, (size_t)n);
        d->len[d->n++] = (size_t)n;
        OPENSSL_free(der);
    }
    cp_x509_chain_free(chain);
    return rc;
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

/* The shared rest of the chain (parsed once per distinct content). */
static int chain_share(edge_cert_t *c, const ders_t *d, cp_err_t *err)
{
    unsigned char digest[32];
    chain_digest(d->der, d->len, d->n, digest);
    chain_entry_t *e = chain_find(digest);
    if (e == NULL) {
        STACK_OF(X509) *stack = cp_xcheck(sk_X509_new_null(), "sk_X509_new_null");
        for (size_t i = 1; i < d->n; i++) {
            X509 *x = x509_from_der(d->der[i], d->len[i]);
            if (x == NULL) {
                sk_X509_pop_free(stack, X509_free);
                return cp_err_set(err, CP_EINVAL, "chain certificate %zu does not parse", i + 1);
            }
            sk_X509_push(stack, x);
        }
        e = chain_add(digest, stack);
    }
    c->chain_ = e;
    c->chain = e->stack;
    return 0;
}

/* The private key made and checked against the parsed leaf: directly for EC and RSA in PKCS#8,
 * SEC1 or PKCS#1, else through OpenSSL's PEM reader; then OpenSSL's own comparison of the public
 * halves too. */
static int key_for_leaf(X509 *leaf, const char *pem, size_t len, EVP_PKEY **key, cp_err_t *err)
{
    const char *pos = pem;
    char label[EDGE_PEM_LABEL_MAX];
    unsigned char *der = NULL;
    size_t der_len = 0;
    edge_spki_t spki;
    int rc = 1;
    *key = NULL;
    if (edge_spki_from_x509(leaf, &spki) == 0 &&
        edge_pem_next(&pos, pem + len, label, &der, &der_len) == 0) {
        rc = edge_key_from_der(label, der, der_len, &spki, key);
        cp_secure_free(der, der_len);
    }
    if (rc < 0)
        return cp_err_set(err, CP_EINVAL, "private key does not match the certificate");
    if (rc > 0 && (rc = cp_x509_key_from_pem(pem, len, key, err)) != 0)
        return rc;
    return cp_x509_key_matches(leaf, *key, err);
}

/* The key checked against the leaf's public key bytes without making an EVP_PKEY: 0, CP_EINVAL
 * when it is not the leaf's, 1 when this check cannot tell (the caller parses both). */
static int key_check(const edge_spki_t *spki, const char *pem, size_t len, cp_err_t *err)
{
    const char *pos = pem;
    char label[EDGE_PEM_LABEL_MAX];
    unsigned char *der = NULL;
    size_t der_len = 0;
    if (edge_pem_next(&pos, pem + len, label, &der, &der_len) != 0)
        return 1;
    int rc = edge_key_from_der(label, der, der_len, spki, NULL);
    cp_secure_free(der, der_len);
    ERR_clear_error();
    if (rc < 0)
        return cp_err_set(err, CP_EINVAL, "private key does not match the certificate");
    return rc;
}

/* ---- the cache of parsed leaves and keys ----------------------------------------------------
 * A doubly linked list, most recently used first, of the certs whose leaf_ and key_ are set (not
 * the pinned fallback). It holds no reference on a cert: edge_cert_release unlinks it. */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static edge_cert_t *lru_head, *lru_tail;
static size_t cache_held, cache_max = EDGE_CERT_CACHE_DEFAULT;
static unsigned long long cache_hits, cache_misses, cache_evictions, cache_bad;

static void lru_unlink(edge_cert_t *c)
{
    if (c->lru_prev_ != NULL)
        c->lru_prev_->lru_next_ = c->lru_next_;
    else
        lru_head = c->lru_next_;
    if (c->lru_next_ != NULL)
        c->lru_next_->lru_prev_ = c->lru_prev_;
    else
        lru_tail = c->lru_prev_;
    c->lru_prev_ = c->lru_next_ = NULL;
}

static void lru_push(edge_cert_t *c)
{
    c->lru_prev_ = NULL;
    c->lru_next_ = lru_head;
    if (lru_head != NULL)
        lru_head->lru_prev_ = c;
    lru_head = c;
    if (lru_tail == NULL)
        lru_tail = c;
}

/* Drops the least recently used beyond cache_max. Under cache_lock. */
static void cache_trim(void)
{
    while (cache_held > cache_max && lru_tail != NULL) {
        edge_cert_t *c = lru_tail;
        lru_unlink(c);
        X509_free(c->leaf_);
        EVP_PKEY_free(c->key_);
        c->leaf_ = NULL;
        c->key_ = NULL;
        cache_held--;
        cache_evictions++;
    }
}

/* Keeps (leaf, key) as c's parsed pair unless another thread was first (then they are freed), and
 * hands the caller references on the pair kept. */
static void cache_put(edge_cert_t *c, X509 *leaf, EVP_PKEY *key, X509 **out_leaf,
                      EVP_PKEY **out_key)
{
    pthread_mutex_lock(&cache_lock);
    if (c->leaf_ == NULL) {
        c->leaf_ = leaf;
        c->key_ = key;
        leaf = NULL;
        key = NULL;
        lru_push(c);
        cache_held++;
    }
    if (out_leaf != NULL) {
        X509_up_ref(c->leaf_);
        EVP_PKEY_up_ref(c->key_);
        *out_leaf = c->leaf_;
        *out_key = c->key_;
    }
    cache_trim(); /* after the references: c itself may be the one dropped (a cache of 1) */
    pthread_mutex_unlock(&cache_lock);
    X509_free(leaf);
    EVP_PKEY_free(key);
}

/* References on c's pair when it is parsed, moving it to the front. 1 when it is not. */
static int cache_get(edge_cert_t *c, X509 **leaf, EVP_PKEY **key)
{
    pthread_mutex_lock(&cache_lock);
    int rc = 1;
    if (c->leaf_ != NULL) {
        X509_up_ref(c->leaf_);
        EVP_PKEY_up_ref(c->key_);
        *leaf = c->leaf_;
        *key = c->key_;
        if (!c->pinned_ && c != lru_head) {
            lru_unlink(c);
            lru_push(c);
        }
        cache_hits++;
        rc = 0;
    }
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

int edge_cert_materialize(edge_cert_t *c, X509 **leaf, EVP_PKEY **key, cp_err_t *err)
{
    *leaf = NULL;
    *key = NULL;
    if (edge_cert_is_bad(c))
        return cp_err_set(err, CP_EINVAL, "certificate was found unusable before");
    if (cache_get(c, leaf, key) == 0)
        return 0;
    X509 *x = x509_from_der(c->leaf_der, c->leaf_len);
    EVP_PKEY *k = NULL;
    int rc = x != NULL ? key_for_leaf(x, c->key_pem, c->key_len, &k, err)
                       : cp_err_set(err, CP_EINVAL, "leaf certificate does not parse");
    ERR_clear_error();
    pthread_mutex_lock(&cache_lock);
    cache_misses++;
    if (rc != 0 && !edge_cert_is_bad(c)) {
        cache_bad++;
        __atomic_store_n(&c->bad_, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&cache_lock);
    if (rc != 0) {
        X509_free(x);
        EVP_PKEY_free(k);
        return rc;
    }
    cache_put(c, x, k, leaf, key);
    return 0;
}

int edge_cert_is_bad(const edge_cert_t *c)
{
    return __atomic_load_n(&c->bad_, __ATOMIC_ACQUIRE);
}

void edge_cert_cache_set_max(size_t max)
{
    pthread_mutex_lock(&cache_lock);
    cache_max = max < 1 ? 1 : max;
    cache_trim();
    pthread_mutex_unlock(&cache_lock);
}

void edge_cert_cache_stats(edge_cert_cache_stats_t *out)
{
    pthread_mutex_lock(&cache_lock);
    *out = (edge_cert_cache_stats_t){cache_held,   cache_max,       cache_hits,
                                     cache_misses, cache_evictions, cache_bad};
    pthread_mutex_unlock(&cache_lock);
}

/* ---- making certs --------------------------------------------------------------------------- */

/* Names, expiry and the key check from the leaf's DER; 1 when the DER reader or the key check
 * cannot tell (the caller takes the parsing path). */
static int cert_compact(edge_cert_t *c, const char *key_pem, size_t key_len, cp_err_t *err)
{
    edge_leaf_t *l = cp_xmalloc(sizeof *l);
    cp_x509_info_t info;
    int rc = edge_leaf_read(c->leaf_der, c->leaf_len, l);
    if (rc == 0)
        rc = key_check(&l->spki, key_pem, key_len, err);
    if (rc == 0) {
        info_from_leaf(l, &info);
        rc = cert_fill_info(c, &info, err);
    }
    free(l);
    return rc;
}

/* The same by parsing leaf and key (any format OpenSSL reads); the parsed pair goes to the cache.
 */
static int cert_parsed(edge_cert_t *c, const char *key_pem, size_t key_len, cp_err_t *err)
{
    X509 *x = x509_from_der(c->leaf_der, c->leaf_len);
    EVP_PKEY *k = NULL;
    cp_x509_info_t info;
    if (x == NULL)
        return cp_err_set(err, CP_EINVAL, "leaf certificate does not parse");
    int rc = key_for_leaf(x, key_pem, key_len, &k, err);
    if (rc == 0 && (rc = cp_x509_info_get(x, &info, err)) == 0)
        rc = cert_fill_info(c, &info, err);
    if (rc != 0) {
        X509_free(x);
        EVP_PKEY_free(k);
        return rc;
    }
    cache_put(c, x, k, NULL, NULL);
    return 0;
}

/* Leaf DER, shared chain, names and the key check from a chain's DER blocks (taken over). */
static int cert_from_ders(edge_cert_t *c, ders_t *d, const char *key_pem, size_t key_len,
                          cp_err_t *err)
{
    int rc = chain_share(c, d, err);
    c->leaf_len = d->len[0];
    c->leaf_der = cp_xrealloc(d->der[0], d->len[0]); /* edge_pem_next's buffer is a bit larger */
    d->der[0] = NULL;
    ders_free(d);
    if (rc != 0)
        return rc;
    EVP_Digest(c->leaf_der, c->leaf_len, c->sha256, NULL, EVP_sha256(), NULL);
    rc = cert_compact(c, key_pem, key_len, err);
    if (rc == 1)
        rc = cert_parsed(c, key_pem, key_len, err);
    return rc;
}

int edge_cert_new(const char *name, const char *fullchain_pem, size_t chain_len,
                  const char *key_pem, size_t key_len, int64_t revision, edge_cert_t **out,
                  cp_err_t *err)
{
    edge_cert_t *c = cert_alloc(name);
    ders_t d;
    int rc = 0;
    if (chain_ders(fullchain_pem, chain_len, &d) != 0)
        rc = chain_ders_openssl(fullchain_pem, chain_len, &d, err);
    /* The transaction rule: a key is checked against its certificate before anything is published.
     */
    if (rc == 0)
        rc = cert_from_ders(c, &d, key_pem, key_len, err);
    if (rc == 0) {
        c->revision = revision;
        /* All key_len bytes (a NUL inside must not make the copy shorter than key_len says:
         * the key is read again by length when it is built for a handshake). */
        c->key_pem = cp_xmalloc(key_len + 1);
        memcpy(c->key_pem, key_pem, key_len);
        c->key_pem[key_len] = '\0';
        c->key_len = key_len;
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

/* A pinned self-signed P-256 certificate for cn; with key_auth, a TLS-ALPN-01 validation one. */
static int self_signed(const char *cn, const char *key_auth, edge_cert_t **out, cp_err_t *err)
{
    edge_cert_t *c = cert_alloc("");
    const char *names[] = {cn};
    cp_x509_info_t info;
    c->pinned_ = 1;
    int rc = cp_x509_key_generate(CP_KEY_EC_P256, &c->key_, err);
    if (rc == 0)
        rc = cp_x509_self_signed(c->key_, names, 1, key_auth != NULL ? 7 : 3650, &c->leaf_, err);
    if (rc == 0 && key_auth != NULL)
        rc = add_acme_identifier(c->leaf_, c->key_, key_auth, err);
    if (rc == 0 && (c->chain = sk_X509_new_null()) == NULL)
        rc = cp_err_set(err, CP_ECRYPTO, "no memory");
    unsigned char *der = NULL;
    int len = rc == 0 ? i2d_X509(c->leaf_, &der) : 0;
    if (rc == 0 && len <= 0)
        rc = cp_err_set(err, CP_ECRYPTO, "i2d_X509 failed");
    if (rc == 0) {
        c->leaf_der = cp_xmalloc((size_t)len);
        c->leaf_len = (size_t)len;
        memcpy(c->leaf_der, der, (size_t)len);
    }
    OPENSSL_free(der);
    if (rc == 0 && (rc = cp_x509_info_get(c->leaf_, &info, err)) == 0) {
        memcpy(c->sha256, info.sha256, sizeof c->sha256);
        rc = cert_fill_info(c, &info, err);
    }
    if (rc != 0) {
        edge_cert_release(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

int edge_cert_new_self_signed(const char *cn, edge_cert_t **out, cp_err_t *err)
{
    return self_signed(cn, NULL, out, err);
}

int edge_cert_new_alpn(const char *identifier, const char *key_auth, edge_cert_t **out,
                       cp_err_t *err)
{
    return self_signed(identifier, key_auth, out, err);
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
    pthread_mutex_lock(&cache_lock);
    if (c->leaf_ != NULL && !c->pinned_) {
        lru_unlink(c);
        cache_held--;
    }
    pthread_mutex_unlock(&cache_lock);
    X509_free(c->leaf_);
    EVP_PKEY_free(c->key_);
    free(c->names); /* and the names: one allocation */
    free(c->leaf_der);
    cp_secure_free(c->key_pem, c->key_len + 1);
    if (c->chain_ != NULL)
        chain_release(c->chain_);
    else
        sk_X509_pop_free(c->chain, X509_free);
    free(c->name);
    free(c);
    atomic_fetch_sub(&live, 1);
}

long edge_cert_live_count(void)
{
    return atomic_load(&live);
}
