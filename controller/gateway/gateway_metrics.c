/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_metrics.c - the /metrics page: scrape-time certificate gauges, listed through the service
 * core like any client */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/gateway/gateway_metrics.h"
#include "controller/metrics/metrics.h"
#include "shared/clock.h"
#include "shared/mem.h"

/* A scrape lists at most this many pages of 1000, so a huge store cannot make /metrics unbounded.
 */
#define SCRAPE_MAX_PAGES 100

static void add_page(ctl_metrics_certs_t *s, const Certplane__V1__ListCertificatesResponse *page,
                     double now)
{
    for (size_t i = 0; i < page->n_certificates; i++) {
        const Certplane__V1__Certificate *c = page->certificates[i];
        if (c->state >= 0 && (size_t)c->state < CTL_METRICS_N_STATES)
            s->by_state[c->state]++;
        if (c->not_after == NULL || c->name == NULL)
            continue;
        s->expiry = cp_xrealloc(s->expiry, (s->n_expiry + 1) * sizeof(*s->expiry));
        char *name = cp_xstrdup(c->name);
        double na = (double)c->not_after->seconds + (double)c->not_after->nanos / 1e9;
        s->expiry[s->n_expiry++] = (ctl_metrics_expiry_t){
            .name = name,
            .seconds = na - now,
            .renew_at = c->renew_after != NULL ? (double)c->renew_after->seconds : 0,
            .ari_start = c->ari_window_start != NULL ? (double)c->ari_window_start->seconds : 0,
            .ari_end = c->ari_window_end != NULL ? (double)c->ari_window_end->seconds : 0,
            .ari_explanation = c->ari_explanation_url != NULL && c->ari_explanation_url[0] != '\0'
                                   ? cp_xstrdup(c->ari_explanation_url)
                                   : NULL,
            .issued_by =
                c->issued_by != NULL && c->issued_by[0] != '\0' ? cp_xstrdup(c->issued_by) : NULL};
    }
}

/* Lists every certificate into s; false when a page could not be read. */
static bool scrape(ctl_service_t *svc, ctl_thread_t *t, ctl_metrics_certs_t *s)
{
    const ctl_rpc_t *rpc = ctl_service_rpc_by_name("ListCertificates");
    ctl_caller_t caller = {.scopes = CTL_SCOPE_READ, .token_id = "metrics", .peer = "internal"};
    char *token = NULL;
    double now = (double)cp_clock_wall_ms() / 1000.0;
    if (rpc == NULL)
        return false;
    for (int page_no = 0; page_no < SCRAPE_MAX_PAGES; page_no++) {
        Certplane__V1__ListCertificatesRequest req = CERTPLANE__V1__LIST_CERTIFICATES_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        req.page_size = 1000;
        req.page_token = token != NULL ? token : "";
        int rc = ctl_service_invoke(svc, t, &caller, rpc, &req.base, &resp, NULL);
        free(token);
        token = NULL;
        if (rc != 0 || resp == NULL)
            return false;
        Certplane__V1__ListCertificatesResponse *page =
            (Certplane__V1__ListCertificatesResponse *)resp;
        add_page(s, page, now);
        if (page->next_page_token != NULL && page->next_page_token[0] != '\0')
            token = cp_xstrdup(page->next_page_token);
        protobuf_c_message_free_unpacked(resp, NULL);
        if (token == NULL)
            return true;
    }
    free(token);
    return true; /* truncated at SCRAPE_MAX_PAGES: what was read is still right */
}

char *ctl_gateway__metrics(ctl_service_t *svc, ctl_thread_t *t, size_t *len)
{
    char *text;
    ctl_metrics_certs_t s = {0};
    s.ok = t != NULL && scrape(svc, t, &s);
    text = ctl_metrics_render_text(&s, len);
    for (size_t i = 0; i < s.n_expiry; i++) {
        free(s.expiry[i].name);
        free(s.expiry[i].ari_explanation);
        free(s.expiry[i].issued_by);
    }
    free(s.expiry);
    return text;
}
