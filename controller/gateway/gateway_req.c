/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_req.c - one REST request: auth and request message on the loop, the call on a service
 * thread, the answer encoded and sent back on the loop */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "controller/gateway/gateway_pool.h"
#include "controller/gateway/gateway_req.h"
#include "controller/gateway/gateway_util.h"
#include "controller/metrics/metrics.h"
#include "shared/hash.h"
#include "shared/json.h"
#include "shared/mem.h"
#include "shared/status.h"

/* One RPC in flight. */
typedef struct rpc_job {
    ctl_gateway_job_t super;
    ctl_gateway_t *g;
    const ctl_rpc_t *rpc;
    ctl_caller_t caller;
    ProtobufCMessage *in;
    /* set by run() */
    ProtobufCMessage *resp;
    int rc;
    cp_err_t err;
} rpc_job_t;

/* The slot of the encoded-answer cache for a certificate name (FNV-1a). */
static ctl_gateway__json_slot_t *json_slot(ctl_gateway_t *g, const char *name)
{
    return &g->json_cache[cp_hash_fnv1a32_str(name) % CTL_GATEWAY__JSON_SLOTS];
}

static void json_slot_clear(ctl_gateway__json_slot_t *s)
{
    free(s->packed);
    free(s->text);
    memset(s, 0, sizeof *s);
}

void ctl_gateway__json_cache_free(ctl_gateway_t *g)
{
    for (size_t i = 0; i < CTL_GATEWAY__JSON_SLOTS; i++)
        json_slot_clear(&g->json_cache[i]);
    free(g->json_scratch);
    g->json_scratch = NULL;
    g->json_scratch_size = 0;
}

static void *xmemdup(const void *p, size_t n)
{
    void *d = cp_xmalloc(n != 0 ? n : 1);
    memcpy(d, p, n);
    return d;
}

/* Encodes an RPC's answer into *text (malloc'd). A key-less certificate whose exact content was
 * encoded before (same protobuf bytes) copies that encoding instead: the JSON encoding was a third
 * of a GetCertificate's CPU, packing and comparing costs a few percent of it. A certificate
 * carrying its private key is never cached. */
static int encode_answer(ctl_gateway_t *g, const ProtobufCMessage *resp, char **text, size_t *len,
                         cp_err_t *err)
{
    const Certplane__V1__Certificate *c = (const void *)resp;
    if (resp->descriptor != &certplane__v1__certificate__descriptor || c->name == NULL ||
        c->private_key_pem == NULL || c->private_key_pem[0] != '\0')
        return cp_json_encode(resp, 0, text, len, err);
    size_t n = protobuf_c_message_get_packed_size(resp);
    if (n > g->json_scratch_size) {
        free(g->json_scratch);
        g->json_scratch = cp_xmalloc(n);
        g->json_scratch_size = n;
    }
    protobuf_c_message_pack(resp, g->json_scratch);
    ctl_gateway__json_slot_t *s = json_slot(g, c->name);
    if (s->packed == NULL || s->packed_len != n || memcmp(s->packed, g->json_scratch, n) != 0) {
        char *t = NULL;
        size_t tn = 0;
        int rc = cp_json_encode(resp, 0, &t, &tn, err);
        if (rc != 0)
            return rc;
        json_slot_clear(s);
        s->packed = xmemdup(g->json_scratch, n);
        s->packed_len = n;
        s->text = t;
        s->len = tn;
    }
    *text = xmemdup(s->text, s->len + 1);
    *len = s->len;
    return 0;
}

static void rpc_run(ctl_gateway_job_t *job, ctl_thread_t *t)
{
    rpc_job_t *j = (rpc_job_t *)job;
    j->rc = t == NULL
                ? cp_err_set(&j->err, CP_EUNAVAIL, "storage unavailable")
                : ctl_service_invoke(j->g->svc, t, &j->caller, j->rpc, j->in, &j->resp, &j->err);
}

static void rpc_done(ctl_gateway_job_t *job, h2o_req_t *req)
{
    rpc_job_t *j = (rpc_job_t *)job;
    char *text = NULL;
    size_t len = 0;
    if (job->cancelled)
        j->rc = cp_err_set(&j->err, CP_EUNAVAIL, "gateway shutting down");
    if (j->rc == 0 && req != NULL && encode_answer(j->g, j->resp, &text, &len, &j->err) != 0)
        j->rc = CP_EINTERNAL; /* the answer could not be encoded: our fault, not the client's */
    int code = cp_err_grpc_status(j->rc);
    ctl_metrics_request("http", j->rpc->name, req != NULL ? code : 1 /* CANCELLED */);
    if (req != NULL && j->rc == 0)
        ctl_gateway__send_json(req, 200, text, len);
    else if (req != NULL)
        ctl_gateway__send_error(req, 0, code, j->err.msg[0] ? j->err.msg : cp_strerror(j->rc));
    free(text);
    protobuf_c_message_free_unpacked(j->in, NULL);
    if (j->resp != NULL)
        protobuf_c_message_free_unpacked(j->resp, NULL);
    free(j);
}

/* A GetCertificate that the read cache answers (or that fails validation) is answered here on the
 * loop: the cache never touches Redis, and a cached read then costs no thread hand-off. Returns
 * true when the request was answered (and `in` freed), false when it needs a service thread. */
static bool answer_from_cache(ctl_gateway_t *g, h2o_req_t *req, const ctl_rpc_t *rpc,
                              const ctl_caller_t *caller, ProtobufCMessage *in)
{
    Certplane__V1__Certificate *c = NULL;
    cp_err_t err = {0};
    char *text = NULL;
    size_t len = 0;
    int rc = ctl_service_get_cached(g->svc, caller, (const void *)in, &c, &err);
    if (rc == 0)
        return false;
    if (rc > 0)
        rc = encode_answer(g, &c->base, &text, &len, &err) != 0 ? CP_EINTERNAL : 0;
    int code = cp_err_grpc_status(rc);
    ctl_metrics_request("http", rpc->name, code);
    if (rc == 0)
        ctl_gateway__send_json(req, 200, text, len);
    else
        ctl_gateway__send_error(req, 0, code, err.msg[0] ? err.msg : cp_strerror(rc));
    free(text);
    if (c != NULL)
        protobuf_c_message_free_unpacked(&c->base, NULL);
    protobuf_c_message_free_unpacked(in, NULL);
    return true;
}

/* Reads that the service answers from its read cache go to the read lane, so they never queue
 * behind calls waiting on Redis. */
static ctl_gateway_lane_t lane_of(const ProtobufCMessage *in)
{
    if (in->descriptor == &certplane__v1__get_certificate_request__descriptor &&
        !((const Certplane__V1__GetCertificateRequest *)in)->include_private_key)
        return CTL_GW_LANE_READ;
    return CTL_GW_LANE_ANY;
}

void ctl_gateway__rpc(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *route,
                      const char *param, size_t param_len)
{
    const ctl_rpc_t *rpc = ctl_service_rpc_by_name(route->rpc);
    ProtobufCMessage *in = NULL;
    ctl_caller_t caller;
    cp_err_t err = {0};
    int http_status = 0, rc;
    if (rpc == NULL) {
        ctl_gateway__send_error(req, 0, CP_GRPC_UNIMPLEMENTED, "not implemented");
        return;
    }
    rc = ctl_gateway__caller(g->svc, req, &caller, &err);
    if (rc == 0)
        rc = ctl_gateway__decode(req, g->opts.max_body, route, rpc->input, param, param_len, &in,
                                 &http_status, &err);
    else
        http_status = 0;
    if (rc != 0) {
        ctl_metrics_request("http", rpc->name, cp_err_grpc_status(rc));
        ctl_gateway__send_error(req, http_status, cp_err_grpc_status(rc),
                                err.msg[0] ? err.msg : cp_strerror(rc));
        return;
    }
    if (in->descriptor == &certplane__v1__get_certificate_request__descriptor &&
        answer_from_cache(g, req, rpc, &caller, in))
        return;
    rpc_job_t *j = cp_xcalloc(1, sizeof(*j));
    j->super.run = rpc_run;
    j->super.done = rpc_done;
    j->g = g;
    j->rpc = rpc;
    j->caller = caller;
    j->in = in;
    ctl_gateway_pool_submit(g->pool, &j->super, req, lane_of(in));
}
