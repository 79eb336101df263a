/* SPDX-License-Identifier: Apache-2.0 */
/* service_account.c - RolloverAccountKey: ACME account key rollover through the work layer */
#include "controller/service/service_account.h"

#include "controller/work/work_account.h"
#include "shared/mem.h"

/*
 * Unlike the certificate RPCs, a rollover is not queued: the caller wants to know that the CA took
 * the new key, and it is rare. It runs on the calling transport thread (never an event loop: the
 * gateway hands calls to its service threads, gRPC calls run on completion-queue threads), with its
 * own Redis connection, bounded by CTL_WORK_ROLLOVER_DEADLINE_MS.
 */

int ctl_service__rollover(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                          const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__RolloverAccountKeyRequest *r = (const void *)req;
    ctl_work_rollover_t out = {0};
    (void)t;
    (void)caller;
    Certplane__V1__KeyType type = r->key_type;
    if (type == CERTPLANE__V1__KEY_TYPE__KEY_TYPE_UNSPECIFIED)
        type = CERTPLANE__V1__KEY_TYPE__EC_P256;
    if (type != CERTPLANE__V1__KEY_TYPE__EC_P256 && type != CERTPLANE__V1__KEY_TYPE__RSA_2048)
        return cp_err_set(err, CP_EINVAL, "key_type: must be EC_P256 or RSA_2048");
    ctl_work_t *w = svc->work;
    if (w == NULL)
        return cp_err_set(err, CP_EUNAVAIL, "no ACME workers in this controller");
    int rc = ctl_work_account_rollover(w, r->provider, r->email, (cp_key_type_t)type, &out, err);
    if (rc != 0)
        return rc;
    Certplane__V1__RolloverAccountKeyResponse *m = cp_xmalloc(sizeof(*m));
    certplane__v1__rollover_account_key_response__init(m);
    m->provider = out.provider;
    m->email = out.email;
    m->key_type = type;
    m->account_url = out.account_url;
    m->key_thumbprint = out.thumbprint;
    *resp = &m->base;
    return 0;
}
