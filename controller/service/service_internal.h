/* SPDX-License-Identifier: Apache-2.0 */
/* service_internal.h - what the service_*.c files share: the service object, helpers, the RPCs */
#ifndef CTL_SERVICE_INTERNAL_H
#define CTL_SERVICE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "controller/config/config.h"
#include "controller/service/relay.h"
#include "controller/service/service.h"
#include "controller/store/certcache.h"
#include "controller/store/store.h"

/* A configured bearer token, kept as its SHA-256 so comparisons take the same time whatever
 * matches. */
typedef struct ctl_service__token {
    unsigned char digest[32];
    unsigned scopes;
    char id[16]; /* first 4 characters and "…", for logs */
} ctl_service__token_t;

/* A loaded token table. */
typedef struct ctl_service__tokens {
    ctl_service__token_t *v;
    size_t n;
} ctl_service__tokens_t;

struct ctl_service {
    const ctl_config_t *cfg; /* borrowed: outlives the service */
    ctl_store_opts_t store_opts;
    /* Replaced as a whole by ctl_service_reload_tokens (SIGHUP); read under the lock's read side.
     */
    pthread_rwlock_t tokens_lock;
    ctl_service__tokens_t tokens;
    ctl_relay_t *relay; /* NULL until ctl_service_start() */
    /* Key-less certificates for GetCertificate, kept current by the relay (certcache.h). */
    ctl_certcache_t *cache;
};

struct ctl_thread {
    ctl_service_t *svc;
    ctl_store_t *store;
};

/* How often a write that lost a revision race (CP_ECONFLICT) is re-read and retried. */
#define CTL_SERVICE__RETRIES 5

/* Parses the tokens of --api-tokens-file and --api-tokens and, when all of them parse, replaces
 * svc->tokens with them; on failure the tokens in use stay. */
int ctl_service__tokens_load(ctl_service_t *svc, cp_err_t *err);

/* Current time: Unix milliseconds, and as a new Timestamp (malloc'd, for a message). */
int64_t ctl_service__now_ms(void);
Google__Protobuf__Timestamp *ctl_service__timestamp(int64_t ms);

/* Replaces a string field of such a message (freeing the old value unless it is the empty default).
 */
void ctl_service__set_string(char **field, const char *value);

/* Deep copy of a certificate, through pack/unpack. */
Certplane__V1__Certificate *ctl_service__cert_dup(const Certplane__V1__Certificate *c);

/* Replaces private_key_pem with "" (response to a caller without the right to see it). */
void ctl_service__strip_key(Certplane__V1__Certificate *c);

/* Maps a store failure to what the client sees: Redis trouble (also AUTH) is CP_EUNAVAIL with the
 * store's message; what a validated request should never meet (CP_EINVAL, CP_ESTATE, CP_EPROTO) is
 * CP_EINTERNAL; other codes pass. Returns the code, also set in err. */
int ctl_service__store_fail(int rc, cp_err_t *err);

/* Reads and decodes cert:{name}. Errors: CP_ENOTFOUND ("certificate \"x\" not found"), CP_EUNAVAIL,
 * CP_EINTERNAL (a record that is not a certificate). */
int ctl_service__cert_load(ctl_thread_t *t, const char *name, Certplane__V1__Certificate **out,
                           cp_err_t *err);

/* Encodes c and writes it with ctl_store_cert_put(); c->revision receives the new revision. */
int ctl_service__cert_store(ctl_thread_t *t, Certplane__V1__Certificate *c, int mode,
                            int64_t expected, double renew_at, const char *job, cp_err_t *err);

/* Checks a name field with ctl_validate_cert_name(): CP_EINVAL "<field>: ...". */
int ctl_service__check_name(const char *field, const char *name, cp_err_t *err);

/* Checks an edge identity: 1-253 characters of [A-Za-z0-9._-]. CP_EINVAL "edge_id: ...". */
int ctl_service__check_edge_id(const char *id, cp_err_t *err);

/* Renewal time (Unix seconds) of a certificate valid from nb to na (Unix seconds): --renew-before
 * when set, else when a third of the lifetime remains (half under 10 days). */
double ctl_service__renew_at(const ctl_service_t *svc, int64_t nb, int64_t na);

/* The unary RPCs. */
int ctl_service__create(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__get(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                     const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__list(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                      const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__delete(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__renew(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                       const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__revoke(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__import(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__report_edge(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                             const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__list_edges(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                            const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);

#endif
