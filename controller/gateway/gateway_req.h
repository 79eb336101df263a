/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_req.h - the unary REST routes: decode on the loop, call on a service thread, answer on
 * the loop */
#ifndef CTL_GATEWAY_REQ_H
#define CTL_GATEWAY_REQ_H

#include "controller/gateway/gateway_internal.h"

/* THREAD SAFETY (module): the loop thread. */

/** Answers a CTL_GW_RPC route: the caller and the request message are made on the loop, the RPC
 * runs on a gateway service thread, the answer is encoded and sent on the loop (dropped when the
 * client has gone). */
void ctl_gateway__rpc(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *route,
                      const char *param, size_t param_len);

/** Frees the loop's encoded-answer cache. Loop thread, or after it ended. */
void ctl_gateway__json_cache_free(ctl_gateway_t *g);

#endif
