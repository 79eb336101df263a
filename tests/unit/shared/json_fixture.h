/* SPDX-License-Identifier: Apache-2.0 */
/* json_fixture.h - what the test_json_*.c tests share: "Kitchen", a test-only message with the type
 * kinds certplane.proto lacks, and assertions around cp_json_encode/cp_json_decode.
 *
 * THREAD SAFETY: the descriptors are constant; the helpers fail the calling test.
 */
#ifndef TESTS_UNIT_SHARED_JSON_FIXTURE_H
#define TESTS_UNIT_SHARED_JSON_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

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

extern const ProtobufCMessageDescriptor kitchen_desc, labels_desc, names_desc;
extern const ProtobufCFieldDescriptor kitchen_fields[];
/** Kitchen's field indexes in strcmp order of the names. */
extern const unsigned kitchen_by_name[];

/** Initialise a Kitchen, a LabelsEntry, a NamesEntry as protoc-c's generated init does. */
void kitchen_init(ProtobufCMessage *m);
void labels_init(ProtobufCMessage *m);
void names_init(ProtobufCMessage *m);

#define CERT (&certplane__v1__certificate__descriptor)
#define CREATE (&certplane__v1__create_certificate_request__descriptor)
#define LIST (&certplane__v1__list_certificates_response__descriptor)
#define GETREQ (&certplane__v1__get_certificate_request__descriptor)
#define KITCHEN (&kitchen_desc)
#define TSDESC (&google__protobuf__timestamp__descriptor)
#define HEALTH (&grpc__health__v1__health_check_response__descriptor)

/** A message of type d, initialised; free with protobuf_c_message_free_unpacked. */
ProtobufCMessage *jt_new_message(const ProtobufCMessageDescriptor *d);

/** Encodes m with flags and asserts the text is exactly want. */
void jt_assert_encodes_to(const ProtobufCMessage *m, int flags, const char *want);

/** Decodes json (NUL-terminated) and fails the test with the message when that fails. */
ProtobufCMessage *jt_decode_ok(const ProtobufCMessageDescriptor *d, const char *json, int flags);

/** m packed to protobuf binary (cp_xmalloc'd), its length in *len. */
uint8_t *jt_pack(const ProtobufCMessage *m, size_t *len);

/** Asserts that decoding fails with code and exactly msg, and that *out is reset to NULL. */
void jt_assert_decode_fails(const ProtobufCMessageDescriptor *d, const char *json, size_t len,
                            int flags, int code, const char *msg);

#endif
