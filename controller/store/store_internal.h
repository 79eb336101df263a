/* SPDX-License-Identifier: Apache-2.0 */
/* store_internal.h - what the store_*.c files share: the connection core, argument lists, scripts
 */
#ifndef CTL_STORE_INTERNAL_H
#define CTL_STORE_INTERNAL_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "controller/store/store.h"

/* Lua scripts, run with EVALSHA (EVAL after NOSCRIPT). Each one returns {status, value}: status 0
 * is success, the others are the CTL_STORE__S_* codes below. */
enum {
    CTL_STORE__LUA_CERT_PUT,
    CTL_STORE__LUA_CERT_DELETE,
    CTL_STORE__LUA_CERT_INDEX,
    CTL_STORE__LUA_CHALLENGE_SET,
    CTL_STORE__LUA_CHALLENGE_GET,
    CTL_STORE__LUA_CHALLENGE_CLEAR,
    CTL_STORE__LUA_LOCK_EXTEND,
    CTL_STORE__LUA_LOCK_RELEASE,
    CTL_STORE__LUA_LOCK_ACQUIRE,
    CTL_STORE__LUA_JOB_RECLAIM_DEAD,
    CTL_STORE__LUA_PRESENCE_CLEAR,
    CTL_STORE__LUA_VALUE_CAS,
    CTL_STORE__LUA_TICKETS_SWAP,
    /* OCSP stapling (issue 14) */
    CTL_STORE__LUA_OCSP_CLAIM,
    CTL_STORE__LUA_OCSP_PUT,
    CTL_STORE__LUA_OCSP_RESCHEDULE,
    CTL_STORE__LUA_COUNT
};

/* Script status codes (the first element of a script's reply). */
enum {
    CTL_STORE__S_OK = 0,
    CTL_STORE__S_EXISTS = 1,   /* value: 0 */
    CTL_STORE__S_MISSING = 2,  /* value: 0 */
    CTL_STORE__S_CONFLICT = 3, /* value: the stored revision */
    CTL_STORE__S_INVALID = 4,  /* value: message */
    CTL_STORE__S_STATE = 5     /* value: message */
};

/* Whether a command may be retried once on a fresh connection after an I/O error. */
/* WRITE: not repeated after an I/O error; READ: repeated once; DURABLE: a WRITE that must survive a
 * failover once acknowledged (a certificate, a job, a lock): with opts.wait_replicas, WAIT follows
 * it in the same pipeline. */
enum { CTL_STORE__WRITE = 0, CTL_STORE__READ = 1, CTL_STORE__DURABLE = 2 };

#define CTL_STORE__MAXARGS 24

/* A command's arguments; formatted ones are owned and freed by ctl_store__args_dispose(). */
typedef struct ctl_store__args {
    int argc;
    const char *argv[CTL_STORE__MAXARGS];
    size_t lens[CTL_STORE__MAXARGS];
    char *owned[CTL_STORE__MAXARGS];
} ctl_store__args_t;

struct ctl_store {
    ctl_store_url_t url;
    ctl_store_opts_t opts;
    redisContext *c;
    uint64_t epoch;                  /* ctl_store_sentinel_epoch() when c was connected */
    int64_t wait_skip_until;         /* monotonic ms: no WAIT before (no replica answered) */
    char where[300];                 /* "host:port" for messages, never the password */
    char owner[CTL_STORE_OWNER_MAX]; /* opts.owner copied; "" for anonymous locks */
    char sentinel_password[256];     /* opts.sentinel_password copied (wiped on free) */
    char sha[CTL_STORE__LUA_COUNT][41];
};

/* Script bodies, indexed by CTL_STORE__LUA_*. */
extern const char *const ctl_store__lua[CTL_STORE__LUA_COUNT];

void ctl_store__arg(ctl_store__args_t *a, const char *s);
void ctl_store__argn(ctl_store__args_t *a, const void *p, size_t n);
void ctl_store__argf(ctl_store__args_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ctl_store__args_dispose(ctl_store__args_t *a);

/* One command of a pipeline. */
typedef struct ctl_store__cmd {
    int argc;
    const char *const *argv;
    const size_t *lens;
} ctl_store__cmd_t;

#define CTL_STORE__MAXMULTI 8

/* Closes the connection (the next command reconnects). */
void ctl_store__drop(ctl_store_t *s);

/* Sends n commands in one pipeline after (re)connecting and reads the n replies into out (rc 0). A
 * READ is repeated once on a fresh connection after an I/O error; block_ms > 0 raises the socket
 * timeout by that much for these commands and disables the repeat. */
int ctl_store__pipeline(ctl_store_t *s, int kind, int block_ms, int n, const ctl_store__cmd_t *cmds,
                        redisReply **out, cp_err_t *err);

/* MULTI, the n (<= CTL_STORE__MAXMULTI) commands, EXEC in one pipeline on one connection. *exec
 * receives EXEC's array; an error reply to any command is mapped to its CP_E* code. */
int ctl_store__multi(ctl_store_t *s, int kind, int n, const ctl_store__args_t *const *cmds,
                     redisReply **exec, cp_err_t *err);

/* Runs one command (ctl_store__pipeline() with n = 1). rc 0 gives *out, which may be an error
 * reply.
 */
int ctl_store__raw(ctl_store_t *s, int kind, int block_ms, int argc, const char *const *argv,
                   const size_t *lens, redisReply **out, cp_err_t *err);

/* ctl_store__raw() on a, with error replies mapped to CP_E* codes (and freed). */
int ctl_store__call(ctl_store_t *s, int kind, int block_ms, const ctl_store__args_t *a,
                    redisReply **out, cp_err_t *err);

/* Maps an error reply to a CP_E* code with the message "redis: <error>". */
int ctl_store__reply_error(const redisReply *r, cp_err_t *err);

/* Runs script `id` with the numkeys keys and then the arguments in a. *out is the {status, value}
 * array; a status other than 0 is left to the caller (ctl_store__status()). */
int ctl_store__eval(ctl_store_t *s, int id, int kind, int numkeys, const ctl_store__args_t *a,
                    redisReply **out, cp_err_t *err);

/* Maps the status of a script reply to 0 or a CP_E* code; *value receives the integer value. */
int ctl_store__status(const redisReply *r, const char *what, int64_t *value, cp_err_t *err);

/* Helpers for replies. */
char *ctl_store__strdup_reply(const redisReply *r); /* STRING/STATUS: malloc'd copy, else NULL */
int ctl_store__strv(const redisReply *r, size_t skip_prefix, char ***names, size_t *n,
                    cp_err_t *err); /* ARRAY of strings -> malloc'd names */
int ctl_store__proto(cp_err_t *err, const char *what);
/* Runs a (disposed after) whose reply is a list of names into *names (ctl_store_strv_free). */
int ctl_store__names(ctl_store_t *s, ctl_store__args_t *a, char ***names, size_t *n, cp_err_t *err);
/* XACK and XDEL of entry `id` of `stream` for `group`, in one MULTI (idempotent). */
int ctl_store__stream_done(ctl_store_t *s, const char *stream, const char *group, const char *id,
                           cp_err_t *err);
char *ctl_store__xstrndup(const char *p, size_t n);
bool ctl_store__name_ok(const char *name);

#endif
