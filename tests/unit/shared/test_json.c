/* SPDX-License-Identifier: Apache-2.0 */
/* test_json.c - unit tests of cp_json, the descriptor-driven proto3 JSON codec */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certplane/v1/certplane.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "shared/json.h"

/* ---- a test-only message with the type kinds certplane.proto lacks ----
 * Written as protoc-c 1.4.1 would generate it from:
 *   message Kitchen { float float_val = 1; double double_val = 2; uint64 u64 = 3; sint32 s32 = 4;
 *     fixed64 fx64 = 5; sfixed32 sf32 = 6; uint32 u32 = 7; bytes raw_data = 8; bool flag = 9;
 *     repeated bytes rb = 10; repeated double rd = 11; repeated certplane.v1.State states = 12;
 *     repeated sint64 rs64 = 13; map<string, int64> labels = 14; map<int32, string> names = 15;
 *     oneof kind { string s = 16; Kitchen child = 17; }  int32 opt = 18 (proto2 optional);
 *     repeated google.protobuf.Timestamp stamps = 19; sfixed64 sf64 = 20; fixed32 fx32 = 21; } */
typedef struct kitchen kitchen_t;
typedef struct {
    ProtobufCMessage base;
    char *key;
    int64_t value;
} labels_entry_t;
typedef struct {
    ProtobufCMessage base;
    int32_t key;
    char *value;
} names_entry_t;
struct kitchen {
    ProtobufCMessage base;
    float float_val;
    double double_val;
    uint64_t u64;
    int32_t s32;
    uint64_t fx64;
    int32_t sf32;
    uint32_t u32;
    ProtobufCBinaryData raw_data;
    protobuf_c_boolean flag;
    size_t n_rb;
    ProtobufCBinaryData *rb;
    size_t n_rd;
    double *rd;
    size_t n_states;
    int *states;
    size_t n_rs64;
    int64_t *rs64;
    size_t n_labels;
    labels_entry_t **labels;
    size_t n_names;
    names_entry_t **names;
    uint32_t kind_case;
    union {
        char *s;
        kitchen_t *child;
    };
    protobuf_c_boolean has_opt;
    int32_t opt;
    size_t n_stamps;
    Google__Protobuf__Timestamp **stamps;
    int64_t sf64;
    uint32_t fx32;
};

static const ProtobufCMessageDescriptor kitchen_desc, labels_desc, names_desc;

static void kitchen_init(ProtobufCMessage *m)
{
    memset(m, 0, sizeof(kitchen_t));
    m->descriptor = &kitchen_desc;
}

static void labels_init(ProtobufCMessage *m)
{
    memset(m, 0, sizeof(labels_entry_t));
    m->descriptor = &labels_desc;
    ((labels_entry_t *)m)->key = (char *)protobuf_c_empty_string;
}

static void names_init(ProtobufCMessage *m)
{
    memset(m, 0, sizeof(names_entry_t));
    m->descriptor = &names_desc;
    ((names_entry_t *)m)->value = (char *)protobuf_c_empty_string;
}

#define FD(T, nm, id, lab, ty, q, member, desc, dflt, fl)                                          \
    {                                                                                              \
        nm, id, PROTOBUF_C_LABEL_##lab, PROTOBUF_C_TYPE_##ty, q, offsetof(T, member), desc, dflt,  \
            fl, 0, NULL, NULL                                                                      \
    }
#define KF(nm, id, ty, member) FD(kitchen_t, nm, id, NONE, ty, 0, member, NULL, NULL, 0)
#define KR(nm, id, ty, member, desc, fl)                                                           \
    FD(kitchen_t, nm, id, REPEATED, ty, offsetof(kitchen_t, n_##member), member, desc, NULL, fl)
#define PACKED PROTOBUF_C_FIELD_FLAG_PACKED
#define ONEOF PROTOBUF_C_FIELD_FLAG_ONEOF

static const ProtobufCFieldDescriptor kitchen_fields[] = {
    KF("float_val", 1, FLOAT, float_val),
    KF("double_val", 2, DOUBLE, double_val),
    KF("u64", 3, UINT64, u64),
    KF("s32", 4, SINT32, s32),
    KF("fx64", 5, FIXED64, fx64),
    KF("sf32", 6, SFIXED32, sf32),
    KF("u32", 7, UINT32, u32),
    KF("raw_data", 8, BYTES, raw_data),
    KF("flag", 9, BOOL, flag),
    KR("rb", 10, BYTES, rb, NULL, 0),
    KR("rd", 11, DOUBLE, rd, NULL, PACKED),
    KR("states", 12, ENUM, states, &certplane__v1__state__descriptor, PACKED),
    KR("rs64", 13, SINT64, rs64, NULL, PACKED),
    KR("labels", 14, MESSAGE, labels, &labels_desc, 0),
    KR("names", 15, MESSAGE, names, &names_desc, 0),
    FD(kitchen_t, "s", 16, NONE, STRING, offsetof(kitchen_t, kind_case), s, NULL,
       &protobuf_c_empty_string, ONEOF),
    FD(kitchen_t, "child", 17, NONE, MESSAGE, offsetof(kitchen_t, kind_case), child, &kitchen_desc,
       NULL, ONEOF),
    FD(kitchen_t, "opt", 18, OPTIONAL, INT32, offsetof(kitchen_t, has_opt), opt, NULL, NULL, 0),
    KR("stamps", 19, MESSAGE, stamps, &google__protobuf__timestamp__descriptor, 0),
    KF("sf64", 20, SFIXED64, sf64),
    KF("fx32", 21, FIXED32, fx32),
};
/* Field indexes in strcmp order of the names (test_kitchen_descriptor_is_consistent checks it). */
static const unsigned kitchen_by_name[] = {16, 1,  8,  0, 20, 4,  13, 14, 17, 7, 9,
                                           10, 12, 15, 3, 5,  19, 18, 11, 6,  2};
static const ProtobufCIntRange kitchen_ranges[] = {{1, 0}, {0, 21}};
static const ProtobufCFieldDescriptor labels_fields[] = {
    FD(labels_entry_t, "key", 1, NONE, STRING, 0, key, NULL, &protobuf_c_empty_string, 0),
    FD(labels_entry_t, "value", 2, NONE, INT64, 0, value, NULL, NULL, 0),
};
static const ProtobufCFieldDescriptor names_fields[] = {
    FD(names_entry_t, "key", 1, NONE, INT32, 0, key, NULL, NULL, 0),
    FD(names_entry_t, "value", 2, NONE, STRING, 0, value, NULL, &protobuf_c_empty_string, 0),
};
static const unsigned entry_by_name[] = {0, 1};
static const ProtobufCIntRange entry_ranges[] = {{1, 0}, {0, 2}};

#define MD(full, short_name, T, fields, by_name, ranges, init)                                     \
    {                                                                                              \
        PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, full, short_name, short_name, "t", sizeof(T),        \
            sizeof fields / sizeof fields[0], fields, by_name, 1, ranges, init, NULL, NULL, NULL   \
    }
static const ProtobufCMessageDescriptor kitchen_desc =
    MD("t.Kitchen", "Kitchen", kitchen_t, kitchen_fields, kitchen_by_name, kitchen_ranges,
       kitchen_init);
static const ProtobufCMessageDescriptor labels_desc =
    MD("t.Kitchen.LabelsEntry", "LabelsEntry", labels_entry_t, labels_fields, entry_by_name,
       entry_ranges, labels_init);
static const ProtobufCMessageDescriptor names_desc =
    MD("t.Kitchen.NamesEntry", "NamesEntry", names_entry_t, names_fields, entry_by_name,
       entry_ranges, names_init);

/* ---- helpers ---- */

#define CERT (&certplane__v1__certificate__descriptor)
#define CREATE (&certplane__v1__create_certificate_request__descriptor)
#define LIST (&certplane__v1__list_certificates_response__descriptor)
#define GETREQ (&certplane__v1__get_certificate_request__descriptor)
#define KITCHEN (&kitchen_desc)
#define TSDESC (&google__protobuf__timestamp__descriptor)

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = malloc(d->sizeof_message);
    assert_non_null(m);
    protobuf_c_message_init(d, m);
    return m;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

/* Encodes m and checks the text is exactly want. */
static void assert_encodes_to(const ProtobufCMessage *m, int flags, const char *want)
{
    char *text = NULL;
    size_t len = 0;
    cp_err_t err = {0};
    int rc = cp_json_encode(m, flags, &text, &len, &err);
    if (rc != 0)
        fail_msg("encode failed: %s", err.msg);
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);
}

static ProtobufCMessage *decode_ok(const ProtobufCMessageDescriptor *d, const char *json, int flags)
{
    ProtobufCMessage *m = NULL;
    cp_err_t err = {0};
    if (cp_json_decode(d, json, strlen(json), flags, &m, &err) != 0)
        fail_msg("decode of %s failed: %s", json, err.msg);
    assert_non_null(m);
    return m;
}

static size_t elem_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

/* ---- the generic filler: a non-default value in every field ---- */

static unsigned fill_counter;
static void fill_message(ProtobufCMessage *m, int depth, int variant);

static void fill_timestamp(Google__Protobuf__Timestamp *ts, unsigned k)
{
    static const int32_t nanos[] = {123456789, 120000000, 123456000, 5};
    ts->seconds = k % 2 ? 1700000000 + (int64_t)k : -2208988800 - (int64_t)k; /* also pre-1970 */
    ts->nanos = nanos[k % 4];
}

static void fill_bytes(ProtobufCBinaryData *b, unsigned k)
{
    b->len = 4 + k % 3; /* all three base64 tail lengths */
    b->data = malloc(b->len);
    assert_non_null(b->data);
    for (size_t i = 0; i < b->len; i++)
        b->data[i] = (uint8_t)(0xfb + i * k); /* includes '+' and '/' digits and NULs */
}

static void fill_value(const ProtobufCFieldDescriptor *f, void *dst, int depth, int variant)
{
    unsigned k = ++fill_counter;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(int32_t *)dst = k % 2 ? INT32_MIN + (int32_t)k : 1000 + (int32_t)k;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *)dst = UINT32_MAX - k;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(int64_t *)dst = k % 2 ? INT64_MIN + (int64_t)k : INT64_MAX - (int64_t)k;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *)dst = UINT64_MAX - k;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *)dst = 0.1f * (float)k;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)dst = -0.1 * k;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)dst = 1;
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        *(int *)dst = ed->values[ed->n_values - 1].value;
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        char buf[64];
        snprintf(buf, sizeof buf, "s%u \"q\" \\ \xc3\xbc/\n\t<", k); /* escapes and UTF-8 */
        *(char **)dst = xstrdup(buf);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES:
        fill_bytes(dst, k);
        break;
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = new_message(f->descriptor);
        if (sub->descriptor == TSDESC)
            fill_timestamp((Google__Protobuf__Timestamp *)sub, k);
        else
            fill_message(sub, depth + 1, variant);
        *(ProtobufCMessage **)dst = sub;
        break;
    }
    }
}

static void fill_repeated(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, int depth,
                          int variant)
{
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    int is_map = f->type == PROTOBUF_C_TYPE_MESSAGE && strstr(ed->short_name, "Entry") != NULL;
    size_t n = is_map ? 2 : 3, size = elem_size(f->type);
    char *arr = calloc(n, size);
    assert_non_null(arr);
    for (size_t i = 0; i < n; i++) {
        if (!is_map) {
            fill_value(f, arr + i * size, depth, variant);
            continue;
        }
        ProtobufCMessage *e = new_message(ed);
        fill_value(&ed->fields[0], (char *)e + ed->fields[0].offset, depth, variant);
        fill_value(&ed->fields[1], (char *)e + ed->fields[1].offset, depth, variant);
        ((ProtobufCMessage **)arr)[i] = e;
    }
    *(size_t *)((char *)m + f->quantifier_offset) = n;
    *(void **)((char *)m + f->offset) = arr;
}

/* variant picks which member of each oneof is set (by the parity of its number). */
static void fill_message(ProtobufCMessage *m, int depth, int variant)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (d == TSDESC) {
        fill_timestamp((Google__Protobuf__Timestamp *)m, ++fill_counter);
        return;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        uint32_t *q = (uint32_t *)((char *)m + f->quantifier_offset);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            fill_repeated(m, f, depth, variant);
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && (*q != 0 || (int)(f->id % 2) != variant))
            continue;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor == d && depth >= 3)
            continue; /* the recursive Kitchen.child */
        fill_value(f, (char *)m + f->offset, depth, variant);
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            *q = f->id;
        else if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
            *(protobuf_c_boolean *)q = 1;
    }
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

/* fill -> encode -> decode -> pack both and compare; then the decoded copy re-encodes identically.
 */
static void assert_round_trips(const ProtobufCMessageDescriptor *d, int variant, int flags)
{
    ProtobufCMessage *m = new_message(d);
    fill_message(m, 0, variant);
    char *text = NULL, *again = NULL;
    size_t len = 0, again_len = 0, n1, n2;
    cp_err_t err = {0};
    if (cp_json_encode(m, flags, &text, &len, &err) != 0)
        fail_msg("%s: encode failed: %s", d->name, err.msg);
    ProtobufCMessage *back = NULL;
    if (cp_json_decode(d, text, len, flags, &back, &err) != 0)
        fail_msg("%s: decode of %s failed: %s", d->name, text, err.msg);
    uint8_t *b1 = pack(m, &n1), *b2 = pack(back, &n2);
    if (n1 != n2 || memcmp(b1, b2, n1) != 0)
        fail_msg("%s: round trip changed the message; JSON was %s", d->name, text);
    assert_int_equal(cp_json_encode(back, flags, &again, &again_len, &err), 0);
    assert_string_equal(again, text);
    if (d->n_fields > 0)
        assert_true(n1 > 0 && len > 2);
    free(b1);
    free(b2);
    free(text);
    free(again);
    protobuf_c_message_free_unpacked(m, NULL);
    protobuf_c_message_free_unpacked(back, NULL);
}

/* ---- 1. round trips ---- */

static const ProtobufCMessageDescriptor *const all_messages[] = {
    &certplane__v1__certificate__descriptor,
    &certplane__v1__create_certificate_request__descriptor,
    &certplane__v1__get_certificate_request__descriptor,
    &certplane__v1__list_certificates_request__descriptor,
    &certplane__v1__list_certificates_response__descriptor,
    &certplane__v1__delete_certificate_request__descriptor,
    &certplane__v1__delete_certificate_response__descriptor,
    &certplane__v1__renew_certificate_request__descriptor,
    &certplane__v1__revoke_certificate_request__descriptor,
    &certplane__v1__import_certificate_request__descriptor,
    &certplane__v1__watch_request__descriptor,
    &certplane__v1__challenge__descriptor,
    &certplane__v1__certificate_event__descriptor,
    &certplane__v1__report_edge_status_request__descriptor,
    &certplane__v1__report_edge_status_response__descriptor,
    &certplane__v1__edge__descriptor,
    &certplane__v1__list_edges_request__descriptor,
    &certplane__v1__list_edges_response__descriptor,
    &grpc__health__v1__health_check_request__descriptor,
    &grpc__health__v1__health_check_response__descriptor,
    &google__protobuf__timestamp__descriptor,
    &kitchen_desc,
    &labels_desc,
    &names_desc,
};

static void test_every_message_type_round_trips_in_both_name_styles(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof all_messages / sizeof all_messages[0]; i++) {
        for (int variant = 0; variant < 2; variant++) {
            assert_round_trips(all_messages[i], variant, 0);
            assert_round_trips(all_messages[i], variant, CP_JSON_ORIG_NAMES);
        }
    }
}

static void test_kitchen_descriptor_is_consistent(void **state)
{
    (void)state;
    for (unsigned i = 1; i < kitchen_desc.n_fields; i++) {
        assert_int_equal(kitchen_fields[i].id, i + 1);
        assert_true(strcmp(kitchen_fields[kitchen_by_name[i - 1]].name,
                           kitchen_fields[kitchen_by_name[i]].name) < 0);
    }
}

/* ---- 2. exact output and accepted input forms ---- */

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

static void test_certificate_encodes_to_exact_json_and_decodes_from_both_name_styles(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Google__Protobuf__Timestamp nb = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp na = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char *domains[] = {"a.example", "*.b.example"};
    build_certificate(&c, &nb, &na, domains);
    assert_encodes_to(&c.base, 0, cert_camel);
    assert_encodes_to(&c.base, CP_JSON_ORIG_NAMES, cert_orig);
    size_t n0, n1, n2;
    uint8_t *want = pack(&c.base, &n0);
    ProtobufCMessage *a = decode_ok(CERT, cert_camel, 0), *b = decode_ok(CERT, cert_orig, 0);
    uint8_t *got_a = pack(a, &n1), *got_b = pack(b, &n2);
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
    assert_encodes_to(&ts.base, 0, want);
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
    assert_encodes_to(
        &k.base, 0,
        "{\"floatVal\":\"NaN\",\"doubleVal\":\"-Infinity\",\"u64\":\"18446744073709551615\","
        "\"s32\":-5,\"rawData\":\"+/8=\",\"flag\":true,\"rd\":[1.5,\"Infinity\"],"
        "\"labels\":{\"tier\":\"7\"},\"names\":{\"3\":\"x\"},\"s\":\"\",\"opt\":0}");
}

static void test_decode_accepts_numbers_strings_offsets_and_enum_integers(void **state)
{
    (void)state;
    Certplane__V1__Certificate *c = (Certplane__V1__Certificate *)decode_ok(
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

    kitchen_t *k = (kitchen_t *)decode_ok(
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
    ProtobufCMessage *c = decode_ok(
        CERT,
        "{\"name\":null,\"domains\":null,\"notAfter\":null,\"keyType\":null,\"revision\":null}", 0);
    assert_int_equal(protobuf_c_message_get_packed_size(c), 0);
    protobuf_c_message_free_unpacked(c, NULL);
    kitchen_t *k = (kitchen_t *)decode_ok(KITCHEN, "{\"s\":null,\"child\":{},\"labels\":null}", 0);
    assert_int_equal(k->kind_case, 17); /* null did not select "s", so "child" is no conflict */
    assert_non_null(k->child);
    protobuf_c_message_free_unpacked(&k->base, NULL);
}

/* ---- 3. bad documents ---- */

typedef struct {
    const ProtobufCMessageDescriptor *desc;
    const char *json;
    const char *msg; /* the exact message */
} bad_doc_t;

#define HEALTH (&grpc__health__v1__health_check_response__descriptor)
#define BADTS(text) "{\"notAfter\":\"" text "\"}", "notAfter: invalid timestamp \"" text "\""

static const bad_doc_t bad_docs[] = {
    /* syntax (jansson's text after our prefix) */
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
    /* the document */
    {CERT, "[]", "document is not an object"},
    {CERT, "\"web\"", "document is not an object"},
    {CERT, "null", "document is not an object"},
    {TSDESC, "{}", "expected RFC 3339 timestamp string"},
    {TSDESC, "\"2024-01-01\"", "invalid timestamp \"2024-01-01\""},
    /* strings and repeated strings */
    {CERT, "{\"name\":1}", "name: expected string"},
    {CERT, "{\"name\":\"a\",\"domains\":[\"a\",\"b\",3]}", "domains[2]: expected string"},
    {CERT, "{\"domains\":\"a\"}", "domains: expected array"},
    {CERT, "{\"ipAddresses\":{\"a\":\"b\"}}", "ipAddresses: expected array"},
    {CERT, "{\"ip_addresses\":[\"1.2.3.4\",null]}", "ip_addresses[1]: expected string"},
    {CERT, "{\"domains\":[[\"a\"]]}", "domains[0]: expected string"},
    {CERT, "{\"name\":\"a\\u0000b\"}", "name: string contains NUL"},
    /* names */
    {CERT, "{\"foo\":1}", "foo: unknown field"},
    {CERT, "{\"Name\":\"a\"}", "Name: unknown field"},
    {CERT, "{\"keyType\":\"EC_P256\",\"key_type\":\"EC_P256\"}",
     "key_type: field given twice (also as \"keyType\")"},
    {CREATE, "{\"certificate\":{\"name\":\"a\",\"foo\":1}}", "certificate.foo: unknown field"},
    /* enums */
    {CERT, "{\"keyType\":\"RSA_1024\"}", "keyType: unknown enum value \"RSA_1024\""},
    {CERT, "{\"keyType\":\"rsa_2048\"}", "keyType: unknown enum value \"rsa_2048\""},
    {CERT, "{\"state\":true}", "state: expected enum name or integer"},
    {CERT, "{\"state\":1.5}", "state: expected enum name or integer"},
    {CERT, "{\"state\":4294967296}", "state: value out of range for int32"},
    {CREATE, "{\"certificate\":{\"keyType\":\"RSA_1024\"}}",
     "certificate.keyType: unknown enum value \"RSA_1024\""},
    {HEALTH, "{\"status\":\"BOGUS\"}", "status: unknown enum value \"BOGUS\""},
    /* timestamps */
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
    /* 32-bit integers */
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
    /* 64-bit integers */
    {CERT, "{\"revision\":\"9223372036854775808\"}", "revision: value out of range for int64"},
    {CERT, "{\"revision\":\"-9223372036854775809\"}", "revision: value out of range for int64"},
    {CERT, "{\"revision\":\"99999999999999999999999\"}", "revision: value out of range for int64"},
    {CERT, "{\"revision\":1e19}", "revision: value out of range for int64"},
    {CERT, "{\"revision\":\"1e3\"}", "revision: invalid integer \"1e3\""},
    {CERT, "{\"revision\":{}}", "revision: expected integer"},
    {KITCHEN, "{\"u64\":\"-1\"}", "u64: value out of range for uint64"},
    {KITCHEN, "{\"u64\":-1}", "u64: value out of range for uint64"},
    {KITCHEN, "{\"u64\":\"18446744073709551616\"}", "u64: value out of range for uint64"},
    /* bools, floats, bytes */
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
    /* messages, maps, oneofs */
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

static void assert_decode_fails(const ProtobufCMessageDescriptor *d, const char *json, size_t len,
                                int flags, int code, const char *msg)
{
    ProtobufCMessage *out = (ProtobufCMessage *)&out; /* must be reset to NULL */
    cp_err_t err = {0};
    int rc = cp_json_decode(d, json, len, flags, &out, &err);
    if (rc != code || err.code != code || strcmp(err.msg, msg) != 0)
        fail_msg("%.80s: got %d \"%s\", want %d \"%s\"", json, rc, err.msg, code, msg);
    assert_null(out);
}

static void test_bad_documents_fail_with_exact_messages_and_leave_out_null(void **state)
{
    (void)state;
    assert_true(sizeof bad_docs / sizeof bad_docs[0] >= 40);
    for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
        const bad_doc_t *b = &bad_docs[i];
        assert_decode_fails(b->desc, b->json, strlen(b->json), 0, CP_EINVAL, b->msg);
    }
}

/* {"child":{"child":...{}}} with n children, and the error path of the deepest one. */
static char *child_chain(int n, char *path, size_t path_size)
{
    char *s = malloc((size_t)n * 12 + 8);
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
    protobuf_c_message_free_unpacked(decode_ok(KITCHEN, ok, 0), NULL);
    char *deep = child_chain(CP_JSON_MAX_DEPTH, path, sizeof path);
    snprintf(want, sizeof want, "%s: nesting too deep", path);
    assert_decode_fails(KITCHEN, deep, strlen(deep), 0, CP_EINVAL, want);
    free(ok);
    free(deep);

    /* Unknown fields that are skipped are limited too: "foo" is level 2, its arrays go deeper. */
    char arrays[128];
    nested_arrays(arrays, CP_JSON_MAX_DEPTH - 1);
    protobuf_c_message_free_unpacked(decode_ok(CERT, arrays, CP_JSON_IGNORE_UNKNOWN), NULL);
    nested_arrays(arrays, CP_JSON_MAX_DEPTH);
    assert_decode_fails(CERT, arrays, strlen(arrays), CP_JSON_IGNORE_UNKNOWN, CP_EINVAL,
                        "foo: nesting too deep");
}

static void test_text_larger_than_max_size_is_etoobig(void **state)
{
    (void)state;
    size_t n = CP_JSON_MAX_SIZE;
    char *s = malloc(n + 2);
    assert_non_null(s);
    memset(s, 'a', n + 1);
    memcpy(s, "{\"name\":\"", 9);
    memcpy(s + n - 2, "\"}", 3); /* exactly CP_JSON_MAX_SIZE bytes: accepted */
    Certplane__V1__Certificate *c = (Certplane__V1__Certificate *)decode_ok(CERT, s, 0);
    assert_int_equal(strlen(c->name), n - 11);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    memcpy(s + n - 2, "a\"}", 4);
    assert_decode_fails(CERT, s, n + 1, 0, CP_ETOOBIG,
                        "document of 1048577 bytes is larger than 1048576 bytes");
    free(s);
}

/* ---- 4. flags ---- */

static void test_ignore_unknown_skips_unknown_fields_at_every_level(void **state)
{
    (void)state;
    const char *json =
        "{\"x\":{\"y\":[1,{\"z\":null}]},\"certificate\":{\"name\":\"web\",\"zzz\":[]},"
        "\"alsoUnknown\":1}";
    assert_decode_fails(CREATE, json, strlen(json), 0, CP_EINVAL, "x: unknown field");
    Certplane__V1__CreateCertificateRequest *r =
        (Certplane__V1__CreateCertificateRequest *)decode_ok(CREATE, json, CP_JSON_IGNORE_UNKNOWN);
    assert_string_equal(r->certificate->name, "web");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    /* Known fields are still checked. */
    json = "{\"x\":1,\"certificate\":{\"name\":1}}";
    assert_decode_fails(CREATE, json, strlen(json), CP_JSON_IGNORE_UNKNOWN, CP_EINVAL,
                        "certificate.name: expected string");
}

static void test_emit_defaults_emits_zero_scalars_and_empty_arrays(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    assert_encodes_to(&c.base, 0, "{}");
    assert_encodes_to(
        &c.base, CP_JSON_EMIT_DEFAULTS,
        "{\"name\":\"\",\"domains\":[],\"ipAddresses\":[],\"email\":\"\",\"provider\":\"\","
        "\"profile\":\"\",\"preferredChain\":\"\",\"keyType\":\"KEY_TYPE_UNSPECIFIED\","
        "\"challengeType\":\"CHALLENGE_TYPE_UNSPECIFIED\",\"state\":\"STATE_UNSPECIFIED\","
        "\"serial\":\"\",\"issuer\":\"\",\"fullchainPem\":\"\",\"privateKeyPem\":\"\","
        "\"lastError\":\"\",\"failureCount\":0,\"revision\":\"0\",\"revocationReason\":0}");
    kitchen_t k;
    kitchen_init(&k.base);
    assert_encodes_to(
        &k.base, CP_JSON_EMIT_DEFAULTS | CP_JSON_ORIG_NAMES,
        "{\"float_val\":0.0,\"double_val\":0.0,\"u64\":\"0\",\"s32\":0,\"fx64\":\"0\","
        "\"sf32\":0,\"u32\":0,\"raw_data\":\"\",\"flag\":false,\"rb\":[],\"rd\":[],"
        "\"states\":[],\"rs64\":[],\"labels\":{},\"names\":{},\"opt\":0,"
        "\"stamps\":[],\"sf64\":\"0\",\"fx32\":0}");
}

/* ---- encode errors and the jansson entry points ---- */

static void assert_encode_fails(const ProtobufCMessage *m, const char *msg)
{
    char *text = (char *)&text;
    cp_err_t err = {0};
    assert_int_equal(cp_json_encode(m, 0, &text, NULL, &err), CP_EINVAL);
    assert_null(text);
    assert_string_equal(err.msg, msg);
    assert_null(cp_json_to_jansson(m, 0, &err));
}

static void test_encode_rejects_bad_utf8_bad_timestamps_and_deep_nesting(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    c.name = "\xff";
    assert_encode_fails(&c.base, "name: invalid UTF-8");
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

    /* The same depth rule as decoding: 31 nested children encode, 32 do not. */
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

static void test_jansson_entry_points_borrow_and_check_nul(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    c.name = "web";
    json_t *j = cp_json_to_jansson(&c.base, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "web");
    assert_int_equal(json_object_size(j), 1);
    json_decref(j);

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
    json_t *arr = json_array();
    assert_int_equal(cp_json_from_jansson(CERT, arr, 0, &out, &err), CP_EINVAL);
    assert_string_equal(err.msg, "document is not an object");
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kitchen_descriptor_is_consistent),
        cmocka_unit_test(test_every_message_type_round_trips_in_both_name_styles),
        cmocka_unit_test(test_certificate_encodes_to_exact_json_and_decodes_from_both_name_styles),
        cmocka_unit_test(test_timestamp_encodes_utc_with_0_3_6_or_9_fraction_digits),
        cmocka_unit_test(test_kitchen_encodes_special_floats_bytes_maps_and_oneof_exactly),
        cmocka_unit_test(test_decode_accepts_numbers_strings_offsets_and_enum_integers),
        cmocka_unit_test(test_null_fields_decode_as_not_set),
        cmocka_unit_test(test_bad_documents_fail_with_exact_messages_and_leave_out_null),
        cmocka_unit_test(test_nesting_deeper_than_max_depth_is_rejected),
        cmocka_unit_test(test_text_larger_than_max_size_is_etoobig),
        cmocka_unit_test(test_ignore_unknown_skips_unknown_fields_at_every_level),
        cmocka_unit_test(test_emit_defaults_emits_zero_scalars_and_empty_arrays),
        cmocka_unit_test(test_encode_rejects_bad_utf8_bad_timestamps_and_deep_nesting),
        cmocka_unit_test(test_jansson_entry_points_borrow_and_check_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
