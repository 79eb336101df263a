/* SPDX-License-Identifier: Apache-2.0 */
/* service_account.h - RolloverAccountKey: ACME account key rollover through the work layer */
#ifndef CTL_SERVICE_ACCOUNT_H
#define CTL_SERVICE_ACCOUNT_H

#include "controller/service/service_types.h"
#include "shared/err.h"

/* The RPC of ctl_service_rpcs[] (service.c) this file implements; its contract is that of
 * certplane.v1 (proto/certplane/v1/certplane.proto) and ctl_rpc_t. Blocks on the CA (at most
 * CTL_WORK_ROLLOVER_DEADLINE_MS): transports call it on threads that may block. Without a work
 * machinery (ctl_service_set_work) it fails with CP_EUNAVAIL. THREAD SAFETY: any thread, with its
 * own t. */
int ctl_service__rollover(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                          const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);

#endif
