/* SPDX-License-Identifier: Apache-2.0 */
/* service_fixture.c - the redis-server, service, thread, raw connection and test certificates
 * shared by the test_service_*.c tests of the unary RPCs */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "controller/store/certrec.h"
#include "controller/store/store.h"
#include "shared/x509.h"
#include "tests/unit/controller/service_fixture.h"

cp_test_redis_t g_redis;
ctl_config_t g_cfg;
ctl_service_t *g_svc;
ctl_thread_t *g_t;
char *g_pem, *g_key, *g_other_key, *g_expired_pem, *g_expired_key;

const ctl_caller_t SF_ADMIN = {.scopes = CTL_SCOPE_ADMIN, .token_id = "adm", .peer = "10.0.0.1"};
const ctl_caller_t SF_READ = {.scopes = CTL_SCOPE_READ, .token_id = "rd", .peer = "10.0.0.2"};
const ctl_caller_t SF_EDGE = {.scopes = CTL_SCOPE_EDGE, .token_id = "edg", .peer = "10.0.0.3:55"};

static redisContext *g_raw;
static char g_tokens_file[512];
static char g_dir[256];

redisReply *sf_raw(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(g_raw, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    return r;
}

long long sf_raw_int(const char *fmt, const char *arg)
{
    redisReply *r = sf_raw(fmt, arg);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                  : 0;
    freeReplyObject(r);
    return v;
}

sf_snap_t sf_snap(void)
{
    sf_snap_t s = {sf_raw_int("GET %s", "revision"), sf_raw_int("DBSIZE", NULL),
                   sf_raw_int("XLEN %s", "jobs")};
    return s;
}

void sf_make_pem(const char *name, int days, char **pem, char **key)
{
    EVP_PKEY *k = NULL;
    X509 *cert = NULL;
    const char *names[] = {name, "alt.example.com"};
    assert_int_equal(cp_x509_key_generate(CP_KEY_EC_P256, &k, NULL), 0);
    assert_int_equal(cp_x509_self_signed(k, names, 2, days, &cert, NULL), 0);
    assert_int_equal(cp_x509_cert_to_pem(cert, pem, NULL), 0);
    if (key != NULL)
        assert_int_equal(cp_x509_key_to_pem(k, key, NULL), 0);
    X509_free(cert);
    EVP_PKEY_free(k);
}

/* A certificate made with OpenSSL directly whose validity ended in the past. */
static char *make_expired_pem(char **key)
{
    EVP_PKEY *k = NULL;
    assert_int_equal(cp_x509_key_generate(CP_KEY_EC_P256, &k, NULL), 0);
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
    X509_gmtime_adj(X509_getm_notBefore(c), -10 * 86400);
    X509_gmtime_adj(X509_getm_notAfter(c), -86400);
    X509_NAME *n = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"old.example.com", -1,
                               -1, 0);
    X509_set_issuer_name(c, n);
    X509_set_pubkey(c, k);
    assert_true(X509_sign(c, k, EVP_sha256()) > 0);
    char *pem = NULL;
    assert_int_equal(cp_x509_cert_to_pem(c, &pem, NULL), 0);
    assert_int_equal(cp_x509_key_to_pem(k, key, NULL), 0);
    X509_free(c);
    EVP_PKEY_free(k);
    return pem;
}

static void write_tokens_file(void)
{
    assert_int_equal(cp_test_tmpdir("svc", g_dir, sizeof g_dir), 0);
    snprintf(g_tokens_file, sizeof g_tokens_file, "%s/tokens", g_dir);
    FILE *f = fopen(g_tokens_file, "w");
    assert_non_null(f);
    fputs("# API tokens\n\nfile-admin-token admin\n  file-read-token   read # reader\n", f);
    fclose(f);
}

int sf_group_setup(void **state)
{
    (void)state;
    assert_int_equal(cp_test_redis_start(&g_redis, NULL), 0);
    g_raw = redisConnect("127.0.0.1", g_redis.port);
    assert_true(g_raw != NULL && g_raw->err == 0);
    write_tokens_file();
    g_cfg.redis_url = g_redis.url;
    g_cfg.api_tokens_file = g_tokens_file;
    g_cfg.api_tokens = "list:admin:token:admin,edge-token:edge";
    g_cfg.acme_email = "ops@example.com";
    g_cfg.acme_provider = "letsencrypt-staging";
    g_cfg.acme_timeout_ms = 5000;
    g_cfg.edge_ttl_ms = 30000;
    g_cfg.events_max = 100000;
    assert_int_equal(ctl_service_new(&g_cfg, &g_svc, NULL), 0);
    g_t = ctl_thread_new(g_svc);
    assert_non_null(g_t);
    sf_make_pem("imp.example.com", 90, &g_pem, &g_key);
    char *unused = NULL;
    sf_make_pem("x.example.com", 90, &unused, &g_other_key);
    free(unused);
    g_expired_pem = make_expired_pem(&g_expired_key);
    return 0;
}

int sf_group_teardown(void **state)
{
    (void)state;
    ctl_thread_free(g_t);
    ctl_service_free(g_svc);
    redisFree(g_raw);
    cp_test_redis_stop(&g_redis);
    cp_test_rmrf(g_dir);
    free(g_pem);
    free(g_key);
    free(g_other_key);
    free(g_expired_pem);
    free(g_expired_key);
    return 0;
}

int sf_call(const ctl_caller_t *who, const char *rpc, const void *req, void **resp, cp_err_t *err)
{
    ProtobufCMessage *out = NULL;
    memset(err, 0, sizeof *err);
    int rc = ctl_service_invoke(g_svc, g_t, who, ctl_service_rpc_by_name(rpc), req, &out, err);
    if (rc == 0)
        assert_non_null(out);
    else
        assert_null(out);
    if (resp != NULL)
        *resp = out;
    else
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

void sf_free_msg(void *m)
{
    protobuf_c_message_free_unpacked(m, NULL);
}

Certplane__V1__Certificate *sf_create(const char *name, const char *domain, cp_err_t *err, int *rc)
{
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Certplane__V1__CreateCertificateRequest req = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    char *domains[] = {(char *)domain};
    c.name = (char *)name;
    c.n_domains = 1;
    c.domains = domains;
    req.certificate = &c;
    void *out = NULL;
    *rc = sf_call(&SF_ADMIN, "CreateCertificate", &req, &out, err);
    return out;
}

void sf_create_ok(const char *name, const char *domain)
{
    cp_err_t err;
    int rc;
    sf_free_msg(sf_create(name, domain, &err, &rc));
    if (rc != 0)
        fail_msg("create %s: %s", name, err.msg);
}

Certplane__V1__Certificate *sf_import_ow(const char *name, const char *pem, const char *key,
                                         bool auto_renew, bool overwrite, cp_err_t *err, int *rc)
{
    Certplane__V1__ImportCertificateRequest req = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    req.name = (char *)name;
    req.fullchain_pem = (char *)pem;
    req.private_key_pem = (char *)key;
    req.auto_renew = auto_renew;
    req.overwrite = overwrite;
    void *out = NULL;
    *rc = sf_call(&SF_ADMIN, "ImportCertificate", &req, &out, err);
    return out;
}

Certplane__V1__Certificate *sf_import(const char *name, const char *pem, const char *key,
                                      bool auto_renew, cp_err_t *err, int *rc)
{
    return sf_import_ow(name, pem, key, auto_renew, false, err, rc);
}

void sf_import_ok(const char *name)
{
    cp_err_t err;
    int rc;
    sf_free_msg(sf_import(name, g_pem, g_key, false, &err, &rc));
    if (rc != 0)
        fail_msg("import %s: %s", name, err.msg);
}

void sf_force_state(const char *name, Certplane__V1__State state)
{
    ctl_store_t *s = NULL;
    char *json = NULL, *enc = NULL;
    size_t len;
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(ctl_store_new(g_redis.url, NULL, &s, NULL), 0);
    assert_int_equal(ctl_store_cert_get(s, name, &json, &len, NULL), 0);
    assert_int_equal(ctl_certrec_decode(name, json, len, &c, NULL), 0);
    c->state = state;
    assert_int_equal(ctl_certrec_encode(c, &enc, &len, NULL), 0);
    ctl_store_cert_write_t w = {.name = name, .json = enc, .mode = CTL_STORE_ANY, .renew_at = -1};
    assert_int_equal(ctl_store_cert_put(s, &w, NULL, NULL), 0);
    free(json);
    free(enc);
    sf_free_msg(c);
    ctl_store_free(s);
}

void sf_expect_bad(const char *rpc, const void *req, int code, const char *msg, const char *what)
{
    cp_err_t err;
    sf_snap_t before = sf_snap();
    int rc = sf_call(&SF_ADMIN, rpc, req, NULL, &err);
    sf_snap_t after = sf_snap();
    if (rc != code)
        fail_msg("%s: rc %d (%s), want %d", what, rc, err.msg, code);
    if (strstr(err.msg, msg) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", what, err.msg, msg);
    if (memcmp(&before, &after, sizeof before) != 0)
        fail_msg("%s: Redis changed (revision %lld -> %lld, keys %lld -> %lld)", what,
                 before.revision, after.revision, before.keys, after.keys);
}
