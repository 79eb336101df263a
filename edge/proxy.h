/* SPDX-License-Identifier: Apache-2.0 */
/* proxy.h - routes from Host to upstream: --route host=URL, wildcards, --default-upstream */
#ifndef EDGE_PROXY_H
#define EDGE_PROXY_H

#include <h2o.h>

#include "shared/cfg.h"
#include "shared/err.h"

/*
 * Each distinct upstream gets h2o's reverse proxy handler on a hidden host of the global
 * configuration (so h2o initialises its per-loop state); the HTTPS handler looks the request's host
 * up here (exact hash, then one-label wildcard hash, then the default) and hands the request to
 * that handler. The proxy preserves Host and adds X-Forwarded-For and X-Forwarded-Proto. THREAD
 * SAFETY: built on the main thread before the loops start; lookups from any loop thread.
 */
typedef struct edge_proxy edge_proxy_t;

/** Registers the routes ("host=http://addr:port") and the default upstream (may be NULL) on `conf`.
 *  The strings must outlive the proxy. Errors: CP_EINVAL (bad route or URL). */
int edge_proxy_new(h2o_globalconf_t *conf, const cp_cfg_list_t *routes,
                   const char *default_upstream, uint64_t io_timeout_ms, edge_proxy_t **out,
                   cp_err_t *err);

/** The proxy handler for `host` (any case, without port), or NULL when no route and no default. */
h2o_handler_t *edge_proxy_find(const edge_proxy_t *p, const char *host, size_t len);

/** Frees the route tables (the handlers belong to `conf`). NULL is a no-op. */
void edge_proxy_free(edge_proxy_t *p);

#endif
