/* SPDX-License-Identifier: Apache-2.0 */
/* test_json_encode_errors.c - what cp_json_encode refuses (bad UTF-8, timestamps out of range, deep
 * nesting) and the jansson entry points */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <string.h>

#include "shared/mem.h"
#include "tests/unit/shared/json_fixture.h"

static void assert_encode_fails(const ProtobufCMessage *m, const char *msg)
{
    char *text = (char *)&text;
    cp_err_t err = {0};
    assert_int_equal(cp_json_encode(m, 0, &text, NULL, &err), CP_EINVAL);
    assert_null(text);
    assert_string_equal(err.msg, msg);
    assert_null(cp_json_to_jansson(m, 0, &err));
}

static void test_encode_rejects_a_string_that_is_not_utf8(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    c.name = "\xff";
    assert_encode_fails(&c.base, "name: invalid UTF-8");
}

static void test_encode_rejects_timestamps_out_of_range_naming_the_field(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Certplane__V1__CreateCertificateRequest r = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    c.name = "web";
    c.not_after = &ts;
    r.certificate = &c;
    ts.seconds = 253402300800;
    assert_encode_fails(
        &r.base, "certificate.notAfter: timestamp out of range (seconds 253402300800, nanos 0)");
    ts.seconds = 0;
    ts.nanos = -1;
    assert_encode_fails(&r.base,
                        "certificate.notAfter: timestamp out of range (seconds 0, nanos -1)");
}

/* The same depth rule as decoding: 31 nested children encode, 32 do not. */
static void test_encode_rejects_nesting_deeper_than_max_depth(void **state)
{
    (void)state;
    kitchen_t chain[CP_JSON_MAX_DEPTH + 1];
    for (int i = 0; i <= CP_JSON_MAX_DEPTH; i++) {
        kitchen_init(&chain[i].base);
        if (i > 0) {
            chain[i - 1].kind_case = 17;
            chain[i - 1].child = &chain[i];
        }
    }
    json_t *j = cp_json_to_jansson(&chain[1].base, 0, NULL);
    assert_non_null(j);
    json_decref(j);
    cp_err_t err = {0};
    assert_null(cp_json_to_jansson(&chain[0].base, 0, &err));
    assert_int_equal(err.code, CP_EINVAL);
    assert_non_null(strstr(err.msg, ".child: nesting too deep"));
}

static void test_to_jansson_builds_the_same_object_as_the_text_encoder(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    c.name = "web";
    json_t *j = cp_json_to_jansson(&c.base, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "web");
    assert_int_equal(json_object_size(j), 1);
    json_decref(j);
}

static void test_from_jansson_rejects_a_nul_in_a_string_and_borrows_the_document(void **state)
{
    (void)state;
    json_t *doc = json_object();
    json_object_set_new(doc, "name", json_stringn("a\0b", 3));
    ProtobufCMessage *out = (ProtobufCMessage *)&out;
    cp_err_t err = {0};
    assert_int_equal(cp_json_from_jansson(CERT, doc, 0, &out, &err), CP_EINVAL);
    assert_null(out);
    assert_string_equal(err.msg, "name: string contains NUL");
    assert_int_equal(doc->refcount, 1); /* borrowed, not stolen */
    json_object_set_new(doc, "name", json_string("ok"));
    assert_int_equal(cp_json_from_jansson(CERT, doc, 0, &out, &err), 0);
    assert_string_equal(((Certplane__V1__Certificate *)out)->name, "ok");
    protobuf_c_message_free_unpacked(out, NULL);
    assert_int_equal(doc->refcount, 1);
    json_decref(doc);
}

static void test_from_jansson_rejects_a_document_that_is_no_object(void **state)
{
    (void)state;
    ProtobufCMessage *out = NULL;
    cp_err_t err = {0};
    json_t *arr = json_array();
    assert_int_equal(cp_json_from_jansson(CERT, arr, 0, &out, &err), CP_EINVAL);
    assert_string_equal(err.msg, "document is not an object");
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_rejects_a_string_that_is_not_utf8),
        cmocka_unit_test(test_encode_rejects_timestamps_out_of_range_naming_the_field),
        cmocka_unit_test(test_encode_rejects_nesting_deeper_than_max_depth),
        cmocka_unit_test(test_to_jansson_builds_the_same_object_as_the_text_encoder),
        cmocka_unit_test(test_from_jansson_rejects_a_nul_in_a_string_and_borrows_the_document),
        cmocka_unit_test(test_from_jansson_rejects_a_document_that_is_no_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
