/* SPDX-License-Identifier: Apache-2.0 */
/* service_certs.h - CreateCertificate, GetCertificate, DeleteCertificate, RenewCertificate */
#ifndef CTL_SERVICE_CERTS_H
#define CTL_SERVICE_CERTS_H

#include "controller/service/service_types.h"
#include "shared/err.h"

/* The RPCs of ctl_service_rpcs[] (service.c) this file implements; their contracts are those of
 * certplane.v1 (proto/certplane/v1/certplane.proto) and ctl_rpc_t. THREAD SAFETY: any thread, with
 * its own t. */
int ctl_service__create(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
/** CreateCertificate's work on `c` (owned: stored into *resp, or freed on error), without the
 *  output-only check: on-demand creation (service_ondemand.c) sets on_demand. */
int ctl_service__create_owned(ctl_service_t *svc, ctl_thread_t *t, Certplane__V1__Certificate *c,
                              ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__get(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                     const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__delete(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__renew(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                       const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);

#endif
