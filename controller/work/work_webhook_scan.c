/* SPDX-License-Identifier: Apache-2.0 */
/* work_webhook_scan.c - expiring_soon and edge_lagging events (work_webhook_scan.h) */
#include "controller/work/work_webhook_scan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/store/store_edges.h"
#include "controller/store/store_webhooks.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

#define PAGE 100
#define PAGES 5

/* expiring_soon for c when it is due and not announced for this not-after yet. */
static int expiring_one(ctl_work_thread_t *t, const Certplane__V1__Certificate *c, int64_t now,
                        cp_err_t *err)
{
    int64_t na = cp_clock_ts_ms(c->not_after, 0);
    if (na == 0 || c->state == CERTPLANE__V1__STATE__REVOKED ||
        na - now > t->w->cfg->webhook_expiring_within_ms)
        return 0;
    char mark[32], *seen = NULL;
    snprintf(mark, sizeof mark, "%" PRId64, na);
    int rc = ctl_store_webhook_mark_get(t->store, "expiring", c->name, &seen, err);
    int done = rc == 0 && seen != NULL && strcmp(seen, mark) == 0;
    free(seen);
    if (rc != 0 || done)
        return rc;
    char ts[CP_CLOCK_RFC3339_MAX];
    cp_clock_rfc3339_format(na / 1000, 0, ts, sizeof ts);
    const char *kv[] = {"type",     "expiring_soon",
                        "name",     c->name,
                        "notAfter", ts,
                        "serial",   c->serial != NULL ? c->serial : "",
                        NULL};
    rc = ctl_store_webhook_emit(t->store, kv, err);
    if (rc == 0)
        rc = ctl_store_webhook_mark_set(t->store, "expiring", c->name, mark, err);
    return rc;
}

static int expiring(ctl_work_thread_t *t, ctl_work__webhook_scan_t *s, cp_err_t *err)
{
    int rc = 0;
    int64_t now = cp_clock_wall_ms();
    for (int page = 0; rc == 0 && page < PAGES; page++) {
        char **names = NULL;
        size_t n = 0;
        rc = ctl_store_cert_list(t->store, s->after, PAGE, &names, &n, err);
        Certplane__V1__Certificate **certs = n > 0 ? cp_xcalloc(n, sizeof *certs) : NULL;
        if (rc == 0 && n > 0)
            rc = ctl_certrepo_load_many(&t->repo, (const char *const *)names, n, certs, NULL, err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (certs[i] != NULL)
                rc = expiring_one(t, certs[i], now, err);
        for (size_t i = 0; i < n; i++)
            ctl_certrepo_cert_free(certs[i]);
        free(certs);
        free(s->after);
        s->after = rc == 0 && n == PAGE ? cp_xstrdup(names[n - 1]) : NULL;
        ctl_store_strv_free(names, n);
        if (s->after == NULL)
            break;
    }
    return rc;
}

/* The lag mark of an edge: "<since_ms> <target revision> <sent 0|1>". */
static int lag_one(ctl_work_thread_t *t, const ctl_store_edge_t *e, int64_t rev, int64_t now,
                   cp_err_t *err)
{
    char *m = NULL;
    int rc = ctl_store_webhook_mark_get(t->store, "lagging", e->edge_id, &m, err);
    int64_t since = 0, target = 0;
    int sent = 0;
    int have = rc == 0 && m != NULL &&
               sscanf(m, "%" SCNd64 " %" SCNd64 " %d", &since, &target, &sent) == 3;
    free(m);
    if (rc != 0)
        return rc;
    if (e->applied_revision >= (have ? target : rev))
        return have ? ctl_store_webhook_mark_set(t->store, "lagging", e->edge_id, NULL, err) : 0;
    char v[96];
    if (!have) {
        snprintf(v, sizeof v, "%" PRId64 " %" PRId64 " 0", now, rev);
        return ctl_store_webhook_mark_set(t->store, "lagging", e->edge_id, v, err);
    }
    if (sent || now - since < t->w->cfg->webhook_edge_lag_ms)
        return 0;
    char applied[32], tgt[32], secs[32];
    snprintf(applied, sizeof applied, "%" PRId64, e->applied_revision);
    snprintf(tgt, sizeof tgt, "%" PRId64, target);
    snprintf(secs, sizeof secs, "%" PRId64, (now - since) / 1000);
    const char *kv[] = {"type",  "edge_lagging", "edgeId", e->edge_id,   "appliedRevision",
                        applied, "revision",     tgt,      "lagSeconds", secs,
                        NULL};
    rc = ctl_store_webhook_emit(t->store, kv, err);
    snprintf(v, sizeof v, "%" PRId64 " %" PRId64 " 1", since, target);
    if (rc == 0)
        rc = ctl_store_webhook_mark_set(t->store, "lagging", e->edge_id, v, err);
    return rc;
}

static int lagging(ctl_work_thread_t *t, cp_err_t *err)
{
    ctl_store_edge_t *e = NULL;
    size_t n = 0;
    int64_t rev = 0, now = cp_clock_wall_ms();
    int rc = ctl_store_revision(t->store, &rev, err);
    if (rc == 0)
        rc = ctl_store_edges_live(t->store, now, t->w->cfg->edge_ttl_ms, &e, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = lag_one(t, &e[i], rev, now, err);
    ctl_store_edges_free(e, n);
    return rc;
}

void ctl_work__webhook_scan(ctl_work_thread_t *t, ctl_work__webhook_scan_t *s)
{
    const ctl_config_t *cfg = t->w->cfg;
    int64_t now = cp_clock_mono_ms();
    if (now < s->next_ms)
        return;
    s->next_ms = now + cfg->webhook_scan_ms;
    cp_err_t err = {0};
    if (cfg->webhook_expiring_within_ms > 0 && expiring(t, s, &err) != 0)
        CP_LOG(CP_LOG_WARN, "webhooks", "expiring scan: %s", err.msg);
    if (cfg->webhook_edge_lag_ms > 0 && cfg->edge_ttl_ms > 0 && lagging(t, &err) != 0)
        CP_LOG(CP_LOG_WARN, "webhooks", "edge lag scan: %s", err.msg);
}

void ctl_work__webhook_scan_dispose(ctl_work__webhook_scan_t *s)
{
    free(s->after);
    s->after = NULL;
}
