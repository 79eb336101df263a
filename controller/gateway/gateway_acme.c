/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_acme.c - HTTP-01 answers: recent ones from the loop's memory, others looked up on a
 * service thread */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/gateway/gateway_acme.h"
#include "controller/gateway/gateway_pool.h"
#include "controller/gateway/http01.h"
#include "shared/clock.h"
#include "shared/hash.h"
#include "shared/mem.h"

#define SLOTS 256 /* direct-mapped by token: a collision only costs a lookup */

typedef struct slot {
    char *token; /* NULL: empty */
    char *ka;
    int64_t expires_ms; /* CLOCK_MONOTONIC */
} slot_t;

struct ctl_gateway__acme {
    slot_t slots[SLOTS];
};

typedef struct acme_handler {
    h2o_handler_t super;
    ctl_gateway_t *g;
} acme_handler_t;

typedef struct acme_job {
    ctl_gateway_job_t super;
    ctl_gateway_t *g;
    char token[CTL_HTTP01_TOKEN_MAX + 1];
    int rc;
    char *ka; /* malloc'd by the lookup */
} acme_job_t;

static slot_t *slot_of(struct ctl_gateway__acme *a, const char *token)
{
    return &a->slots[cp_hash_fnv1a32_str(token) % SLOTS];
}

static void slot_clear(slot_t *s)
{
    free(s->token);
    free(s->ka);
    memset(s, 0, sizeof(*s));
}

/* The answer kept for token, or NULL. */
static const char *recent(struct ctl_gateway__acme *a, const char *token)
{
    slot_t *s = slot_of(a, token);
    if (s->token == NULL || strcmp(s->token, token) != 0)
        return NULL;
    if (cp_clock_mono_ms() >= s->expires_ms) {
        slot_clear(s);
        return NULL;
    }
    return s->ka;
}

static void keep(struct ctl_gateway__acme *a, const char *token, const char *ka)
{
    slot_t *s = slot_of(a, token);
    slot_clear(s);
    s->token = cp_xstrdup(token);
    s->ka = cp_xstrdup(ka);
    s->expires_ms = cp_clock_mono_ms() + CTL_GATEWAY__ACME_TTL_MS;
}

static void lookup_run(ctl_gateway_job_t *job, ctl_thread_t *t)
{
    acme_job_t *j = (acme_job_t *)job;
    const ctl_gateway_opts_t *o = &j->g->opts;
    if (o->http01_lookup != NULL)
        j->rc = o->http01_lookup(o->http01_ctx, j->token, &j->ka);
    else
        j->rc = t != NULL ? ctl_service_challenge_answer(t, j->token, &j->ka) : CP_EUNAVAIL;
}

static void lookup_done(ctl_gateway_job_t *job, h2o_req_t *req)
{
    acme_job_t *j = (acme_job_t *)job;
    if (job->cancelled)
        j->rc = CP_EUNAVAIL;
    if (j->rc == 0 && j->ka != NULL)
        keep(j->g->acme, j->token, j->ka);
    if (req != NULL)
        ctl_http01_answer(req, j->rc, j->ka);
    free(j->ka);
    free(j);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    ctl_gateway_t *g = ((acme_handler_t *)self)->g;
    acme_job_t *j = cp_xcalloc(1, sizeof(*j));
    if (!ctl_http01_parse(req, j->token)) {
        free(j);
        return 0;
    }
    const char *ka = recent(g->acme, j->token);
    if (ka != NULL) {
        ctl_http01_answer(req, 0, ka);
        free(j);
        return 0;
    }
    j->super.run = lookup_run;
    j->super.done = lookup_done;
    j->g = g;
    ctl_gateway_pool_submit(g->pool, &j->super, req, CTL_GW_LANE_READ);
    return 0;
}

void ctl_gateway__acme_register(ctl_gateway_t *g, h2o_pathconf_t *pathconf)
{
    g->acme = cp_xcalloc(1, sizeof(*g->acme));
    acme_handler_t *h = (acme_handler_t *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->g = g;
}

void ctl_gateway__acme_free(ctl_gateway_t *g)
{
    if (g->acme == NULL)
        return;
    for (size_t i = 0; i < SLOTS; i++)
        slot_clear(&g->acme->slots[i]);
    free(g->acme);
    g->acme = NULL;
}
