/* SPDX-License-Identifier: Apache-2.0 */
/* test_keywrap.c - the KEK keyring and sealed private keys: round trip, AAD bound to the record,
 * unknown KEK id, tampering, plaintext values, re-wrap, the keyring file's format and mode */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controller/store/keywrap.h"
#include "shared/base64.h"
#include "shared/mem.h"

/* 32 bytes each, base64. */
#define K1 "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
#define K2 "k2 ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n"

static const char PEM[] = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n"
                          "-----END PRIVATE KEY-----\n";

static ctl_keyring_t *ring(const char *text)
{
    ctl_keyring_t *kr = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_keyring_parse(text, "test", &kr, &err), 0);
    return kr;
}

static char *seal(const ctl_keyring_t *kr, const char *record)
{
    char *out = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_keywrap_seal(kr, record, PEM, strlen(PEM), &out, &err), 0);
    return out;
}

static void test_round_trip(void **state)
{
    (void)state;
    ctl_keyring_t *kr = ring(K1 K2);
    char *s = seal(kr, "cert:www"), *s2 = seal(kr, "cert:www"), *p = NULL, id[65];
    size_t n = 0;
    cp_err_t err = {0};
    assert_true(ctl_keywrap_sealed(s));
    assert_null(strstr(s, "BEGIN"));
    assert_string_not_equal(s, s2); /* a fresh data key and nonce every time */
    assert_int_equal(ctl_keywrap_kek_id(s, id, &err), 0);
    assert_string_equal(id, "k1");
    assert_int_equal(ctl_keywrap_open(kr, "cert:www", s, &p, &n, &err), 0);
    assert_string_equal(p, PEM);
    assert_int_equal(n, strlen(PEM));
    cp_secure_free(p, n);
    free(s);
    free(s2);
    ctl_keyring_free(kr);
}

static void test_other_record_fails(void **state)
{
    (void)state;
    ctl_keyring_t *kr = ring(K1);
    char *s = seal(kr, "cert:www"), *p = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_keywrap_open(kr, "cert:evil", s, &p, NULL, &err), CP_ECRYPTO);
    assert_null(p);
    assert_non_null(strstr(err.msg, "cert:evil"));
    assert_int_equal(ctl_keywrap_open(kr, "account:le:a@b", s, &p, NULL, &err), CP_ECRYPTO);
    free(s);
    ctl_keyring_free(kr);
}

static void test_unknown_kek(void **state)
{
    (void)state;
    ctl_keyring_t *a = ring(K2 K1), *b = ring(K1);
    char *s = seal(a, "cert:www"), *p = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_keywrap_open(b, "cert:www", s, &p, NULL, &err), CP_ESTATE);
    assert_null(p);
    assert_non_null(strstr(err.msg, "KEK \"k2\", which is not in the keyring"));
    /* Without a keyring, a sealed key is refused the same way, and nothing crashes. */
    assert_int_equal(ctl_keywrap_open(NULL, "cert:www", s, &p, NULL, &err), CP_ESTATE);
    free(s);
    ctl_keyring_free(a);
    ctl_keyring_free(b);
}

/* Flips one bit of the decoded data part (tag, ciphertext) or of the wrapped key. */
static void test_tampered(void **state)
{
    (void)state;
    ctl_keyring_t *kr = ring(K1);
    char *s = seal(kr, "cert:www");
    char *wrap = strchr(s + strlen(CTL_KEYWRAP_PREFIX), ':') + 1;
    char *data = strchr(wrap, ':') + 1;
    const size_t where[] = {(size_t)(data - s) + 2, strlen(s) - 4, (size_t)(wrap - s) + 20};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        char *t = cp_xstrdup(s), *p = NULL;
        cp_err_t err = {0};
        t[where[i]] = t[where[i]] == 'A' ? 'B' : 'A';
        assert_int_equal(ctl_keywrap_open(kr, "cert:www", t, &p, NULL, &err), CP_ECRYPTO);
        assert_null(p);
        free(t);
    }
    /* Malformed: a truncated value. */
    char *p = NULL;
    cp_err_t err = {0};
    data[0] = '\0';
    assert_int_equal(ctl_keywrap_open(kr, "cert:www", s, &p, NULL, &err), CP_EINVAL);
    assert_int_equal(ctl_keywrap_open(kr, "cert:www", "cpenc1:k1", &p, NULL, &err), CP_EINVAL);
    free(s);
    ctl_keyring_free(kr);
}

static void test_plaintext(void **state)
{
    (void)state;
    ctl_keyring_t *kr = ring(K1);
    char *p = NULL, *s = NULL, id[65];
    cp_err_t err = {0};
    bool changed = false;
    assert_int_equal(ctl_keywrap_open(kr, "cert:www", PEM, &p, NULL, &err), 0);
    assert_string_equal(p, PEM);
    free(p);
    assert_int_equal(ctl_keywrap_kek_id(PEM, id, &err), 0);
    assert_string_equal(id, "");
    /* Plaintext mode (no keyring): sealing keeps the text. */
    assert_int_equal(ctl_keywrap_seal(NULL, "cert:www", PEM, strlen(PEM), &s, &err), 0);
    assert_string_equal(s, PEM);
    free(s);
    /* Re-wrapping a plaintext key seals it. */
    assert_int_equal(ctl_keywrap_rewrap(kr, "cert:www", PEM, &s, &changed, &err), 0);
    assert_true(changed);
    assert_true(ctl_keywrap_sealed(s));
    free(s);
    ctl_keyring_free(kr);
}

static void test_rewrap(void **state)
{
    (void)state;
    ctl_keyring_t *old = ring(K1), *both = ring(K2 K1);
    char *s = seal(old, "account:le:a@b"), *r = NULL, *r2 = NULL, *p = NULL, id[65];
    cp_err_t err = {0};
    bool changed = false;
    assert_int_equal(ctl_keywrap_rewrap(both, "account:le:a@b", s, &r, &changed, &err), 0);
    assert_true(changed);
    assert_int_equal(ctl_keywrap_kek_id(r, id, &err), 0);
    assert_string_equal(id, "k2");
    /* Only the data key was re-wrapped: the ciphertext part is the same. */
    assert_string_equal(strrchr(r, ':'), strrchr(s, ':'));
    assert_int_equal(ctl_keywrap_open(both, "account:le:a@b", r, &p, NULL, &err), 0);
    assert_string_equal(p, PEM);
    cp_secure_free_str(p);
    /* Already under the active KEK: unchanged. */
    assert_int_equal(ctl_keywrap_rewrap(both, "account:le:a@b", r, &r2, &changed, &err), 0);
    assert_false(changed);
    assert_string_equal(r2, r);
    /* The old keyring cannot open the re-wrapped value. */
    assert_int_equal(ctl_keywrap_open(old, "account:le:a@b", r, &p, NULL, &err), CP_ESTATE);
    free(s);
    free(r);
    free(r2);
    ctl_keyring_free(old);
    ctl_keyring_free(both);
}

static void test_keyring_text(void **state)
{
    (void)state;
    ctl_keyring_t *kr = NULL;
    cp_err_t err = {0};
    char id[65];
    kr = ring("# comment\n\n  " K2 K1);
    ctl_keyring_active(kr, id);
    assert_string_equal(id, "k2");
    assert_int_equal(ctl_keyring_size(kr), 2);
    ctl_keyring_free(kr);
    kr = NULL;
    assert_int_equal(ctl_keyring_parse_list("k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=,"
                                            "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                                            "--kek", &kr, &err),
                     0);
    ctl_keyring_active(kr, id);
    assert_string_equal(id, "k2");
    assert_int_equal(ctl_keyring_size(kr), 2);
    assert_false(ctl_keyring_from_file(kr));
    assert_int_equal(ctl_keyring_reload(kr, &err), CP_EINVAL);
    ctl_keyring_free(kr);
    static const char *const bad[] = {
        "",                                                   /* no key */
        "# only a comment\n",                                 /* no key */
        "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n",  /* 31 bytes */
        "k1\n",                                               /* no key */
        "k/1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", /* bad id */
        K1 K1,                                                /* duplicate */
        "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= extra\n",
        "k1 !!!ECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kr = NULL;
        assert_int_equal(ctl_keyring_parse(bad[i], "test", &kr, &err), CP_EINVAL);
        assert_null(kr);
        assert_null(strstr(err.msg, "AAEC")); /* never the key material */
    }
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    unlink(path); /* the last mode may not let a non-root user write */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_keyring_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_keywrap_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ctl_keyring_t *kr = NULL;
    cp_err_t err = {0};
    char id[65];
    write_file(path, K1, 0644);
    assert_int_equal(ctl_keyring_load(path, &kr, &err), CP_EPERM);
    assert_non_null(strstr(err.msg, "chmod 600"));
    write_file(path, K1, 0460); /* group write */
    assert_int_equal(ctl_keyring_load(path, &kr, &err), CP_EPERM);
    /* Group read: only for the process's own group (a Kubernetes Secret with fsGroup). */
    write_file(path, K1, 0440);
    assert_int_equal(chown(path, (uid_t)-1, getegid()), 0);
    assert_int_equal(ctl_keyring_load(path, &kr, &err), 0);
    ctl_keyring_free(kr);
    kr = NULL;
    gid_t other = getegid() == 1 ? 2 : 1;
    if (chown(path, (uid_t)-1, other) == 0) { /* as root, or a member of that group */
        assert_int_equal(ctl_keyring_load(path, &kr, &err), CP_EPERM);
    }
    write_file(path, K1, 0604); /* others */
    assert_int_equal(ctl_keyring_load(path, &kr, &err), CP_EPERM);
    write_file(path, K1, 0400);
    assert_int_equal(ctl_keyring_load(path, &kr, &err), 0);
    char *s = seal(kr, "cert:www"), *p = NULL;
    /* Reload: a new active key; the old one still opens older values. */
    write_file(path, K2 K1, 0600);
    assert_int_equal(ctl_keyring_reload(kr, &err), 0);
    ctl_keyring_active(kr, id);
    assert_string_equal(id, "k2");
    assert_int_equal(ctl_keywrap_open(kr, "cert:www", s, &p, NULL, &err), 0);
    cp_secure_free_str(p);
    /* A broken file on reload keeps the keys in use. */
    write_file(path, "garbage\n", 0600);
    assert_int_equal(ctl_keyring_reload(kr, &err), CP_EINVAL);
    ctl_keyring_active(kr, id);
    assert_string_equal(id, "k2");
    free(s);
    ctl_keyring_free(kr);
    unlink(path);
    assert_int_equal(ctl_keyring_load(path, &kr, &err), CP_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_other_record_fails),
        cmocka_unit_test(test_unknown_kek),  cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_plaintext),    cmocka_unit_test(test_rewrap),
        cmocka_unit_test(test_keyring_text), cmocka_unit_test(test_keyring_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
