/* SPDX-License-Identifier: Apache-2.0 */
/* work_limits.c - rate-limit discipline before an order, shared through Redis (work_limits.h) */
#include "controller/work/work_limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "controller/store/store_ca.h"
#include "controller/work/renew.h"
#include "controller/work/work_util.h"
#include "shared/clock.h"
#include "shared/log.h"

/* A certificate refused for the cap on orders in progress waits in the provider's queue and is made
 * due when a slot frees (ctl_store_ca_order_done); this later retry (plus up to half as much again
 * at random) is only the safety net for a wake that was lost (a controller that died mid-order, a
 * deferral written just after its wake). Polling every few seconds instead made a queue of
 * thousands a retry storm of admission checks. */
#define CONCURRENT_RETRY_MS 60000
/* How long an admitted order counts as in progress beyond the ACME deadline. */
#define LEASE_SLACK_MS 60000

static void when_str(int64_t ms, char *buf, size_t size)
{
    time_t at = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&at, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "%" PRId64, ms);
}

int ctl_work__order_admit(ctl_work_thread_t *t, const char *provider, const char *account,
                          const char *name, cp_err_t *err)
{
    const ctl_config_t *cfg = t->w->cfg;
    ctl_store_ca_caps_t caps = {.orders_per_hour = cfg->acme_orders_per_hour,
                                .concurrent = cfg->acme_concurrent_orders,
                                .lease_ms = cfg->acme_timeout_ms + LEASE_SLACK_MS};
    ctl_store_ca_refusal_t why = CTL_STORE_CA_ADMITTED;
    int64_t now = cp_clock_wall_ms(), retry = 0;
    cp_err_t serr = {0};
    if (ctl_store_ca_order_admit(t->store, provider, account, name, now, &caps, &why, &retry,
                                 &serr) != 0) {
        ctl_work__log_cert(CP_LOG_WARN, "work", name, "order admission unknown (%s): ordering",
                           serr.msg);
        return 1;
    }
    if (why == CTL_STORE_CA_ADMITTED)
        return 1;
    char when[32];
    if (why == CTL_STORE_CA_CONCURRENT) {
        int64_t net =
            now + CONCURRENT_RETRY_MS + (int64_t)(ctl_renew_random() % (CONCURRENT_RETRY_MS / 2));
        retry = retry > now && retry < net ? retry : net; /* or when the oldest lease runs out */
    }
    t->defer_until_ms = retry > now ? retry : now + CONCURRENT_RETRY_MS;
    when_str(t->defer_until_ms, when, sizeof when);
    if (why == CTL_STORE_CA_RATE_LIMITED)
        cp_err_set(err, CP_EBUSY,
                   "account %s is rate limited at %s: no order before %s (deferred until then)",
                   account, provider, when);
    else if (why == CTL_STORE_CA_HOURLY_CAP)
        cp_err_set(err, CP_EBUSY,
                   "%d orders this hour at %s (--acme-orders-per-hour): deferred until %s",
                   cfg->acme_orders_per_hour, provider, when);
    else
        cp_err_set(err, CP_EBUSY,
                   "%d orders in progress at %s (--acme-concurrent-orders): deferred until %s",
                   cfg->acme_concurrent_orders, provider, when);
    return 0;
}

void ctl_work__order_done(ctl_work_thread_t *t, const char *provider, const char *name)
{
    cp_err_t err = {0};
    char woken[256]; /* a certificate name (at most 63 bytes, validate.h) */
    if (ctl_store_ca_order_done(t->store, provider, name, cp_clock_wall_ms(), woken, sizeof woken,
                                &err) != 0) {
        ctl_work__log_cert(CP_LOG_DEBUG, "work", name, "order in progress not cleared: %s",
                           err.msg);
    } else if (woken[0] != '\0') {
        ctl_work__log_cert(CP_LOG_DEBUG, "work", woken, "a slot for orders in progress is free");
        ctl_work__kick(t->w);
    }
}

int ctl_work__after_order(ctl_work_thread_t *t, const ctl_acme_t *acme, const char *provider,
                          const char *account, int rc, cp_err_t *err)
{
    int64_t until = ctl_acme_rate_limited_until(acme);
    if (rc == 0 || rc == CP_ECANCELED || until <= cp_clock_wall_ms())
        return rc;
    char when[32];
    when_str(until, when, sizeof when);
    ctl_work__share_rate_limit(t, provider, account, until);
    const char *kv[] = {"provider", provider, "account", account, "until", when, NULL};
    CP_LOGKV(CP_LOG_WARN, "work", kv, "CA rate limit: no orders for this account until %s", when);
    t->defer_until_ms = until;
    cp_err_prefix(err, "rate limited: account %s at %s held back until %s (deferred)", account,
                  provider, when);
    if (err != NULL)
        err->code = CP_EBUSY;
    return CP_EBUSY;
}

void ctl_work__share_rate_limit(ctl_work_thread_t *t, const char *provider, const char *account,
                                int64_t until_ms)
{
    cp_err_t err = {0};
    if (ctl_store_ca_ratelimit_set(t->store, provider, account, until_ms, &err) != 0)
        CP_LOG(CP_LOG_WARN, "work", "rate limit of %s at %s not shared: %s", account, provider,
               err.msg);
}

void ctl_work__note_profiles(ctl_work_thread_t *t, const ctl_acme_t *acme, const char *provider)
{
    const char *profiles = ctl_acme_profiles_get0(acme);
    cp_err_t err = {0};
    if (profiles != NULL && ctl_store_ca_profiles_put(t->store, provider, profiles, &err) != 0)
        CP_LOG(CP_LOG_DEBUG, "work", "profiles of %s not recorded: %s", provider, err.msg);
}
