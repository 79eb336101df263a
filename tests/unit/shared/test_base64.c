/* SPDX-License-Identifier: Apache-2.0 */
/* test_base64.c - unit tests of base64: both alphabets, padding, PEM bodies */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "shared/base64.h"
#include "shared/err.h"

static void test_encode_rfc4648_vectors_standard_and_url(void **state)
{
    (void)state;
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *s = cp_base64_encode(in[i], strlen(in[i]), 0);
        assert_string_equal(s, std[i]);
        free(s);
        s = cp_base64_encode(in[i], strlen(in[i]), CP_BASE64_URL);
        assert_string_equal(s, url[i]);
        free(s);
    }
    const unsigned char bin[] = {0xfb, 0xff, 0xbf};
    char *s = cp_base64_encode(bin, 3, 0), *u = cp_base64_encode(bin, 3, CP_BASE64_URL);
    assert_string_equal(s, "+/+/");
    assert_string_equal(u, "-_-_");
    free(s);
    free(u);
}

static void test_decode_accepts_both_alphabets_padded_or_not(void **state)
{
    (void)state;
    static const char *ok[] = {"Zm9vYg==", "Zm9vYg", "-_-_", "+/+/"};
    static const size_t lens[] = {4, 4, 3, 3};
    for (size_t i = 0; i < 4; i++) {
        uint8_t *out = NULL;
        size_t n = 0;
        assert_int_equal(cp_base64_decode(ok[i], strlen(ok[i]), 0, &out, &n), 0);
        assert_int_equal(n, lens[i]);
        assert_int_equal(out[n], 0);
        free(out);
    }
    uint8_t *out = (uint8_t *)"x";
    size_t n = 9;
    assert_int_equal(cp_base64_decode("", 0, 0, &out, &n), 0);
    assert_null(out);
    assert_int_equal(n, 0);
}

static void test_decode_rejects_bad_text_and_leaves_outputs(void **state)
{
    (void)state;
    static const char *bad[] = {"Zm9vY", "Zm9v=", "Zg=", "Zg===", "Zm9v YmFy", "Zg==Zg==", "Zm*v"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *out = (uint8_t *)"keep";
        size_t n = 7;
        assert_int_equal(cp_base64_decode(bad[i], strlen(bad[i]), 0, &out, &n), CP_EINVAL);
        assert_string_equal((char *)out, "keep");
        assert_int_equal(n, 7);
    }
}

static void test_pem_mode_skips_whitespace_and_needs_canonical_padding(void **state)
{
    (void)state;
    const char *body = "\nZm9v\r\nYmE=\n";
    uint8_t out[CP_BASE64_DECODED_MAX(16)];
    size_t n = 0;
    assert_int_equal(cp_base64_decode_to(body, strlen(body), CP_BASE64_PEM, out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "fooba", 5);
    assert_int_equal(cp_base64_decode_to("Zg", 2, CP_BASE64_PEM, out, &n), CP_EINVAL);
    assert_int_equal(cp_base64_decode_to("Zh==", 4, CP_BASE64_PEM, out, &n), CP_EINVAL);
    assert_int_equal(cp_base64_decode_to("Zh==", 4, 0, out, &n), 0); /* lenient by default */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_rfc4648_vectors_standard_and_url),
        cmocka_unit_test(test_decode_accepts_both_alphabets_padded_or_not),
        cmocka_unit_test(test_decode_rejects_bad_text_and_leaves_outputs),
        cmocka_unit_test(test_pem_mode_skips_whitespace_and_needs_canonical_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
