/* SPDX-License-Identifier: Apache-2.0 */
/* store.h - the Redis storage of certplane (certificates, events, jobs, locks, challenges,
 * accounts) */
#ifndef CTL_STORE_H
#define CTL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "shared/err.h"

/*
 * Redis schema (design.md decision 2; compatible with the seed's data, which reads as is):
 *
 *   cert:{name}                 certificate JSON text. The store owns the top-level "revision"
 * field: every write stores `{"revision":"<n>",` + the caller's object without its `{`. A seed
 * record without "revision" reads as is and counts as revision 0. certs sorted set, score 0, member
 * = name: the index for paginated listing by name (ZRANGEBYLEX). Our addition to the design;
 * ctl_store_cert_index() backfills it for seed deployments (found with ctl_store_cert_scan()).
 *   certs:by_expiry             sorted set, member = name, score = next renewal time (Unix
 * seconds). events                      stream, capped with MAXLEN ~ opts.events_maxlen. One entry
 * per change, with the explicit ID `<revision>-0`; fields `type` (UPSERT, DELETE, CHALLENGE_SET,
 *                               CHALLENGE_CLEAR), `name` (certificate events), `token`,
 * `key_authorization`, `expires_at` (challenge events). Certificates are not copied into the stream
 * (no private keys there): a reader re-reads cert:{name}. jobs                        stream with
 * consumer group `controllers`; fields kind, name, revision. lock:cert:{name}            SET NX PX
 * with a random 128-bit hex token; compare-and-delete release. revision                    INCR
 * counter; every change that emits an event increments it once, so event IDs are contiguous
 * revisions. challenge:{token}           `{"token":..,"authorization":..,"expires_at":"RFC 3339"}`,
 * TTL (3600 s). account:{provider}:{email}  account private key PEM; the account URL in
 * `account:{provider}:{email}:url`.
 *
 * Every change that touches more than one key is one Lua script or one MULTI/EXEC, so it is atomic;
 * a call that fails changes nothing.
 *
 * Connection: one connection per ctl_store_t, opened on first use (AUTH, SELECT, TCP keepalive,
 * timeouts). Before each command a connection that the server closed while idle is detected and
 * replaced. An I/O error during a read is retried once on a fresh connection; a write that failed
 * in flight is not retried (it returns CP_EUNAVAIL: its revision check makes the caller's retry
 * safe). When Redis is down, calls return CP_EUNAVAIL ("redis 127.0.0.1:6379: Connection refused")
 * within the configured timeouts. SIGPIPE raised by a write to a closed socket is blocked and
 * consumed in the calling thread, so no process setup is needed.
 *
 * Ownership: strings and arrays returned through `char **` are malloc'd and the caller frees them
 * (string arrays with ctl_store_strv_free()). Out of memory aborts.
 *
 * THREAD SAFETY: a ctl_store_t is used by one thread at a time; each thread opens its own.
 */

/** Parsed `redis://` URL. */
typedef struct ctl_store_url {
    char host[256];     /* host name or IP address; IPv6 without brackets */
    int port;           /* 1..65535, default 6379 */
    int db;             /* 0..CTL_STORE_MAX_DB, default 0 */
    char user[128];     /* ACL user, "" for none (AUTH with the password only) */
    char password[256]; /* "" for none */
} ctl_store_url_t;

/** Highest database index a URL may select (Redis' default `databases 16`). */
#define CTL_STORE_MAX_DB 15

/** Parses `redis://[[user]:password@]host[:port][/db]` into out. `redis://password@host` (no colon)
 * is a password alone, as redis-cli reads it. User and password are percent-decoded; an IPv6 host
 * is written in brackets (`redis://[::1]:6380/2`). Errors: CP_EINVAL with a message that never
 * contains the password (bad scheme - `rediss://` is refused because hiredis 0.14 has no TLS -,
 * empty host, bad port, db out of range, bad percent escape, query strings, a user without a
 * password, fields too long). On failure out is zeroed. THREAD SAFETY: any thread. */
int ctl_store_url_parse(const char *url, ctl_store_url_t *out, cp_err_t *err);

typedef struct ctl_store ctl_store_t;

/** Options of ctl_store_new(); a field <= 0 takes its default. */
typedef struct ctl_store_opts {
    int connect_timeout_ms; /* default 2000 */
    int command_timeout_ms; /* default 5000: socket read/write timeout of every command */
    long events_maxlen;     /* default 100000: MAXLEN ~ of the events stream */
} ctl_store_opts_t;

/** Creates a store for `url` (see ctl_store_url_parse()); opts NULL means defaults. Does not
 * connect: the first call that needs Redis connects. *out is owned by the caller
 * (ctl_store_free()). Errors: CP_EINVAL (bad URL or options). THREAD SAFETY: any thread. */
int ctl_store_new(const char *url, const ctl_store_opts_t *opts, ctl_store_t **out, cp_err_t *err);

/** Closes the connection and frees s (the password is wiped). NULL is a no-op. */
void ctl_store_free(ctl_store_t *s);

/** Connects if needed and sends PING. Errors: CP_EUNAVAIL (unreachable, timeout, loading),
 *  CP_EAUTH ("redis: authentication failed"). THREAD SAFETY: one thread at a time per s. */
int ctl_store_ping(ctl_store_t *s, cp_err_t *err);

/** Frees n strings of v and v itself. NULL is a no-op. */
void ctl_store_strv_free(char **v, size_t n);

/* ---- certificates -------------------------------------------------------------------------------
 */

/** Write modes of ctl_store_cert_put(). */
enum {
    CTL_STORE_CREATE = 0, /* the certificate must not exist (CP_EEXIST) */
    CTL_STORE_MATCH = 1,  /* it must exist (CP_ENOTFOUND) with expected_revision (CP_ECONFLICT) */
    CTL_STORE_ANY = 2     /* create or replace unconditionally */
};

/** One certificate write. */
typedef struct ctl_store_cert_write {
    const char *name; /* certificate name, non-empty */
    const char *json; /* the record: a JSON object with >= 1 field and no top-level "revision" */
    size_t json_len;  /* 0: strlen(json) */
    int mode;         /* CTL_STORE_CREATE, CTL_STORE_MATCH or CTL_STORE_ANY */
    int64_t expected_revision; /* MATCH: the revision read; a record without revision (seed) is 0 */
    double renew_at;      /* next renewal (Unix seconds) for certs:by_expiry; < 0: remove from it */
    const char *job_kind; /* NULL: no job; else "issue", "renew" or "revoke", enqueued atomically */
} ctl_store_cert_write_t;

/** Writes a certificate in one script: checks mode and revision, increments `revision`, stores the
 * record with the new revision first, indexes it in `certs` and `certs:by_expiry`, appends an
 * UPSERT event with ID
 *  `<revision>-0` and, when job_kind is set, a job. *new_revision (may be NULL) receives the
 * revision. Errors: CP_EINVAL (bad name, mode or JSON), CP_EEXIST (CREATE on an existing one),
 * CP_ENOTFOUND (MATCH on a missing one), CP_ECONFLICT (revision differs), CP_ESTATE (events stream
 * ahead of the revision counter), CP_EUNAVAIL, CP_EAUTH. A failed call changes nothing in Redis -
 * except that a CP_EUNAVAIL may mean the write was applied before the connection broke: retry it
 * with MATCH/CREATE, never blindly. THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_put(ctl_store_t *s, const ctl_store_cert_write_t *w, int64_t *new_revision,
                       cp_err_t *err);

/** Reads cert:{name} as stored. *json (malloc'd, NUL-terminated, caller frees) and *len (may be
 * NULL). Errors: CP_EINVAL, CP_ENOTFOUND, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a
 * time per s. */
int ctl_store_cert_get(ctl_store_t *s, const char *name, char **json, size_t *len, cp_err_t *err);

/** Reads n certificates in one MGET. jsons[i] receives a malloc'd copy (the caller frees each) or
 *  NULL where the certificate is missing; on failure every jsons[i] is NULL. Errors: CP_EINVAL,
 *  CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_mget(ctl_store_t *s, const char *const *names, size_t n, char **jsons,
                        cp_err_t *err);

/** Deletes a certificate with its index entries and appends a DELETE event, in one script.
 *  expected_revision 0 deletes whatever revision is stored. *new_revision (may be NULL) receives
 * the event's revision. Errors: CP_EINVAL, CP_ENOTFOUND, CP_ECONFLICT, CP_ESTATE, CP_EUNAVAIL,
 * CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_delete(ctl_store_t *s, const char *name, int64_t expected_revision,
                          int64_t *new_revision, cp_err_t *err);

/** Lists up to `limit` names (1..10000) in byte order, strictly after `after` (NULL or "": from the
 * start), from the `certs` index. *names is a malloc'd array of malloc'd strings
 * (ctl_store_strv_free()); a page shorter than limit is the last. Errors: CP_EINVAL, CP_EUNAVAIL,
 * CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_list(ctl_store_t *s, const char *after, size_t limit, char ***names, size_t *n,
                        cp_err_t *err);

/** Adds an existing certificate to `certs` and sets (renew_at >= 0) or removes (< 0) its
 * certs:by_expiry entry, without a new revision or event: the backfill for seed data. Errors:
 * CP_EINVAL, CP_ENOTFOUND (no cert:{name}), CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a
 * time per s. */
int ctl_store_cert_index(ctl_store_t *s, const char *name, double renew_at, cp_err_t *err);

/** One step of SCAN over cert:* keys (start with cursor 0; done when *next is 0). *names receives
 * the names without the `cert:` prefix (ctl_store_strv_free()); SCAN may return a name twice.
 *  Errors: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_cert_scan(ctl_store_t *s, uint64_t cursor, uint64_t *next, char ***names, size_t *n,
                        cp_err_t *err);

/** Names whose renewal time is <= now, earliest first, at most limit (1..10000)
 * (ctl_store_strv_free()). Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a
 * time per s. */
int ctl_store_due(ctl_store_t *s, double now, size_t limit, char ***names, size_t *n,
                  cp_err_t *err);

/** Earliest renewal time in certs:by_expiry, or -1 when it is empty.
 *  Errors: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_next_due(ctl_store_t *s, double *when, cp_err_t *err);

/** Current value of the `revision` counter (0 when unset). Errors: CP_EUNAVAIL, CP_EAUTH,
 * CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_revision(ctl_store_t *s, int64_t *rev, cp_err_t *err);

/* ---- events -------------------------------------------------------------------------------------
 */

/** One entry of the events stream; the strings are malloc'd, NULL when the field is absent. */
typedef struct ctl_store_event {
    int64_t revision;
    char *type; /* "UPSERT", "DELETE", "CHALLENGE_SET", "CHALLENGE_CLEAR" */
    char *name;
    char *token;
    char *key_authorization;
    char *expires_at;
} ctl_store_event_t;

/** Reads up to max (1..10000) events with revision > after_revision, oldest first. With block_ms >
 * 0 and nothing newer, waits up to block_ms for one (the socket timeout is raised meanwhile); 0
 * does not wait. *out is a malloc'd array (ctl_store_events_free()), NULL when *n is 0. A blocking
 * read that fails in flight is not retried. Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH, CP_EPROTO.
 *  THREAD SAFETY: one thread at a time per s. */
int ctl_store_events_read(ctl_store_t *s, int64_t after_revision, size_t max, int block_ms,
                          ctl_store_event_t **out, size_t *n, cp_err_t *err);

/** Revision of the oldest event still in the stream, 0 when it is empty. Event IDs are contiguous,
 * so a replay after revision R is complete when R >= first - 1; otherwise R is too old (send a
 * snapshot). Errors: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per s.
 */
int ctl_store_events_first(ctl_store_t *s, int64_t *first_revision, cp_err_t *err);

/** Frees n events and the array. NULL is a no-op. */
void ctl_store_events_free(ctl_store_event_t *ev, size_t n);

/* ---- HTTP-01 challenges -------------------------------------------------------------------------
 */

/** Stores challenge:{token} in the seed's JSON format with a TTL (ttl_s <= 0: 3600 s) and appends a
 *  CHALLENGE_SET event (token, key_authorization, expires_at), in one script. *rev (may be NULL)
 * receives the event's revision. Edges expire challenges by expires_at: a TTL expiry emits no
 * event. Errors: CP_EINVAL, CP_ESTATE, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time
 * per s. */
int ctl_store_challenge_set(ctl_store_t *s, const char *token, const char *key_authorization,
                            int ttl_s, int64_t *rev, cp_err_t *err);

/** The key authorization of challenge:{token} (malloc'd, caller frees); reads seed records too.
 *  Errors: CP_EINVAL, CP_ENOTFOUND, CP_EPROTO (not the expected JSON), CP_EUNAVAIL, CP_EAUTH.
 *  THREAD SAFETY: one thread at a time per s. */
int ctl_store_challenge_get(ctl_store_t *s, const char *token, char **key_authorization,
                            cp_err_t *err);

/** Deletes challenge:{token} (absent is fine: it may have expired) and appends a CHALLENGE_CLEAR
 * event. Errors: CP_EINVAL, CP_ESTATE, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time
 * per s. */
int ctl_store_challenge_clear(ctl_store_t *s, const char *token, int64_t *rev, cp_err_t *err);

/* ---- ACME accounts ------------------------------------------------------------------------------
 */

/** Reads the account key PEM and URL (both malloc'd, caller frees; *account_url is NULL when only
 * the key is stored, as in seed data; account_url may be NULL). Errors: CP_EINVAL, CP_ENOTFOUND,
 * CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_account_get(ctl_store_t *s, const char *provider, const char *email, char **key_pem,
                          char **account_url, cp_err_t *err);

/** Writes the account key PEM and URL (NULL: no URL, an old one is removed) in one MULTI/EXEC.
 *  Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_account_put(ctl_store_t *s, const char *provider, const char *email,
                          const char *key_pem, const char *account_url, cp_err_t *err);

/* ---- per-certificate locks ----------------------------------------------------------------------
 */

/** Size of a lock token with its NUL: 32 hex digits (128 random bits). */
#define CTL_STORE_LOCK_TOKEN_SIZE 33

/** Takes lock:cert:{name} for ttl_ms with a fresh random token written to `token`.
 *  Errors: CP_EINVAL, CP_EBUSY (held by someone), CP_EIO (no randomness), CP_EUNAVAIL, CP_EAUTH.
 *  THREAD SAFETY: one thread at a time per s. */
int ctl_store_lock_acquire(ctl_store_t *s, const char *name, int ttl_ms,
                           char token[CTL_STORE_LOCK_TOKEN_SIZE], cp_err_t *err);

/** Sets the lock's TTL to ttl_ms if it is still held with token. Errors: CP_EINVAL, CP_ESTATE
 * (lost: expired or taken by another), CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one thread at a time
 * per s. */
int ctl_store_lock_extend(ctl_store_t *s, const char *name, const char *token, int ttl_ms,
                          cp_err_t *err);

/** Deletes the lock if it is still held with token (compare-and-delete). Errors: CP_EINVAL,
 * CP_ESTATE (not held with this token; nothing deleted), CP_EUNAVAIL, CP_EAUTH. THREAD SAFETY: one
 * thread at a time. */
int ctl_store_lock_release(ctl_store_t *s, const char *name, const char *token, cp_err_t *err);

/* ---- jobs ---------------------------------------------------------------------------------------
 */

/** A job taken from the `jobs` stream. name is malloc'd: ctl_store_job_dispose(). */
typedef struct ctl_store_job {
    char id[48];        /* stream entry ID */
    char kind[16];      /* "issue", "renew", "revoke" */
    char *name;         /* certificate name */
    int64_t revision;   /* certificate revision the job was enqueued for */
    int64_t deliveries; /* how many times it was delivered (1 the first time) */
} ctl_store_job_t;

/** Creates the consumer group `controllers` on `jobs` (MKSTREAM); an existing group is fine.
 *  Errors: CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_jobs_init(ctl_store_t *s, cp_err_t *err);

/** Appends a job (kind issue|renew|revoke). Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH.
 *  THREAD SAFETY: one thread at a time per s. */
int ctl_store_job_enqueue(ctl_store_t *s, const char *kind, const char *name, int64_t revision,
                          cp_err_t *err);

/** Takes the next new job for `consumer` (XREADGROUP ... >), waiting up to block_ms (0: no wait).
 * Creates the group when it is missing. job is filled on success only. Errors: CP_EINVAL,
 * CP_ETIMEDOUT (no job), CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per
 * s. */
int ctl_store_job_read(ctl_store_t *s, const char *consumer, int block_ms, ctl_store_job_t *job,
                       cp_err_t *err);

/** Claims one job another consumer took and has not acknowledged for min_idle_ms (XAUTOCLAIM COUNT
 * 1). job is filled on success only. Errors: CP_EINVAL, CP_ENOTFOUND (none), CP_EUNAVAIL, CP_EAUTH,
 * CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_job_reclaim(ctl_store_t *s, const char *consumer, int min_idle_ms,
                          ctl_store_job_t *job, cp_err_t *err);

/** Acknowledges and deletes a job (XACK + XDEL in one MULTI/EXEC). Errors: CP_EINVAL, CP_EUNAVAIL,
 *  CP_EAUTH. THREAD SAFETY: one thread at a time per s. */
int ctl_store_job_ack(ctl_store_t *s, const ctl_store_job_t *job, cp_err_t *err);

/** Frees job->name and zeroes job. NULL is a no-op. */
void ctl_store_job_dispose(ctl_store_job_t *job);

#endif
