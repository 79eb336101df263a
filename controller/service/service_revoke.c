/* SPDX-License-Identifier: Apache-2.0 */
/* service_revoke.c - RevokeCertificate: validates, records the request and queues the revocation */
#include "controller/service/service_revoke.h"

#include <stdlib.h>

#include "controller/service/service_util.h"
#include "shared/clock.h"
#include "shared/log.h"

/*
 * Design decision 3: work is queued, not done inside a request. The request is recorded with the
 * certificate (revoke_request_time, revocation_reason) and a "revoke" job in the same revision-
 * checked write; a worker revokes at the CA (work/work_revoke.c) and commits REVOKED. The
 * certs:by_expiry entry is a lease, as for CreateCertificate: should the job be lost, the scheduler
 * queues the revocation again once --job-timeout has passed without a commit.
 */

static int revoke_check(const char *name, const Certplane__V1__Certificate *c, cp_err_t *err)
{
    if (c->state == CERTPLANE__V1__STATE__REVOKED)
        return cp_err_set(err, CP_ESTATE, "certificate \"%s\" is already revoked", name);
    if (c->fullchain_pem == NULL || c->fullchain_pem[0] == '\0')
        return cp_err_set(err, CP_ESTATE, "certificate \"%s\" has no issued certificate to revoke",
                          name);
    return 0;
}

/* One attempt on the certificate as just read: records the request with its job, unless one is
 * queued already (asking again changes nothing). */
static int revoke_once(ctl_service_t *svc, ctl_thread_t *t, Certplane__V1__Certificate *c,
                       int reason, cp_err_t *err)
{
    int rc = revoke_check(c->name, c, err);
    if (rc != 0 || c->revoke_request_time != NULL)
        return rc;
    int64_t now = cp_clock_wall_ms();
    c->revoke_request_time = cp_clock_ts_new(now);
    c->revocation_reason = reason;
    free(c->update_time);
    c->update_time = cp_clock_ts_new(now);
    ctl_certrepo_write_t w = {
        .mode = CTL_STORE_MATCH,
        .expected_revision = c->revision,
        .renew_at_ms = now + svc->cfg->job_timeout_ms,
        .job_kind = "revoke",
    };
    rc = ctl_service__cert_store(t, c, &w, err);
    if (rc == 0)
        CP_LOGKV(CP_LOG_INFO, "service", ((const char *[]){"cert", c->name, NULL}),
                 "revocation queued (reason %d)", reason);
    return rc;
}

/* What revoke_once needs beyond the certificate. */
typedef struct revoke_ctx {
    ctl_service_t *svc;
    int reason;
} revoke_ctx_t;

static int revoke_update(ctl_thread_t *t, Certplane__V1__Certificate *c, void *ctx, cp_err_t *err)
{
    const revoke_ctx_t *r = ctx;
    return revoke_once(r->svc, t, c, r->reason, err);
}

int ctl_service__revoke(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__RevokeCertificateRequest *r = (const void *)req;
    (void)caller;
    int rc = ctl_service__check_name("name", r->name, err);
    if (rc != 0)
        return rc;
    if (r->reason < 0 || r->reason > 10 || r->reason == 7)
        return cp_err_set(err, CP_EINVAL,
                          "reason: must be an RFC 5280 reason code 0-10 other than 7");
    revoke_ctx_t ctx = {.svc = svc, .reason = (int)r->reason};
    return ctl_service__update(t, r->name, revoke_update, &ctx, resp, err);
}
