/* SPDX-License-Identifier: Apache-2.0 */
/* json_fixture.c - the Kitchen test message's descriptors and the encode/decode assertions */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <string.h>

#include "shared/mem.h"
#include "tests/unit/shared/json_fixture.h"

void kitchen_init(ProtobufCMessage *m)
{
    memset(m, 0, sizeof(kitchen_t));
    m->descriptor = &kitchen_desc;
}

void labels_init(ProtobufCMessage *m)
{
    memset(m, 0, sizeof(labels_entry_t));
    m->descriptor = &labels_desc;
    ((labels_entry_t *)m)->key = (char *)protobuf_c_empty_string;
}

void names_init(ProtobufCMessage *m)
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

const ProtobufCFieldDescriptor kitchen_fields[] = {
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
const unsigned kitchen_by_name[] = {16, 1,  8,  0, 20, 4,  13, 14, 17, 7, 9,
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
const ProtobufCMessageDescriptor kitchen_desc =
    MD("t.Kitchen", "Kitchen", kitchen_t, kitchen_fields, kitchen_by_name, kitchen_ranges,
       kitchen_init);
const ProtobufCMessageDescriptor labels_desc =
    MD("t.Kitchen.LabelsEntry", "LabelsEntry", labels_entry_t, labels_fields, entry_by_name,
       entry_ranges, labels_init);
const ProtobufCMessageDescriptor names_desc =
    MD("t.Kitchen.NamesEntry", "NamesEntry", names_entry_t, names_fields, entry_by_name,
       entry_ranges, names_init);

ProtobufCMessage *jt_new_message(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = cp_xmalloc(d->sizeof_message);
    assert_non_null(m);
    protobuf_c_message_init(d, m);
    return m;
}

/* Encodes m and checks the text is exactly want. */
void jt_assert_encodes_to(const ProtobufCMessage *m, int flags, const char *want)
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

ProtobufCMessage *jt_decode_ok(const ProtobufCMessageDescriptor *d, const char *json, int flags)
{
    ProtobufCMessage *m = NULL;
    cp_err_t err = {0};
    if (cp_json_decode(d, json, strlen(json), flags, &m, &err) != 0)
        fail_msg("decode of %s failed: %s", json, err.msg);
    assert_non_null(m);
    return m;
}

uint8_t *jt_pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = cp_xmalloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

void jt_assert_decode_fails(const ProtobufCMessageDescriptor *d, const char *json, size_t len,
                            int flags, int code, const char *msg)
{
    ProtobufCMessage *out = (ProtobufCMessage *)&out; /* must be reset to NULL */
    cp_err_t err = {0};
    int rc = cp_json_decode(d, json, len, flags, &out, &err);
    if (rc != code || err.code != code || strcmp(err.msg, msg) != 0)
        fail_msg("%.80s: got %d \"%s\", want %d \"%s\"", json, rc, err.msg, code, msg);
    assert_null(out);
}
