/* SPDX-License-Identifier: Apache-2.0 */
/* test_ocsp.c - OCSP stapling on the edge (edge/ocsp.h, issue 14): in-memory handshakes that ask
 * for certificate status get the response held for the served leaf, only while it is fresh
 * (checked at staple time: a response that goes stale while held is no longer stapled); stale,
 * older and malformed responses are not stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "edge/ocsp.h"
#include "edge/sni.h"
#include "shared/clock.h"
#include "shared/ocsp.h"
#include "tests/unit/edge/testcert.h"

static edge_sni_t g_sni;
static edge_cert_t *g_fallback, *g_a, *g_b;
static unsigned char g_der[8192];
static size_t g_der_len;
static char g_dir[] = "/tmp/cp-edge-ocsp-XXXXXX";

/* Any successful OCSP response with a nextUpdate a day ahead (the edge staples by leaf digest;
 * the controller verified it). */
static int make_response(void)
{
    char cmd[2048], path[300];
    snprintf(cmd, sizeof cmd,
             "cd %s && exec >/dev/null 2>&1 && openssl req -x509 -newkey ec -pkeyopt "
             "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=ca && "
             "openssl ocsp -issuer ca.crt -cert ca.crt -no_nonce -reqout req.der && "
             "printf 'V\\t301231235959Z\\t\\t%%s\\tunknown\\t/CN=ca\\n' "
             "$(openssl x509 -in ca.crt -noout -serial | cut -d= -f2) > index.txt && "
             "openssl ocsp -index index.txt -reqin req.der -rsigner ca.crt -rkey ca.key -CA ca.crt "
             "-ndays 1 -respout resp.der",
             g_dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/resp.der", g_dir);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    g_der_len = fread(g_der, 1, sizeof g_der, f);
    fclose(f);
    return g_der_len > 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    cp_err_t err = {0};
    if (mkdtemp(g_dir) == NULL || make_response() != 0 ||
        edge_cert_new_self_signed("fallback.invalid", &g_fallback, &err) != 0)
        return -1;
    edge_certmap_t *m = edge_certmap_new(g_fallback);
    const char *a[] = {"a.test"}, *b[] = {"b.test"};
    g_a = edge_test_cert("a", a, 1, NULL);
    g_b = edge_test_cert("b", b, 1, NULL);
    edge_certmap_put(m, g_a);
    edge_certmap_put(m, g_b);
    int rc = edge_sni_init(&g_sni, m, &err);
    edge_certmap_release(m);
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    edge_sni_dispose(&g_sni);
    edge_cert_release(g_fallback);
    edge_cert_release(g_a);
    edge_cert_release(g_b);
    edge_ocsp_clear();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A handshake for `name` asking for certificate status: the length of the stapled response the
 * client got (0: none). */
static long status_handshake(const char *name)
{
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL *c = SSL_new(cctx), *s = SSL_new(g_sni.ctx);
    SSL_CTX_free(cctx);
    BIO *cb, *sb;
    assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(c, cb, cb);
    SSL_set_bio(s, sb, sb);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    SSL_set_tlsext_host_name(c, name);
    SSL_set_tlsext_status_type(c, TLSEXT_STATUSTYPE_ocsp);
    int done_c = 0, done_s = 0;
    for (int i = 0; i < 50 && !(done_c && done_s); i++) {
        done_c = done_c || SSL_do_handshake(c) == 1;
        done_s = done_s || SSL_do_handshake(s) == 1;
    }
    assert_true(done_c && done_s);
    const unsigned char *resp = NULL;
    long len = SSL_get_tlsext_status_ocsp_resp(c, &resp);
    SSL_free(c);
    SSL_free(s);
    return len > 0 ? len : 0;
}

static void test_staples_the_served_leafs_response_only(void **state)
{
    (void)state;
    cp_err_t err = {0};
    edge_ocsp_stats_t st0, st1;
    edge_ocsp_get_stats(&st0);
    assert_int_equal(status_handshake("a.test"), 0);
    assert_int_equal(edge_ocsp_put(g_a->sha256, sizeof g_a->sha256, g_der, g_der_len, 0,
                                   cp_clock_wall_ms(), &err),
                     0);
    assert_int_equal(status_handshake("a.test"), (long)g_der_len);
    assert_int_equal(status_handshake("b.test"), 0); /* another leaf: nothing */
    edge_ocsp_get_stats(&st1);
    assert_int_equal(st1.stapled - st0.stapled, 1);
    assert_int_equal(st1.held, 1);
}

static void test_a_response_gone_stale_is_not_stapled(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t this_ms = 0, next_ms = 0;
    assert_int_equal(cp_ocsp_times(g_der, g_der_len, &this_ms, &next_ms), 0);
    int64_t now = cp_clock_wall_ms();
    /* The controller's nextUpdate is earlier than the DER's: the earlier one counts. */
    assert_int_equal(
        edge_ocsp_put(g_b->sha256, sizeof g_b->sha256, g_der, g_der_len, now + 1200, now, &err), 0);
    assert_int_equal(status_handshake("b.test"), (long)g_der_len);
    edge_ocsp_stats_t st0, st1;
    edge_ocsp_get_stats(&st0);
    usleep(1500 * 1000); /* nextUpdate passes while the response is held */
    assert_int_equal(status_handshake("b.test"), 0);
    edge_ocsp_get_stats(&st1);
    assert_int_equal(st1.stale_skipped - st0.stale_skipped, 1);
    assert_int_equal(status_handshake("a.test"), (long)g_der_len); /* a's is still fresh */
}

static void test_stale_older_and_malformed_are_not_stored(void **state)
{
    (void)state;
    cp_err_t err = {0};
    edge_ocsp_clear();
    int64_t this_ms = 0, next_ms = 0;
    assert_int_equal(cp_ocsp_times(g_der, g_der_len, &this_ms, &next_ms), 0);
    /* Already stale when it arrives. */
    assert_int_equal(edge_ocsp_put(g_a->sha256, 32, g_der, g_der_len, 0, next_ms + 1, &err), 0);
    assert_int_equal(status_handshake("a.test"), 0);
    assert_int_equal(edge_ocsp_put(g_a->sha256, 32, g_der, g_der_len, 0, this_ms, &err), 0);
    assert_int_equal(status_handshake("a.test"), (long)g_der_len);
    unsigned char junk[] = "junk";
    assert_int_equal(edge_ocsp_put(g_a->sha256, 32, junk, sizeof junk, 0, this_ms, &err),
                     CP_EPROTO);
    assert_int_equal(edge_ocsp_put(g_a->sha256, 31, g_der, g_der_len, 0, this_ms, &err), CP_EPROTO);
    assert_int_equal(status_handshake("a.test"), (long)g_der_len); /* the good one stays */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staples_the_served_leafs_response_only),
        cmocka_unit_test(test_a_response_gone_stale_is_not_stapled),
        cmocka_unit_test(test_stale_older_and_malformed_are_not_stored),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
