/* SPDX-License-Identifier: Apache-2.0 */
/* ctlchan.c - the edge's gRPC connection to a controller (ctlchan.h) */
#include "edge/ctlchan.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>

#include <stdlib.h>
#include <string.h>

#include "shared/file.h"
#include "shared/mem.h"

#define MAX_PEM_FILE (1 << 20)

int edge_ctlchan_creds(const char *ca_file, const char *cert_file, const char *key_file,
                       grpc_channel_credentials **out, cp_err_t *err)
{
    char *ca = NULL, *cert = NULL, *key = NULL;
    int rc = 0;
    *out = NULL;
    if (ca_file == NULL)
        return 0;
    if ((rc = cp_file_read(ca_file, MAX_PEM_FILE, &ca, NULL, err)) != 0)
        return CP_EINVAL;
    if (cert_file != NULL && ((rc = cp_file_read(cert_file, MAX_PEM_FILE, &cert, NULL, err)) != 0 ||
                              (rc = cp_file_read(key_file, MAX_PEM_FILE, &key, NULL, err)) != 0)) {
        rc = CP_EINVAL;
        goto out;
    }
    grpc_ssl_pem_key_cert_pair pair = {key, cert};
    *out = grpc_ssl_credentials_create(ca, cert != NULL ? &pair : NULL, NULL, NULL);
    if (*out == NULL)
        rc = cp_err_set(err, CP_EINVAL, "controller TLS credentials rejected");
out:
    free(ca);
    free(cert);
    cp_secure_free_str(key); /* gRPC copied the PEM text */
    return rc;
}

static grpc_arg int_arg(const char *key, int value)
{
    grpc_arg a;
    memset(&a, 0, sizeof a);
    a.type = GRPC_ARG_INTEGER;
    a.key = (char *)key;
    a.value.integer = value;
    return a;
}

grpc_channel *edge_ctlchan_open(const char *target, grpc_channel_credentials *creds,
                                const char *server_name)
{
    grpc_arg args[5];
    int n = 0;
    args[n++] = int_arg(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
    args[n++] = int_arg(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    args[n++] = int_arg(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args[n++] = int_arg(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
    if (server_name != NULL) {
        memset(&args[n], 0, sizeof args[n]);
        args[n].type = GRPC_ARG_STRING;
        args[n].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        args[n++].value.string = (char *)server_name;
    }
    grpc_channel_args ca = {(size_t)n, args};
    grpc_channel_credentials *c = creds != NULL ? creds : grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, c, &ca);
    if (creds == NULL)
        grpc_channel_credentials_release(c);
    return ch;
}

grpc_byte_buffer *edge_ctlchan_pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

static gpr_timespec deadline_in(int64_t ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static ProtobufCMessage *unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *d)
{
    grpc_byte_buffer_reader r;
    if (bb == NULL || !grpc_byte_buffer_reader_init(&r, bb))
        return NULL;
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    return m;
}

static void drain(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
}

grpc_status_code edge_ctlchan_unary(grpc_channel *ch, const char *auth, const char *method,
                                    const ProtobufCMessage *req,
                                    const ProtobufCMessageDescriptor *resp_desc, int deadline_ms,
                                    ProtobufCMessage **resp)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               grpc_slice_from_static_string(method), NULL,
                                               deadline_in(deadline_ms), NULL);
    grpc_metadata md;
    memset(&md, 0, sizeof md);
    md.key = grpc_slice_from_static_string("authorization");
    md.value = grpc_slice_from_static_string(auth != NULL ? auth : "");
    grpc_metadata_array initial, trailing;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    grpc_byte_buffer *out = edge_ctlchan_pack(req), *in = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = auth != NULL ? 1 : 0;
    ops[0].data.send_initial_metadata.metadata = &md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = out;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &in;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    if (grpc_call_start_batch(call, ops, 6, (void *)1, NULL) == GRPC_CALL_OK)
        grpc_completion_queue_pluck(cq, (void *)1, deadline_in(deadline_ms + 1000), NULL);
    if (status == GRPC_STATUS_OK && resp_desc != NULL && (*resp = unpack(in, resp_desc)) == NULL)
        status = GRPC_STATUS_INTERNAL;
    grpc_byte_buffer_destroy(out);
    grpc_byte_buffer_destroy(in);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(call);
    drain(cq);
    return status;
}
