/* SPDX-License-Identifier: Apache-2.0 */
/* work_job.c - one job under lock:cert:{name}: re-read, check, issue, commit onto the revision read
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "controller/metrics/metrics.h"
#include "controller/metrics/metrics_ondemand.h"
#include "controller/work/renew.h"
#include "controller/work/work_acme.h"
#include "controller/work/work_ari.h"
#include "controller/work/work_job.h"
#include "controller/work/work_revoke.h"
#include "controller/work/work_util.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/x509.h"

/* Internal outcome of begin(): go on with the issuance. */
#define CONTINUE (-1)
/* Attempts at a write that meets concurrent changes before the job is left for later. */
#define MAX_ATTEMPTS 5

/* A certificate record with some fields replaced: a shallow copy of a decoded record whose new
 * values point into this struct or into the caller's buffers, so the decoded record is never
 * modified. */
typedef struct overlay {
    Certplane__V1__Certificate m;
    Google__Protobuf__Timestamp not_before, not_after, renew_after, update_time;
} overlay_t;

/* The result of an issuance, successful (res and info set) or not (ierr set); a failure with
 * deferred_until_ms set is no failure of the certificate: the order had to wait (a rate limit of
 * its account at the CA, a cap of the provider) and is tried again then. */
typedef struct result {
    const ctl_acme_result_t *res;
    const cp_x509_info_t *info;
    const cp_err_t *ierr;
    ctl_work_ari_t *ari; /* the CA's renewal window of the new certificate (successes only) */
    int64_t deferred_until_ms;
    const char *issued_by; /* the provider that issued (successes only) */
} result_t;

static void overlay_init(overlay_t *o, const Certplane__V1__Certificate *c, int state,
                         int64_t renew_at_ms)
{
    o->m = *c;
    o->m.state = (Certplane__V1__State)state;
    cp_clock_ts_set(&o->renew_after, renew_at_ms);
    cp_clock_ts_set(&o->update_time, cp_clock_wall_ms());
    o->m.renew_after = &o->renew_after;
    o->m.update_time = &o->update_time;
}

/* Whether the job still has something to do on c. A job for an older revision of a certificate that
 * is at rest (VALID, FAILED) was already handled: someone committed after it was enqueued. */
static int still_needed(const ctl_store_job_t *job, const Certplane__V1__Certificate *c)
{
    if (strcmp(job->kind, "issue") != 0 && strcmp(job->kind, "renew") != 0)
        return 0;
    if (ctl_work__revoke_pending(c))
        return 0; /* a certificate on its way to REVOKED is not issued again */
    switch (c->state) {
    case CERTPLANE__V1__STATE__REVOKED:
        return 0;
    case CERTPLANE__V1__STATE__VALID:
    case CERTPLANE__V1__STATE__FAILED:
        return job->revision >= c->revision;
    default: /* PENDING, ISSUING, RENEWING: also a job resumed after its controller died */
        return 1;
    }
}

/* Loads the certificate, checks the job is still needed and marks it ISSUING or RENEWING (with a
 * lease in certs:by_expiry) onto the revision read. *c and *rev are set on CONTINUE. */
static int begin(ctl_work_thread_t *t, const ctl_store_job_t *job, Certplane__V1__Certificate **c,
                 int64_t *rev)
{
    cp_err_t err = {0};
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        int rc = ctl_certrepo_load(&t->repo, job->name, c, &err);
        if (rc == CP_ENOTFOUND || rc == CP_EINVAL) {
            ctl_work__log_cert(rc == CP_EINVAL ? CP_LOG_ERROR : CP_LOG_INFO, "work", job->name,
                               "job %s dropped: %s", job->id,
                               rc == CP_EINVAL ? err.msg : "certificate deleted");
            return CTL_WORK_ACK;
        }
        if (rc != 0)
            break;
        if (!still_needed(job, *c)) {
            ctl_work__log_cert(CP_LOG_DEBUG, "work", job->name, "job %s (%s): nothing to do",
                               job->id, job->kind);
            return CTL_WORK_ACK;
        }
        int state =
            ctl_work__has_cert(*c) ? CERTPLANE__V1__STATE__RENEWING : CERTPLANE__V1__STATE__ISSUING;
        int64_t lease =
            cp_clock_wall_ms() + ctl_work__lock_ttl_ms(t->w) + t->w->cfg->job_timeout_ms;
        overlay_t o;
        overlay_init(&o, *c, state, lease);
        ctl_certrepo_write_t w = {
            .mode = CTL_STORE_MATCH, .expected_revision = (*c)->revision, .renew_at_ms = lease};
        rc = ctl_certrepo_put(&t->repo, &o.m, &w, rev, &err);
        if (rc == 0) {
            ctl_work__log_cert(CP_LOG_INFO, "work", job->name, "%s (job %s)",
                               ctl_work__state_name(state), job->id);
            return CONTINUE;
        }
        ctl_certrepo_cert_free(*c);
        *c = NULL;
        if (rc != CP_ECONFLICT && rc != CP_ENOTFOUND)
            break;
        CTL_WORK_STAT(t->w, conflicts, 1);
    }
    ctl_work__log_cert(CP_LOG_WARN, "work", job->name, "job %s left for later: %s", job->id,
                       err.msg[0] ? err.msg : "too many concurrent changes");
    return CTL_WORK_LEAVE;
}

/* Fills o from c and the result; returns the renewal time to index. */
static int64_t apply_result(ctl_work_t *w, const Certplane__V1__Certificate *c, const result_t *r,
                            overlay_t *o)
{
    int64_t now = cp_clock_wall_ms();
    if (r->res == NULL && r->deferred_until_ms > 0) {
        /* Back to where it was before the job (issued and served, or waiting for its first
         * certificate), due again when the wait ends; failure_count is left alone. */
        overlay_init(o, c,
                     ctl_work__has_cert(c) ? CERTPLANE__V1__STATE__VALID
                                           : CERTPLANE__V1__STATE__PENDING,
                     r->deferred_until_ms);
        o->m.last_error = (char *)r->ierr->msg;
        return r->deferred_until_ms;
    }
    if (r->res == NULL) {
        int64_t count = (int64_t)c->failure_count + 1;
        int64_t at =
            ctl_renew_retry_at_ms(now, count, ctl_work__lifetime_ms(c), ctl_renew_random());
        overlay_init(
            o, c,
            ctl_work__has_cert(c) ? CERTPLANE__V1__STATE__VALID : CERTPLANE__V1__STATE__FAILED, at);
        o->m.failure_count = count > INT32_MAX ? INT32_MAX : (int32_t)count;
        o->m.last_error =
            r->ierr->msg[0] ? (char *)r->ierr->msg : (char *)cp_strerror(r->ierr->code);
        return at;
    }
    int64_t nb = r->info->not_before * 1000, na = r->info->not_after * 1000;
    int64_t at = ctl_renew_at_ms(c->name, nb, na, w->cfg->renew_before_ms, ctl_renew_random());
    if (ctl_renew_before_too_long(nb, na, w->cfg->renew_before_ms))
        ctl_work__log_cert(CP_LOG_WARN, "work", c->name,
                           "--renew-before (%" PRId64
                           " s) is not shorter than the lifetime (%" PRId64
                           " s): renewal held back to the floor, %" PRId64 " s after issuance",
                           w->cfg->renew_before_ms / 1000, (na - nb) / 1000, (at - nb) / 1000);
    overlay_init(o, c, CERTPLANE__V1__STATE__VALID, at);
    int64_t index = at;
    if (r->ari != NULL) /* RFC 9773: the CA's window decides when it offers one */
        cp_clock_ts_set(&o->renew_after, ctl_work__ari_apply(w, r->ari, &o->m, -1, at, &index));
    /* Chain and key in the same write: no reader ever sees one without the other. */
    o->m.fullchain_pem = r->res->fullchain_pem;
    o->m.private_key_pem = r->res->private_key_pem;
    cp_clock_ts_set(&o->not_before, nb);
    cp_clock_ts_set(&o->not_after, na);
    o->m.not_before = &o->not_before;
    o->m.not_after = &o->not_after;
    o->m.serial = r->info->serial;
    o->m.issuer = r->info->issuer;
    o->m.issued_by = (char *)r->issued_by;
    o->m.last_error = "";
    o->m.failure_count = 0;
    return index;
}

static void log_commit(const char *name, const result_t *r, int64_t renew_at_ms, int64_t rev)
{
    char serial[80], at[32], revs[32];
    snprintf(at, sizeof(at), "%" PRId64, renew_at_ms / 1000);
    snprintf(revs, sizeof(revs), "%" PRId64, rev);
    snprintf(serial, sizeof(serial), "%s", r->info != NULL ? r->info->serial : "");
    const char *kv[] = {"cert", name, "serial", serial, "renew_at", at, "revision", revs, NULL};
    if (r->res != NULL)
        CP_LOGKV(CP_LOG_INFO, "work", kv, "VALID: certificate issued");
    else if (r->deferred_until_ms > 0)
        CP_LOGKV(CP_LOG_INFO, "work", kv, "order deferred: %s", r->ierr->msg);
    else
        CP_LOGKV(CP_LOG_WARN, "work", kv, "issuance failed, retry later: %s", r->ierr->msg);
}

/* After a CP_ECONFLICT: re-reads the certificate and decides. CONTINUE with *c replaced when the
 * commit can be retried onto the new revision, otherwise the job's outcome. */
static int after_conflict(ctl_work_thread_t *t, const ctl_store_job_t *job,
                          Certplane__V1__Certificate **c, const result_t *r)
{
    cp_err_t err = {0};
    Certplane__V1__Certificate *now = NULL;
    int rc = ctl_certrepo_load(&t->repo, job->name, &now, &err);
    CTL_WORK_STAT(t->w, conflicts, 1);
    if (rc == CP_ENOTFOUND || rc == CP_EINVAL) {
        ctl_work__log_cert(CP_LOG_INFO, "work", job->name, "%s meanwhile: %s",
                           "deleted or unreadable", "result discarded");
        return CTL_WORK_ACK;
    }
    if (rc != 0)
        return CTL_WORK_LEAVE;
    int outcome = CONTINUE;
    if (now->state == CERTPLANE__V1__STATE__REVOKED || ctl_work__revoke_pending(now)) {
        /* Revoked, or asked to be, while we issued: the revocation job deals with what is stored;
         * the new certificate is dropped unused. */
        outcome = CTL_WORK_ACK;
    } else if (r->res != NULL && !ctl_work__same_request(*c, now)) {
        /* Names or key type changed while we issued: the new certificate answers an old request. */
        const char *kind = ctl_work__has_cert(now) ? "renew" : "issue";
        outcome = ctl_store_job_enqueue(t->store, kind, job->name, now->revision, &err) == 0
                      ? CTL_WORK_ACK
                      : CTL_WORK_LEAVE;
        ctl_work__log_cert(CP_LOG_INFO, "work", job->name, "%s; %s",
                           "request changed during issuance", "queued again");
    }
    if (outcome == CONTINUE) {
        ctl_certrepo_cert_free(*c);
        *c = now;
    } else {
        ctl_certrepo_cert_free(now);
    }
    return outcome;
}

/* Writes the result onto revision rev (MATCH), re-deciding after concurrent changes. */
static int commit(ctl_work_thread_t *t, const ctl_store_job_t *job, Certplane__V1__Certificate **c,
                  int64_t rev, const result_t *r)
{
    cp_err_t err = {0};
    int away = 0;
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        overlay_t o;
        int64_t new_rev = 0;
        int64_t at = apply_result(t->w, *c, r, &o);
        ctl_certrepo_write_t w = {
            .mode = CTL_STORE_MATCH, .expected_revision = rev, .renew_at_ms = at};
        int rc = ctl_certrepo_put(&t->repo, &o.m, &w, &new_rev, &err);
        if (rc == CP_EUNAVAIL && r->res != NULL) {
            /* Redis is away: the certificate is kept in memory and committed when it is back (the
             * revision check still fences it). Only a stop gives up; then the order record lets
             * whoever resumes the job download it again. */
            if (away == 0)
                ctl_work__log_cert(CP_LOG_WARN, "work", job->name, "commit waits for Redis: %s",
                                   err.msg);
            if (ctl_work__redis_backoff(t->w, away++))
                break;
            attempt--;
            continue;
        }
        if (rc == 0) {
            if (away > 0)
                ctl_work__log_cert(CP_LOG_INFO, "work", job->name,
                                   "committed after %d tries while Redis was away", away);
            if (r->res != NULL && ctl_store_order_del(t->store, job->name, &err) != 0)
                ctl_work__log_cert(CP_LOG_DEBUG, "work", job->name, "order record: %s", err.msg);
            log_commit(job->name, r, at, new_rev);
            if (r->deferred_until_ms == 0)
                ctl_work__webhook_event(t,
                                        r->res == NULL                    ? "renewal_failed"
                                        : strcmp(job->kind, "renew") == 0 ? "renewed"
                                                                          : "issued",
                                        job->name, r->info != NULL ? r->info->serial : NULL,
                                        r->res == NULL ? r->ierr->msg : NULL);
            if (r->res != NULL)
                CTL_WORK_STAT(t->w, issued, 1);
            else if (r->deferred_until_ms == 0)
                CTL_WORK_STAT(t->w, failed, 1);
            if (r->deferred_until_ms == 0)
                ctl_metrics_issuance(strcmp(job->kind, "renew") == 0, r->res != NULL);
            if (r->res != NULL && (*c)->on_demand && (*c)->create_time != NULL &&
                strcmp(job->kind, "issue") == 0) /* on-demand TLS: time to certificate */
                ctl_metrics_ondemand_ready(
                    (double)(cp_clock_wall_ms() - (*c)->create_time->seconds * 1000) / 1000.0);
            ctl_work__kick(t->w);
            return CTL_WORK_ACK;
        }
        if (rc == CP_ENOTFOUND)
            return CTL_WORK_ACK;
        if (rc != CP_ECONFLICT)
            break;
        int outcome = after_conflict(t, job, c, r);
        if (outcome != CONTINUE)
            return outcome;
        rev = (*c)->revision;
    }
    ctl_work__log_cert(CP_LOG_WARN, "work", job->name, "commit failed, job %s left for later: %s",
                       job->id, err.msg[0] ? err.msg : "too many concurrent changes");
    return CTL_WORK_LEAVE;
}

static double elapsed_s(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Issues and commits; the chain is parsed for the record's validity, serial and issuer. */
static int issue_and_commit(ctl_work_thread_t *t, const ctl_store_job_t *job,
                            Certplane__V1__Certificate **c, int64_t rev)
{
    ctl_acme_result_t res = {0};
    cp_x509_info_t info = {0};
    cp_x509_chain_t *chain = NULL;
    cp_err_t ierr = {0};
    ctl_work_ari_t ari = {0};
    struct timespec w0, w1, c0, c1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    int rc = ctl_work__issue(t, *c, &res, &ierr);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    if (rc == 0)
        rc = cp_x509_chain_parse(res.fullchain_pem, strlen(res.fullchain_pem), &chain, &ierr);
    if (rc == 0)
        rc = cp_x509_info_get(chain->certs[0], &info, &ierr);
    if (rc == 0)
        ctl_work__ari_fetch(t, *c, res.fullchain_pem, &ari);
    int outcome;
    if (rc != 0 && ctl_work__stopping(t->w) && rc == CP_ECANCELED) {
        /* Not a failure of the certificate: another controller resumes the job. */
        outcome = CTL_WORK_LEAVE;
    } else {
        result_t r = {.res = rc == 0 ? &res : NULL,
                      .info = rc == 0 ? &info : NULL,
                      .ierr = &ierr,
                      .ari = rc == 0 ? &ari : NULL,
                      .deferred_until_ms = rc == CP_EBUSY ? t->defer_until_ms : 0,
                      .issued_by = t->issued_by};
        if (rc == 0) {
            pthread_mutex_lock(&t->w->mu);
            t->w->stats.issue_wall_s += elapsed_s(&w0, &w1);
            t->w->stats.issue_cpu_s += elapsed_s(&c0, &c1);
            pthread_mutex_unlock(&t->w->mu);
        }
        outcome = commit(t, job, c, rev, &r);
    }
    t->issued_by[0] = '\0';
    ctl_work__ari_dispose(&ari);
    cp_x509_info_dispose(&info);
    cp_x509_chain_free(chain);
    ctl_acme_result_dispose(&res);
    return outcome;
}

int ctl_work__job_run(ctl_work_thread_t *t, const ctl_store_job_t *job)
{
    cp_err_t err = {0};
    Certplane__V1__Certificate *c = NULL;
    int64_t rev = 0;
    int rc = ctl_store_lock_acquire(t->store, job->name, ctl_work__lock_ttl_ms(t->w), t->lock_token,
                                    &err);
    if (rc == CP_EBUSY)
        return CTL_WORK_DEFER;
    if (rc == 1)
        ctl_work__log_cert(CP_LOG_INFO, "work", job->name,
                           "job %s: lock taken over from a dead controller", job->id);
    else if (rc != 0) {
        ctl_work__log_cert(CP_LOG_WARN, "work", job->name, "job %s: lock: %s", job->id, err.msg);
        return CTL_WORK_LEAVE;
    }
    t->cert_name = job->name;
    int outcome;
    if (strcmp(job->kind, "revoke") == 0) {
        outcome = ctl_work__revoke_run(t, job);
    } else if (strcmp(job->kind, "ari") == 0) {
        outcome = ctl_work__ari_run(t, job);
    } else {
        outcome = begin(t, job, &c, &rev);
        if (outcome == CONTINUE)
            outcome = issue_and_commit(t, job, &c, rev);
    }
    ctl_certrepo_cert_free(c);
    t->cert_name = NULL;
    if (ctl_store_lock_release(t->store, job->name, t->lock_token, &err) != 0)
        ctl_work__log_cert(CP_LOG_WARN, "work", job->name, "job %s: lock release: %s", job->id,
                           err.msg);
    return outcome;
}
