/* SPDX-License-Identifier: Apache-2.0 */
/* http01.h - HTTP-01 responder: GET /.well-known/acme-challenge/{token} as an h2o handler */
#ifndef CTL_HTTP01_H
#define CTL_HTTP01_H

#include <stdint.h>

#include "shared/err.h"

/* THREAD SAFETY (module): the handler of ctl_http01_register and the standalone server run on the
 * h2o loop thread that accepted the request and call the lookup there (fine for a lookup that does
 * not wait: tests, small deployments). The controller's gateway does not use that handler: it
 * parses and answers with ctl_http01_parse/ctl_http01_answer on its loop and runs its lookup on a
 * service thread (gateway_acme.c). ctl_http01_server_* may be called from any one thread. */

/** Longest token accepted. */
#define CTL_HTTP01_TOKEN_MAX 256

/** Finds the key authorization of `token`: 0 with *key_authorization malloc'd (caller frees),
 *  CP_ENOTFOUND when unknown, another CP_E* code on failure (answered with 503). */
typedef int (*ctl_http01_lookup_fn)(void *ctx, const char *token, char **key_authorization);

/** 1 when `token` is a non-empty base64url string of at most 256 characters. */
int ctl_http01_token_valid(const char *token, size_t len);

struct st_h2o_pathconf_t;
struct st_h2o_handler_t;
struct st_h2o_req_t;

/** Checks an HTTP-01 request: for GET or HEAD of /.well-known/acme-challenge/<valid token> copies
 * the token into `token` and returns 1; otherwise answers it (405 for other methods, 404 for a
 * malformed path or token) and returns 0. THREAD SAFETY: the request's loop thread. */
int ctl_http01_parse(struct st_h2o_req_t *req, char token[CTL_HTTP01_TOKEN_MAX + 1]);

/** Answers an HTTP-01 request from a lookup's result: 200 text/plain with `ka` (borrowed) when rc
 * is 0, 404 for CP_ENOTFOUND (or a NULL ka), 503 for other errors. THREAD SAFETY: the request's
 * loop thread. */
void ctl_http01_answer(struct st_h2o_req_t *req, int rc, const char *ka);

/** Registers the responder on `pathconf` (registered by the caller for
 * "/.well-known/acme-challenge"): GET/HEAD /.well-known/acme-challenge/<token> answers 200
 * text/plain with the key authorization, 404 for an unknown or malformed token, 405 for other
 * methods. `ctx` must outlive the configuration. Returns the h2o handler (owned by the pathconf).
 */
struct st_h2o_handler_t *ctl_http01_register(struct st_h2o_pathconf_t *pathconf,
                                             ctl_http01_lookup_fn lookup, void *ctx);

typedef struct ctl_http01_server ctl_http01_server_t;

/** Runs the responder alone on `host`:`port` (port 0: any free port) in a thread of its own, for
 * tests and small deployments. Errors: CP_EIO (bind/listen). Stop with ctl_http01_server_stop. */
int ctl_http01_server_start(const char *host, uint16_t port, ctl_http01_lookup_fn lookup, void *ctx,
                            ctl_http01_server_t **out, cp_err_t *err);

/** The port the server listens on. */
uint16_t ctl_http01_server_port(const ctl_http01_server_t *s);

/** Number of requests answered so far (any status). */
unsigned long ctl_http01_server_requests(const ctl_http01_server_t *s);

/** Stops the thread, closes the socket and frees everything; NULL is a no-op. */
void ctl_http01_server_stop(ctl_http01_server_t *s);

#endif
