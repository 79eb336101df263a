/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_util.h - what every gateway route uses: JSON and error answers, the caller, the request
 * message built from body, path and query */
#ifndef CTL_GATEWAY_UTIL_H
#define CTL_GATEWAY_UTIL_H

#include <stddef.h>

#include <h2o.h>

#include "controller/gateway/gateway.h"
#include "controller/service/service.h"

/* THREAD SAFETY (module): every function takes an h2o request and runs on the loop thread; none
 * calls Redis. */

/** Sends `body` with `status` and `type` (copied into the request's pool). */
void ctl_gateway__send_text(h2o_req_t *req, int status, const char *type, const char *body,
                            size_t len);

/** Sends `body` (JSON) with `status`; the body is copied. */
void ctl_gateway__send_json(h2o_req_t *req, int status, const char *body, size_t len);

/** Sends {"code": grpc_code, "message": msg, "details": []} with http_status (0: mapped from the
 * code). */
void ctl_gateway__send_error(h2o_req_t *req, int http_status, int grpc_code, const char *msg);

/** Authenticates the request's `Authorization: Bearer` token (in memory: no Redis). Errors:
 * CP_EAUTH (from the service). */
int ctl_gateway__caller(ctl_service_t *svc, h2o_req_t *req, ctl_caller_t *caller, cp_err_t *err);

/** Builds the request message of `desc` in one pass: the body is parsed once into a JSON object
 *  (per route->body and route->body_field, at most max_body bytes), the path parameter (raw text
 *  param/param_len) and the query string are merged into that object, and the object is decoded
 *  once. On error *http_status is 400, 413 or 415 and err says why (CP_EINVAL, CP_ETOOBIG). The
 *  caller frees *out with protobuf_c_message_free_unpacked. */
int ctl_gateway__decode(h2o_req_t *req, size_t max_body, const ctl_gateway_route_t *route,
                        const ProtobufCMessageDescriptor *desc, const char *param, size_t param_len,
                        ProtobufCMessage **out, int *http_status, cp_err_t *err);

#endif
