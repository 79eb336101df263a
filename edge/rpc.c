/* SPDX-License-Identifier: Apache-2.0 */
/* rpc.c - a blocking unary call to the controller (rpc.h) */
#include "edge/rpc.h"
#include "edge/ctlchan.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"

struct edge_rpc {
    edge_rpc_opts_t o;
    grpc_channel_credentials *creds; /* NULL: insecure */
    char *auth;                      /* "Bearer <token>" or NULL */
    grpc_channel *ch;
    size_t target; /* index in o.targets */
};

static gpr_timespec deadline_in(int64_t ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

int edge_rpc_new(const edge_rpc_opts_t *o, edge_rpc_t **out, cp_err_t *err)
{
    edge_rpc_t *c = cp_xcalloc(1, sizeof *c);
    c->o = *o;
    if (o->token != NULL && o->token[0] != '\0') {
        size_t len = strlen(o->token) + 8;
        c->auth = cp_xmalloc(len);
        snprintf(c->auth, len, "Bearer %s", o->token);
    }
    int rc = edge_ctlchan_creds(o->ca_file, o->cert_file, o->key_file, &c->creds, err);
    if (rc != 0) {
        edge_rpc_free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

static grpc_channel *channel(edge_rpc_t *c)
{
    if (c->ch == NULL)
        c->ch = edge_ctlchan_open(c->o.targets[c->target], c->creds, c->o.server_name);
    return c->ch;
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

grpc_status_code edge_rpc_call(edge_rpc_t *c, const char *method, const ProtobufCMessage *req,
                               const ProtobufCMessageDescriptor *resp_desc, int deadline_ms,
                               ProtobufCMessage **resp)
{
    *resp = NULL;
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_call *call = grpc_channel_create_call(channel(c), NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               grpc_slice_from_static_string(method), NULL,
                                               deadline_in(deadline_ms), NULL);
    grpc_metadata md;
    memset(&md, 0, sizeof md);
    md.key = grpc_slice_from_static_string("authorization");
    md.value = grpc_slice_from_static_string(c->auth != NULL ? c->auth : "");
    grpc_metadata_array initial, trailing;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailing);
    grpc_byte_buffer *out = edge_ctlchan_pack(req), *in = NULL;
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c->auth != NULL ? 1 : 0;
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
    if (status == GRPC_STATUS_OK && (*resp = unpack(in, resp_desc)) == NULL)
        status = GRPC_STATUS_INTERNAL;
    grpc_byte_buffer_destroy(out);
    grpc_byte_buffer_destroy(in);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailing);
    grpc_call_unref(call);
    drain(cq);
    if (status == GRPC_STATUS_UNAVAILABLE || status == GRPC_STATUS_DEADLINE_EXCEEDED) {
        grpc_channel_destroy(c->ch); /* the next call tries the next controller */
        c->ch = NULL;
        c->target = (c->target + 1) % c->o.n_targets;
    }
    return status;
}

void edge_rpc_free(edge_rpc_t *c)
{
    if (c == NULL)
        return;
    if (c->ch != NULL)
        grpc_channel_destroy(c->ch);
    if (c->creds != NULL)
        grpc_channel_credentials_release(c->creds);
    cp_secure_free_str(c->auth);
    free(c);
}
