/* SPDX-License-Identifier: Apache-2.0 */
/* test_json_decode_errors.c - documents cp_json_decode refuses, each with its exact message and the
 * field path; the depth limit */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "tests/unit/shared/json_fixture.h"

typedef struct {
    const ProtobufCMessageDescriptor *desc;
    const char *json;
    const char *msg; /* the exact message */
} bad_doc_t;

#define BADTS(text) "{\"notAfter\":\"" text "\"}", "notAfter: invalid timestamp \"" text "\""

/* syntax (jansson's text after our prefix) */
static const bad_doc_t bad_syntax[] = {
    {CERT, "{\"name\":", "invalid JSON at line 1 column 8: unexpected token near end of file"},
    {CERT, "{\"name\":\"a\",}",
     "invalid JSON at line 1 column 13: string or '}' expected near '}'"},
    {CERT, "", "invalid JSON at line 1 column 0: unexpected token near end of file"},
    {CERT, "{\"name\":\"a\"} x", "invalid JSON at line 1 column 14: end of file expected near 'x'"},
    {CERT, "{'name':1}", "invalid JSON at line 1 column 2: string or '}' expected near '''"},
    {CERT, "{\"name\":\"a\",\"name\":\"b\"}",
     "invalid JSON at line 1 column 18: duplicate object key near '\"name\"'"},
    {CERT, "{\"name\":\"\xff\"}",
     "invalid JSON at line 1 column 9: unable to decode byte 0xff near '\"'"},
    {CERT, "{\"revision\":NaN}", "invalid JSON at line 1 column 15: invalid token near 'NaN'"},
    {CERT, "{\n\"revision\":18446744073709551616}",
     "invalid JSON at line 2 column 31: too big integer near '18446744073709551616'"},
};

/* the document */
static const bad_doc_t bad_document[] = {
    {CERT, "[]", "document is not an object"},
    {CERT, "\"web\"", "document is not an object"},
    {CERT, "null", "document is not an object"},
    {TSDESC, "{}", "expected RFC 3339 timestamp string"},
    {TSDESC, "\"2024-01-01\"", "invalid timestamp \"2024-01-01\""},
};

/* strings and repeated strings */
static const bad_doc_t bad_strings[] = {
    {CERT, "{\"name\":1}", "name: expected string"},
    {CERT, "{\"name\":\"a\",\"domains\":[\"a\",\"b\",3]}", "domains[2]: expected string"},
    {CERT, "{\"domains\":\"a\"}", "domains: expected array"},
    {CERT, "{\"ipAddresses\":{\"a\":\"b\"}}", "ipAddresses: expected array"},
    {CERT, "{\"ip_addresses\":[\"1.2.3.4\",null]}", "ip_addresses[1]: expected string"},
    {CERT, "{\"domains\":[[\"a\"]]}", "domains[0]: expected string"},
    {CERT, "{\"name\":\"a\\u0000b\"}", "name: string contains NUL"},
};

/* names */
static const bad_doc_t bad_names[] = {
    {CERT, "{\"foo\":1}", "foo: unknown field"},
    {CERT, "{\"Name\":\"a\"}", "Name: unknown field"},
    {CERT, "{\"keyType\":\"EC_P256\",\"key_type\":\"EC_P256\"}",
     "key_type: field given twice (also as \"keyType\")"},
    {CREATE, "{\"certificate\":{\"name\":\"a\",\"foo\":1}}", "certificate.foo: unknown field"},
};

/* enums */
static const bad_doc_t bad_enums[] = {
    {CERT, "{\"keyType\":\"RSA_1024\"}", "keyType: unknown enum value \"RSA_1024\""},
    {CERT, "{\"keyType\":\"rsa_2048\"}", "keyType: unknown enum value \"rsa_2048\""},
    {CERT, "{\"state\":true}", "state: expected enum name or integer"},
    {CERT, "{\"state\":1.5}", "state: expected enum name or integer"},
    {CERT, "{\"state\":4294967296}", "state: value out of range for int32"},
    {CREATE, "{\"certificate\":{\"keyType\":\"RSA_1024\"}}",
     "certificate.keyType: unknown enum value \"RSA_1024\""},
    {HEALTH, "{\"status\":\"BOGUS\"}", "status: unknown enum value \"BOGUS\""},
};

/* timestamps */
static const bad_doc_t bad_timestamps[] = {
    {CERT, BADTS("2024-13-01T00:00:00Z")},
    {CERT, BADTS("2023-02-29T00:00:00Z")},
    {CERT, BADTS("2024-01-01 00:00:00Z")},
    {CERT, BADTS("2024-01-01T00:00:00")},
    {CERT, BADTS("2024-01-01T00:00:00.1234567891Z")},
    {CERT, BADTS("2024-01-01T00:00:00.Z")},
    {CERT, BADTS("2024-01-01T24:00:00Z")},
    {CERT, BADTS("2024-01-01T00:00:60Z")},
    {CERT, BADTS("2024-01-01T00:00:00+24:00")},
    {CERT, BADTS("0001-01-01T00:00:00+00:01")},
    {CERT, BADTS("9999-12-31T23:59:59-00:01")},
    {CERT, "{\"notAfter\":1700000000}", "notAfter: expected RFC 3339 timestamp string"},
    {CERT, "{\"notAfter\":{\"seconds\":\"1\"}}", "notAfter: expected RFC 3339 timestamp string"},
    {CREATE, "{\"certificate\":{\"notAfter\":\"2024-13-01T00:00:00Z\"}}",
     "certificate.notAfter: invalid timestamp \"2024-13-01T00:00:00Z\""},
};

/* 32-bit integers */
static const bad_doc_t bad_int32[] = {
    {CERT, "{\"failureCount\":2147483648}", "failureCount: value out of range for int32"},
    {CERT, "{\"failureCount\":-2147483649}", "failureCount: value out of range for int32"},
    {CERT, "{\"failureCount\":1.5}", "failureCount: value is not an integer"},
    {CERT, "{\"failureCount\":\"12a\"}", "failureCount: invalid integer \"12a\""},
    {CERT, "{\"failureCount\":\" 12\"}", "failureCount: invalid integer \" 12\""},
    {CERT, "{\"failureCount\":true}", "failureCount: expected integer"},
    {CERT, "{\"failureCount\":[1]}", "failureCount: expected integer"},
    {KITCHEN, "{\"u32\":4294967296}", "u32: value out of range for uint32"},
    {KITCHEN, "{\"fx32\":-1}", "fx32: value out of range for fixed32"},
    {KITCHEN, "{\"sf32\":\"2147483648\"}", "sf32: value out of range for sfixed32"},
    {KITCHEN, "{\"opt\":\"1.5\"}", "opt: invalid integer \"1.5\""},
};

/* 64-bit integers */
static const bad_doc_t bad_int64[] = {
    {CERT, "{\"revision\":\"9223372036854775808\"}", "revision: value out of range for int64"},
    {CERT, "{\"revision\":\"-9223372036854775809\"}", "revision: value out of range for int64"},
    {CERT, "{\"revision\":\"99999999999999999999999\"}", "revision: value out of range for int64"},
    {CERT, "{\"revision\":1e19}", "revision: value out of range for int64"},
    {CERT, "{\"revision\":\"1e3\"}", "revision: invalid integer \"1e3\""},
    {CERT, "{\"revision\":{}}", "revision: expected integer"},
    {KITCHEN, "{\"u64\":\"-1\"}", "u64: value out of range for uint64"},
    {KITCHEN, "{\"u64\":-1}", "u64: value out of range for uint64"},
    {KITCHEN, "{\"u64\":\"18446744073709551616\"}", "u64: value out of range for uint64"},
};

/* bools, floats, bytes */
static const bad_doc_t bad_scalars[] = {
    {GETREQ, "{\"includePrivateKey\":\"true\"}", "includePrivateKey: expected boolean"},
    {GETREQ, "{\"include_private_key\":1}", "include_private_key: expected boolean"},
    {KITCHEN, "{\"floatVal\":1e39}", "floatVal: value out of range for float"},
    {KITCHEN, "{\"doubleVal\":\"nan\"}", "doubleVal: invalid number \"nan\""},
    {KITCHEN, "{\"doubleVal\":\"1e999\"}", "doubleVal: value out of range for double"},
    {KITCHEN, "{\"doubleVal\":true}", "doubleVal: expected number"},
    {KITCHEN, "{\"rd\":[1,null]}", "rd[1]: expected number"},
    {KITCHEN, "{\"rawData\":\"!!!!\"}", "rawData: invalid base64"},
    {KITCHEN, "{\"rawData\":\"abcde\"}", "rawData: invalid base64"},
    {KITCHEN, "{\"rawData\":\"ab=\"}", "rawData: invalid base64"},
    {KITCHEN, "{\"raw_data\":5}", "raw_data: expected base64 string"},
    {KITCHEN, "{\"rb\":[\"AA==\",false]}", "rb[1]: expected base64 string"},
};

/* messages, maps, oneofs */
static const bad_doc_t bad_nested[] = {
    {CREATE, "{\"certificate\":[]}", "certificate: expected object"},
    {CREATE, "{\"certificate\":\"web\"}", "certificate: expected object"},
    {LIST, "{\"certificates\":[{\"name\":\"a\"},null]}", "certificates[1]: expected object"},
    {LIST, "{\"certificates\":[{\"name\":\"a\"},{\"domains\":[\"x\",7]}]}",
     "certificates[1].domains[1]: expected string"},
    {LIST, "{\"certificates\":{}}", "certificates: expected array"},
    {KITCHEN, "{\"labels\":[]}", "labels: expected object"},
    {KITCHEN, "{\"labels\":{\"a\":\"1\",\"k\":\"x\"}}", "labels[\"k\"]: invalid integer \"x\""},
    {KITCHEN, "{\"labels\":{\"k\":null}}", "labels[\"k\"]: expected integer"},
    {KITCHEN, "{\"names\":{\"x\":\"a\"}}", "names[\"x\"]: invalid map key"},
    {KITCHEN, "{\"names\":{\"3000000000\":\"a\"}}",
     "names[\"3000000000\"]: value out of range for int32"},
    {KITCHEN, "{\"s\":\"a\",\"child\":{}}", "child: oneof already set by \"s\""},
    {KITCHEN, "{\"child\":{\"child\":{\"flag\":1}}}", "child.child.flag: expected boolean"},
    {KITCHEN, "{\"states\":[\"VALID\",\"NOPE\"]}", "states[1]: unknown enum value \"NOPE\""},
    {KITCHEN, "{\"stamps\":[\"2024-01-01T00:00:00Z\",\"x\"]}",
     "stamps[1]: invalid timestamp \"x\""},
};

#define N(a) (sizeof(a) / sizeof(a[0]))

/* Every document of a table fails with CP_EINVAL, its exact message, and out reset to NULL. */
static void assert_all_fail(const bad_doc_t *docs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        jt_assert_decode_fails(docs[i].desc, docs[i].json, strlen(docs[i].json), 0, CP_EINVAL,
                               docs[i].msg);
}

static void test_invalid_json_is_refused_with_jansson_line_and_column(void **state)
{
    (void)state;
    assert_all_fail(bad_syntax, N(bad_syntax));
}

static void test_a_document_of_the_wrong_json_type_is_refused(void **state)
{
    (void)state;
    assert_all_fail(bad_document, N(bad_document));
}

static void test_wrong_string_and_array_types_name_the_field_and_index(void **state)
{
    (void)state;
    assert_all_fail(bad_strings, N(bad_strings));
}

static void test_unknown_and_duplicate_field_names_are_refused(void **state)
{
    (void)state;
    assert_all_fail(bad_names, N(bad_names));
}

static void test_unknown_or_non_integer_enum_values_are_refused(void **state)
{
    (void)state;
    assert_all_fail(bad_enums, N(bad_enums));
}

static void test_invalid_timestamps_are_refused_quoting_the_text(void **state)
{
    (void)state;
    assert_all_fail(bad_timestamps, N(bad_timestamps));
}

static void test_32_bit_integers_out_of_range_or_malformed_are_refused(void **state)
{
    (void)state;
    assert_all_fail(bad_int32, N(bad_int32));
}

static void test_64_bit_integers_out_of_range_or_malformed_are_refused(void **state)
{
    (void)state;
    assert_all_fail(bad_int64, N(bad_int64));
}

static void test_bad_booleans_floats_and_base64_are_refused(void **state)
{
    (void)state;
    assert_all_fail(bad_scalars, N(bad_scalars));
}

static void test_bad_messages_maps_and_oneofs_name_the_path(void **state)
{
    (void)state;
    assert_all_fail(bad_nested, N(bad_nested));
}

static void test_bad_document_tables_hold_at_least_40_cases(void **state)
{
    (void)state;
    assert_true(N(bad_syntax) + N(bad_document) + N(bad_strings) + N(bad_names) + N(bad_enums) +
                    N(bad_timestamps) + N(bad_int32) + N(bad_int64) + N(bad_scalars) +
                    N(bad_nested) >=
                40);
}

/* {"child":{"child":...{}}} with n children, and the error path of the deepest one. */
static char *child_chain(int n, char *path, size_t path_size)
{
    char *s = cp_xmalloc((size_t)n * 12 + 8);
    assert_non_null(s);
    size_t o = 0, p = 0;
    s[o++] = '{';
    for (int i = 0; i < n; i++) {
        o += (size_t)sprintf(s + o, "\"child\":{");
        p += (size_t)snprintf(path + p, path_size - p, i == 0 ? "child" : ".child");
    }
    memset(s + o, '}', (size_t)n + 1);
    s[o + (size_t)n + 1] = '\0';
    return s;
}

/* {"foo":[[...]]} with n arrays, the outermost at level 2. */
static void nested_arrays(char *buf, int n)
{
    size_t o = (size_t)sprintf(buf, "{\"foo\":");
    memset(buf + o, '[', (size_t)n - 1);
    memset(buf + o + (size_t)n - 1, ']', (size_t)n - 1);
    buf[o + 2 * (size_t)n - 2] = '\0';
    /* n - 1 pairs so far; the innermost one holds a number so that it is not an empty array. */
    char tail[64];
    snprintf(tail, sizeof tail, "%s", buf + o + (size_t)n - 1);
    sprintf(buf + o + (size_t)n - 1, "[1]%s}", tail);
}

static void test_nesting_deeper_than_max_depth_is_rejected(void **state)
{
    (void)state;
    char path[512], want[600];
    /* Level 1 is the top object: 31 nested children reach level 32, 32 children one more. */
    char *ok = child_chain(CP_JSON_MAX_DEPTH - 1, path, sizeof path);
    protobuf_c_message_free_unpacked(jt_decode_ok(KITCHEN, ok, 0), NULL);
    char *deep = child_chain(CP_JSON_MAX_DEPTH, path, sizeof path);
    snprintf(want, sizeof want, "%s: nesting too deep", path);
    jt_assert_decode_fails(KITCHEN, deep, strlen(deep), 0, CP_EINVAL, want);
    free(ok);
    free(deep);
}

/* Unknown fields that are skipped are limited too: "foo" is level 2, its arrays go deeper. */
static void test_skipped_unknown_fields_are_held_to_max_depth_too(void **state)
{
    (void)state;
    char arrays[128];
    nested_arrays(arrays, CP_JSON_MAX_DEPTH - 1);
    protobuf_c_message_free_unpacked(jt_decode_ok(CERT, arrays, CP_JSON_IGNORE_UNKNOWN), NULL);
    nested_arrays(arrays, CP_JSON_MAX_DEPTH);
    jt_assert_decode_fails(CERT, arrays, strlen(arrays), CP_JSON_IGNORE_UNKNOWN, CP_EINVAL,
                           "foo: nesting too deep");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_json_is_refused_with_jansson_line_and_column),
        cmocka_unit_test(test_a_document_of_the_wrong_json_type_is_refused),
        cmocka_unit_test(test_wrong_string_and_array_types_name_the_field_and_index),
        cmocka_unit_test(test_unknown_and_duplicate_field_names_are_refused),
        cmocka_unit_test(test_unknown_or_non_integer_enum_values_are_refused),
        cmocka_unit_test(test_invalid_timestamps_are_refused_quoting_the_text),
        cmocka_unit_test(test_32_bit_integers_out_of_range_or_malformed_are_refused),
        cmocka_unit_test(test_64_bit_integers_out_of_range_or_malformed_are_refused),
        cmocka_unit_test(test_bad_booleans_floats_and_base64_are_refused),
        cmocka_unit_test(test_bad_messages_maps_and_oneofs_name_the_path),
        cmocka_unit_test(test_bad_document_tables_hold_at_least_40_cases),
        cmocka_unit_test(test_nesting_deeper_than_max_depth_is_rejected),
        cmocka_unit_test(test_skipped_unknown_fields_are_held_to_max_depth_too),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
