/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_ui.h - the web console's files under /ui/ and GET /v1/whoami, answered on the loop */
#ifndef CTL_GATEWAY_UI_H
#define CTL_GATEWAY_UI_H

#include <stddef.h>

#include <h2o.h>

#include "controller/gateway/gateway.h"
#include "controller/service/service.h"

/* THREAD SAFETY (module): the asset table is constant; the handler runs on the gateway's loop and
 * never calls Redis (authentication is in memory). */

/** One file of controller/gateway/ui/, built into the binary by ui/embed.cmake. */
typedef struct ctl_gateway_ui_asset {
    const char *name; /* "app.js": the path under /ui/ */
    const unsigned char *data;
    size_t len;
    const char *etag; /* "\"<16 hex digits of SHA-256>\"" */
} ctl_gateway_ui_asset_t;

/** The files, defined by the generated gateway_ui_assets.c. */
extern const ctl_gateway_ui_asset_t ctl_gateway_ui_assets[];
extern const size_t ctl_gateway_ui_n_assets;

/** The asset named by name/len ("" is index.html), or NULL. THREAD SAFETY: any thread. */
const ctl_gateway_ui_asset_t *ctl_gateway__ui_find(const char *name, size_t len);

/** Answers a CTL_GW_UI route (an asset without authentication: the console holds no data; 404 for
 * an unknown name; 304 for a matching If-None-Match) or CTL_GW_WHOAMI (the caller's scopes as
 * {"scopes": ["read", ...]}, 401 without a valid token). `param` is the raw `{asset}` text. */
void ctl_gateway__ui(ctl_service_t *svc, h2o_req_t *req, const ctl_gateway_route_t *route,
                     const char *param, size_t param_len);

#endif
