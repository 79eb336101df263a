/* SPDX-License-Identifier: Apache-2.0 */
/* http.h - certplanectl's REST client: one libcurl handle, JSON requests, NDJSON streams */
#ifndef CTL_CLI_HTTP_H
#define CTL_CLI_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "shared/err.h"

/* Errors of every function here: CP_EUNAVAIL (connection failed, HTTP 503), CP_ETIMEDOUT (the
 * request or stream timed out, HTTP 504), or the code matching the API's answer (CP_ENOTFOUND for
 * 404, CP_EAUTH for 401, CP_EINVAL for 400, ...) with the API's "message" in err.
 *
 * THREAD SAFETY: a ctl_cli_http_t is used by one thread at a time. */

/** An opaque client for one controller. */
typedef struct ctl_cli_http ctl_cli_http_t;

/** A response body (NUL-terminated, malloc'd) and its HTTP status. */
typedef struct ctl_cli_resp {
    long status;
    char *body;
    size_t len;
} ctl_cli_resp_t;

/** Called for each line of an NDJSON stream (without its '\n'; NUL-terminated). Returns 0 to go on,
 * 1 to stop the stream successfully, or a negative CP_E* code (which the stream call returns). */
typedef int (*ctl_cli_line_fn)(void *ctx, const char *line, size_t len);

/** Creates a client for `addr` ("http://host:port" or "host:port"; a trailing '/' is ignored) that
 *  sends `token` (may be NULL) as a Bearer token. The caller frees it with ctl_cli_http_free.
 *  Errors: CP_EINVAL (empty address), CP_EINTERNAL (libcurl could not start). */
int ctl_cli_http_new(const char *addr, const char *token, ctl_cli_http_t **out, cp_err_t *err);

/** Frees h; NULL is a no-op. */
void ctl_cli_http_free(ctl_cli_http_t *h);

/** Performs `method path` (path starts with '/', already escaped) with an optional JSON body. On a
 * 2xx answer returns 0 and fills resp (the caller releases it with ctl_cli_resp_dispose). Any other
 * status is an error (see the top), and resp is then empty. */
int ctl_cli_http_call(ctl_cli_http_t *h, const char *method, const char *path,
                      const char *json_body, ctl_cli_resp_t *resp, cp_err_t *err);

/** Like ctl_cli_http_call for GET, but returns 0 for any HTTP status it received (for /healthz and
 *  /readyz); only transport failures are errors. */
int ctl_cli_http_get_any(ctl_cli_http_t *h, const char *path, ctl_cli_resp_t *resp, cp_err_t *err);

/** GETs path and calls fn for each line of the answer as it arrives, until the server ends the
 *  stream (0), fn stops it (0 or fn's error), or timeout_ms passes (CP_ETIMEDOUT; 0 means none). */
int ctl_cli_http_stream(ctl_cli_http_t *h, const char *path, int64_t timeout_ms, ctl_cli_line_fn fn,
                        void *ctx, cp_err_t *err);

/** Percent-encodes s for a path segment or query value. Returns a malloc'd string the caller frees.
 */
char *ctl_cli_http_escape(ctl_cli_http_t *h, const char *s);

/** Releases resp's body and zeroes it. */
void ctl_cli_resp_dispose(ctl_cli_resp_t *resp);

/** Maps an HTTP error answer to a CP_E* code and sets err to the API's message (the "message" field
 * of its JSON body), or to "HTTP <status>" plus the start of a non-JSON body. Returns the code. */
int ctl_cli_http_error(long status, const char *body, size_t len, cp_err_t *err);

/** Maps a gRPC status code (from an error body or a stream's error line) to a CP_E* code. */
int ctl_cli_grpc_to_err(int grpc_code);

#endif
