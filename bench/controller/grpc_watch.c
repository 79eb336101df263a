/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_watch.c - one certplane.v1.Certificates/Watch from revision 0 on the gRPC C core, read as
 * fast as it comes until SNAPSHOT_END (as an edge does): prints events, bytes and seconds as JSON
 *
 *   grpc_watch --target 127.0.0.1:8443 --token TOK [--timeout-s 600]
 *
 * Messages are not decoded: the event type is the first field (tag 0x08) of every event the
 * controller sends, so SNAPSHOT_END (5) is recognised from its first two bytes. */
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs one batch and waits for it. */
static int batch(grpc_call *call, grpc_completion_queue *cq, grpc_op *ops, size_t n, double dl)
{
    static int tag;
    if (grpc_call_start_batch(call, ops, n, &tag, NULL) != GRPC_CALL_OK)
        return -1;
    gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                      gpr_time_from_millis((int64_t)(dl * 1000), GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_pluck(cq, &tag, until, NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *target = NULL, *token = NULL;
    double limit = 600;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--target"))
            target = argv[i + 1];
        else if (!strcmp(argv[i], "--token"))
            token = argv[i + 1];
        else if (!strcmp(argv[i], "--timeout-s"))
            limit = atof(argv[i + 1]);
    }
    if (target == NULL || token == NULL) {
        fprintf(stderr, "usage: grpc_watch --target HOST:PORT --token TOK [--timeout-s S]\n");
        return 2;
    }
    grpc_init();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_arg arg = {.type = GRPC_ARG_INTEGER,
                    .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                    .value.integer = 64 << 20};
    grpc_channel_args ca = {.num_args = 1, .args = &arg};
    grpc_channel *ch = grpc_channel_create(target, creds, &ca);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method = grpc_slice_from_static_string("/certplane.v1.Certificates/Watch");
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
                                               gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    char auth[512];
    snprintf(auth, sizeof auth, "Bearer %s", token);
    grpc_metadata md = {.key = grpc_slice_from_static_string("authorization"),
                        .value = grpc_slice_from_copied_string(auth)};
    /* WatchRequest{from_revision: 0, edge_id: "bench"}: field 2, length 5. */
    static const char req_pb[] = {0x12, 5, 'b', 'e', 'n', 'c', 'h'};
    grpc_slice rs = grpc_slice_from_copied_buffer(req_pb, sizeof req_pb);
    grpc_byte_buffer *req = grpc_raw_byte_buffer_create(&rs, 1);
    grpc_metadata_array init_md;
    grpc_metadata_array_init(&init_md);
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = 1;
    ops[0].data.send_initial_metadata.metadata = &md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
    double t0 = now_s();
    long events = 0, upserts = 0;
    size_t bytes = 0;
    int done = 0;
    if (batch(call, cq, ops, 4, limit) != 0) {
        fprintf(stderr, "grpc_watch: call failed to start\n");
        return 1;
    }
    while (!done && now_s() - t0 < limit) {
        grpc_byte_buffer *msg = NULL;
        grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
        op.data.recv_message.recv_message = &msg;
        if (batch(call, cq, &op, 1, limit - (now_s() - t0)) != 0 || msg == NULL)
            break; /* the stream ended (an error status: too slow, unavailable) */
        grpc_byte_buffer_reader rd;
        grpc_byte_buffer_reader_init(&rd, msg);
        grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
        const unsigned char *p = GRPC_SLICE_START_PTR(s);
        size_t len = GRPC_SLICE_LENGTH(s);
        bytes += len;
        events++;
        if (len >= 2 && p[0] == 0x08 && p[1] == 1)
            upserts++;
        if (len >= 2 && p[0] == 0x08 && p[1] == 5)
            done = 1;
        grpc_slice_unref(s);
        grpc_byte_buffer_reader_destroy(&rd);
        grpc_byte_buffer_destroy(msg);
    }
    double t = now_s() - t0;
    printf("{\"snapshot_end\":%s,\"events\":%ld,\"upserts\":%ld,\"bytes\":%zu,\"seconds\":%.3f}\n",
           done ? "true" : "false", events, upserts, bytes, t);
    grpc_call_cancel(call, NULL);
    grpc_call_unref(call);
    grpc_byte_buffer_destroy(req);
    grpc_metadata_array_destroy(&init_md);
    grpc_channel_destroy(ch);
    grpc_completion_queue_shutdown(cq);
    grpc_completion_queue_destroy(cq);
    grpc_channel_credentials_release(creds);
    return done ? 0 : 1;
}
