/* SPDX-License-Identifier: Apache-2.0 */
/* test_ocsp.c - OCSP stapling (issue 14): verification of OCSP responses (controller/acme/ocsp.h)
 * against responses made offline by `openssl ocsp` (good, revoked, another certificate, signed by
 * a stranger, without nextUpdate, stale, from the future, garbage), the responder URL, and the
 * refresh and retry times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "controller/acme/ocsp.h"
#include "shared/file.h"
#include "shared/ocsp.h"

static char g_dir[] = "/tmp/cp-ocsp-unit-XXXXXX";
static X509 *g_leaf, *g_issuer;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* ca (issues leaf, leaf2, rsp with OCSPSigning), other (a stranger CA). */
#define KEY "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
static int make_pki(void)
{
    return sh("cd %s && exec >/dev/null 2>&1 && "
              "openssl req -x509 " KEY " -keyout ca.key -out ca.crt -days 3 -subj /CN=ca "
              "-addext basicConstraints=critical,CA:TRUE && "
              "openssl req -x509 " KEY " -keyout other.key -out other.crt -days 3 -subj /CN=other "
              "-addext basicConstraints=critical,CA:TRUE && "
              "printf 'extendedKeyUsage=OCSPSigning\\n' > rsp.ext && "
              "printf 'subjectAltName=DNS:a.test\\nauthorityInfoAccess=OCSP;URI:http://"
              "127.0.0.1:1/ocsp\\n' > leaf.ext && "
              "for n in rsp leaf leaf2; do openssl req -new " KEY " -keyout $n.key -out $n.csr "
              "-subj /CN=$n && openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key "
              "-CAcreateserial -days 3 -extfile $( [ $n = rsp ] && echo rsp.ext || echo leaf.ext) "
              "-out $n.crt || exit 1; done && "
              "printf 'V\\t301231235959Z\\t\\t%%s\\tunknown\\t/CN=leaf\\n' "
              "$(openssl x509 -in leaf.crt -noout -serial | cut -d= -f2) > good.idx && "
              "printf 'R\\t301231235959Z\\t240101000000Z\\t%%s\\tunknown\\t/CN=leaf\\n' "
              "$(openssl x509 -in leaf.crt -noout -serial | cut -d= -f2) > revoked.idx && "
              "cp good.idx other.idx && "
              "openssl ocsp -issuer ca.crt -cert leaf.crt -no_nonce -reqout leaf.req && "
              "openssl ocsp -issuer ca.crt -cert leaf2.crt -no_nonce -reqout leaf2.req",
              g_dir);
}

/* A response to `req` from index `idx`, signed by signer/key, with `extra` options. */
static int respond(const char *out, const char *idx, const char *req, const char *signer,
                   const char *ca, const char *extra)
{
    return sh("cd %s && openssl ocsp -index %s -reqin %s -rsigner %s.crt -rkey %s.key -CA %s.crt "
              "%s -respout %s >/dev/null 2>&1",
              g_dir, idx, req, signer, signer, ca, extra, out);
}

static unsigned char *load(const char *name, size_t *len)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(65536);
    *len = fread(buf, 1, 65536, f);
    fclose(f);
    return buf;
}

static int verify_file(const char *name, int64_t now_ms, ctl_ocsp_info_t *info, cp_err_t *err)
{
    size_t len = 0;
    unsigned char *der = load(name, &len);
    int rc = ctl_ocsp_verify(der, len, g_leaf, g_issuer, now_ms, info, err);
    free(der);
    return rc;
}

static int64_t now_ms(void)
{
    return (int64_t)time(NULL) * 1000;
}

static void test_good_from_delegated_responder_and_from_the_ca(void **state)
{
    (void)state;
    ctl_ocsp_info_t info = {0};
    cp_err_t err = {0};
    assert_int_equal(respond("good.der", "good.idx", "leaf.req", "rsp", "ca", "-ndays 1"), 0);
    assert_int_equal(verify_file("good.der", now_ms(), &info, &err), 0);
    assert_true(info.this_update_ms > 0 && info.next_update_ms > info.this_update_ms);
    assert_true(info.next_update_ms - info.this_update_ms == 86400000LL);
    assert_int_equal(respond("byca.der", "good.idx", "leaf.req", "ca", "ca", "-ndays 1"), 0);
    assert_int_equal(verify_file("byca.der", now_ms(), NULL, &err), 0);
}

static void test_bad_responses_are_refused(void **state)
{
    (void)state;
    cp_err_t err = {0};
    assert_int_equal(respond("revoked.der", "revoked.idx", "leaf.req", "rsp", "ca", "-ndays 1"), 0);
    assert_int_equal(verify_file("revoked.der", now_ms(), NULL, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "revoked"));
    /* The responder answers for another certificate. */
    assert_int_equal(respond("leaf2.der", "good.idx", "leaf2.req", "rsp", "ca", "-ndays 1"), 0);
    assert_int_equal(verify_file("leaf2.der", now_ms(), NULL, &err), CP_EINVAL);
    /* Signed by a stranger CA's key (not the issuer, not a responder it issued). */
    assert_int_equal(respond("stranger.der", "good.idx", "leaf.req", "other", "ca", "-ndays 1"), 0);
    assert_int_equal(verify_file("stranger.der", now_ms(), NULL, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "signature"));
    /* No nextUpdate: its freshness is unknown. */
    assert_int_equal(respond("nonext.der", "good.idx", "leaf.req", "rsp", "ca", ""), 0);
    assert_int_equal(verify_file("nonext.der", now_ms(), NULL, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "nextUpdate"));
    /* Garbage, empty, truncated. */
    unsigned char junk[] = "not an ocsp response";
    assert_int_equal(ctl_ocsp_verify(junk, sizeof junk, g_leaf, g_issuer, now_ms(), NULL, &err),
                     CP_EINVAL);
    assert_int_equal(ctl_ocsp_verify(junk, 0, g_leaf, g_issuer, now_ms(), NULL, &err), CP_EINVAL);
    size_t len = 0;
    unsigned char *der = load("good.der", &len);
    assert_int_equal(ctl_ocsp_verify(der, len - 1, g_leaf, g_issuer, now_ms(), NULL, &err),
                     CP_EINVAL);
    free(der);
}

static void test_times_stale_and_future(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_ocsp_info_t info = {0};
    assert_int_equal(verify_file("good.der", now_ms(), &info, &err), 0);
    /* Stale: at nextUpdate and after. */
    assert_int_equal(verify_file("good.der", info.next_update_ms, NULL, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "stale"));
    assert_int_equal(verify_file("good.der", info.next_update_ms - 1, NULL, &err), 0);
    /* thisUpdate ahead of our clock by more than the skew. */
    assert_int_equal(
        verify_file("good.der", info.this_update_ms - CTL_OCSP_SKEW_MS - 1000, NULL, &err),
        CP_EINVAL);
    assert_non_null(strstr(err.msg, "future"));
    assert_int_equal(
        verify_file("good.der", info.this_update_ms - CTL_OCSP_SKEW_MS + 1000, NULL, &err), 0);
    /* The shared reader agrees. */
    size_t len = 0;
    unsigned char *der = load("good.der", &len);
    int64_t t = 0, n = 0;
    assert_int_equal(cp_ocsp_times(der, len, &t, &n), 0);
    assert_true(t == info.this_update_ms && n == info.next_update_ms);
    free(der);
}

static void test_url_and_chain(void **state)
{
    (void)state;
    char *url = ctl_ocsp_url(g_leaf);
    assert_string_equal(url, "http://127.0.0.1:1/ocsp");
    free(url);
    assert_null(ctl_ocsp_url(g_issuer));
    char path[300];
    snprintf(path, sizeof path, "%s/ca.crt", g_dir);
    X509 *l = NULL, *i = NULL;
    cp_err_t err = {0};
    /* A chain without the issuer cannot be checked. */
    assert_int_equal(ctl_ocsp_chain("-----BEGIN CERTIFICATE-----\n", &l, &i, &err), CP_EINVAL);
    assert_null(l);
}

static void test_refresh_and_retry_times(void **state)
{
    (void)state;
    const int64_t H = 3600 * 1000LL, now = 1000 * H;
    ctl_ocsp_info_t week = {now - H, now - H + 7 * 24 * H};
    assert_false(ctl_ocsp_refresh_due(&week, now));
    assert_int_equal(ctl_ocsp_refresh_at(&week, now), now - H + 84 * H); /* half way */
    assert_true(ctl_ocsp_refresh_due(&week, now - H + 84 * H));
    /* Half way already passed: soon, never in a tight loop. */
    ctl_ocsp_info_t old = {now - 10 * H, now + H};
    assert_true(ctl_ocsp_refresh_due(&old, now));
    assert_int_equal(ctl_ocsp_refresh_at(&old, now), now + CTL_OCSP_MIN_WAIT_MS);
    /* Retries: 30 s doubling to an hour; no later than a quarter of a held response's validity. */
    assert_int_equal(ctl_ocsp_retry_at(1, 0, now), now + 30000);
    assert_int_equal(ctl_ocsp_retry_at(2, 0, now), now + 60000);
    assert_int_equal(ctl_ocsp_retry_at(30, 0, now), now + CTL_OCSP_MAX_RETRY_MS);
    assert_int_equal(ctl_ocsp_retry_at(30, now + 2 * H, now), now + H / 2);
    assert_int_equal(ctl_ocsp_retry_at(30, now + 1000, now), now + CTL_OCSP_MIN_WAIT_MS);
    assert_int_equal(ctl_ocsp_retry_at(30, now - 1000, now), now + CTL_OCSP_MAX_RETRY_MS);
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(g_dir) == NULL || make_pki() != 0)
        return -1;
    char path[300];
    snprintf(path, sizeof path, "%s/leaf.crt", g_dir);
    FILE *f = fopen(path, "r");
    g_leaf = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/ca.crt", g_dir);
    f = fopen(path, "r");
    g_issuer = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return g_leaf != NULL && g_issuer != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    X509_free(g_leaf);
    X509_free(g_issuer);
    sh("rm -rf %s", g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_from_delegated_responder_and_from_the_ca),
        cmocka_unit_test(test_bad_responses_are_refused),
        cmocka_unit_test(test_times_stale_and_future),
        cmocka_unit_test(test_url_and_chain),
        cmocka_unit_test(test_refresh_and_retry_times),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
