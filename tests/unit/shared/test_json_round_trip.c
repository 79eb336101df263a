/* SPDX-License-Identifier: Apache-2.0 */
/* test_json_round_trip.c - every message type survives encode -> decode -> encode unchanged, in
 * both name styles */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "tests/unit/shared/json_fixture.h"

static char *xstrdup(const char *s)
{
    char *d = cp_xstrdup(s);
    assert_non_null(d);
    return d;
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
    b->data = cp_xmalloc(b->len);
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
        ProtobufCMessage *sub = jt_new_message(f->descriptor);
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
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && ed == m->descriptor && depth >= 3)
        return; /* a recursive repeated field (CertificateEvent.batch): stop, as for Kitchen.child
                 */
    int is_map = f->type == PROTOBUF_C_TYPE_MESSAGE && strstr(ed->short_name, "Entry") != NULL;
    size_t n = is_map ? 2 : 3, size = elem_size(f->type);
    char *arr = cp_xcalloc(n, size);
    assert_non_null(arr);
    for (size_t i = 0; i < n; i++) {
        if (!is_map) {
            fill_value(f, arr + i * size, depth, variant);
            continue;
        }
        ProtobufCMessage *e = jt_new_message(ed);
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

/* fill -> encode -> decode -> pack both and compare; then the decoded copy re-encodes identically.
 */
static void assert_round_trips(const ProtobufCMessageDescriptor *d, int variant, int flags)
{
    ProtobufCMessage *m = jt_new_message(d);
    fill_message(m, 0, variant);
    char *text = NULL, *again = NULL;
    size_t len = 0, again_len = 0, n1, n2;
    cp_err_t err = {0};
    if (cp_json_encode(m, flags, &text, &len, &err) != 0)
        fail_msg("%s: encode failed: %s", d->name, err.msg);
    ProtobufCMessage *back = NULL;
    if (cp_json_decode(d, text, len, flags, &back, &err) != 0)
        fail_msg("%s: decode of %s failed: %s", d->name, text, err.msg);
    uint8_t *b1 = jt_pack(m, &n1), *b2 = jt_pack(back, &n2);
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

static void test_kitchen_descriptor_is_consistent(void **state)
{
    (void)state;
    for (unsigned i = 1; i < kitchen_desc.n_fields; i++) {
        assert_int_equal(kitchen_fields[i].id, i + 1);
        assert_true(strcmp(kitchen_fields[kitchen_by_name[i - 1]].name,
                           kitchen_fields[kitchen_by_name[i]].name) < 0);
    }
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kitchen_descriptor_is_consistent),
        cmocka_unit_test(test_every_message_type_round_trips_in_both_name_styles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
