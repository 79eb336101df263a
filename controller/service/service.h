/* SPDX-License-Identifier: Apache-2.0 */
/* service.h - the service core: one implementation of every certplane.v1 RPC, both transports */
#ifndef CTL_SERVICE_H
#define CTL_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/config/config.h"
#include "controller/service/watch_sink.h"
#include "controller/work/work.h"
#include "shared/err.h"

/*
 * Design decision 1: the gRPC transport (grpc_server.c) and the HTTP/JSON gateway (gateway.c) only
 * decode, call, encode. Both go through ctl_service_rpcs[], so an RPC, its scope and its errors are
 * defined once.
 *
 * Ownership: responses are malloc'd protobuf-c messages that the caller frees with
 * protobuf_c_message_free_unpacked(resp, NULL). Requests are borrowed.
 *
 * THREAD SAFETY: ctl_service_t is shared by every thread. Each transport thread owns one
 * ctl_thread_t (its own Redis connection) and passes it to every call made on that thread.
 */

typedef struct ctl_service ctl_service_t;
typedef struct ctl_thread ctl_thread_t;

/** Scopes of design decision 7. An admin token has every scope. */
enum {
    CTL_SCOPE_READ = 1,  /* Get, List, ListEdges, Watch without private keys */
    CTL_SCOPE_EDGE = 2,  /* Watch with private keys, ReportEdgeStatus */
    CTL_SCOPE_ADMIN = 7, /* everything, private keys on request */
};

/** Who is calling: the scopes of the caller's token and its address (for logs and edge reports). */
typedef struct ctl_caller {
    unsigned scopes;
    char token_id[16]; /* the token's first 4 characters and "…", for logs; never the token */
    char peer[64];
    /* SHA-256 of the token (zeros with --insecure-no-auth): tells tokens apart for per-token limits
     */
    unsigned char token_key[32];
} ctl_caller_t;

/** Per-thread state (a Redis connection). THREAD SAFETY: used by the thread that made it. */
ctl_thread_t *ctl_thread_new(ctl_service_t *svc);
void ctl_thread_free(ctl_thread_t *t);

/** The token of an Authorization value (len bytes, not NUL-terminated) of the form
 * `Bearer <token>`: the scheme in any letter case, then one or more spaces, then a non-empty token.
 * Returns a pointer into value and its length in *token_len, or NULL for any other value (the
 * caller then has no token: "missing bearer token"). Both transports parse the header with this.
 * THREAD SAFETY: pure. */
const char *ctl_service_bearer(const char *value, size_t len, size_t *token_len);

/** Checks a bearer token (NULL when the request had none) and fills *caller. Errors: CP_EAUTH
 * ("missing bearer token", "unknown token"). With --insecure-no-auth every caller is admin. THREAD
 * SAFETY: any thread. */
int ctl_service_authenticate(ctl_service_t *svc, const char *token, const char *peer,
                             ctl_caller_t *caller, cp_err_t *err);

/** Reads --api-tokens-file and --api-tokens again and replaces the token table (token rotation
 * without a restart; the controller does this on SIGHUP). *n_tokens (may be NULL) receives the new
 * count. On failure (a file that cannot be read, a bad line) the tokens in use stay and err says
 * why. THREAD SAFETY: any thread; concurrent authentications see the old or the new table, never a
 * mix. */
int ctl_service_reload_tokens(ctl_service_t *svc, size_t *n_tokens, cp_err_t *err);

/** One unary RPC. `call` validates, checks scopes beyond `scopes` (include_private_key), and
 * answers. */
typedef struct ctl_rpc {
    const char *name;      /* "GetCertificate" */
    const char *grpc_path; /* "/certplane.v1.Certificates/GetCertificate" */
    const ProtobufCMessageDescriptor *input;
    const ProtobufCMessageDescriptor *output;
    unsigned scopes; /* the caller needs all of these (CTL_SCOPE_READ, CTL_SCOPE_EDGE or
                        CTL_SCOPE_ADMIN) */
    int (*call)(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
} ctl_rpc_t;

/** Every unary RPC of certplane.v1.Certificates (Watch is ctl_service_watch). */
extern const ctl_rpc_t ctl_service_rpcs[];
extern const size_t ctl_service_n_rpcs;

/** Looks an RPC up by gRPC path or by name; NULL when unknown. THREAD SAFETY: any thread. */
const ctl_rpc_t *ctl_service_rpc_by_path(const char *grpc_path);
const ctl_rpc_t *ctl_service_rpc_by_name(const char *name);

/** Runs an RPC for a caller: checks the scopes (CP_EPERM "permission denied: needs the admin
 * scope"), then calls it. Errors are the RPC's CP_E* codes with err->msg the client-facing message.
 *  THREAD SAFETY: any thread, with its own ctl_thread_t. */
int ctl_service_invoke(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                       const ctl_rpc_t *rpc, const ProtobufCMessage *req, ProtobufCMessage **resp,
                       cp_err_t *err);

/** Starts a watch: replays events after req->from_revision, or sends a snapshot ended by
 * SNAPSHOT_END when it is 0 or older than the event history, then live events until the client
 * leaves. Private keys are included only for callers with the edge scope. On 0 the service owns the
 * sink; on error it never touched it. Errors: CP_EPERM, CP_EINVAL, CP_EUNAVAIL. THREAD SAFETY: any
 * thread, with its own t. */
int ctl_service_watch(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                      const Certplane__V1__WatchRequest *req, const ctl_watch_sink_t *sink,
                      cp_err_t *err);

/** GetCertificate from the read cache alone, for an event loop that must not wait on Redis: 1 with
 *  *resp (a key-less certificate; free with protobuf_c_message_free_unpacked) when the cache holds
 *  the current revision; 0 when the call needs Redis (a miss, or include_private_key) — then run
 *  ctl_service_invoke() on a thread that may block; a negative CP_E* when the request fails anyway
 *  (CP_EPERM without the read scope, CP_EINVAL for a bad name), with err->msg for the client. Never
 *  touches Redis. THREAD SAFETY: any thread; needs no ctl_thread_t. */
int ctl_service_get_cached(ctl_service_t *svc, const ctl_caller_t *caller,
                           const Certplane__V1__GetCertificateRequest *req,
                           Certplane__V1__Certificate **resp, cp_err_t *err);

/** The key authorization stored for HTTP-01 `token` (challenge:{token}) into *key_authorization
 *  (malloc'd; the caller frees), read with t's own connection. Errors: CP_ENOTFOUND (no such
 *  challenge), CP_EUNAVAIL and the store's other codes. THREAD SAFETY: any thread, with its own t.
 */
int ctl_service_challenge_answer(ctl_thread_t *t, const char *token, char **key_authorization);

/** Whether the controller is ready: Redis answers and the event relay follows the stream (it waits
 *  for Redis at start). THREAD SAFETY: any thread, with its own t. */
bool ctl_service_ready(ctl_service_t *svc, ctl_thread_t *t);

/* ---- lifetime (added by the service core) --------------------------------------------------- */

/** Creates the service for `cfg` (borrowed: it must outlive the service): loads the API tokens of
 *  --api-tokens-file and --api-tokens ("TOKEN SCOPE" lines with # comments; "TOKEN:SCOPE,...";
 * scopes admin, read, edge) and checks the Redis URL. Does not connect and starts no thread. *out
 * is freed with ctl_service_free(). Errors: CP_EINVAL (bad token line or scope, naming the file and
 * line but never the token; bad Redis URL), CP_EIO (tokens file unreadable). THREAD SAFETY: one
 * thread, before the service is shared. */
int ctl_service_new(const ctl_config_t *cfg, ctl_service_t **out, cp_err_t *err);

/** Starts the event relay thread (design decision 4), which begins at the end of the events stream
 *  as soon as Redis answers; Watch needs it. Does not wait for Redis: a controller may start first
 *  and is not ready (ctl_service_ready) until the relay has found the stream's end. Errors:
 *  CP_ESTATE (already started), CP_EIO (thread creation). THREAD SAFETY: the thread that made svc.
 */
int ctl_service_start(ctl_service_t *svc, cp_err_t *err);

/** Gives the service the controller's work machinery (borrowed: it must outlive the service's
 * calls), through which RolloverAccountKey reaches the CA. THREAD SAFETY: the thread that made svc,
 * before the transports start. */
void ctl_service_set_work(ctl_service_t *svc, ctl_work_t *work);

/** Stops the relay: every watcher is finished with UNAVAILABLE "controller shutting down" and
 * released. Idempotent. Call after the transports stopped calling in. THREAD SAFETY: one thread. */
void ctl_service_stop(ctl_service_t *svc);

/** ctl_service_stop() then frees the service. Every ctl_thread_t must be freed first. NULL is a
 * no-op. */
void ctl_service_free(ctl_service_t *svc);

#endif
