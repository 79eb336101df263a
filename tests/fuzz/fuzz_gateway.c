/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_gateway.c - libFuzzer target: the REST gateway's request decoding without a server:
 * ctl_gateway_match (route, method, path parameter) and ctl_gateway__decode (body, path parameter,
 * query string) on a hand-made h2o_req_t */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>

#include "controller/gateway/gateway.h"
#include "controller/gateway/gateway_util.h"
#include "controller/service/service.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(h2o_req_t *req, const ctl_gateway_route_t *route, const char *param,
                   size_t param_len)
{
    const ctl_rpc_t *rpc = route->rpc != NULL ? ctl_service_rpc_by_name(route->rpc) : NULL;
    if (rpc == NULL)
        return;
    ProtobufCMessage *in = NULL;
    int http_status;
    cp_err_t err;
    if (ctl_gateway__decode(req, 64 * 1024, route, rpc->input, param, param_len, &in, &http_status,
                            &err) == 0)
        protobuf_c_message_free_unpacked(in, NULL);
}

/* Input: "METHOD /path?query", a CP_FUZZ_SEP line, the Content-Type, another, the body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[3];
    size_t len[3];
    size_t n = cp_fuzz_split(data, size, part, len, 3);
    const uint8_t *sp = memchr(part[0], ' ', len[0]);
    if (sp == NULL)
        return 0;
    h2o_req_t req;
    memset(&req, 0, sizeof(req));
    h2o_mem_init_pool(&req.pool);
    req.method = h2o_iovec_init(part[0], (size_t)(sp - part[0]));
    /* A pool copy, so ASan sees reads past the path's end. */
    size_t plen = len[0] - req.method.len - 1;
    char *path = h2o_mem_alloc_pool(&req.pool, plen + 1);
    memcpy(path, sp + 1, plen);
    req.path = h2o_iovec_init(path, plen);
    const char *q = memchr(path, '?', plen);
    req.query_at = q != NULL ? (size_t)(q - path) : SIZE_MAX;
    if (n > 1)
        h2o_add_header(&req.pool, &req.headers, H2O_TOKEN_CONTENT_TYPE, NULL, (const char *)part[1],
                       len[1]);
    if (n > 2)
        req.entity = h2o_iovec_init(part[2], len[2]);

    const ctl_gateway_route_t *route = NULL;
    const char *param = NULL;
    size_t param_len = 0;
    char allow[64];
    size_t path_len = req.query_at != SIZE_MAX ? req.query_at : plen;
    if (ctl_gateway_match(path, path_len, req.method.base, req.method.len, &route, &param,
                          &param_len, allow, sizeof(allow)) == 200)
        decode(&req, route, param, param_len);
    h2o_mem_clear_pool(&req.pool);
    return 0;
}
