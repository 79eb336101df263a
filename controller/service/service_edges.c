/* SPDX-License-Identifier: Apache-2.0 */
/* service_edges.c - ReportEdgeStatus and ListEdges */
#include <stdlib.h>
#include <string.h>

#include "controller/service/service_edges.h"
#include "controller/service/service_util.h"
#include "controller/store/store_edges.h"
#include "controller/store/store_ondemand.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

#define VERSION_MAX 64

static int ttl_seconds(const ctl_service_t *svc)
{
    int64_t ms = svc->cfg->edge_ttl_ms > 0 ? svc->cfg->edge_ttl_ms : 30000;
    int64_t s = (ms + 999) / 1000;
    return s > INT32_MAX ? INT32_MAX : (int)s;
}

/* Whether name is no on-demand certificate, as far as the read cache knows (a miss: maybe one). */
static bool known_not_on_demand(ctl_service_t *svc, const char *name)
{
    Certplane__V1__Certificate *c = NULL;
    if (!ctl_certcache_get(svc->cache, name, &c))
        return false;
    bool not = !c->on_demand;
    protobuf_c_message_free_unpacked(&c->base, NULL);
    return not ;
}

/* On-demand TLS: when the on-demand certificates the edge served were last used (at most
 * USED_MAX names a report; names that are no certificate name, or that the cache knows are not
 * on-demand certificates, are skipped). Best effort: the report itself succeeded. */
#define USED_MAX 256
static void record_used(ctl_service_t *svc, ctl_thread_t *t,
                        const Certplane__V1__ReportEdgeStatusRequest *r)
{
    const char *names[USED_MAX];
    size_t n = 0;
    for (size_t i = 0; i < r->n_on_demand_used && n < USED_MAX; i++)
        if (ctl_service__check_name("on_demand_used", r->on_demand_used[i], NULL) == 0 &&
            !known_not_on_demand(svc, r->on_demand_used[i]))
            names[n++] = r->on_demand_used[i];
    cp_err_t err = {0};
    if (n > 0 && ctl_store_ondemand_used(t->store, names, n, cp_clock_wall_ms(), &err) != 0)
        CP_LOG(CP_LOG_DEBUG, "service", "on-demand usage not recorded: %s", err.msg);
}

int ctl_service__report_edge(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                             const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__ReportEdgeStatusRequest *r = (const void *)req;
    int rc = ctl_service__check_edge_id(r->edge_id, err);
    if (rc != 0)
        return rc;
    if (r->applied_revision < 0)
        return cp_err_set(err, CP_EINVAL, "applied_revision: must be >= 0");
    if (r->certificates < 0)
        return cp_err_set(err, CP_EINVAL, "certificates: must be >= 0");
    size_t vn = strlen(r->version);
    if (vn > VERSION_MAX)
        return cp_err_set(err, CP_EINVAL, "version: longer than %d characters", VERSION_MAX);
    for (size_t i = 0; i < vn; i++)
        if ((unsigned char)r->version[i] <= ' ' || (unsigned char)r->version[i] >= 0x7f)
            return cp_err_set(err, CP_EINVAL, "version: printable ASCII without spaces only");
    ctl_store_edge_t e = {
        .edge_id = r->edge_id,
        .applied_revision = r->applied_revision,
        .certificates = r->certificates,
        .version = r->version,
        .address = (char *)caller->peer,
        .last_seen_ms = cp_clock_wall_ms(),
    };
    rc = ctl_store_edge_report(t->store, &e, err);
    if (rc != 0)
        return ctl_service__store_fail(rc, err);
    record_used(svc, t, r); /* on-demand TLS (issue 14) */
    Certplane__V1__ReportEdgeStatusResponse *out = cp_xcalloc(1, sizeof *out);
    certplane__v1__report_edge_status_response__init(out);
    out->ttl_seconds = ttl_seconds(svc);
    *resp = &out->base;
    return 0;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const ctl_store_edge_t *)a)->edge_id, ((const ctl_store_edge_t *)b)->edge_id);
}

int ctl_service__list_edges(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                            const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    ctl_store_edge_t *v = NULL;
    size_t n = 0;
    (void)caller;
    (void)req;
    int64_t ttl = svc->cfg->edge_ttl_ms > 0 ? svc->cfg->edge_ttl_ms : 30000;
    int rc = ctl_store_edges_live(t->store, cp_clock_wall_ms(), ttl, &v, &n, err);
    if (rc != 0)
        return ctl_service__store_fail(rc, err);
    if (n > 1) /* qsort with no elements may not be handed NULL */
        qsort(v, n, sizeof *v, by_id);
    Certplane__V1__ListEdgesResponse *out = cp_xcalloc(1, sizeof *out);
    certplane__v1__list_edges_response__init(out);
    out->edges = cp_xcalloc(n, sizeof *out->edges);
    for (size_t i = 0; i < n; i++) {
        Certplane__V1__Edge *e = cp_xcalloc(1, sizeof *e);
        certplane__v1__edge__init(e);
        e->edge_id = cp_xstrdup(v[i].edge_id);
        e->applied_revision = v[i].applied_revision;
        e->certificates = v[i].certificates;
        e->version = cp_xstrdup(v[i].version);
        e->address = cp_xstrdup(v[i].address);
        e->last_seen = cp_clock_ts_new(v[i].last_seen_ms);
        out->edges[out->n_edges++] = e;
    }
    ctl_store_edges_free(v, n);
    *resp = &out->base;
    return 0;
}
