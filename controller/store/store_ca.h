/* SPDX-License-Identifier: Apache-2.0 */
/* store_ca.h - what every controller knows of each CA: rate limits of an account, the order caps
 * of a provider, the profiles its directory offers (issue #12) */
#ifndef CTL_STORE_CA_H
#define CTL_STORE_CA_H

#include <stdint.h>

#include "shared/err.h"

/*
 * Keys (provider: the CA's directory URL; account: the ACME account's email, "-" for none):
 *   ratelimit:{provider}:{account}  string: until when (wall ms) the CA refuses the account's
 *                                   orders; PEXPIREAT that time. Only ever extended.
 *   orders:{provider}:{hour}        orders started in that wall-clock hour (INCR), expires after
 *                                   two hours: fixed hour buckets.
 *   inflight:{provider}             sorted set: an order in progress -> the end of its lease (ms);
 *                                   a member whose lease has passed (its controller died) no
 *                                   longer counts.
 *   ca:profiles:{provider}          the names the directory's meta.profiles offers,
 * space-separated, for a day after a controller last fetched the directory. Shared by every
 * controller on the Redis, so the limits hold across them.
 *
 * THREAD SAFETY: one thread at a time per ctl_store_t (as the whole store).
 */

typedef struct ctl_store ctl_store_t;

/** Records that the CA refuses (provider, account) orders until until_ms (wall ms). A later time
 * already recorded is kept. Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. */
int ctl_store_ca_ratelimit_set(ctl_store_t *s, const char *provider, const char *account,
                               int64_t until_ms, cp_err_t *err);

/** Until when (wall ms) (provider, account) is rate limited, into *until_ms: 0 when it is not (at
 * now_ms). Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. */
int ctl_store_ca_ratelimit_get(ctl_store_t *s, const char *provider, const char *account,
                               int64_t now_ms, int64_t *until_ms, cp_err_t *err);

/** The caps a new order must pass; 0 in a field: no cap. */
typedef struct ctl_store_ca_caps {
    int64_t orders_per_hour; /* orders started per wall-clock hour at the provider */
    int64_t concurrent;      /* orders in progress at once at the provider */
    int64_t lease_ms;        /* how long an admitted order counts as in progress at most */
} ctl_store_ca_caps_t;

/** Why an order was not admitted (ctl_store_ca_order_admit). */
typedef enum ctl_store_ca_refusal {
    CTL_STORE_CA_ADMITTED = 0,
    CTL_STORE_CA_RATE_LIMITED = 1, /* the account is rate limited by the CA */
    CTL_STORE_CA_HOURLY_CAP = 2,   /* the provider's orders of this hour reached the cap */
    CTL_STORE_CA_CONCURRENT = 3,   /* the provider's orders in progress reached the cap */
} ctl_store_ca_refusal_t;

/** Before a newOrder for (provider, account): checks, in one script, the account's rate limit, the
 * provider's hourly cap and its cap on orders in progress; when all pass, counts the order in this
 * hour and records `member` (the certificate name) in progress until now + lease. *refusal tells
 * which check failed and *retry_at_ms (wall ms) when to try again: the end of the rate limit, the
 * next hour, or the earliest lease end among the orders in progress. 0 either way (a refusal is
 * not an error). Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. */
int ctl_store_ca_order_admit(ctl_store_t *s, const char *provider, const char *account,
                             const char *member, int64_t now_ms, const ctl_store_ca_caps_t *caps,
                             ctl_store_ca_refusal_t *refusal, int64_t *retry_at_ms, cp_err_t *err);

/** The order of `member` at provider is no longer in progress. A certificate refused for the cap
 * on orders in progress waits in a per-provider queue (oldest first); the freed slot goes to the
 * oldest one: its renewal index entry is made due at now_ms (moved earlier only) and its name is
 * copied to woken ("" when none waits), so the caller can wake its scheduler instead of every
 * waiter polling. Errors: CP_EINVAL, CP_EUNAVAIL. */
int ctl_store_ca_order_done(ctl_store_t *s, const char *provider, const char *member,
                            int64_t now_ms, char *woken, size_t woken_size, cp_err_t *err);

/** Records the profiles provider's directory offers (space-separated names, "" for none) for a
 * day. Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. */
int ctl_store_ca_profiles_put(ctl_store_t *s, const char *provider, const char *profiles,
                              cp_err_t *err);

/** The profiles last recorded for provider (malloc'd, space-separated), or CP_ENOTFOUND when no
 * controller fetched its directory in the last day. Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. */
int ctl_store_ca_profiles_get(ctl_store_t *s, const char *provider, char **profiles, cp_err_t *err);

#endif
