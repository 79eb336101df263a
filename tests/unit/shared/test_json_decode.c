/* SPDX-License-Identifier: Apache-2.0 */
/* test_json_decode.c - the input forms cp_json_decode accepts: numbers as strings, offsets, enum
 * integers, nulls, unknown fields, the size limit */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "tests/unit/shared/json_fixture.h"

static void test_decode_accepts_numbers_strings_offsets_and_enum_integers(void **state)
{
    (void)state;
    Certplane__V1__Certificate *c = (Certplane__V1__Certificate *)jt_decode_ok(
        CERT,
        "{\"key_type\":2,\"failureCount\":\"42\",\"revision\":9007199254740993,\"state\":\"VALID\","
        "\"notAfter\":\"2023-11-15T00:13:20.5+02:00\",\"not_before\":\"2023-11-14t22:13:20z\","
        "\"renewAfter\":\"2023-11-14T21:13:20.000000001-01:00\",\"name\":\"\"}",
        0);
    assert_int_equal(c->key_type, CERTPLANE__V1__KEY_TYPE__RSA_3072);
    assert_int_equal(c->failure_count, 42);
    assert_true(c->revision == 9007199254740993);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__VALID);
    assert_true(c->not_after->seconds == 1700000000 && c->not_after->nanos == 500000000);
    assert_true(c->not_before->seconds == 1700000000 && c->not_before->nanos == 0);
    assert_true(c->renew_after->seconds == 1700000000 && c->renew_after->nanos == 1);
    assert_string_equal(c->name, "");
    protobuf_c_message_free_unpacked(&c->base, NULL);

    kitchen_t *k = (kitchen_t *)jt_decode_ok(
        KITCHEN,
        "{\"floatVal\":\"-Infinity\",\"double_val\":\"NaN\",\"u64\":\"18446744073709551615\","
        "\"s32\":3.0,\"rawData\":\"-_8\",\"rb\":[\"+/8=\",\"\"],\"u32\":\"4294967295\","
        "\"labels\":{\"a\":\"-9223372036854775808\"},\"names\":{\"-7\":\"neg\"},"
        "\"child\":{\"s\":\"deep\"},\"opt\":0,\"rd\":[\"1e3\",2],\"fx64\":1e3}",
        0);
    assert_true(isinf(k->float_val) && k->float_val < 0);
    assert_true(isnan(k->double_val));
    assert_true(k->fx64 == 1000);
    assert_true(k->u64 == UINT64_MAX && k->s32 == 3 && k->u32 == UINT32_MAX);
    assert_int_equal(k->raw_data.len, 2);
    assert_memory_equal(k->raw_data.data, "\xfb\xff", 2);
    assert_true(k->n_rb == 2 && k->rb[0].len == 2 && k->rb[1].len == 0);
    assert_true(k->n_labels == 1 && strcmp(k->labels[0]->key, "a") == 0 &&
                k->labels[0]->value == INT64_MIN);
    assert_true(k->n_names == 1 && k->names[0]->key == -7);
    assert_string_equal(k->names[0]->value, "neg");
    assert_int_equal(k->kind_case, 17);
    assert_string_equal(k->child->s, "deep");
    assert_true(k->has_opt && k->opt == 0);
    assert_true(k->n_rd == 2 && k->rd[0] == 1000 && k->rd[1] == 2);
    protobuf_c_message_free_unpacked(&k->base, NULL);
}

static void test_null_fields_decode_as_not_set(void **state)
{
    (void)state;
    ProtobufCMessage *c = jt_decode_ok(
        CERT,
        "{\"name\":null,\"domains\":null,\"notAfter\":null,\"keyType\":null,\"revision\":null}", 0);
    assert_int_equal(protobuf_c_message_get_packed_size(c), 0);
    protobuf_c_message_free_unpacked(c, NULL);
    kitchen_t *k =
        (kitchen_t *)jt_decode_ok(KITCHEN, "{\"s\":null,\"child\":{},\"labels\":null}", 0);
    assert_int_equal(k->kind_case, 17); /* null did not select "s", so "child" is no conflict */
    assert_non_null(k->child);
    protobuf_c_message_free_unpacked(&k->base, NULL);
}

static const char unknown_at_every_level[] =
    "{\"x\":{\"y\":[1,{\"z\":null}]},\"certificate\":{\"name\":\"web\",\"zzz\":[]},"
    "\"alsoUnknown\":1}";

static void test_unknown_field_is_refused_without_ignore_unknown(void **state)
{
    (void)state;
    const char *json = unknown_at_every_level;
    jt_assert_decode_fails(CREATE, json, strlen(json), 0, CP_EINVAL, "x: unknown field");
}

static void test_ignore_unknown_skips_unknown_fields_at_every_level(void **state)
{
    (void)state;
    Certplane__V1__CreateCertificateRequest *r =
        (Certplane__V1__CreateCertificateRequest *)jt_decode_ok(CREATE, unknown_at_every_level,
                                                                CP_JSON_IGNORE_UNKNOWN);
    assert_string_equal(r->certificate->name, "web");
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_ignore_unknown_still_checks_known_fields(void **state)
{
    (void)state;
    const char *json = "{\"x\":1,\"certificate\":{\"name\":1}}";
    jt_assert_decode_fails(CREATE, json, strlen(json), CP_JSON_IGNORE_UNKNOWN, CP_EINVAL,
                           "certificate.name: expected string");
}

/* A {"name":"aaa..."} document of exactly `n` bytes (the buffer holds one more). */
static char *document_of(size_t n)
{
    char *s = cp_xmalloc(n + 2);
    assert_non_null(s);
    memset(s, 'a', n + 1);
    memcpy(s, "{\"name\":\"", 9);
    memcpy(s + n - 2, "\"}", 3);
    return s;
}

static void test_text_of_exactly_max_size_is_accepted(void **state)
{
    (void)state;
    size_t n = CP_JSON_MAX_SIZE;
    char *s = document_of(n);
    Certplane__V1__Certificate *c = (Certplane__V1__Certificate *)jt_decode_ok(CERT, s, 0);
    assert_int_equal(strlen(c->name), n - 11);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    free(s);
}

static void test_text_larger_than_max_size_is_etoobig(void **state)
{
    (void)state;
    size_t n = CP_JSON_MAX_SIZE;
    char *s = document_of(n);
    memcpy(s + n - 2, "a\"}", 4);
    jt_assert_decode_fails(CERT, s, n + 1, 0, CP_ETOOBIG,
                           "document of 1048577 bytes is larger than 1048576 bytes");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_accepts_numbers_strings_offsets_and_enum_integers),
        cmocka_unit_test(test_null_fields_decode_as_not_set),
        cmocka_unit_test(test_unknown_field_is_refused_without_ignore_unknown),
        cmocka_unit_test(test_ignore_unknown_skips_unknown_fields_at_every_level),
        cmocka_unit_test(test_ignore_unknown_still_checks_known_fields),
        cmocka_unit_test(test_text_of_exactly_max_size_is_accepted),
        cmocka_unit_test(test_text_larger_than_max_size_is_etoobig),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
