/* SPDX-License-Identifier: Apache-2.0 */
/* test_json_encode.c - cp_json_encode's exact output: names, timestamps, special floats, bytes,
 * maps, oneofs, defaults */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "tests/unit/shared/json_fixture.h"

static void build_certificate(Certplane__V1__Certificate *c, Google__Protobuf__Timestamp *nb,
                              Google__Protobuf__Timestamp *na, char **domains)
{
    c->name = "web";
    c->n_domains = 2;
    c->domains = domains;
    c->preferred_chain = "ISRG Root X1";
    c->key_type = CERTPLANE__V1__KEY_TYPE__EC_P256;
    c->challenge_type = CERTPLANE__V1__CHALLENGE_TYPE__DNS_01;
    c->state = CERTPLANE__V1__STATE__VALID;
    nb->seconds = 1700000000;
    na->seconds = 1707776000;
    na->nanos = 500000000;
    c->not_before = nb;
    c->not_after = na;
    c->failure_count = 2;
    c->revision = 9007199254740993; /* 2^53 + 1: not representable as a double */
}

static const char cert_camel[] =
    "{\"name\":\"web\",\"domains\":[\"a.example\",\"*.b.example\"],\"preferredChain\":\"ISRG Root "
    "X1\","
    "\"keyType\":\"EC_P256\",\"challengeType\":\"DNS_01\",\"state\":\"VALID\","
    "\"notBefore\":\"2023-11-14T22:13:20Z\",\"notAfter\":\"2024-02-12T22:13:20.500Z\","
    "\"failureCount\":2,\"revision\":\"9007199254740993\"}";
static const char cert_orig[] =
    "{\"name\":\"web\",\"domains\":[\"a.example\",\"*.b.example\"],\"preferred_chain\":\"ISRG Root "
    "X1\","
    "\"key_type\":\"EC_P256\",\"challenge_type\":\"DNS_01\",\"state\":\"VALID\","
    "\"not_before\":\"2023-11-14T22:13:20Z\",\"not_after\":\"2024-02-12T22:13:20.500Z\","
    "\"failure_count\":2,\"revision\":\"9007199254740993\"}";

static void test_certificate_encodes_to_exact_json_in_both_name_styles(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Google__Protobuf__Timestamp nb = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp na = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char *domains[] = {"a.example", "*.b.example"};
    build_certificate(&c, &nb, &na, domains);
    jt_assert_encodes_to(&c.base, 0, cert_camel);
    jt_assert_encodes_to(&c.base, CP_JSON_ORIG_NAMES, cert_orig);
}

static void test_certificate_decodes_from_both_name_styles_to_the_same_message(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Google__Protobuf__Timestamp nb = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp na = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char *domains[] = {"a.example", "*.b.example"};
    build_certificate(&c, &nb, &na, domains);
    size_t n0, n1, n2;
    uint8_t *want = jt_pack(&c.base, &n0);
    ProtobufCMessage *a = jt_decode_ok(CERT, cert_camel, 0), *b = jt_decode_ok(CERT, cert_orig, 0);
    uint8_t *got_a = jt_pack(a, &n1), *got_b = jt_pack(b, &n2);
    assert_int_equal(n0, n1);
    assert_int_equal(n0, n2);
    assert_memory_equal(want, got_a, n0);
    assert_memory_equal(want, got_b, n0);
    free(want);
    free(got_a);
    free(got_b);
    protobuf_c_message_free_unpacked(a, NULL);
    protobuf_c_message_free_unpacked(b, NULL);
}

static void assert_timestamp_encodes(int64_t seconds, int32_t nanos, const char *want)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = seconds;
    ts.nanos = nanos;
    jt_assert_encodes_to(&ts.base, 0, want);
}

static void test_timestamp_encodes_utc_with_0_3_6_or_9_fraction_digits(void **state)
{
    (void)state;
    assert_timestamp_encodes(0, 0, "\"1970-01-01T00:00:00Z\"");
    assert_timestamp_encodes(1700000000, 500000000, "\"2023-11-14T22:13:20.500Z\"");
    assert_timestamp_encodes(1700000000, 123456000, "\"2023-11-14T22:13:20.123456Z\"");
    assert_timestamp_encodes(1700000000, 1, "\"2023-11-14T22:13:20.000000001Z\"");
    assert_timestamp_encodes(-1, 0, "\"1969-12-31T23:59:59Z\"");
    assert_timestamp_encodes(951782400, 0, "\"2000-02-29T00:00:00Z\"");
    assert_timestamp_encodes(-62135596800, 0, "\"0001-01-01T00:00:00Z\"");
    assert_timestamp_encodes(253402300799, 999999999, "\"9999-12-31T23:59:59.999999999Z\"");
}

static void test_kitchen_encodes_special_floats_bytes_maps_and_oneof_exactly(void **state)
{
    (void)state;
    kitchen_t k;
    kitchen_init(&k.base);
    uint8_t raw[] = {0xfb, 0xff};
    double rd[] = {1.5, INFINITY};
    labels_entry_t label;
    names_entry_t name;
    labels_init(&label.base);
    names_init(&name.base);
    labels_entry_t *labels[] = {&label};
    names_entry_t *names[] = {&name};
    label.key = "tier";
    label.value = 7;
    name.key = 3;
    name.value = "x";
    k.float_val = NAN;
    k.double_val = -INFINITY;
    k.u64 = UINT64_MAX;
    k.s32 = -5;
    k.raw_data = (ProtobufCBinaryData){sizeof raw, raw};
    k.flag = 1;
    k.n_rd = 2;
    k.rd = rd;
    k.n_labels = 1;
    k.labels = labels;
    k.n_names = 1;
    k.names = names;
    k.kind_case = 16;
    k.s = ""; /* a selected oneof member is emitted even when empty */
    k.has_opt = 1;
    jt_assert_encodes_to(
        &k.base, 0,
        "{\"floatVal\":\"NaN\",\"doubleVal\":\"-Infinity\",\"u64\":\"18446744073709551615\","
        "\"s32\":-5,\"rawData\":\"+/8=\",\"flag\":true,\"rd\":[1.5,\"Infinity\"],"
        "\"labels\":{\"tier\":\"7\"},\"names\":{\"3\":\"x\"},\"s\":\"\",\"opt\":0}");
}

static void test_emit_defaults_emits_zero_scalars_and_empty_arrays(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    jt_assert_encodes_to(&c.base, 0, "{}");
    jt_assert_encodes_to(
        &c.base, CP_JSON_EMIT_DEFAULTS,
        "{\"name\":\"\",\"domains\":[],\"ipAddresses\":[],\"email\":\"\",\"provider\":\"\","
        "\"profile\":\"\",\"preferredChain\":\"\",\"keyType\":\"KEY_TYPE_UNSPECIFIED\","
        "\"challengeType\":\"CHALLENGE_TYPE_UNSPECIFIED\",\"state\":\"STATE_UNSPECIFIED\","
        "\"serial\":\"\",\"issuer\":\"\",\"fullchainPem\":\"\",\"privateKeyPem\":\"\","
        "\"lastError\":\"\",\"failureCount\":0,\"revision\":\"0\",\"revocationReason\":0,"
        "\"ariExplanationUrl\":\"\",\"ariCertId\":\"\",\"issuedBy\":\"\",\"issuers\":[],"
        "\"onDemand\":false}");
    kitchen_t k;
    kitchen_init(&k.base);
    jt_assert_encodes_to(
        &k.base, CP_JSON_EMIT_DEFAULTS | CP_JSON_ORIG_NAMES,
        "{\"float_val\":0.0,\"double_val\":0.0,\"u64\":\"0\",\"s32\":0,\"fx64\":\"0\","
        "\"sf32\":0,\"u32\":0,\"raw_data\":\"\",\"flag\":false,\"rb\":[],\"rd\":[],"
        "\"states\":[],\"rs64\":[],\"labels\":{},\"names\":{},\"opt\":0,"
        "\"stamps\":[],\"sf64\":\"0\",\"fx32\":0}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_encodes_to_exact_json_in_both_name_styles),
        cmocka_unit_test(test_certificate_decodes_from_both_name_styles_to_the_same_message),
        cmocka_unit_test(test_timestamp_encodes_utc_with_0_3_6_or_9_fraction_digits),
        cmocka_unit_test(test_kitchen_encodes_special_floats_bytes_maps_and_oneof_exactly),
        cmocka_unit_test(test_emit_defaults_emits_zero_scalars_and_empty_arrays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
