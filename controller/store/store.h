/* SPDX-License-Identifier: Apache-2.0 */
/* store.h - the Redis storage of certplane (certificates, events, jobs, locks, challenges,
 * accounts) */
#ifndef CTL_STORE_H
#define CTL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "controller/store/keywrap.h"
#include "controller/store/redis_tls.h"
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
 * revisions. challenge:{token}           `{"token":..,"authorization":..,"expires_at":"RFC
 * 3339"[,"identifier":..]}`, TTL (3600 s). account:{provider}:{email}  account private key PEM; the
 * account URL in `account:{provider}:{email}:url`.
 *
 * Private keys at rest (the private_key_pem of cert:{name}, the value of
 * account:{provider}:{email}) are sealed with the keyring of the store's options (keywrap.h):
 * certrepo.c seals and opens certificate keys, ctl_store_account_get/put account keys; a plaintext
 * key (the seed's) reads as is. keyrotate.h re-wraps them for a new KEK.
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

/** Most sentinels one redis+sentinel:// URL may name. */
#define CTL_STORE_MAX_SENTINELS 8

typedef struct ctl_store_hostport {
    char host[256]; /* host name or IP address; IPv6 without brackets */
    int port;       /* 1..65535 */
} ctl_store_hostport_t;

/** Parsed `redis://`, `rediss://` or `redis+sentinel://` URL. */
typedef struct ctl_store_url {
    char host[256];     /* host name or IP address; IPv6 without brackets ("" with sentinels) */
    int port;           /* 1..65535, default 6379 */
    int db;             /* 0..CTL_STORE_MAX_DB, default 0 */
    char user[128];     /* ACL user, "" for none (AUTH with the password only) */
    char password[256]; /* "" for none */
    /* redis+sentinel://: the sentinels asked in turn for the address of `master` */
    ctl_store_hostport_t sentinels[CTL_STORE_MAX_SENTINELS];
    int n_sentinels; /* 0: a plain redis:// URL */
    char master[64]; /* the master's name at the sentinels */
    bool tls;        /* rediss://: TLS to Redis (redis_tls.h) */
} ctl_store_url_t;

/** Highest database index a URL may select (Redis' default `databases 16`). */
#define CTL_STORE_MAX_DB 15

typedef struct ctl_store ctl_store_t;

/** Options of ctl_store_new(); a field <= 0 takes its default. */
typedef struct ctl_store_opts {
    int connect_timeout_ms; /* default 2000 */
    int command_timeout_ms; /* default 5000: socket read/write timeout of every command */
    long events_maxlen;     /* default 100000: MAXLEN ~ of the events stream */
    /* Who holds this store's locks: "<controller-id>@<incarnation>" (see store_owner.h). A lock
     * taken under an owner whose presence key is gone may be taken over at once; NULL or "": an
     * anonymous lock, which only expiry frees. Copied. */
    const char *owner;
    /* borrowed, may be NULL (plaintext keys): seals and opens the private keys of certificate and
     * account records (keywrap.h); must outlive the store */
    const ctl_keyring_t *keyring;
    /* A certificate commit, a job or a lock waits (WAIT) until this many replicas have it, at most
     * wait_timeout_ms (default 1000); 0: no wait. A write not replicated in time still stands
     * (logged): it is lost only if the master dies before replicating it. */
    int wait_replicas;
    int wait_timeout_ms;
    /* redis+sentinel://: the sentinels' own password (requirepass), or NULL. Copied. */
    const char *sentinel_password;
    /* borrowed, needed by a rediss:// URL: the TLS settings and relay thread (redis_tls.h); must
     * outlive the store */
    ctl_redis_tls_t *tls;
} ctl_store_opts_t;

/** Creates a store for `url` (see ctl_store_url_parse()); opts NULL means defaults. Does not
 * connect: the first call that needs Redis connects. *out is owned by the caller
 * (ctl_store_free()). Errors: CP_EINVAL (bad URL or options). THREAD SAFETY: any thread. */
int ctl_store_new(const char *url, const ctl_store_opts_t *opts, ctl_store_t **out, cp_err_t *err);

/** Closes the connection and frees s (the password is wiped). NULL is a no-op. */
void ctl_store_free(ctl_store_t *s);

/** The keyring of s's options (NULL: plaintext keys). THREAD SAFETY: any thread. */
const ctl_keyring_t *ctl_store_keyring(const ctl_store_t *s);

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
    double renew_at; /* next renewal (Unix seconds) for certs:by_expiry; < 0: remove from it */
    const char
        *job_kind; /* NULL: no job; else "issue", "renew", "revoke" or "ari", enqueued atomically */
} ctl_store_cert_write_t;

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
    char *identifier; /* CHALLENGE_SET of TLS-ALPN-01: the name or address; else NULL */
} ctl_store_event_t;

/* ---- HTTP-01 challenges -------------------------------------------------------------------------
 */

/* ---- ACME accounts ------------------------------------------------------------------------------
 */

/* ---- per-certificate locks ----------------------------------------------------------------------
 */

/** Size of a lock token with its NUL: the owner (ctl_store_opts_t.owner, up to
 * CTL_STORE_OWNER_MAX - 1 characters), `|`, then 32 hex digits (128 random bits). */
#define CTL_STORE_OWNER_MAX 256
#define CTL_STORE_LOCK_TOKEN_SIZE (CTL_STORE_OWNER_MAX + 34)

/* ---- jobs ---------------------------------------------------------------------------------------
 */

/** A job taken from the `jobs` stream. name is malloc'd: ctl_store_job_dispose(). */
typedef struct ctl_store_job {
    char id[48];        /* stream entry ID */
    char kind[16];      /* "issue", "renew", "revoke", "ari" */
    char *name;         /* certificate name */
    int64_t revision;   /* certificate revision the job was enqueued for */
    int64_t deliveries; /* how many times it was delivered (1 the first time) */
} ctl_store_job_t;

/* The parts (each declares the functions of its .c file); included last, so that they see the
 * types above and users of this header keep the whole API. */
#include "controller/store/store_cert.h"
#include "controller/store/store_events.h"
#include "controller/store/store_jobs.h"
#include "controller/store/store_keys.h"
#include "controller/store/store_orders.h"
#include "controller/store/store_owner.h"
#include "controller/store/store_url.h"

#endif
