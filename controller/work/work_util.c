/* SPDX-License-Identifier: Apache-2.0 */
/* work_util.c - helpers every controller/work/ file uses: clock, sleep, lock TTL, record facts */
#include "controller/work/work_util.h"
#include "controller/store/store_webhooks.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "controller/work/renew.h"
#include "shared/clock.h"
#include "shared/log.h"

int ctl_work__stopping(ctl_work_t *w)
{
    return atomic_load(&w->stopping);
}

int ctl_work__sleep(ctl_work_t *w, int64_t ms, int wake_on_kick)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    int64_t ns = (int64_t)until.tv_nsec + (ms > 0 ? ms : 0) % 1000 * 1000000;
    until.tv_sec += (ms > 0 ? ms : 0) / 1000 + ns / 1000000000;
    until.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&w->mu);
    while (!atomic_load(&w->stopping) && !(wake_on_kick && w->kicked))
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT)
            break;
    if (wake_on_kick)
        w->kicked = 0;
    int stop = atomic_load(&w->stopping);
    pthread_mutex_unlock(&w->mu);
    return stop;
}

void ctl_work__kick(ctl_work_t *w)
{
    pthread_mutex_lock(&w->mu);
    w->kicked = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int ctl_work__lock_ttl_ms(const ctl_work_t *w)
{
    /* A margin of a tenth of the deadline (5-30 s) covers the commit after the last ACME step; the
     * hooks extend the lock at every step anyway. A controller that dies holds it this long. */
    int64_t margin = w->cfg->acme_timeout_ms / 10;
    margin = margin < 5000 ? 5000 : margin > 30000 ? 30000 : margin;
    int64_t ttl = w->cfg->acme_timeout_ms + w->cfg->challenge_propagation_ms + margin;
    return ttl > 24LL * 3600 * 1000 ? 24 * 3600 * 1000 : (int)ttl;
}

int ctl_work__redis_backoff(ctl_work_t *w, int attempt)
{
    int64_t ms = 250LL << (attempt < 3 ? attempt : 3);
    return ctl_work__sleep(w, ms, 0);
}

int64_t ctl_work__lifetime_ms(const Certplane__V1__Certificate *c)
{
    if (!ctl_work__has_cert(c) || c->not_before == NULL || c->not_after == NULL)
        return 0;
    int64_t d = cp_clock_ts_ms(c->not_after, 0) - cp_clock_ts_ms(c->not_before, 0);
    return d > 0 ? d : 0;
}

int ctl_work__has_cert(const Certplane__V1__Certificate *c)
{
    return c->fullchain_pem != NULL && c->fullchain_pem[0] != '\0';
}

int ctl_work__revoke_pending(const Certplane__V1__Certificate *c)
{
    return c->revoke_request_time != NULL && c->state != CERTPLANE__V1__STATE__REVOKED;
}

static int same_strv(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

int ctl_work__same_request(const Certplane__V1__Certificate *a, const Certplane__V1__Certificate *b)
{
    /* KEY_TYPE_UNSPECIFIED means RSA 2048 (the seed's default), so the two compare equal. */
    int ka = a->key_type == 0 ? 1 : (int)a->key_type;
    int kb = b->key_type == 0 ? 1 : (int)b->key_type;
    return ka == kb && same_strv(a->domains, a->n_domains, b->domains, b->n_domains) &&
           same_strv(a->ip_addresses, a->n_ip_addresses, b->ip_addresses, b->n_ip_addresses);
}

int64_t ctl_work__policy_renew_at(const ctl_work_t *w, const Certplane__V1__Certificate *c)
{
    int64_t nb = cp_clock_ts_ms(c->not_before, -1), na = cp_clock_ts_ms(c->not_after, -1);
    if (!ctl_work__has_cert(c) || nb < 0 || na < 0)
        return cp_clock_wall_ms();
    return ctl_renew_at_ms(c->name, nb, na, w->cfg->renew_before_ms, ctl_renew_random());
}

const char *ctl_work__state_name(int state)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&certplane__v1__state__descriptor, state);
    return v != NULL ? v->name : "?";
}

void ctl_work__log_cert(int level, const char *module, const char *name, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *kv[] = {"cert", name, NULL};
    CP_LOGKV(level, module, kv, "%s", msg);
}

void ctl_work__webhook_event(ctl_work_thread_t *t, const char *type, const char *name,
                             const char *serial, const char *error)
{
    cp_err_t err = {0};
    if (ctl_store_webhook_cert_event(t->store, type, name, serial, NULL, error, &err) != 0)
        ctl_work__log_cert(CP_LOG_WARN, "webhooks", name, "%s event not recorded: %s", type,
                           err.msg);
}
