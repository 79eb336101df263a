/* SPDX-License-Identifier: Apache-2.0 */
/* pebble.c - test support: start Pebble and pebble-challtestsrv on free loopback ports */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "shared/err.h"
#include "tests/support/pebble.h"

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* One certificate for `key`, signed by issuer_key (self-signed when issuer is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int ca)
{
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), ca ? 1 : 2);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 7 * 86400);
    X509_set_pubkey(c, key);
    X509_NAME *n = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
    X509 *iss = issuer ? issuer : c;
    int bad = 0;
    if (ca) {
        bad |= add_ext(c, iss, NID_basic_constraints, "critical,CA:TRUE");
        bad |= add_ext(c, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        bad |= add_ext(c, iss, NID_basic_constraints, "CA:FALSE");
        bad |= add_ext(c, iss, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
        bad |= add_ext(c, iss, NID_ext_key_usage, "serverAuth");
    }
    if (bad || X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) <= 0) {
        X509_free(c);
        return NULL;
    }
    return c;
}

static int write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int ok =
        cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    return fclose(f) == 0 && ok == 1 ? 0 : -1;
}

/* A throwaway CA and a leaf for 127.0.0.1/localhost: ca.pem (for clients), cert.pem, key.pem. */
static int make_tls_files(const cp_test_pebble_t *p)
{
    char path[400];
    EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *ca = ca_key ? make_cert(ca_key, "certplane test CA", NULL, NULL, 1) : NULL;
    X509 *leaf = ca && key ? make_cert(key, "127.0.0.1", ca, ca_key, 0) : NULL;
    int rc = leaf ? 0 : -1;
    if (rc == 0)
        rc = write_pem(p->ca_file, ca, NULL);
    snprintf(path, sizeof(path), "%s/cert.pem", p->dir);
    if (rc == 0)
        rc = write_pem(path, leaf, NULL);
    snprintf(path, sizeof(path), "%s/key.pem", p->dir);
    if (rc == 0)
        rc = write_pem(path, NULL, key);
    X509_free(leaf);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return rc;
}

static int write_config(const cp_test_pebble_t *p, const cp_test_pebble_opts_t *o, int tls_port)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/pebble.json", p->dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "{\"pebble\": {\"listenAddress\": \"127.0.0.1:%d\", \"managementListenAddress\": "
            "\"127.0.0.1:%d\", \"certificate\": \"%s/cert.pem\", \"privateKey\": \"%s/key.pem\", "
            "\"httpPort\": %d, \"tlsPort\": %d, \"ocspResponderURL\": \"\"",
            p->acme_port, p->mgmt_port, p->dir, p->dir, o->http_port, tls_port);
    if (o->validity_s > 0)
        fprintf(f, ", \"certificateValidityPeriod\": %ld", o->validity_s);
    if (o->blocked_domain != NULL)
        fprintf(f, ", \"domainBlocklist\": [\"%s\"]", o->blocked_domain);
    if (o->eab_kid != NULL)
        fprintf(f,
                ", \"externalAccountBindingRequired\": true, \"externalAccountMACKeys\": "
                "{\"%s\": \"%s\"}",
                o->eab_kid, o->eab_key);
    else
        fprintf(f, ", \"externalAccountBindingRequired\": false");
    fprintf(f, "}}\n");
    return fclose(f) == 0 ? 0 : -1;
}

static int start_challtestsrv(cp_test_pebble_t *p)
{
    char dns[32], mgmt[32], log[400];
    snprintf(dns, sizeof(dns), "127.0.0.1:%d", p->dns_port);
    snprintf(mgmt, sizeof(mgmt), "127.0.0.1:%d", p->chall_mgmt_port);
    snprintf(log, sizeof(log), "%s/challtestsrv.log", p->dir);
    char *argv[] = {"pebble-challtestsrv",
                    "-defaultIPv4",
                    "127.0.0.1",
                    "-defaultIPv6",
                    "",
                    "-dns01",
                    dns,
                    "-management",
                    mgmt,
                    "-http01",
                    "",
                    "-https01",
                    "",
                    "-tlsalpn01",
                    "",
                    NULL};
    int rc = cp_test_spawn(&p->challtestsrv, "challtestsrv", argv, NULL, log);
    if (rc == 0)
        rc = cp_test_wait_port(p->chall_mgmt_port, 10000);
    return rc;
}

static int start_pebble(cp_test_pebble_t *p, const cp_test_pebble_opts_t *o)
{
    char cfg[400], dns[32], roots[48];
    snprintf(cfg, sizeof(cfg), "%s/pebble.json", p->dir);
    snprintf(dns, sizeof(dns), "127.0.0.1:%d", p->dns_port);
    snprintf(roots, sizeof(roots), "PEBBLE_ALTERNATE_ROOTS=%d", o->alternate_roots);
    char *argv[] = {"pebble", "-config", cfg, "-dnsserver", dns, NULL};
    char *env[] = {"PEBBLE_VA_NOSLEEP=1", roots, NULL};
    int rc = cp_test_spawn(&p->pebble, "pebble", argv, env, p->log_path);
    if (rc == 0)
        rc = cp_test_wait_port(p->acme_port, 15000);
    if (rc == 0)
        rc = cp_test_wait_port(p->mgmt_port, 15000);
    return rc;
}

int cp_test_pebble_start(cp_test_pebble_t *p, const cp_test_pebble_opts_t *o)
{
    memset(p, 0, sizeof(*p));
    int rc = cp_test_tmpdir("cp-pebble-", p->dir, sizeof(p->dir));
    if (rc != 0)
        return rc;
    p->acme_port = cp_test_free_port();
    p->mgmt_port = cp_test_free_port();
    p->dns_port = cp_test_free_port();
    p->chall_mgmt_port = cp_test_free_port();
    int tls_port = o->tls_port > 0 ? o->tls_port : cp_test_free_port();
    snprintf(p->directory_url, sizeof(p->directory_url), "https://127.0.0.1:%d/dir", p->acme_port);
    snprintf(p->ca_file, sizeof(p->ca_file), "%s/ca.pem", p->dir);
    snprintf(p->log_path, sizeof(p->log_path), "%s/pebble.log", p->dir);
    snprintf(p->chall_mgmt_url, sizeof(p->chall_mgmt_url), "http://127.0.0.1:%d",
             p->chall_mgmt_port);
    if (p->acme_port < 0 || p->mgmt_port < 0 || p->dns_port < 0 || p->chall_mgmt_port < 0 ||
        tls_port < 0 || make_tls_files(p) != 0 || write_config(p, o, tls_port) != 0) {
        fprintf(stderr, "pebble harness: cannot prepare %s\n", p->dir);
        rc = CP_EIO;
    }
    if (rc == 0)
        rc = start_challtestsrv(p);
    if (rc == 0)
        rc = start_pebble(p, o);
    if (rc != 0) {
        fprintf(stderr, "pebble harness: start failed (%s), logs in %s\n", cp_strerror(rc), p->dir);
        cp_test_pebble_stop(p);
    }
    return rc;
}

void cp_test_pebble_stop(cp_test_pebble_t *p)
{
    cp_test_stop(&p->pebble, SIGTERM, 5000);
    cp_test_stop(&p->challtestsrv, SIGTERM, 5000);
    if (p->dir[0] != '\0')
        cp_test_rmrf(p->dir);
    p->dir[0] = '\0';
}

typedef struct sink {
    char *buf;
    size_t len;
} sink_t;

static size_t on_data(char *d, size_t size, size_t nmemb, void *ud)
{
    sink_t *s = ud;
    size_t n = size * nmemb;
    char *b = realloc(s->buf, s->len + n + 1);
    if (b == NULL)
        abort();
    memcpy(b + s->len, d, n);
    s->buf = b;
    s->len += n;
    b[s->len] = '\0';
    return n;
}

int cp_test_pebble_mgmt_get(const cp_test_pebble_t *p, const char *path, char **body)
{
    char url[512];
    sink_t s = {0};
    long status = 0;
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", p->mgmt_port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK || status != 200) {
        fprintf(stderr, "pebble harness: GET %s: %s, HTTP %ld\n", url, curl_easy_strerror(cc),
                status);
        free(s.buf);
        return cc != CURLE_OK ? CP_EUNAVAIL : CP_EIO;
    }
    *body = s.buf ? s.buf : strdup("");
    return 0;
}

int cp_test_pebble_log_count(const cp_test_pebble_t *p, const char *needle)
{
    FILE *f = fopen(p->log_path, "r");
    char line[4096];
    int n = 0;
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, needle) != NULL)
            n++;
    fclose(f);
    return n;
}

int cp_test_pebble_new_orders(const cp_test_pebble_t *p)
{
    return cp_test_pebble_log_count(p, "Added order \"");
}
