/* SPDX-License-Identifier: Apache-2.0 */
/* cert.c - one servable certificate: parsed chain and key, checked, reference-counted */
#include "edge/cert.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/x509.h"

static atomic_long live;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
    if (p == NULL) {
        fputs("edge_cert: out of memory\n", stderr);
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t len = strlen(s);
    char *p = xcalloc(len + 1, 1);
    memcpy(p, s, len);
    return p;
}

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
    edge_cert_t *c = xcalloc(1, sizeof *c);
    c->name = xstrdup(name);
    c->refs_ = 1;
    atomic_fetch_add(&live, 1);
    return c;
}

/* Fills names, serial, not_after and sha256 from the leaf. */
static int cert_fill_info(edge_cert_t *c, cp_err_t *err)
{
    cp_x509_info_t info;
    int rc = cp_x509_info_get(c->leaf, &info, err);
    if (rc != 0)
        return rc;
    size_t n = info.n_dns_names > 0 ? info.n_dns_names : (info.common_name != NULL ? 1 : 0);
    if (n == 0) {
        rc = cp_err_set(err, CP_EINVAL, "certificate has no DNS name");
        goto out;
    }
    c->names = xcalloc(n, sizeof *c->names);
    for (size_t i = 0; i < n; i++) {
        const char *src = info.n_dns_names > 0 ? info.dns_names[i] : info.common_name;
        char buf[256];
        if (edge_cert_normalize_name(src, buf, sizeof buf) != 0) {
            rc = cp_err_set(err, CP_EINVAL, "certificate name %zu is empty or too long", i + 1);
            goto out;
        }
        c->names[c->n_names++] = xstrdup(buf);
    }
    c->serial = xstrdup(info.serial != NULL ? info.serial : "");
    c->not_after = info.not_after;
    memcpy(c->sha256, info.sha256, sizeof c->sha256);
out:
    cp_x509_info_dispose(&info);
    return rc;
}

int edge_cert_new(const char *name, const char *fullchain_pem, size_t chain_len,
                  const char *key_pem, size_t key_len, int64_t revision, edge_cert_t **out,
                  cp_err_t *err)
{
    cp_x509_chain_t *chain = NULL;
    edge_cert_t *c = cert_alloc(name);
    int rc = cp_x509_chain_parse(fullchain_pem, chain_len, &chain, err);
    if (rc != 0)
        goto out;
    rc = cp_x509_key_from_pem(key_pem, key_len, &c->key, err);
    if (rc != 0)
        goto out;
    /* The transaction rule: a key is checked against its certificate before anything is published.
     */
    rc = cp_x509_key_matches(chain->certs[0], c->key, err);
    if (rc != 0)
        goto out;
    c->leaf = chain->certs[0];
    X509_up_ref(c->leaf);
    c->chain = sk_X509_new_null();
    if (c->chain == NULL) {
        rc = cp_err_set(err, CP_ECRYPTO, "out of memory");
        goto out;
    }
    for (size_t i = 1; i < chain->n; i++) {
        X509_up_ref(chain->certs[i]);
        sk_X509_push(c->chain, chain->certs[i]);
    }
    rc = cert_fill_info(c, err);
    if (rc != 0)
        goto out;
    c->revision = revision;
    edge_cert_pem_digest(fullchain_pem, chain_len, key_pem, key_len, c->pem_digest);
out:
    cp_x509_chain_free(chain);
    if (rc != 0) {
        edge_cert_release(c);
        c = NULL;
    }
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
    for (size_t i = 0; i < c->n_names; i++)
        free(c->names[i]);
    free(c->names);
    X509_free(c->leaf);
    sk_X509_pop_free(c->chain, X509_free);
    EVP_PKEY_free(c->key);
    free(c->serial);
    free(c->name);
    free(c);
    atomic_fetch_sub(&live, 1);
}

long edge_cert_live_count(void)
{
    return atomic_load(&live);
}
