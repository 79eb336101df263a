/* SPDX-License-Identifier: Apache-2.0 */
/* store_internal.h - what the store_*.c files share: the connection core, argument lists, scripts
 */
#ifndef CP_STORE_INTERNAL_H
#define CP_STORE_INTERNAL_H

#include <hiredis/hiredis.h>
#include <stdbool.h>

#include "shared/store.h"

/* Lua scripts, run with EVALSHA (EVAL after NOSCRIPT). Each one returns {status, value}: status 0
 * is success, the others are the CP_STORE__S_* codes below. */
enum {
    CP_STORE__LUA_CERT_PUT,
    CP_STORE__LUA_CERT_DELETE,
    CP_STORE__LUA_CERT_INDEX,
    CP_STORE__LUA_CHALLENGE_SET,
    CP_STORE__LUA_CHALLENGE_GET,
    CP_STORE__LUA_CHALLENGE_CLEAR,
    CP_STORE__LUA_LOCK_EXTEND,
    CP_STORE__LUA_LOCK_RELEASE,
    CP_STORE__LUA_COUNT
};

/* Script status codes (the first element of a script's reply). */
enum {
    CP_STORE__S_OK = 0,
    CP_STORE__S_EXISTS = 1,   /* value: 0 */
    CP_STORE__S_MISSING = 2,  /* value: 0 */
    CP_STORE__S_CONFLICT = 3, /* value: the stored revision */
    CP_STORE__S_INVALID = 4,  /* value: message */
    CP_STORE__S_STATE = 5     /* value: message */
};

/* Whether a command may be retried once on a fresh connection after an I/O error. */
enum { CP_STORE__WRITE = 0, CP_STORE__READ = 1 };

#define CP_STORE__MAXARGS 24

/* A command's arguments; formatted ones are owned and freed by cp_store__args_dispose(). */
typedef struct cp_store__args {
    int argc;
    const char *argv[CP_STORE__MAXARGS];
    size_t lens[CP_STORE__MAXARGS];
    char *owned[CP_STORE__MAXARGS];
} cp_store__args_t;

struct cp_store {
    cp_store_url_t url;
    cp_store_opts_t opts;
    redisContext *c;
    char where[300]; /* "host:port" for messages, never the password */
    char sha[CP_STORE__LUA_COUNT][41];
};

/* Script bodies, indexed by CP_STORE__LUA_*. */
extern const char *const cp_store__lua[CP_STORE__LUA_COUNT];

void cp_store__arg(cp_store__args_t *a, const char *s);
void cp_store__argn(cp_store__args_t *a, const void *p, size_t n);
void cp_store__argf(cp_store__args_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cp_store__args_dispose(cp_store__args_t *a);

/* One command of a pipeline. */
typedef struct cp_store__cmd {
    int argc;
    const char *const *argv;
    const size_t *lens;
} cp_store__cmd_t;

#define CP_STORE__MAXMULTI 8

/* Sends n commands in one pipeline after (re)connecting and reads the n replies into out (rc 0). A
 * READ is repeated once on a fresh connection after an I/O error; block_ms > 0 raises the socket
 * timeout by that much for these commands and disables the repeat. */
int cp_store__pipeline(cp_store_t *s, int kind, int block_ms, int n, const cp_store__cmd_t *cmds,
                       redisReply **out, cp_err_t *err);

/* MULTI, the n (<= CP_STORE__MAXMULTI) commands, EXEC in one pipeline on one connection. *exec
 * receives EXEC's array; an error reply to any command is mapped to its CP_E* code. */
int cp_store__multi(cp_store_t *s, int kind, int n, const cp_store__args_t *const *cmds,
                    redisReply **exec, cp_err_t *err);

/* Runs one command (cp_store__pipeline() with n = 1). rc 0 gives *out, which may be an error reply.
 */
int cp_store__raw(cp_store_t *s, int kind, int block_ms, int argc, const char *const *argv,
                  const size_t *lens, redisReply **out, cp_err_t *err);

/* cp_store__raw() on a, with error replies mapped to CP_E* codes (and freed). */
int cp_store__call(cp_store_t *s, int kind, int block_ms, const cp_store__args_t *a,
                   redisReply **out, cp_err_t *err);

/* Maps an error reply to a CP_E* code with the message "redis: <error>". */
int cp_store__reply_error(const redisReply *r, cp_err_t *err);

/* Runs script `id` with the numkeys keys and then the arguments in a. *out is the {status, value}
 * array; a status other than 0 is left to the caller (cp_store__status()). */
int cp_store__eval(cp_store_t *s, int id, int kind, int numkeys, const cp_store__args_t *a,
                   redisReply **out, cp_err_t *err);

/* Maps the status of a script reply to 0 or a CP_E* code; *value receives the integer value. */
int cp_store__status(const redisReply *r, const char *what, int64_t *value, cp_err_t *err);

/* Helpers for replies. */
char *cp_store__strdup_reply(const redisReply *r); /* STRING/STATUS: malloc'd copy, else NULL */
int cp_store__strv(const redisReply *r, size_t skip_prefix, char ***names, size_t *n,
                   cp_err_t *err); /* ARRAY of strings -> malloc'd names */
int cp_store__proto(cp_err_t *err, const char *what);
char *cp_store__xstrndup(const char *p, size_t n);
bool cp_store__name_ok(const char *name);

#endif
