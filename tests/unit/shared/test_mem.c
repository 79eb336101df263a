/* SPDX-License-Identifier: Apache-2.0 */
/* test_mem.c - unit tests of the aborting allocators and cp_secure_free */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"

static void test_zero_sizes_give_unique_pointers(void **state)
{
    (void)state;
    void *a = cp_xmalloc(0), *b = cp_xcalloc(0, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    free(a);
    free(b);
}

static void test_strndup_stops_at_n_or_nul(void **state)
{
    (void)state;
    char *s = cp_xstrndup("abcdef", 3), *t = cp_xstrndup("ab", 10), *u = cp_xstrdup("xyz");
    assert_string_equal(s, "abc");
    assert_string_equal(t, "ab");
    assert_string_equal(u, "xyz");
    free(s);
    free(t);
    free(u);
}

static void test_xasprintf_formats_into_a_new_string(void **state)
{
    (void)state;
    char *p = cp_xasprintf("%s/%d", "/v1/certificates", 42);
    assert_string_equal(p, "/v1/certificates/42");
    free(p);
    p = cp_xasprintf("%s", "");
    assert_string_equal(p, "");
    free(p);
}

static void test_xcheck_passes_a_pointer_through(void **state)
{
    (void)state;
    int x = 1;
    assert_ptr_equal(cp_xcheck(&x, "x"), &x);
}

static void test_secure_free_accepts_null_and_secrets(void **state)
{
    (void)state;
    cp_secure_free(NULL, 10);
    cp_secure_free_str(NULL);
    cp_secure_free(cp_xstrdup("-----BEGIN PRIVATE KEY-----"), 28);
    cp_secure_free_str(cp_xstrdup("token"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_sizes_give_unique_pointers),
        cmocka_unit_test(test_strndup_stops_at_n_or_nul),
        cmocka_unit_test(test_xasprintf_formats_into_a_new_string),
        cmocka_unit_test(test_xcheck_passes_a_pointer_through),
        cmocka_unit_test(test_secure_free_accepts_null_and_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
