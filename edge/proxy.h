/* SPDX-License-Identifier: Apache-2.0 */
/* proxy.h - routes from Host to upstream or a fixed answer: --route host=URL|respond:STATUS[:BODY],
 * wildcards, --default-upstream */
#ifndef EDGE_PROXY_H
#define EDGE_PROXY_H

#include <h2o.h>

#include "shared/cfg.h"
#include "shared/err.h"

/*
 * Each distinct upstream gets h2o's reverse proxy handler on a hidden host of the global
 * configuration (so h2o initialises its per-loop state); the HTTPS handler looks the request's host
 * up here (exact hash, then one-label wildcard hash, then the default) and hands the request to
 * that handler. The proxy preserves Host and adds X-Forwarded-For and X-Forwarded-Proto.
 * A target "respond:STATUS[:BODY]" (like Caddy's `respond` directive) answers on the edge itself
 * with that status and body (text/plain, empty without BODY) and keeps the connection open: a
 * health or placeholder answer for operators, and the edge's like-for-like of nginx's `return 200`.
 * THREAD
 * SAFETY: built on the main thread before the loops start; lookups from any loop thread.
 */
typedef struct edge_proxy edge_proxy_t;

#define EDGE_PROXY_RESPOND_PREFIX "respond:"

/** Parses a "respond:STATUS[:BODY]" target: STATUS three digits 200-599, BODY the rest (may hold
 *  ':'; none for 204 and 304). Returns 0 with *body pointing into `target`, or CP_EINVAL. */
int edge_proxy_parse_respond(const char *target, int *status, const char **body, size_t *body_len);

/** Registers the routes ("host=http://addr:port" or "host=respond:STATUS[:BODY]") and the default
 * upstream (may be NULL) on `conf`. The strings must outlive the proxy. Errors: CP_EINVAL (bad
 * route or URL). */
int edge_proxy_new(h2o_globalconf_t *conf, const cp_cfg_list_t *routes,
                   const char *default_upstream, uint64_t io_timeout_ms, edge_proxy_t **out,
                   cp_err_t *err);

/** The handler for `host` (any case, without port), or NULL when no route and no default. */
h2o_handler_t *edge_proxy_find(const edge_proxy_t *p, const char *host, size_t len);

/** Frees the route tables (the handlers belong to `conf`). NULL is a no-op. */
void edge_proxy_free(edge_proxy_t *p);

#endif
