/* SPDX-License-Identifier: Apache-2.0 */
/* service_ondemand.h - RequestOnDemandCertificate: the controller's on-demand TLS policy (issue 14)
 */
#ifndef CTL_SERVICE_ONDEMAND_H
#define CTL_SERVICE_ONDEMAND_H

#include "controller/service/service_types.h"
#include "shared/err.h"

/*
 * The order of the checks, each refusal answered (never an error: hostile SNI is expected):
 *   disabled  neither --on-demand-allow nor --on-demand-ask is set;
 *   invalid   the name is no DNS name a certificate could be issued for (ondemand_policy.h);
 *   exists    a certificate of that name exists: ALLOWED, unless it is an on-demand one whose last
 *             issuance failed less than --on-demand-cooldown ago (COOLDOWN "cooldown");
 *   pattern   --on-demand-allow is set and no pattern matches;
 *   ask       --on-demand-ask is set and does not answer 200 (cached, ondemand_ask.h);
 *   rate      --on-demand-max-per-hour certificates were created this hour (COOLDOWN, global in
 *             Redis);
 *   created   an on-demand certificate {name, domains [name], the --acme-email, the
 *             --on-demand-challenge} is created as CreateCertificate does (one script: record,
 *             event, issue job), so the lock and the job queue issue it once; a concurrent create
 *             (another controller) answers "exists".
 * Names the policy refuses never reach the store's write path or the CA.
 */

/** Checks the --on-demand-* options at start: CP_EINVAL naming a bad pattern or challenge.
 *  THREAD SAFETY: any thread. */
int ctl_service__ondemand_check_config(const ctl_config_t *cfg, cp_err_t *err);

/** The RPC of ctl_service_rpcs[] (service.c). THREAD SAFETY: any thread, with its own t. */
int ctl_service__ondemand(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                          const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);

#endif
