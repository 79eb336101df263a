/* SPDX-License-Identifier: Apache-2.0 */
/* work_limits.h - rate-limit discipline before an order: the account's rate limit at its CA and
 * the provider's caps, shared through Redis (store_ca.h); the profiles a CA offers */
#ifndef CTL_WORK_LIMITS_H
#define CTL_WORK_LIMITS_H

#include <stdint.h>

#include "controller/acme/acme.h"
#include "controller/work/work_types.h"
#include "shared/err.h"

/*
 * provider is the CA's directory URL, account the stored account email
 * (ctl_work_acme_account_email). A rate limit met at the CA (429, rateLimited) belongs to the
 * account at that CA: recorded in Redis until its Retry-After, it holds back every order of that
 * account on every controller, and the certificates that wait are deferred (not failed) until then.
 *
 * THREAD SAFETY: t's thread.
 */

/** Asks Redis whether an order for `name` may start now (ctl_store_ca_order_admit with the caps of
 * --acme-orders-per-hour and --acme-concurrent-orders). 1 when admitted (call ctl_work__order_done
 * after the order), 0 when refused: then CP_EBUSY is in err with the reason and t->defer_until_ms
 * set. When Redis cannot tell, the order goes ahead (1): the CA enforces its own limits. */
int ctl_work__order_admit(ctl_work_thread_t *t, const char *provider, const char *account,
                          const char *name, cp_err_t *err);

/** Ends what ctl_work__order_admit started for `name`. */
void ctl_work__order_done(ctl_work_thread_t *t, const char *provider, const char *name);

/** After an issuance by `acme` that failed with rc: when the CA rate limited the account, records
 * the limit in Redis, sets t->defer_until_ms and returns CP_EBUSY (err prefixed with the deferral);
 * otherwise returns rc unchanged. */
int ctl_work__after_order(ctl_work_thread_t *t, const ctl_acme_t *acme, const char *provider,
                          const char *account, int rc, cp_err_t *err);

/** Records in Redis that (provider, account) is rate limited at its CA until until_ms, for every
 * worker of every controller (a later time already recorded stays); a failure is logged. */
void ctl_work__share_rate_limit(ctl_work_thread_t *t, const char *provider, const char *account,
                                int64_t until_ms);

/** Records the profiles acme's directory offers, when it was fetched, for the create-time check of
 * every controller. */
void ctl_work__note_profiles(ctl_work_thread_t *t, const ctl_acme_t *acme, const char *provider);

#endif
