/* SPDX-License-Identifier: Apache-2.0 */
/* gen_certs.c - many distinct keys and certificates, fast, for the benchmark */

/*
 * usage: gen_certs -o DIR [-n COUNT] [-k ec|rsa] [--domain D] [--single NAME] [--json]
 *
 * Makes one benchmark CA (DIR/ca.pem, ECDSA P-256) and COUNT leaves, each with its own key,
 * named c<i>.<domain> (or NAME with --single), valid for a year, signed by the CA:
 *   DIR/<i>.pem     leaf, CA, then the PKCS#8 key (nginx and haproxy read all from one file)
 *   DIR/<i>.json    with --json: {"name","fullchainPem","privateKeyPem"} for ImportCertificate
 *   DIR/names.txt   the SNI names, one a line, in order
 * The work is split over the machine's cores; each thread has its own files.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

typedef struct gen_opts {
    const char *dir, *domain, *single, *ktype;
    int n, json, threads;
} gen_opts_t;

static gen_opts_t opt = {.domain = "bench.test", .ktype = "ec", .n = 1};
static EVP_PKEY *g_ca_key;
static X509 *g_ca;
static char *g_ca_pem;

static void die(const char *what)
{
    fprintf(stderr, "gen_certs: %s failed\n", what);
    exit(1);
}

static EVP_PKEY *new_key(const char *type)
{
    EVP_PKEY *k = strcmp(type, "rsa") == 0 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    if (k == NULL)
        die("key generation");
    return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ex == NULL || X509_add_ext(cert, ex, -1) != 1)
        die("extension");
    X509_EXTENSION_free(ex);
}

/* A certificate for key, named cn, signed by signer (itself when issuer is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *signer)
{
    X509 *c = X509_new();
    unsigned char serial[16];
    char san[300];
    if (c == NULL || RAND_bytes(serial, sizeof serial) != 1)
        die("certificate");
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
    BN_free(bn);
    X509_set_version(c, 2);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 365L * 24 * 3600);
    X509_set_pubkey(c, key);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer != NULL ? X509_get_subject_name(issuer) : name);
    if (issuer == NULL) {
        add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        snprintf(san, sizeof san, "DNS:%s", cn);
        add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(c, issuer, NID_subject_alt_name, san);
        add_ext(c, issuer, NID_ext_key_usage, "serverAuth");
    }
    if (X509_sign(c, signer, EVP_sha256()) <= 0)
        die("signing");
    return c;
}

/* The PEM text of a certificate or a key (key when cert is NULL), malloc'd. */
static char *to_pem(X509 *cert, EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    if (b == NULL || (cert ? PEM_write_bio_X509(b, cert)
                           : PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) != 1)
        die("PEM");
    long n = BIO_get_mem_data(b, &data);
    char *s = malloc((size_t)n + 1);
    if (s == NULL)
        die("malloc");
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\n')
            fputs("\\n", f);
        else if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void write_file(const char *path, const char *a, const char *b, const char *c)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(a, f) < 0 || fputs(b, f) < 0 || fputs(c, f) < 0 || fclose(f) != 0)
        die(path);
}

static void name_of(int i, char *buf, size_t len)
{
    if (opt.single != NULL)
        snprintf(buf, len, "%s", opt.single);
    else
        snprintf(buf, len, "c%05d.%s", i, opt.domain);
}

static void gen_one(int i)
{
    char cn[256], path[4096];
    EVP_PKEY *key = new_key(opt.ktype);
    name_of(i, cn, sizeof cn);
    X509 *cert = make_cert(key, cn, g_ca, g_ca_key);
    char *leaf = to_pem(cert, NULL), *kpem = to_pem(NULL, key);
    snprintf(path, sizeof path, "%s/%05d.pem", opt.dir, i);
    write_file(path, leaf, g_ca_pem, kpem);
    if (opt.json) {
        snprintf(path, sizeof path, "%s/%05d.json", opt.dir, i);
        FILE *f = fopen(path, "w");
        if (f == NULL)
            die(path);
        fprintf(f, "{\"name\":\"bench-%05d\",\"fullchainPem\":", i);
        char *chain = malloc(strlen(leaf) + strlen(g_ca_pem) + 1);
        if (chain == NULL)
            die("malloc");
        strcpy(chain, leaf);
        strcat(chain, g_ca_pem);
        json_str(f, chain);
        fputs(",\"privateKeyPem\":", f);
        json_str(f, kpem);
        fputs("}\n", f);
        if (fclose(f) != 0)
            die(path);
        free(chain);
    }
    free(leaf);
    OPENSSL_clear_free(kpem, strlen(kpem));
    X509_free(cert);
    EVP_PKEY_free(key);
}

static void *worker(void *arg)
{
    long t = (long)arg;
    for (int i = (int)t; i < opt.n; i += opt.threads)
        gen_one(i);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: gen_certs -o DIR [-n COUNT] [-k ec|rsa] [--domain D] [--single NAME] "
                    "[--json]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            opt.json = 1;
            continue;
        }
        if (v == NULL)
            usage();
        if (!strcmp(a, "-o"))
            opt.dir = v;
        else if (!strcmp(a, "-n"))
            opt.n = atoi(v);
        else if (!strcmp(a, "-k"))
            opt.ktype = v;
        else if (!strcmp(a, "--domain"))
            opt.domain = v;
        else if (!strcmp(a, "--single"))
            opt.single = v;
        else
            usage();
        i++;
    }
    if (opt.dir == NULL || opt.n < 1 || opt.n > 100000 || (opt.single != NULL && opt.n != 1) ||
        (strcmp(opt.ktype, "ec") != 0 && strcmp(opt.ktype, "rsa") != 0))
        usage();
}

int main(int argc, char **argv)
{
    char path[4096];
    parse_args(argc, argv);
    g_ca_key = new_key("ec");
    g_ca = make_cert(g_ca_key, "certplane bench CA", NULL, g_ca_key);
    g_ca_pem = to_pem(g_ca, NULL);
    snprintf(path, sizeof path, "%s/ca.pem", opt.dir);
    write_file(path, g_ca_pem, "", "");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    opt.threads = ncpu < 1 ? 1 : ncpu > 16 ? 16 : (int)ncpu;
    if (opt.threads > opt.n)
        opt.threads = opt.n;
    pthread_t tids[16];
    for (long t = 0; t < opt.threads; t++)
        if (pthread_create(&tids[t], NULL, worker, (void *)t) != 0)
            die("pthread_create");
    for (int t = 0; t < opt.threads; t++)
        pthread_join(tids[t], NULL);
    snprintf(path, sizeof path, "%s/names.txt", opt.dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        die(path);
    for (int i = 0; i < opt.n; i++) {
        name_of(i, path, sizeof path);
        fprintf(f, "%s\n", path);
    }
    if (fclose(f) != 0)
        die("names.txt");
    return 0;
}
