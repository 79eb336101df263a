/* SPDX-License-Identifier: Apache-2.0 */
/* test_service.c - the service core's unary RPCs, scopes and errors against a real redis-server */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "controller/service/service.h"
#include "controller/store/certrec.h"
#include "controller/store/store.h"
#include "shared/x509.h"
#include "tests/support/harness.h"

static cp_test_redis_t g_redis;
static redisContext *g_raw;
static ctl_config_t g_cfg;
static ctl_service_t *g_svc;
static ctl_thread_t *g_t;
static char g_tokens_file[512];
static char g_dir[256];
static char *g_pem, *g_key,
    *g_other_key; /* self-signed for imp.example.com, its key, another key */
static char *g_expired_pem, *g_expired_key;

static const ctl_caller_t ADMIN = {
    .scopes = CTL_SCOPE_ADMIN, .token_id = "adm", .peer = "10.0.0.1"};
static const ctl_caller_t READ = {.scopes = CTL_SCOPE_READ, .token_id = "rd", .peer = "10.0.0.2"};
static const ctl_caller_t EDGE = {
    .scopes = CTL_SCOPE_EDGE, .token_id = "edg", .peer = "10.0.0.3:55"};

static redisReply *raw(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(g_raw, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    return r;
}

static long long raw_int(const char *fmt, const char *arg)
{
    redisReply *r = raw(fmt, arg);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                  : 0;
    freeReplyObject(r);
    return v;
}

/* What a failed request must leave alone: the revision counter and the number of keys. */
typedef struct snap {
    long long revision, keys, jobs;
} snap_t;

static snap_t snap(void)
{
    snap_t s = {raw_int("GET %s", "revision"), raw_int("DBSIZE", NULL), raw_int("XLEN %s", "jobs")};
    return s;
}

static void make_pem(const char *name, int days, char **pem, char **key)
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

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(cp_test_redis_start(&g_redis, NULL), 0);
    g_raw = redisConnect("127.0.0.1", g_redis.port);
    assert_true(g_raw != NULL && g_raw->err == 0);
    assert_int_equal(cp_test_tmpdir("svc", g_dir, sizeof g_dir), 0);
    snprintf(g_tokens_file, sizeof g_tokens_file, "%s/tokens", g_dir);
    FILE *f = fopen(g_tokens_file, "w");
    assert_non_null(f);
    fputs("# API tokens\n\nfile-admin-token admin\n  file-read-token   read # reader\n", f);
    fclose(f);
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
    make_pem("imp.example.com", 90, &g_pem, &g_key);
    char *unused = NULL;
    make_pem("x.example.com", 90, &unused, &g_other_key);
    free(unused);
    g_expired_pem = make_expired_pem(&g_expired_key);
    return 0;
}

static int group_teardown(void **state)
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

static int call(const ctl_caller_t *who, const char *rpc, const void *req, void **resp,
                cp_err_t *err)
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

static void free_msg(void *m)
{
    protobuf_c_message_free_unpacked(m, NULL);
}

static Certplane__V1__Certificate *create(const char *name, const char *domain, cp_err_t *err,
                                          int *rc)
{
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Certplane__V1__CreateCertificateRequest req = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    char *domains[] = {(char *)domain};
    c.name = (char *)name;
    c.n_domains = 1;
    c.domains = domains;
    req.certificate = &c;
    void *out = NULL;
    *rc = call(&ADMIN, "CreateCertificate", &req, &out, err);
    return out;
}

static Certplane__V1__Certificate *import_ow(const char *name, const char *pem, const char *key,
                                             bool auto_renew, bool overwrite, cp_err_t *err,
                                             int *rc)
{
    Certplane__V1__ImportCertificateRequest req = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    req.name = (char *)name;
    req.fullchain_pem = (char *)pem;
    req.private_key_pem = (char *)key;
    req.auto_renew = auto_renew;
    req.overwrite = overwrite;
    void *out = NULL;
    *rc = call(&ADMIN, "ImportCertificate", &req, &out, err);
    return out;
}

static Certplane__V1__Certificate *import(const char *name, const char *pem, const char *key,
                                          bool auto_renew, cp_err_t *err, int *rc)
{
    Certplane__V1__ImportCertificateRequest req = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    req.name = (char *)name;
    req.fullchain_pem = (char *)pem;
    req.private_key_pem = (char *)key;
    req.auto_renew = auto_renew;
    void *out = NULL;
    *rc = call(&ADMIN, "ImportCertificate", &req, &out, err);
    return out;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_authenticate_reads_file_and_list_tokens(void **state)
{
    (void)state;
    ctl_caller_t c;
    cp_err_t err = {0};
    assert_int_equal(ctl_service_authenticate(g_svc, "file-admin-token", "p", &c, &err), 0);
    assert_int_equal(c.scopes, CTL_SCOPE_ADMIN);
    assert_null(strstr(c.token_id, "admin-token"));
    assert_int_equal(ctl_service_authenticate(g_svc, "file-read-token", "p", &c, &err), 0);
    assert_int_equal(c.scopes, CTL_SCOPE_READ);
    assert_int_equal(ctl_service_authenticate(g_svc, "list:admin:token", "p", &c, &err), 0);
    assert_int_equal(c.scopes, CTL_SCOPE_ADMIN);
    assert_int_equal(ctl_service_authenticate(g_svc, "edge-token", "1.2.3.4", &c, &err), 0);
    assert_int_equal(c.scopes, CTL_SCOPE_EDGE);
    assert_string_equal(c.peer, "1.2.3.4");
    assert_int_equal(ctl_service_authenticate(g_svc, NULL, "p", &c, &err), CP_EAUTH);
    assert_string_equal(err.msg, "missing bearer token");
    assert_int_equal(ctl_service_authenticate(g_svc, "edge-toke", "p", &c, &err), CP_EAUTH);
    assert_string_equal(err.msg, "unknown token");
    assert_int_equal(ctl_service_authenticate(g_svc, "reader", "p", &c, &err), CP_EAUTH);
}

static void test_bad_token_config_is_refused_without_quoting_the_token(void **state)
{
    (void)state;
    ctl_config_t cfg = g_cfg;
    ctl_service_t *svc = (ctl_service_t *)1;
    cp_err_t err = {0};
    cfg.api_tokens_file = NULL;
    cfg.api_tokens = "sekrit:superuser";
    assert_int_equal(ctl_service_new(&cfg, &svc, &err), CP_EINVAL);
    assert_null(svc);
    assert_null(strstr(err.msg, "sekrit"));
    cfg.api_tokens = "sekrit";
    assert_int_equal(ctl_service_new(&cfg, &svc, &err), CP_EINVAL);
    cfg.api_tokens = NULL;
    cfg.api_tokens_file = "/nonexistent/tokens";
    assert_int_equal(ctl_service_new(&cfg, &svc, &err), CP_EIO);
    cfg.api_tokens_file = NULL;
    cfg.insecure_no_auth = true;
    assert_int_equal(ctl_service_new(&cfg, &svc, &err), 0);
    ctl_caller_t c;
    assert_int_equal(ctl_service_authenticate(svc, NULL, "p", &c, &err), 0);
    assert_int_equal(c.scopes, CTL_SCOPE_ADMIN);
    ctl_service_free(svc);
}

static void test_create_stores_pending_with_a_job_and_get_returns_it(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    snap_t before = snap();
    Certplane__V1__Certificate *c = create("web", "WWW.Example.COM.", &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__PENDING);
    assert_string_equal(c->domains[0], "www.example.com");
    assert_string_equal(c->email, "ops@example.com");
    assert_int_equal(c->revision, before.revision + 1);
    assert_non_null(c->create_time);
    assert_null(c->renew_after);
    snap_t after = snap();
    assert_int_equal(after.jobs, before.jobs + 1);

    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "web";
    Certplane__V1__Certificate *got = NULL;
    assert_int_equal(call(&READ, "GetCertificate", &g, (void **)&got, &err), 0);
    assert_string_equal(got->name, "web");
    assert_int_equal(got->revision, c->revision);
    free_msg(got);
    free_msg(c);

    c = create("web", "other.example.com", &err, &rc);
    assert_int_equal(rc, CP_EEXIST);
    assert_int_equal(cp_err_grpc_status(rc), 6);
    assert_string_equal(err.msg, "certificate \"web\" already exists");
    assert_int_equal(snap().revision, after.revision);
}

static void test_scopes_are_enforced(void **state)
{
    (void)state;
    cp_err_t err;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Certplane__V1__CreateCertificateRequest cr = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    char *d[] = {"s.example.com"};
    c.name = "s";
    c.n_domains = 1;
    c.domains = d;
    cr.certificate = &c;
    assert_int_equal(call(&READ, "CreateCertificate", &cr, NULL, &err), CP_EPERM);
    assert_string_equal(err.msg, "permission denied: CreateCertificate needs the admin scope");
    assert_int_equal(call(&EDGE, "CreateCertificate", &cr, NULL, &err), CP_EPERM);
    Certplane__V1__ListCertificatesRequest lr = CERTPLANE__V1__LIST_CERTIFICATES_REQUEST__INIT;
    assert_int_equal(call(&EDGE, "ListCertificates", &lr, NULL, &err), CP_EPERM);
    assert_string_equal(err.msg, "permission denied: ListCertificates needs the read scope");
    Certplane__V1__ReportEdgeStatusRequest er = CERTPLANE__V1__REPORT_EDGE_STATUS_REQUEST__INIT;
    er.edge_id = "e1";
    assert_int_equal(call(&READ, "ReportEdgeStatus", &er, NULL, &err), CP_EPERM);
    assert_string_equal(err.msg, "permission denied: ReportEdgeStatus needs the edge scope");
    Certplane__V1__DeleteCertificateRequest dr = CERTPLANE__V1__DELETE_CERTIFICATE_REQUEST__INIT;
    dr.name = "web";
    assert_int_equal(call(&READ, "DeleteCertificate", &dr, NULL, &err), CP_EPERM);
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "web";
    g.include_private_key = true;
    assert_int_equal(call(&READ, "GetCertificate", &g, NULL, &err), CP_EPERM);
    assert_string_equal(err.msg, "permission denied: include_private_key needs the admin scope");
    assert_int_equal(call(&EDGE, "GetCertificate", &g, NULL, &err), CP_EPERM);
}

static void test_import_stores_valid_and_keys_go_to_admins_who_ask(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    Certplane__V1__Certificate *c = import("imp", g_pem, g_key, false, &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__VALID);
    assert_int_equal(c->n_domains, 2);
    assert_string_equal(c->domains[0], "imp.example.com");
    assert_non_null(c->not_after);
    assert_true(c->serial[0] != '\0');
    assert_string_equal(c->issuer, "CN=imp.example.com");
    assert_null(c->renew_after);
    assert_string_equal(c->private_key_pem, "");
    assert_int_equal(c->key_type, CERTPLANE__V1__KEY_TYPE__EC_P256);
    free_msg(c);
    assert_int_equal(raw_int("ZSCORE certs:by_expiry %s", "imp"), 0);

    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "imp";
    Certplane__V1__Certificate *got = NULL;
    assert_int_equal(call(&READ, "GetCertificate", &g, (void **)&got, &err), 0);
    assert_string_equal(got->private_key_pem, "");
    free_msg(got);
    g.include_private_key = true;
    assert_int_equal(call(&ADMIN, "GetCertificate", &g, (void **)&got, &err), 0);
    assert_non_null(strstr(got->private_key_pem, "BEGIN PRIVATE KEY"));
    free_msg(got);

    c = import("imp-auto", g_pem, g_key, true, &err, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(c->renew_after);
    assert_true(c->renew_after->seconds < c->not_after->seconds);
    assert_string_equal(c->email, "ops@example.com");
    free_msg(c);
    c = import("imp", g_pem, g_key, false, &err, &rc);
    assert_int_equal(rc, CP_EEXIST);
}

static void test_import_overwrite_replaces_chain_and_key_in_one_revision(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    char *pem2 = NULL, *key2 = NULL;
    make_pem("ow.example.com", 90, &pem2, &key2);
    Certplane__V1__Certificate *c1 = import("ow", g_pem, g_key, false, &err, &rc);
    assert_int_equal(rc, 0);
    usleep(5000); /* a later update_time, so a kept create_time shows */
    /* Without overwrite an existing name is refused and nothing changes. */
    snap_t before = snap();
    assert_null(import("ow", pem2, key2, false, &err, &rc));
    assert_int_equal(rc, CP_EEXIST);
    /* A key that does not match fails before anything is written. */
    assert_null(import_ow("ow", pem2, g_key, false, true, &err, &rc));
    assert_int_equal(rc, CP_EINVAL);
    snap_t after = snap();
    assert_true(before.revision == after.revision && before.keys == after.keys);

    Certplane__V1__Certificate *c2 = import_ow("ow", pem2, key2, false, true, &err, &rc);
    assert_int_equal(rc, 0);
    /* One write: one revision (so one UPSERT carrying the new chain and key together). */
    assert_int_equal(c2->revision, before.revision + 1);
    assert_int_equal(snap().revision, before.revision + 1);
    assert_string_not_equal(c2->serial, c1->serial);
    assert_string_equal(c2->domains[0], "ow.example.com");
    assert_int_equal(c2->create_time->seconds, c1->create_time->seconds);
    assert_int_equal(c2->create_time->nanos, c1->create_time->nanos);
    assert_true(c2->update_time->seconds * 1000000000LL + c2->update_time->nanos >
                c1->update_time->seconds * 1000000000LL + c1->update_time->nanos);
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "ow";
    g.include_private_key = true;
    Certplane__V1__Certificate *got = NULL;
    assert_int_equal(call(&ADMIN, "GetCertificate", &g, (void **)&got, &err), 0);
    assert_string_equal(got->fullchain_pem, pem2);
    assert_string_equal(got->serial, c2->serial);
    cp_x509_chain_t *ch = NULL;
    EVP_PKEY *k = NULL;
    assert_int_equal(cp_x509_chain_parse(got->fullchain_pem, strlen(got->fullchain_pem), &ch, NULL),
                     0);
    assert_int_equal(
        cp_x509_key_from_pem(got->private_key_pem, strlen(got->private_key_pem), &k, NULL), 0);
    assert_int_equal(cp_x509_key_matches(ch->certs[0], k, NULL), 0);
    cp_x509_chain_free(ch);
    EVP_PKEY_free(k);
    free_msg(got);

    /* overwrite on a name that does not exist creates it. */
    Certplane__V1__Certificate *c3 = import_ow("ow-new", pem2, key2, false, true, &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(c3->state, CERTPLANE__V1__STATE__VALID);
    free_msg(c1);
    free_msg(c2);
    free_msg(c3);
    free(pem2);
    free(key2);
}

static void test_list_pages_by_name_with_filters(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    const char *names[] = {"l-a", "l-b", "l-c", "l-d", "l-e"};
    for (size_t i = 0; i < 5; i++) {
        char d[64];
        snprintf(d, sizeof d, "%s.example.com", names[i]);
        free_msg(create(names[i], d, &err, &rc));
        assert_int_equal(rc, 0);
    }
    /* Walk every page of 2 and count all certificates. */
    Certplane__V1__ListCertificatesRequest lr = CERTPLANE__V1__LIST_CERTIFICATES_REQUEST__INIT;
    lr.page_size = 2;
    char token[256] = "";
    size_t total = 0, pages = 0;
    char last[64] = "";
    do {
        lr.page_token = token;
        Certplane__V1__ListCertificatesResponse *resp = NULL;
        assert_int_equal(call(&READ, "ListCertificates", &lr, (void **)&resp, &err), 0);
        assert_true(resp->n_certificates <= 2);
        for (size_t i = 0; i < resp->n_certificates; i++) {
            assert_true(strcmp(last, resp->certificates[i]->name) < 0);
            snprintf(last, sizeof last, "%s", resp->certificates[i]->name);
            assert_string_equal(resp->certificates[i]->private_key_pem, "");
        }
        total += resp->n_certificates;
        pages++;
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        free_msg(resp);
    } while (token[0] != '\0' && pages < 100);
    assert_int_equal(total, (size_t)raw_int("ZCARD %s", "certs"));

    /* Only VALID: the imported ones. */
    lr.page_size = 0;
    lr.page_token = "";
    lr.state = CERTPLANE__V1__STATE__VALID;
    Certplane__V1__ListCertificatesResponse *resp = NULL;
    assert_int_equal(call(&READ, "ListCertificates", &lr, (void **)&resp, &err), 0);
    assert_true(resp->n_certificates >= 2);
    for (size_t i = 0; i < resp->n_certificates; i++)
        assert_int_equal(resp->certificates[i]->state, CERTPLANE__V1__STATE__VALID);
    assert_string_equal(resp->next_page_token, "");
    free_msg(resp);
}

static void test_delete_removes_and_then_is_not_found(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    free_msg(create("del", "del.example.com", &err, &rc));
    Certplane__V1__DeleteCertificateRequest dr = CERTPLANE__V1__DELETE_CERTIFICATE_REQUEST__INIT;
    dr.name = "del";
    long long rev = snap().revision;
    assert_int_equal(call(&ADMIN, "DeleteCertificate", &dr, NULL, &err), 0);
    assert_int_equal(snap().revision, rev + 1);
    assert_int_equal(raw_int("EXISTS %s", "cert:del"), 0);
    assert_int_equal(raw_int("ZSCORE certs %s", "del"), 0);
    assert_int_equal(call(&ADMIN, "DeleteCertificate", &dr, NULL, &err), CP_ENOTFOUND);
    assert_string_equal(err.msg, "certificate \"del\" not found");
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "del";
    assert_int_equal(call(&READ, "GetCertificate", &g, NULL, &err), CP_ENOTFOUND);
}

/* Stores a record as is, with the state given (a worker's write, for the tests). */
static void force_state(const char *name, Certplane__V1__State state)
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
    free_msg(c);
    ctl_store_free(s);
}

static void test_renew_queues_and_refuses_revoked(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    Certplane__V1__RenewCertificateRequest rr = CERTPLANE__V1__RENEW_CERTIFICATE_REQUEST__INIT;
    rr.name = "nope";
    assert_int_equal(call(&ADMIN, "RenewCertificate", &rr, NULL, &err), CP_ENOTFOUND);
    free_msg(import("ren", g_pem, g_key, false, &err, &rc));
    assert_int_equal(rc, 0);
    long long jobs = snap().jobs;
    rr.name = "ren";
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(call(&ADMIN, "RenewCertificate", &rr, (void **)&c, &err), 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__RENEWING);
    assert_string_equal(c->private_key_pem, "");
    free_msg(c);
    assert_int_equal(snap().jobs, jobs + 1);
    rr.name = "web"; /* never issued: stays PENDING */
    assert_int_equal(call(&ADMIN, "RenewCertificate", &rr, (void **)&c, &err), 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__PENDING);
    free_msg(c);
    force_state("ren", CERTPLANE__V1__STATE__REVOKED);
    snap_t before = snap();
    rr.name = "ren";
    assert_int_equal(call(&ADMIN, "RenewCertificate", &rr, NULL, &err), CP_ESTATE);
    assert_int_equal(cp_err_grpc_status(CP_ESTATE), 9);
    snap_t after = snap();
    assert_memory_equal(&before, &after, sizeof before);
}

static void test_revoke_error_paths(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    Certplane__V1__RevokeCertificateRequest rr = CERTPLANE__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
    rr.name = "nope";
    assert_int_equal(call(&ADMIN, "RevokeCertificate", &rr, NULL, &err), CP_ENOTFOUND);
    rr.name = "web";
    assert_int_equal(call(&ADMIN, "RevokeCertificate", &rr, NULL, &err), CP_ESTATE);
    assert_string_equal(err.msg, "certificate \"web\" has no issued certificate to revoke");
    rr.name = "ren";
    assert_int_equal(call(&ADMIN, "RevokeCertificate", &rr, NULL, &err), CP_ESTATE);
    assert_string_equal(err.msg, "certificate \"ren\" is already revoked");
    free_msg(import("rev", g_pem, g_key, false, &err, &rc));
    ctl_store_t *s = NULL;
    char tok[CTL_STORE_LOCK_TOKEN_SIZE];
    assert_int_equal(ctl_store_new(g_redis.url, NULL, &s, NULL), 0);
    assert_int_equal(ctl_store_lock_acquire(s, "rev", 10000, tok, NULL), 0);
    snap_t before = snap();
    rr.name = "rev";
    rr.reason = 4;
    /* Revocation is queued work: a certificate being worked on (locked) is queued all the same,
     * and the worker waits for the lock. */
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(call(&ADMIN, "RevokeCertificate", &rr, (void **)&c, &err), 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__VALID);
    assert_non_null(c->revoke_request_time);
    assert_int_equal(c->revocation_reason, 4);
    free_msg(c);
    assert_int_equal(snap().revision, before.revision + 1);
    assert_int_equal(snap().jobs, before.jobs + 1);
    /* Asking again while it is queued changes nothing. */
    assert_int_equal(call(&ADMIN, "RevokeCertificate", &rr, NULL, &err), 0);
    assert_int_equal(snap().revision, before.revision + 1);
    assert_int_equal(ctl_store_lock_release(s, "rev", tok, NULL), 0);
    ctl_store_free(s);
    assert_int_equal(call(&READ, "RevokeCertificate", &rr, NULL, &err), CP_EPERM);
}

static void test_edges_report_and_list(void **state)
{
    (void)state;
    cp_err_t err;
    Certplane__V1__ReportEdgeStatusRequest er = CERTPLANE__V1__REPORT_EDGE_STATUS_REQUEST__INIT;
    er.edge_id = "edge-1.dc_2";
    er.applied_revision = 12;
    er.certificates = 3;
    er.version = "0.1.0";
    Certplane__V1__ReportEdgeStatusResponse *resp = NULL;
    assert_int_equal(call(&EDGE, "ReportEdgeStatus", &er, (void **)&resp, &err), 0);
    assert_int_equal(resp->ttl_seconds, 30);
    free_msg(resp);
    /* A stale edge (seen long ago) is not listed. */
    redisReply *r = raw("ZADD edges:seen 1000 %s", "old-edge");
    freeReplyObject(r);
    r = raw("HSET edges old-edge %s", "{\"edge_id\":\"old-edge\",\"last_seen_ms\":1000}");
    freeReplyObject(r);
    Certplane__V1__ListEdgesRequest lr = CERTPLANE__V1__LIST_EDGES_REQUEST__INIT;
    Certplane__V1__ListEdgesResponse *le = NULL;
    assert_int_equal(call(&READ, "ListEdges", &lr, (void **)&le, &err), 0);
    assert_int_equal(le->n_edges, 1);
    assert_string_equal(le->edges[0]->edge_id, "edge-1.dc_2");
    assert_int_equal(le->edges[0]->applied_revision, 12);
    assert_int_equal(le->edges[0]->certificates, 3);
    assert_string_equal(le->edges[0]->address, "10.0.0.3:55");
    assert_non_null(le->edges[0]->last_seen);
    free_msg(le);
    /* ... and pruned, being older than 10 TTLs. */
    assert_int_equal(raw_int("HEXISTS edges %s", "old-edge"), 0);
}

static void test_redis_outage_is_unavailable(void **state)
{
    (void)state;
    ctl_config_t cfg = g_cfg;
    ctl_service_t *svc = NULL;
    cfg.redis_url = "redis://127.0.0.1:1";
    assert_int_equal(ctl_service_new(&cfg, &svc, NULL), 0);
    ctl_thread_t *t = ctl_thread_new(svc);
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "web";
    ProtobufCMessage *out = NULL;
    cp_err_t err = {0};
    int rc = ctl_service_invoke(svc, t, &ADMIN, ctl_service_rpc_by_name("GetCertificate"), &g.base,
                                &out, &err);
    assert_int_equal(rc, CP_EUNAVAIL);
    assert_non_null(strstr(err.msg, "127.0.0.1:1"));
    assert_false(ctl_service_ready(svc, t));
    assert_true(ctl_service_ready(g_svc, g_t));
    cp_err_t serr = {0};
    assert_int_equal(ctl_service_start(svc, &serr), CP_EUNAVAIL);
    ctl_thread_free(t);
    ctl_service_free(svc);
}

/* ---- malformed requests: each gives its code and message and leaves Redis as it was --------- */

static void expect_bad(const char *rpc, const void *req, int code, const char *msg,
                       const char *what)
{
    cp_err_t err;
    snap_t before = snap();
    int rc = call(&ADMIN, rpc, req, NULL, &err);
    snap_t after = snap();
    if (rc != code)
        fail_msg("%s: rc %d (%s), want %d", what, rc, err.msg, code);
    if (strstr(err.msg, msg) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", what, err.msg, msg);
    if (memcmp(&before, &after, sizeof before) != 0)
        fail_msg("%s: Redis changed (revision %lld -> %lld, keys %lld -> %lld)", what,
                 before.revision, after.revision, before.keys, after.keys);
}

typedef struct create_case {
    const char *name;
    const char *domains[3]; /* NULL-terminated; "MANY": 101 names */
    const char *ip;
    const char *email;
    const char *provider;
    const char *profile;
    int key_type, challenge_type, state;
    int64_t revision;
    const char *fullchain;
    int code;
    const char *msg;
} create_case_t;

static const create_case_t CREATE_CASES[] = {
    {"", {"a.example.com"}, .code = CP_EINVAL, .msg = "certificate.name"},
    {"../x", {"a.example.com"}, .code = CP_EINVAL, .msg = "certificate.name"},
    {"a/b", {"a.example.com"}, .code = CP_EINVAL, .msg = "certificate.name"},
    {"Upper", {"a.example.com"}, .code = CP_EINVAL, .msg = "certificate.name"},
    {"a..b", {"a.example.com"}, .code = CP_EINVAL, .msg = "certificate.name"},
    {"x234567890123456789012345678901234567890123456789012345678901234",
     {"a.example.com"},
     .code = CP_EINVAL,
     .msg = "certificate.name"},
    {"ok", {NULL}, .code = CP_EINVAL, .msg = "certificate"},
    {"ok", {"bad..example.com"}, .code = CP_EINVAL, .msg = "certificate.domains[0]"},
    {"ok", {"-x.example.com"}, .code = CP_EINVAL, .msg = "certificate.domains[0]"},
    {"ok",
     {"a.example.com", "*.*.example.com"},
     .code = CP_EINVAL,
     .msg = "certificate.domains[1]"},
    {"ok", {"exa mple.com"}, .code = CP_EINVAL, .msg = "certificate.domains[0]"},
    {"ok", {"localhost"}, .code = CP_EINVAL, .msg = "certificate.domains[0]"},
    {"ok", {"a.example.com", "A.example.com."}, .code = CP_EINVAL, .msg = "duplicate"},
    {"ok", {"MANY"}, .code = CP_EINVAL, .msg = "certificate"},
    {"ok",
     {"a.example.com"},
     .ip = "1.2.3",
     .code = CP_EINVAL,
     .msg = "certificate.ip_addresses[0]"},
    {"ok",
     {"a.example.com"},
     .state = 3,
     .code = CP_EINVAL,
     .msg = "certificate.state: output only"},
    {"ok",
     {"a.example.com"},
     .revision = 5,
     .code = CP_EINVAL,
     .msg = "certificate.revision: output only"},
    {"ok",
     {"a.example.com"},
     .fullchain = "x",
     .code = CP_EINVAL,
     .msg = "certificate.fullchain_pem: output only"},
    {"ok",
     {"a.example.com"},
     .email = "not-an-email",
     .code = CP_EINVAL,
     .msg = "certificate.email"},
    {"ok",
     {"a.example.com"},
     .email = "a@b@example.com",
     .code = CP_EINVAL,
     .msg = "certificate.email"},
    {"ok",
     {"a.example.com"},
     .provider = "ftp://ca.example/dir",
     .code = CP_EINVAL,
     .msg = "certificate.provider: unknown provider"},
    {"ok",
     {"a.example.com"},
     .provider = "nosuchca",
     .code = CP_EINVAL,
     .msg = "certificate.provider"},
    {"ok",
     {"a.example.com"},
     .profile = "two words",
     .code = CP_EINVAL,
     .msg = "certificate.profile"},
    {"ok", {"a.example.com"}, .key_type = 99, .code = CP_EINVAL, .msg = "certificate.key_type"},
    {"ok",
     {"a.example.com"},
     .challenge_type = 7,
     .code = CP_EINVAL,
     .msg = "certificate.challenge_type"},
    {"ok",
     {"*.example.com"},
     .challenge_type = 1,
     .code = CP_EINVAL,
     .msg = "wildcard names need DNS_01"},
    {"ok", {"*.example.com"}, .code = CP_ESTATE, .msg = "--dns-exec"},
    {"ok", {"a.example.com"}, .challenge_type = 2, .code = CP_ESTATE, .msg = "--dns-exec"},
};

static void run_create_case(size_t i, const create_case_t *k)
{
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Certplane__V1__CreateCertificateRequest req = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    char *domains[101], many[101][32];
    char *ips[1] = {(char *)k->ip};
    size_t n = 0;
    for (; n < 3 && k->domains[n] != NULL; n++)
        domains[n] = (char *)k->domains[n];
    if (n == 1 && strcmp(k->domains[0], "MANY") == 0)
        for (n = 0; n < 101; n++) {
            snprintf(many[n], sizeof many[n], "n%zu.example.com", n);
            domains[n] = many[n];
        }
    c.name = (char *)k->name;
    c.n_domains = n;
    c.domains = domains;
    c.n_ip_addresses = k->ip != NULL;
    c.ip_addresses = ips;
    if (k->email != NULL)
        c.email = (char *)k->email;
    if (k->provider != NULL)
        c.provider = (char *)k->provider;
    if (k->profile != NULL)
        c.profile = (char *)k->profile;
    if (k->fullchain != NULL)
        c.fullchain_pem = (char *)k->fullchain;
    c.key_type = (Certplane__V1__KeyType)k->key_type;
    c.challenge_type = (Certplane__V1__ChallengeType)k->challenge_type;
    c.state = (Certplane__V1__State)k->state;
    c.revision = k->revision;
    req.certificate = &c;
    char what[64];
    snprintf(what, sizeof what, "create case %zu", i);
    expect_bad("CreateCertificate", &req, k->code, k->msg, what);
}

static void bad_other_requests(void)
{
    Certplane__V1__CreateCertificateRequest cr = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    expect_bad("CreateCertificate", &cr, CP_EINVAL, "certificate: required", "no certificate");
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char *d[] = {"t.example.com"};
    c.name = "t";
    c.n_domains = 1;
    c.domains = d;
    c.not_after = &ts;
    cr.certificate = &c;
    expect_bad("CreateCertificate", &cr, CP_EINVAL, "certificate.not_after: output only",
               "not_after");

    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "../etc";
    expect_bad("GetCertificate", &g, CP_EINVAL, "name:", "get ../etc");
    g.name = "";
    expect_bad("GetCertificate", &g, CP_EINVAL, "name:", "get empty");
    g.name = "absent";
    expect_bad("GetCertificate", &g, CP_ENOTFOUND, "certificate \"absent\" not found",
               "get absent");

    Certplane__V1__ListCertificatesRequest l = CERTPLANE__V1__LIST_CERTIFICATES_REQUEST__INIT;
    l.page_size = 1001;
    expect_bad("ListCertificates", &l, CP_EINVAL, "page_size", "page_size 1001");
    l.page_size = -1;
    expect_bad("ListCertificates", &l, CP_EINVAL, "page_size", "page_size -1");
    l.page_size = 0;
    l.page_token = "!!!";
    expect_bad("ListCertificates", &l, CP_EINVAL, "invalid page_token", "token !!!");
    l.page_token = "Li4veA"; /* "../x" */
    expect_bad("ListCertificates", &l, CP_EINVAL, "invalid page_token", "token ../x");
    l.page_token = "d2Vi="; /* padding is not ours */
    expect_bad("ListCertificates", &l, CP_EINVAL, "invalid page_token", "token padded");
    l.page_token = "";
    l.state = (Certplane__V1__State)42;
    expect_bad("ListCertificates", &l, CP_EINVAL, "state", "state 42");

    Certplane__V1__RevokeCertificateRequest rv = CERTPLANE__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
    rv.name = "imp";
    int reasons[] = {7, 11, -1};
    for (size_t i = 0; i < 3; i++) {
        rv.reason = reasons[i];
        expect_bad("RevokeCertificate", &rv, CP_EINVAL, "reason", "bad reason");
    }
    Certplane__V1__DeleteCertificateRequest dl = CERTPLANE__V1__DELETE_CERTIFICATE_REQUEST__INIT;
    dl.name = "..";
    expect_bad("DeleteCertificate", &dl, CP_EINVAL, "name:", "delete ..");
    Certplane__V1__RenewCertificateRequest rn = CERTPLANE__V1__RENEW_CERTIFICATE_REQUEST__INIT;
    rn.name = "a_b";
    expect_bad("RenewCertificate", &rn, CP_EINVAL, "name:", "renew a_b");
}

static void bad_imports_and_edges(void)
{
    Certplane__V1__ImportCertificateRequest im = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    im.name = "x y";
    im.fullchain_pem = g_pem;
    im.private_key_pem = g_key;
    expect_bad("ImportCertificate", &im, CP_EINVAL, "name:", "import bad name");
    im.name = "imp2";
    im.fullchain_pem = "";
    expect_bad("ImportCertificate", &im, CP_EINVAL, "fullchain_pem: required", "import no pem");
    im.fullchain_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    expect_bad("ImportCertificate", &im, CP_EINVAL, "fullchain_pem", "import garbage pem");
    im.fullchain_pem = g_pem;
    im.private_key_pem = g_other_key;
    expect_bad("ImportCertificate", &im, CP_EINVAL, "private_key_pem: private key does not match",
               "import key mismatch");
    im.private_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    expect_bad("ImportCertificate", &im, CP_EINVAL, "private_key_pem", "import garbage key");
    im.fullchain_pem = g_expired_pem;
    im.private_key_pem = g_expired_key;
    expect_bad("ImportCertificate", &im, CP_EINVAL, "expired", "import expired");
    im.fullchain_pem = g_pem;
    im.private_key_pem = g_key;
    im.auto_renew = true;
    im.email = "bad email@example.com";
    expect_bad("ImportCertificate", &im, CP_EINVAL, "email", "import bad email");

    Certplane__V1__ReportEdgeStatusRequest er = CERTPLANE__V1__REPORT_EDGE_STATUS_REQUEST__INIT;
    er.edge_id = "bad/id";
    expect_bad("ReportEdgeStatus", &er, CP_EINVAL, "edge_id", "edge bad/id");
    char longid[300];
    memset(longid, 'e', 254);
    longid[254] = '\0';
    er.edge_id = longid;
    expect_bad("ReportEdgeStatus", &er, CP_EINVAL, "edge_id", "edge id too long");
    er.edge_id = "";
    expect_bad("ReportEdgeStatus", &er, CP_EINVAL, "edge_id", "edge id empty");
    er.edge_id = "e";
    er.applied_revision = -1;
    expect_bad("ReportEdgeStatus", &er, CP_EINVAL, "applied_revision", "edge revision -1");
}

static void test_malformed_requests_fail_and_change_nothing(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CREATE_CASES / sizeof CREATE_CASES[0]; i++)
        run_create_case(i, &CREATE_CASES[i]);
    bad_other_requests();
    bad_imports_and_edges();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authenticate_reads_file_and_list_tokens),
        cmocka_unit_test(test_bad_token_config_is_refused_without_quoting_the_token),
        cmocka_unit_test(test_create_stores_pending_with_a_job_and_get_returns_it),
        cmocka_unit_test(test_scopes_are_enforced),
        cmocka_unit_test(test_import_stores_valid_and_keys_go_to_admins_who_ask),
        cmocka_unit_test(test_import_overwrite_replaces_chain_and_key_in_one_revision),
        cmocka_unit_test(test_list_pages_by_name_with_filters),
        cmocka_unit_test(test_delete_removes_and_then_is_not_found),
        cmocka_unit_test(test_renew_queues_and_refuses_revoked),
        cmocka_unit_test(test_revoke_error_paths),
        cmocka_unit_test(test_edges_report_and_list),
        cmocka_unit_test(test_malformed_requests_fail_and_change_nothing),
        cmocka_unit_test(test_redis_outage_is_unavailable),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
