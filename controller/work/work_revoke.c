/* SPDX-License-Identifier: Apache-2.0 */
/* work_revoke.c - a "revoke" job: revoke at the CA, commit REVOKED (or the failure, backed off) */
#include "controller/work/work_revoke.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "controller/work/renew.h"
#include "controller/work/work_acme.h"
#include "controller/work/work_util.h"
#include "shared/clock.h"
#include "shared/log.h"

/* Attempts at a commit that meets concurrent changes before the job is left for later. */
#define MAX_ATTEMPTS 5

/* The record to commit: a shallow copy of the one read, with new values pointing into this struct
 * or into the caller's error, so the record read is never modified. */
typedef struct outcome_rec {
    Certplane__V1__Certificate m;
    Google__Protobuf__Timestamp renew_after, update_time;
} outcome_rec_t;

/* Fills o from c and the CA's answer (ierr NULL: revoked); returns the renewal index time, -1 for
 * none: a revoked certificate is never renewed. */
static int64_t apply(const Certplane__V1__Certificate *c, const cp_err_t *ierr, outcome_rec_t *o)
{
    int64_t now = cp_clock_wall_ms();
    o->m = *c;
    cp_clock_ts_set(&o->update_time, now);
    o->m.update_time = &o->update_time;
    if (ierr == NULL) {
        o->m.state = CERTPLANE__V1__STATE__REVOKED;
        o->m.renew_after = NULL;
        o->m.last_error = "";
        o->m.failure_count = 0;
        return -1;
    }
    /* As after a failed issuance: the certificate is still served, and the scheduler queues the
     * revocation again once the back-off has passed. */
    int64_t count = (int64_t)c->failure_count + 1;
    int64_t at = ctl_renew_retry_at_ms(now, count, ctl_work__lifetime_ms(c), ctl_renew_random());
    o->m.failure_count = count > INT32_MAX ? INT32_MAX : (int32_t)count;
    o->m.last_error = ierr->msg[0] ? (char *)ierr->msg : (char *)cp_strerror(ierr->code);
    cp_clock_ts_set(&o->renew_after, at);
    o->m.renew_after = &o->renew_after;
    return at;
}

static void log_commit(const Certplane__V1__Certificate *c, const cp_err_t *ierr, int64_t rev)
{
    char revs[32], reason[16];
    snprintf(revs, sizeof(revs), "%" PRId64, rev);
    snprintf(reason, sizeof(reason), "%d", (int)c->revocation_reason);
    const char *kv[] = {"cert",   c->name, "serial",   c->serial != NULL ? c->serial : "",
                        "reason", reason,  "revision", revs,
                        NULL};
    if (ierr == NULL)
        CP_LOGKV(CP_LOG_INFO, "work", kv, "REVOKED: certificate revoked at the CA");
    else
        CP_LOGKV(CP_LOG_WARN, "work", kv, "revocation failed, retry later: %s", ierr->msg);
}

/* After a CP_ECONFLICT: re-reads into *c. 1 to retry the commit onto the new revision, 0 when the
 * job is done (deleted, no longer pending, or a new certificate that needs its own revocation,
 * which is queued), -1 when Redis failed. */
static int reread(ctl_work_thread_t *t, const ctl_store_job_t *job, Certplane__V1__Certificate **c,
                  const cp_err_t *ierr)
{
    cp_err_t err = {0};
    Certplane__V1__Certificate *now = NULL;
    CTL_WORK_STAT(t->w, conflicts, 1);
    int rc = ctl_certrepo_load(&t->repo, job->name, &now, &err);
    if (rc != 0)
        return rc == CP_ENOTFOUND || rc == CP_EINVAL ? 0 : -1;
    int retry = ctl_work__revoke_pending(now);
    if (retry && ierr == NULL && ctl_work__has_cert(now) &&
        strcmp(now->fullchain_pem, (*c)->fullchain_pem) != 0) {
        /* Another certificate was stored (an import) after the CA revoked the one we read: that one
         * is revoked by a job of its own. */
        retry = 0;
        if (ctl_store_job_enqueue(t->store, "revoke", job->name, now->revision, &err) != 0)
            retry = -1;
    }
    ctl_certrepo_cert_free(*c);
    *c = now;
    return retry;
}

/* Commits the outcome onto the revision read, re-reading after concurrent changes. */
static int commit(ctl_work_thread_t *t, const ctl_store_job_t *job, Certplane__V1__Certificate **c,
                  const cp_err_t *ierr)
{
    cp_err_t err = {0};
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        outcome_rec_t o;
        int64_t rev = 0;
        int64_t at = apply(*c, ierr, &o);
        ctl_certrepo_write_t w = {
            .mode = CTL_STORE_MATCH, .expected_revision = (*c)->revision, .renew_at_ms = at};
        int rc = ctl_certrepo_put(&t->repo, &o.m, &w, &rev, &err);
        if (rc == 0) {
            log_commit(*c, ierr, rev);
            if (ierr == NULL) {
                CTL_WORK_STAT(t->w, revoked, 1);
                ctl_work__webhook_event(t, "revoked", (*c)->name, (*c)->serial, NULL);
            }
            return CTL_WORK_ACK;
        }
        if (rc == CP_ENOTFOUND)
            return CTL_WORK_ACK;
        if (rc != CP_ECONFLICT)
            break;
        int retry = reread(t, job, c, ierr);
        if (retry <= 0) {
            if (retry == 0)
                return CTL_WORK_ACK;
            break;
        }
    }
    ctl_work__log_cert(CP_LOG_WARN, "work", job->name, "commit failed, job %s left for later: %s",
                       job->id, err.msg[0] ? err.msg : "too many concurrent changes");
    return CTL_WORK_LEAVE;
}

int ctl_work__revoke_run(ctl_work_thread_t *t, const ctl_store_job_t *job)
{
    cp_err_t err = {0}, ierr = {0};
    Certplane__V1__Certificate *c = NULL;
    int rc = ctl_certrepo_load(&t->repo, job->name, &c, &err);
    if (rc == CP_ENOTFOUND || rc == CP_EINVAL) {
        ctl_work__log_cert(rc == CP_EINVAL ? CP_LOG_ERROR : CP_LOG_INFO, "work", job->name,
                           "job %s dropped: %s", job->id,
                           rc == CP_EINVAL ? err.msg : "certificate deleted");
        return CTL_WORK_ACK;
    }
    if (rc != 0) {
        ctl_work__log_cert(CP_LOG_WARN, "work", job->name, "job %s left for later: %s", job->id,
                           err.msg);
        return CTL_WORK_LEAVE;
    }
    int outcome = CTL_WORK_ACK;
    if (!ctl_work__revoke_pending(c)) {
        ctl_work__log_cert(CP_LOG_DEBUG, "work", job->name, "job %s (revoke): nothing to do",
                           job->id);
        goto out;
    }
    /* A record without a certificate has nothing at the CA: it is marked REVOKED all the same, so
     * it is no longer issued or renewed, as asked. */
    rc = ctl_work__has_cert(c) ? ctl_work__revoke(t, c, &ierr) : 0;
    if (rc == CP_ECANCELED && ctl_work__stopping(t->w))
        outcome = CTL_WORK_LEAVE; /* not a failure: another controller resumes the job */
    else
        outcome = commit(t, job, &c, rc == 0 ? NULL : &ierr);
out:
    ctl_certrepo_cert_free(c);
    return outcome;
}
