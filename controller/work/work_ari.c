/* SPDX-License-Identifier: Apache-2.0 */
/* work_ari.c - ACME Renewal Information (RFC 9773) in the work machinery: windows after issuance,
 * the "ari" poll job, the ARI fields of the record */
#include "controller/work/work_ari.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/work/renew.h"
#include "controller/work/work_acme.h"
#include "controller/work/work_util.h"
#include "shared/clock.h"
#include "shared/log.h"

void ctl_work__ari_fetch(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                         const char *fullchain_pem, ctl_work_ari_t *a)
{
    cp_err_t err = {0};
    ctl_acme_t *acme = NULL;
    memset(a, 0, sizeof(*a));
    int rc = ctl_work__client_for(t, c, &acme, &err);
    if (rc == 0)
        rc = ctl_acme_has_ari(acme, &err);
    if (rc < 0) {
        /* The CA is unreachable: count it as offering ARI, so the last window stands and the poll
         * comes again after --ari-poll-min instead of ARI being dropped for an outage. */
        ctl_work__log_cert(CP_LOG_WARN, "ari", c->name, "cannot tell whether the CA offers ARI: %s",
                           err.msg);
        a->offered = 1;
        return;
    }
    if (rc == 0)
        return; /* a CA without renewalInfo: the lifetime rule */
    a->offered = 1;
    if (ctl_acme_ari_cert_id(fullchain_pem, &a->cert_id, &err) == 0 &&
        ctl_acme_renewal_info(acme, a->cert_id, &a->ari, &err) == 0) {
        a->have_window = 1;
        return;
    }
    ctl_work__log_cert(CP_LOG_WARN, "ari", c->name, "renewalInfo: %s", err.msg);
}

void ctl_work__ari_dispose(ctl_work_ari_t *a)
{
    if (a == NULL)
        return;
    ctl_acme_ari_dispose(&a->ari);
    free(a->cert_id);
    memset(a, 0, sizeof(*a));
}

static void clear_window(Certplane__V1__Certificate *m)
{
    m->ari_window_start = NULL;
    m->ari_window_end = NULL;
    m->ari_explanation_url = "";
}

int64_t ctl_work__ari_apply(const ctl_work_t *w, ctl_work_ari_t *a, Certplane__V1__Certificate *m,
                            int64_t prev_at_ms, int64_t policy_at_ms, int64_t *index_at_ms)
{
    int64_t now = cp_clock_wall_ms();
    ctl_renew_window_t prev = {cp_clock_ts_ms(m->ari_window_start, -1),
                               cp_clock_ts_ms(m->ari_window_end, -1)};
    int have_prev = prev_at_ms >= 0 && m->ari_window_start != NULL && m->ari_window_end != NULL;
    if (prev_at_ms < 0 || !a->offered)
        m->ari_cert_id = "";
    if (a->cert_id != NULL)
        m->ari_cert_id = a->cert_id;
    if (!a->offered) {
        clear_window(m);
        m->ari_next_poll = NULL;
        *index_at_ms = policy_at_ms;
        return policy_at_ms;
    }
    int64_t at, next;
    if (a->have_window) {
        ctl_renew_window_t win = {a->ari.start_ms, a->ari.end_ms};
        at = ctl_renew_ari_at_ms(&win, have_prev ? &prev : NULL, prev_at_ms, ctl_renew_random());
        cp_clock_ts_set(&a->start, win.start_ms);
        cp_clock_ts_set(&a->end, win.end_ms);
        m->ari_window_start = &a->start;
        m->ari_window_end = &a->end;
        m->ari_explanation_url = a->ari.explanation_url != NULL ? a->ari.explanation_url : "";
        next = now + ctl_renew_ari_poll_ms(a->ari.retry_after_s, w->cfg->ari_poll_min_ms,
                                           w->cfg->ari_poll_max_ms);
    } else {
        /* The poll failed: the last window (if any) and its choice stand; ask again soon. */
        if (!have_prev)
            clear_window(m);
        at = have_prev ? prev_at_ms : policy_at_ms;
        next = now + ctl_renew_ari_poll_ms(0, w->cfg->ari_poll_min_ms, w->cfg->ari_poll_max_ms);
    }
    cp_clock_ts_set(&a->next_poll, next);
    m->ari_next_poll = &a->next_poll;
    *index_at_ms = at < next ? at : next;
    return at;
}

/* Whether an "ari" job still has a certificate to ask about. */
static int pollable(const Certplane__V1__Certificate *c)
{
    return c->state == CERTPLANE__V1__STATE__VALID && ctl_work__has_cert(c) &&
           !ctl_work__revoke_pending(c);
}

int ctl_work__ari_run(ctl_work_thread_t *t, const ctl_store_job_t *job)
{
    cp_err_t err = {0};
    Certplane__V1__Certificate *c = NULL;
    ctl_work_ari_t a;
    int rc = ctl_certrepo_load(&t->repo, job->name, &c, &err);
    if (rc != 0) {
        ctl_work__log_cert(CP_LOG_INFO, "ari", job->name, "poll skipped: %s", err.msg);
        return rc == CP_ENOTFOUND || rc == CP_EINVAL ? CTL_WORK_ACK : CTL_WORK_LEAVE;
    }
    if (!pollable(c)) {
        ctl_certrepo_cert_free(c);
        return CTL_WORK_ACK;
    }
    ctl_work__ari_fetch(t, c, c->fullchain_pem, &a);
    Certplane__V1__Certificate m = *c;
    Google__Protobuf__Timestamp renew_after, update_time;
    int64_t index = 0;
    int64_t at = ctl_work__ari_apply(t->w, &a, &m, cp_clock_ts_ms(c->renew_after, -1),
                                     ctl_work__policy_renew_at(t->w, c), &index);
    cp_clock_ts_set(&renew_after, at);
    cp_clock_ts_set(&update_time, cp_clock_wall_ms());
    m.renew_after = &renew_after;
    m.update_time = &update_time;
    ctl_certrepo_write_t wr = {
        .mode = CTL_STORE_MATCH, .expected_revision = c->revision, .renew_at_ms = index};
    rc = ctl_certrepo_put(&t->repo, &m, &wr, NULL, &err);
    if (rc == 0) {
        char when[32];
        snprintf(when, sizeof(when), "%" PRId64, at / 1000);
        ctl_work__log_cert(CP_LOG_INFO, "ari", job->name, "polled%s: renewal at %s",
                           a.have_window ? "" : " (no window)", when);
        ctl_work__kick(t->w);
    } else {
        /* A concurrent change: the scheduler's lease on the index brings the poll back. */
        ctl_work__log_cert(CP_LOG_DEBUG, "ari", job->name, "poll not committed: %s", err.msg);
    }
    ctl_work__ari_dispose(&a);
    ctl_certrepo_cert_free(c);
    return rc == 0 || rc == CP_ECONFLICT || rc == CP_ENOTFOUND ? CTL_WORK_ACK : CTL_WORK_LEAVE;
}
