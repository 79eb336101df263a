/* SPDX-License-Identifier: Apache-2.0 */
/* test_hash.c - unit tests of FNV-1a against the published test vectors */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>

#include "shared/hash.h"

static void test_fnv1a32_matches_reference_vectors(void **state)
{
    (void)state;
    assert_int_equal(cp_hash_fnv1a32("", 0), 0x811c9dc5u);
    assert_int_equal(cp_hash_fnv1a32("a", 1), 0xe40c292cu);
    assert_int_equal(cp_hash_fnv1a32("foobar", 6), 0xbf9cf968u);
    assert_int_equal(cp_hash_fnv1a32_str("foobar"), 0xbf9cf968u);
    assert_int_equal(cp_hash_fnv1a32_str(NULL), 0x811c9dc5u);
    assert_int_equal(cp_hash_fnv1a32("a\0b", 3) == cp_hash_fnv1a32_str("a"), 0);
}

static void test_fnv1a64_matches_reference_vectors(void **state)
{
    (void)state;
    assert_true(cp_hash_fnv1a64_str("") == UINT64_C(0xcbf29ce484222325));
    assert_true(cp_hash_fnv1a64_str("a") == UINT64_C(0xaf63dc4c8601ec8c));
    assert_true(cp_hash_fnv1a64_str("foobar") == UINT64_C(0x85944171f73967e8));
    assert_true(cp_hash_fnv1a64_str(NULL) == UINT64_C(0xcbf29ce484222325));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a32_matches_reference_vectors),
        cmocka_unit_test(test_fnv1a64_matches_reference_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
