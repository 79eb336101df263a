/* SPDX-License-Identifier: Apache-2.0 */
/* test_certmap.c - unit tests of the edge's certificate table and its persistent hash trie */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "edge/certmap.h"
#include "edge/hamt.h"
#include "tests/unit/edge/testcert.h"

static edge_cert_t *g_fallback;
static char *g_key; /* one EC key reused for speed */

static int group_setup(void **state)
{
    (void)state;
    const char *names[] = {"fallback.invalid"};
    char *chain;
    edge_test_pem(names, 1, NULL, &chain, &g_key);
    free(chain);
    cp_err_t err = {0};
    return edge_cert_new_self_signed("fallback.invalid", &g_fallback, &err);
}

static int group_teardown(void **state)
{
    (void)state;
    edge_cert_release(g_fallback);
    free(g_key);
    return 0;
}

static edge_cert_t *mk(const char *name, const char *dns)
{
    const char *names[] = {dns};
    return edge_test_cert(name, names, 1, g_key);
}

/* Puts cert into m and drops the caller's reference. */
static void put(edge_certmap_t *m, edge_cert_t *c)
{
    edge_certmap_put(m, c);
    edge_cert_release(c);
}

static void test_exact_before_wildcard(void **state)
{
    (void)state;
    edge_certmap_t *m = edge_certmap_new(g_fallback);
    put(m, mk("wild", "*.example.com"));
    put(m, mk("www", "www.example.com"));
    edge_match_t how;
    edge_cert_t *c = edge_certmap_get0(m, "www.example.com", &how);
    assert_string_equal(c->name, "www");
    assert_int_equal(how, EDGE_MATCH_EXACT);
    c = edge_certmap_get0(m, "api.example.com", &how);
    assert_string_equal(c->name, "wild");
    assert_int_equal(how, EDGE_MATCH_WILDCARD);
    edge_certmap_release(m);
}

static void test_wildcard_matches_one_label_only(void **state)
{
    (void)state;
    edge_certmap_t *m = edge_certmap_new(g_fallback);
    put(m, mk("wild", "*.example.com"));
    edge_match_t how;
    assert_ptr_equal(edge_certmap_get0(m, "a.b.example.com", &how), g_fallback);
    assert_int_equal(how, EDGE_MATCH_FALLBACK);
    assert_ptr_equal(edge_certmap_get0(m, "example.com", &how), g_fallback);
    assert_ptr_equal(edge_certmap_get0(m, ".example.com", &how), g_fallback);
    assert_string_equal(edge_certmap_get0(m, "x.example.com", &how)->name, "wild");
    edge_certmap_release(m);
}

static void test_unknown_name_gets_fallback(void **state)
{
    (void)state;
    edge_certmap_t *m = edge_certmap_new(g_fallback);
    put(m, mk("a", "a.test"));
    edge_match_t how = EDGE_MATCH_EXACT;
    assert_ptr_equal(edge_certmap_get0(m, "nope.test", &how), g_fallback);
    assert_int_equal(how, EDGE_MATCH_FALLBACK);
    assert_ptr_equal(edge_certmap_get0(m, NULL, &how), g_fallback);
    assert_ptr_equal(edge_certmap_get0(m, "", &how), g_fallback);
    edge_certmap_release(m);
}

static void test_lookup_is_case_insensitive(void **state)
{
    (void)state;
    edge_certmap_t *m = edge_certmap_new(g_fallback);
    put(m, mk("a", "Shop.Example.COM"));
    put(m, mk("w", "*.Wild.Test"));
    edge_match_t how;
    assert_string_equal(edge_certmap_get0(m, "SHOP.example.com", &how)->name, "a");
    assert_string_equal(edge_certmap_get0(m, "shop.example.com.", &how)->name, "a");
    assert_string_equal(edge_certmap_get0(m, "X.WILD.test", &how)->name, "w");
    edge_certmap_release(m);
}

static void test_five_san_names_all_served(void **state)
{
    (void)state;
    const char *names[] = {"a.five.test", "b.five.test", "c.five.test", "*.w.five.test",
                           "e.five.test"};
    edge_certmap_t *m = edge_certmap_new(g_fallback);
    put(m, edge_test_cert("five", names, 5, g_key));
    assert_string_equal(edge_certmap_get0(m, "c.five.test", NULL)->name, "five");
    assert_string_equal(edge_certmap_get0(m, "zz.w.five.test", NULL)->name, "five");
    assert_string_equal(edge_certmap_get0(m, "e.five.test", NULL)->name, "five");
    assert_int_equal(edge_certmap_count(m), 1);
    edge_certmap_release(m);
}

static void test_upsert_replaces_names_of_same_certificate(void **state)
{
    (void)state;
    edge_certmap_t *m = edge_certmap_new(g_fallback);
    put(m, mk("site", "old.test"));
    put(m, mk("site", "new.test"));
    assert_ptr_equal(edge_certmap_get0(m, "old.test", NULL), g_fallback);
    assert_string_equal(edge_certmap_get0(m, "new.test", NULL)->name, "site");
    assert_int_equal(edge_certmap_count(m), 1);
    assert_int_equal(edge_certmap_delete(m, "site"), 1);
    assert_ptr_equal(edge_certmap_get0(m, "new.test", NULL), g_fallback);
    assert_int_equal(edge_certmap_delete(m, "site"), 0);
    edge_certmap_release(m);
}

static void test_published_version_never_changes(void **state)
{
    (void)state;
    edge_certmap_t *v1 = edge_certmap_new(g_fallback);
    put(v1, mk("a", "a.test"));
    edge_certmap_t *v2 = edge_certmap_clone(v1, 0);
    put(v2, mk("b", "b.test"));
    edge_certmap_delete(v2, "a");
    assert_string_equal(edge_certmap_get0(v1, "a.test", NULL)->name, "a");
    assert_ptr_equal(edge_certmap_get0(v1, "b.test", NULL), g_fallback);
    assert_ptr_equal(edge_certmap_get0(v2, "a.test", NULL), g_fallback);
    assert_string_equal(edge_certmap_get0(v2, "b.test", NULL)->name, "b");
    edge_certmap_t *v3 = edge_certmap_clone(v2, 1);
    assert_int_equal(edge_certmap_count(v3), 0);
    assert_int_equal(edge_certmap_count(v2), 1);
    edge_certmap_release(v1);
    edge_certmap_release(v2);
    edge_certmap_release(v3);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One UPSERT into a table of 2,000 certificates with 10,000 names copies a few trie paths and
 * shares the rest. (Parsing a key costs OpenSSL 3 about 1.6 ms, so the test keeps the certificate
 * count moderate; the property checked does not depend on it.) */
static void test_update_shares_unchanged_entries(void **state)
{
    (void)state;
    enum { N = 2000, SANS = 5 };
    edge_certmap_t *v1 = edge_certmap_new(g_fallback);
    char name[64], sans[SANS][64];
    const char *sanp[SANS];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "c%d.big.test", i);
        for (int j = 0; j < SANS; j++) {
            snprintf(sans[j], sizeof sans[j], "n%d.c%d.big.test", j, i);
            sanp[j] = sans[j];
        }
        put(v1, edge_test_cert(name, sanp, SANS, g_key));
    }
    assert_int_equal(edge_certmap_count(v1), N);
    size_t total = edge_certmap_node_count(v1);

    edge_cert_t *update = mk("c77.big.test", "c77.big.test");
    double t0 = now_s();
    edge_certmap_t *v2 = edge_certmap_clone(v1, 0);
    edge_certmap_put(v2, update); /* also drops the 5 old names of c77 */
    double dt = now_s() - t0;
    edge_cert_release(update);
    size_t shared = edge_certmap_shared_nodes(v1, v2), fresh = edge_certmap_node_count(v2) - shared;
    print_message("table of %d certs, %d names: %zu trie nodes; one UPSERT made %zu new nodes, "
                  "shared %zu, %.1f us\n",
                  N, N * SANS, total, fresh, shared, dt * 1e6);
    /* Only the paths to the 7 changed keys (by_name, 5 removed and 1 added name) are new. */
    assert_true(fresh <= 7 * 4);
    assert_true(shared + 7 * 4 >= total);
    /* Unchanged entries are the very same parsed objects. */
    assert_ptr_equal(edge_certmap_get0_by_name(v1, "c5.big.test"),
                     edge_certmap_get0_by_name(v2, "c5.big.test"));
    assert_ptr_not_equal(edge_certmap_get0_by_name(v1, "c77.big.test"),
                         edge_certmap_get0_by_name(v2, "c77.big.test"));
    edge_certmap_release(v1);
    edge_certmap_release(v2);
}

static void test_key_mismatch_rejected(void **state)
{
    (void)state;
    const char *names[] = {"k.test"};
    char *chain, *key, *chain2, *other_key;
    edge_test_pem(names, 1, NULL, &chain, &key);
    edge_test_pem(names, 1, NULL, &chain2, &other_key);
    edge_cert_t *c = (edge_cert_t *)1;
    cp_err_t err = {0};
    long live = edge_cert_live_count();
    assert_int_equal(
        edge_cert_new("k", chain, strlen(chain), other_key, strlen(other_key), 1, &c, &err),
        CP_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err.msg, "does not match"));
    assert_int_equal(edge_cert_live_count(), live);
    assert_int_equal(edge_cert_new("k", "garbage", 7, key, strlen(key), 1, &c, &err), CP_EINVAL);
    free(chain);
    free(key);
    free(chain2);
    free(other_key);
}

static void test_certs_freed_when_last_version_released(void **state)
{
    (void)state;
    long base = edge_cert_live_count();
    edge_certmap_t *v1 = edge_certmap_new(g_fallback);
    put(v1, mk("a", "a.test"));
    put(v1, mk("b", "b.test"));
    assert_int_equal(edge_cert_live_count(), base + 2);
    edge_certmap_t *v2 = edge_certmap_clone(v1, 0);
    edge_certmap_delete(v2, "a");
    put(v2, mk("b", "b2.test")); /* replaces b */
    assert_int_equal(edge_cert_live_count(), base + 3);
    edge_certmap_release(v1); /* a and the old b had no other holder */
    assert_int_equal(edge_cert_live_count(), base + 1);
    edge_cert_t *held = edge_cert_retain(edge_certmap_get0(v2, "b2.test", NULL));
    edge_certmap_release(v2); /* a handshake in flight still holds it */
    assert_int_equal(edge_cert_live_count(), base + 1);
    edge_cert_release(held);
    assert_int_equal(edge_cert_live_count(), base);
}

static void test_challenges_set_and_clear(void **state)
{
    (void)state;
    edge_certmap_t *v1 = edge_certmap_new(g_fallback);
    edge_certmap_challenge_set(v1, "tok1", "tok1.thumb");
    edge_certmap_t *v2 = edge_certmap_clone(v1, 0);
    assert_int_equal(edge_certmap_challenge_clear(v2, "tok1"), 1);
    assert_string_equal(edge_certmap_challenge_get0(v1, "tok1"), "tok1.thumb");
    assert_null(edge_certmap_challenge_get0(v2, "tok1"));
    assert_int_equal(edge_certmap_challenge_clear(v2, "tok1"), 0);
    edge_certmap_release(v1);
    edge_certmap_release(v2);
}

/* Every key of `h` against `want` (0: absent). */
static void check_against(const edge_hamt_t *h, const long *want, int keys)
{
    char key[32];
    for (int k = 0; k < keys; k++) {
        snprintf(key, sizeof key, "k%d", k);
        assert_int_equal((long)edge_hamt_get(h, key), want[k]);
    }
}

/* The trie against a plain array under random sets and removes, with old versions kept alive and
 * checked: a version copied before is never changed by later edits, also now that a map's own
 * nodes are edited in place (the copy must stop that for every node it shares). */
static void test_hamt_random_operations_match_reference(void **state)
{
    (void)state;
    enum { KEYS = 3000, OPS = 40000 };
    static long ref[KEYS], snap_ref[KEYS];
    edge_hamt_t h, snap;
    edge_hamt_init(&h, NULL);
    edge_hamt_init(&snap, NULL);
    srand(7);
    char key[32];
    size_t count = 0, snap_count = 0;
    for (int op = 0; op < OPS; op++) {
        int k = rand() % KEYS;
        snprintf(key, sizeof key, "k%d", k);
        if (rand() % 3 == 0) {
            assert_int_equal(edge_hamt_remove(&h, key), ref[k] != 0);
            count -= ref[k] != 0;
            ref[k] = 0;
        } else {
            count += ref[k] == 0;
            ref[k] = op + 1;
            edge_hamt_set(&h, key, (void *)(long)(op + 1));
        }
        if (op % 5000 == 0) {
            check_against(&snap, snap_ref, KEYS);
            assert_int_equal(snap.count, snap_count);
            edge_hamt_dispose(&snap);
            edge_hamt_copy(&snap, &h);
            memcpy(snap_ref, ref, sizeof ref);
            snap_count = count;
        }
    }
    assert_int_equal(h.count, count);
    check_against(&h, ref, KEYS);
    check_against(&snap, snap_ref, KEYS);
    edge_hamt_dispose(&h);
    edge_hamt_dispose(&snap);
}

/* ---- IP-address certificates (RFC 8738) ---- */

static void test_ip_text_is_canonical(void **state)
{
    (void)state;
    char buf[EDGE_CERT_IP_MAX];
    const struct {
        const char *in, *out;
    } ok[] = {{"127.0.0.1", "127.0.0.1"},        {"::1", "::1"},
              {"0:0:0:0:0:0:0:1", "::1"},        {"2001:DB8:0::1", "2001:db8::1"},
              {"::ffff:192.0.2.7", "192.0.2.7"}, /* IPv4-mapped: the IPv4 address */
              {"::FFFF:c000:0207", "192.0.2.7"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(edge_cert_ip_text(ok[i].in, buf), 0);
        assert_string_equal(buf, ok[i].out);
    }
    const char *bad[] = {NULL, "", "a.test", "127.0.0.1.", "fe80::1%eth0", "[::1]", "1.2.3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(edge_cert_ip_text(bad[i], buf), CP_EINVAL);
    struct sockaddr_in6 m = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.1", &m.sin6_addr), 1);
    assert_int_equal(edge_cert_ip_text_sa((struct sockaddr *)&m, buf), 0);
    assert_string_equal(buf, "127.0.0.1");
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(edge_cert_ip_text_sa(&un, buf), CP_EINVAL);
    assert_int_equal(edge_cert_ip_text_sa(NULL, buf), CP_EINVAL);
}

static void test_ip_certificate_parsed_without_dns_name(void **state)
{
    (void)state;
    /* No CN, no dNSName: an RFC 8738 certificate was refused before ("no DNS name"). */
    edge_cert_t *c = edge_test_cert_san("ip", "IP:127.0.0.1,IP:0:0:0:0:0:0:0:1");
    assert_int_equal(c->n_names, 0);
    assert_int_equal(c->n_ips, 2);
    assert_string_equal(c->ips[0], "127.0.0.1");
    assert_string_equal(c->ips[1], "::1");
    edge_cert_release(c);
    c = edge_test_cert_san("mixed", "DNS:Mixed.Test,IP:192.0.2.1");
    assert_int_equal(c->n_names, 1);
    assert_string_equal(c->names[0], "mixed.test");
    assert_int_equal(c->n_ips, 1);
    assert_string_equal(c->ips[0], "192.0.2.1");
    edge_cert_release(c);
}

static void test_ip_index_follows_put_replace_and_delete(void **state)
{
    (void)state;
    edge_certmap_t *v1 = edge_certmap_new(g_fallback);
    assert_int_equal(edge_certmap_ip_count(v1), 0);
    assert_null(edge_certmap_get0_ip(v1, "127.0.0.1"));
    put(v1, mk("name", "a.test"));
    put(v1, edge_test_cert_san("ip", "IP:127.0.0.1,IP:::1"));
    assert_int_equal(edge_certmap_ip_count(v1), 2);
    assert_string_equal(edge_certmap_get0_ip(v1, "127.0.0.1")->name, "ip");
    assert_string_equal(edge_certmap_get0_ip(v1, "::1")->name, "ip");
    assert_null(edge_certmap_get0_ip(v1, "10.0.0.1"));
    assert_null(edge_certmap_get0_ip(v1, NULL));
    /* Addresses are not names: the DNS lookup of an IP literal still falls back. */
    assert_ptr_equal(edge_certmap_get0(v1, "127.0.0.1", NULL), g_fallback);
    /* A new version replaces the addresses of the cert of that name; v1 never changes. */
    edge_certmap_t *v2 = edge_certmap_clone(v1, 0);
    put(v2, edge_test_cert_san("ip", "IP:::1"));
    assert_null(edge_certmap_get0_ip(v2, "127.0.0.1"));
    assert_string_equal(edge_certmap_get0_ip(v2, "::1")->name, "ip");
    assert_string_equal(edge_certmap_get0_ip(v1, "127.0.0.1")->name, "ip");
    /* Another cert claiming the address serves it; deleting the first leaves it alone. */
    put(v2, edge_test_cert_san("other", "IP:::1"));
    assert_int_equal(edge_certmap_delete(v2, "ip"), 1);
    assert_string_equal(edge_certmap_get0_ip(v2, "::1")->name, "other");
    assert_int_equal(edge_certmap_delete(v2, "other"), 1);
    assert_int_equal(edge_certmap_ip_count(v2), 0);
    assert_string_equal(edge_certmap_get0(v2, "a.test", NULL)->name, "name");
    /* A snapshot that replaces everything drops the addresses too. */
    edge_certmap_t *v3 = edge_certmap_clone(v1, 1);
    assert_int_equal(edge_certmap_ip_count(v3), 0);
    edge_certmap_release(v1);
    edge_certmap_release(v2);
    edge_certmap_release(v3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_before_wildcard),
        cmocka_unit_test(test_wildcard_matches_one_label_only),
        cmocka_unit_test(test_unknown_name_gets_fallback),
        cmocka_unit_test(test_lookup_is_case_insensitive),
        cmocka_unit_test(test_five_san_names_all_served),
        cmocka_unit_test(test_upsert_replaces_names_of_same_certificate),
        cmocka_unit_test(test_published_version_never_changes),
        cmocka_unit_test(test_update_shares_unchanged_entries),
        cmocka_unit_test(test_key_mismatch_rejected),
        cmocka_unit_test(test_certs_freed_when_last_version_released),
        cmocka_unit_test(test_challenges_set_and_clear),
        cmocka_unit_test(test_hamt_random_operations_match_reference),
        cmocka_unit_test(test_ip_text_is_canonical),
        cmocka_unit_test(test_ip_certificate_parsed_without_dns_name),
        cmocka_unit_test(test_ip_index_follows_put_replace_and_delete),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
