/* SPDX-License-Identifier: Apache-2.0 */
/* sim_model.c - the renewal simulation's model of the controller and the CAs (sim_model.h).
 *
 * What is REAL here: every renewal decision is made by controller/work/renew.c, called as the
 * controller calls it: ctl_renew_at_ms() after an issuance (work_job.c apply_result),
 * ctl_renew_ari_at_ms() and ctl_renew_ari_poll_ms() on an issuance and on each renewalInfo poll
 * (work_ari.c ctl_work__ari_apply), ctl_renew_retry_at_ms() after a failed order (work_job.c).
 *
 * What is MODELLED (it is not a function that can be called without Redis, threads or a CA):
 * - the scheduler (work_sched.c): certs:by_expiry is the event heap; a due entry becomes an "ari"
 *   poll when its renewal time is still ahead, else a "renew" job on a FIFO (the jobs stream);
 * - the order admission (the Lua script lua_admit in controller/store/store_ca.c, called by
 *   work_limits.c): the account's rate limit first, then the concurrent-order cap, then the
 *   per-provider cap per clock hour (orders:{p}:{hour}); refusals defer without a failure, retrying
 *   at the limit's end, the next hour, or 3-6 s later (work_limits.c CONCURRENT_RETRY_MS);
 * - a 429 with Retry-After recorded for the whole account at that CA (work_limits.c
 *   ctl_work__after_order + ctl_work__share_rate_limit);
 * - the FAILOVER between issuers, which is not on main yet (wip/providers): issue #12 item 4, "when
 *   the first fails in a way that retrying will not fix soon (unreachable for longer than a bound,
 *   rate-limited with a Retry-After beyond the certificate's safety margin), the next one issues
 *   it". Here: while the primary has been unreachable for longer than --failover-bound, orders go
 * to the fallback, except one probe of the primary every PROBE_MS (that is how issuance returns to
 *   the primary after the outage);
 * - the CAs: the primary offers ARI (windows below), the fallback offers none (so the lifetime rule
 *   of ctl_renew_at_ms() decides for what it issued); issuance takes a random latency.
 */
#include "tests/sim/sim_model.h"

#include <inttypes.h>
#include <stdio.h>

#include "shared/mem.h"

/* The failover model probes an unreachable primary this often (one order). */
#define PROBE_MS (10 * SIM_MIN)
/* work_limits.c: a refusal for orders in progress retries in 3 s plus up to 3 s. */
#define CONCURRENT_RETRY_MS 3000

static void cert_name(int id, char *buf, size_t size)
{
    snprintf(buf, size, "sim%05d.example.test", id);
}

static int in_range(int64_t t, int64_t a, int64_t b)
{
    return t >= a && t < b;
}

void sim_times_push(sim_times_t *t, int64_t v)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->v = cp_xrealloc(t->v, t->cap * sizeof(*t->v));
    }
    t->v[t->n++] = v;
}

void sim_ca_fractions(int64_t life_ms, double *start, double *end)
{
    /* The primary CA's suggestion, in the spirit of Let's Encrypt's: about two thirds of the
     * lifetime for long certificates, about half for short-lived ones. */
    int is_short = life_ms < CTL_RENEW_SHORT_LIFETIME_MS;
    *start = is_short ? 0.45 : 0.62;
    *end = is_short ? 0.50 : 0.66;
}

/* The CA's renewalInfo for the served certificate: moved to "now" by the mass revocation. */
static void ca_window(const sim_cert_t *c, ctl_renew_window_t *out)
{
    if (c->revoked_at >= 0) {
        out->start_ms = c->revoked_at - SIM_HOUR;
        out->end_ms = c->revoked_at;
        return;
    }
    double a, b;
    sim_ca_fractions(c->life_ms, &a, &b);
    out->start_ms = c->nb + (int64_t)(a * (double)c->life_ms);
    out->end_ms = c->nb + (int64_t)(b * (double)c->life_ms);
}

static int ca_reachable(const sim_world_t *w, int p)
{
    return p != SIM_PRIMARY || !in_range(w->now, w->outage_start, w->outage_end);
}

/* certs:by_expiry: the newest score of a name replaces the older one (ZADD). */
static void index_at(sim_world_t *w, int id, int64_t at)
{
    sim_cert_t *c = &w->c[id];
    c->gen++;
    sim_heap_push(&w->heap, at > w->now ? at : w->now, SIM_EV_DUE, id, c->gen);
}

int64_t sim_after_issue(sim_world_t *w, int id)
{
    sim_cert_t *c = &w->c[id];
    char name[40];
    cert_name(id, name, sizeof name);
    /* REAL: work_job.c apply_result, then ctl_work__ari_apply when the CA offers ARI. */
    int64_t at = ctl_renew_at_ms(name, c->nb, c->na, w->cfg.renew_before_ms, sim_rand(&w->rng));
    c->next_poll = -1;
    c->have_win = 0;
    c->renew_at = at;
    if (c->issuer != SIM_PRIMARY || w->cfg.ignore_ari)
        return at;
    ca_window(c, &c->win);
    c->have_win = 1;
    c->renew_at = ctl_renew_ari_at_ms(&c->win, NULL, -1, sim_rand(&w->rng));
    c->next_poll = w->now + ctl_renew_ari_poll_ms(w->cfg.ari_retry_after_s, 0, 0);
    return c->renew_at < c->next_poll ? c->renew_at : c->next_poll;
}

/* One renewalInfo poll (an "ari" job; cheap next to an order, so done at once). */
static void ari_poll(sim_world_t *w, int id)
{
    sim_cert_t *c = &w->c[id];
    int64_t next;
    w->polls++;
    if (!ca_reachable(w, c->issuer)) {
        /* REAL: a failed poll keeps the last window and its choice, asks again at the minimum. */
        next = w->now + ctl_renew_ari_poll_ms(0, 0, 0);
    } else {
        ctl_renew_window_t win;
        ca_window(c, &win);
        c->renew_at =
            ctl_renew_ari_at_ms(&win, c->have_win ? &c->win : NULL, c->renew_at, sim_rand(&w->rng));
        c->win = win;
        c->have_win = 1;
        next = w->now + ctl_renew_ari_poll_ms(w->cfg.ari_retry_after_s, 0, 0);
    }
    c->next_poll = next;
    index_at(w, id, c->renew_at < next ? c->renew_at : next);
}

void sim_on_due(sim_world_t *w, const sim_ev_t *ev)
{
    sim_cert_t *c = &w->c[ev->id];
    if (ev->gen != c->gen || c->busy)
        return; /* replaced by a later score */
    if (c->next_poll >= 0 && c->renew_at > w->now) {
        ari_poll(w, ev->id);
        return;
    }
    c->busy = 1;
    c->gen++; /* leased: the entry is the job's until it ends */
    if (in_range(w->now, w->outage_start, w->outage_end) && !c->outage_due) {
        c->outage_due = 1;
        w->due_in_outage++;
    }
    w->queue[w->qtail] = ev->id;
    w->qtail = (w->qtail + 1) % ((size_t)w->cfg.certs + 1);
    size_t len = (w->qtail + (size_t)w->cfg.certs + 1 - w->qhead) % ((size_t)w->cfg.certs + 1);
    if ((int64_t)len > w->max_queue)
        w->max_queue = (int64_t)len;
}

/* MODEL of lua_admit (store_ca.c): 0 admitted, else 1 rate limited, 2 hourly cap, 3 concurrent. */
static int admit(sim_world_t *w, int p, int account, int64_t *retry)
{
    sim_prov_t *v = &w->prov[p];
    if (v->rl_until[account] > w->now) {
        *retry = v->rl_until[account];
        return 1;
    }
    if (w->cfg.concurrent > 0 && v->inflight >= w->cfg.concurrent) {
        *retry = w->now + CONCURRENT_RETRY_MS + (int64_t)(sim_rand(&w->rng) % CONCURRENT_RETRY_MS);
        return 3;
    }
    int64_t hour = w->now / SIM_HOUR;
    if (hour != v->hour) {
        v->hour = hour;
        v->orders = 0;
    }
    if (w->cfg.orders_per_hour > 0 && v->orders >= w->cfg.orders_per_hour) {
        *retry = (hour + 1) * SIM_HOUR;
        return 2;
    }
    if (++v->orders > v->peak_hour)
        v->peak_hour = v->orders;
    v->inflight++;
    sim_times_push(&v->admitted, w->now);
    return 0;
}

/* MODEL of the failover policy (wip/providers, not on main): see the top of the file. */
static int choose_issuer(const sim_world_t *w, const sim_cert_t *c)
{
    const sim_prov_t *p = &w->prov[SIM_PRIMARY];
    if (w->cfg.no_failover)
        return SIM_PRIMARY;
    /* Rate limited beyond the certificate's safety margin (its last 10 %): the next CA. */
    if (p->rl_until[c->account] > c->na - c->life_ms / 10)
        return SIM_FALLBACK;
    if (p->down_since < 0 || w->now - p->down_since <= w->cfg.failover_bound_ms)
        return SIM_PRIMARY;
    return w->now - p->last_try >= PROBE_MS ? SIM_PRIMARY : SIM_FALLBACK;
}

/* The CA's answer to an order sent now: result, how long it takes, Retry-After of a 429. */
static int ca_order(sim_world_t *w, int p, const sim_cert_t *c, int64_t *dur, int64_t *retry)
{
    sim_prov_t *v = &w->prov[p];
    const sim_cfg_t *g = &w->cfg;
    v->last_try = w->now;
    *dur = g->latency_min_ms +
           (int64_t)(sim_rand(&w->rng) % (uint64_t)(g->latency_max_ms - g->latency_min_ms + 1));
    if (!ca_reachable(w, p)) {
        if (v->down_since < 0)
            v->down_since = w->now;
        *dur = g->unreachable_ms;
        return SIM_FAIL;
    }
    v->down_since = -1;
    if (p == SIM_PRIMARY && c->account == g->rl_account &&
        in_range(w->now, w->rl_start, w->rl_end)) {
        if (w->first_429 >= 0)
            w->rl_orders_after_429++; /* the account's limit was known and not honoured */
        *retry = w->rl_end;
        *dur = g->latency_min_ms;
        return SIM_RATELIMITED;
    }
    return sim_unit(&w->rng) < g->fail_rate ? SIM_FAIL : SIM_OK;
}

void sim_start_job(sim_world_t *w, int id)
{
    sim_cert_t *c = &w->c[id];
    int p = choose_issuer(w, c);
    int64_t retry = 0, dur = 0;
    int why = admit(w, p, c->account, &retry);
    if (why != 0) { /* deferred, not failed: the worker is free at once */
        w->deferred_ratelimit += why == 1;
        w->deferred_cap += why == 2;
        w->deferred_concurrent += why == 3;
        c->busy = 0;
        index_at(w, id, retry);
        return;
    }
    w->orders++;
    w->free_workers--;
    c->pending = ca_order(w, p, c, &dur, &c->pending_retry_ms);
    c->pending_prov = p;
    sim_heap_push(&w->heap, w->now + dur, SIM_EV_DONE, id, 0);
}

/* A new certificate replaces the served one; the old one is judged at the moment it goes. */
static void serve_new(sim_world_t *w, int id, int p)
{
    sim_cert_t *c = &w->c[id];
    if (w->now > c->na)
        c->expired = 1;
    if (w->now > c->na - c->life_ms / 10) {
        c->bad10 = 1;
        if (w->cfg.verbose)
            printf("late: certificate %d (lifetime %.0f h) renewed on day %.2f, %.1f h before its "
                   "end, after %" PRId64 " failed orders\n",
                   id, (double)c->life_ms / SIM_HOUR, (double)(w->now - SIM_T0) / SIM_DAY,
                   (double)(c->na - w->now) / SIM_HOUR, c->failures);
    }
    if (c->revoked_at >= 0)
        sim_times_push(&w->revoke_delay, w->now - c->revoked_at);
    c->revoked_at = -1;
    c->nb = w->now;
    c->na = w->now + c->life_ms;
    c->renewals++;
    c->issuer = p;
    c->failures = 0;
    w->prov[p].issued++;
    if (in_range(w->now, w->outage_start, w->outage_end))
        w->prov[p].issued_in_outage++;
    if (c->outage_due && p == SIM_FALLBACK && w->now < w->outage_end)
        w->renewed_in_outage_by_fallback++;
    c->outage_due = 0;
    index_at(w, id, sim_after_issue(w, id));
}

void sim_on_done(sim_world_t *w, const sim_ev_t *ev)
{
    sim_cert_t *c = &w->c[ev->id];
    int p = c->pending_prov;
    w->prov[p].inflight--; /* ctl_work__order_done */
    w->free_workers++;
    c->busy = 0;
    if (c->pending == SIM_OK) {
        serve_new(w, ev->id, p);
    } else if (c->pending == SIM_RATELIMITED) {
        /* MODEL of ctl_work__after_order: the limit is the account's, shared, and defers. */
        if (c->pending_retry_ms > w->prov[p].rl_until[c->account])
            w->prov[p].rl_until[c->account] = c->pending_retry_ms;
        if (w->first_429 < 0)
            w->first_429 = w->now;
        index_at(w, ev->id, c->pending_retry_ms);
    } else {
        c->failures++;
        w->failures++;
        /* REAL: work_job.c apply_result's back-off. */
        index_at(w, ev->id,
                 ctl_renew_retry_at_ms(w->now, c->failures, c->life_ms, sim_rand(&w->rng)));
    }
}

void sim_on_revoke(sim_world_t *w)
{
    for (int i = 0; i < w->cfg.certs; i++)
        if (w->c[i].revoke_target)
            w->c[i].revoked_at = w->now;
}

void sim_kick_workers(sim_world_t *w)
{
    while (w->free_workers > 0 && w->qhead != w->qtail) {
        int id = w->queue[w->qhead];
        w->qhead = (w->qhead + 1) % ((size_t)w->cfg.certs + 1);
        sim_start_job(w, id);
    }
}
