/* SPDX-License-Identifier: Apache-2.0 */
/* service_edges.h - ReportEdgeStatus and ListEdges */
#ifndef CTL_SERVICE_EDGES_H
#define CTL_SERVICE_EDGES_H

#include "controller/service/service_types.h"
#include "shared/err.h"

/* The RPCs of ctl_service_rpcs[] (service.c) this file implements; their contracts are those of
 * certplane.v1 (proto/certplane/v1/certplane.proto) and ctl_rpc_t. THREAD SAFETY: any thread, with
 * its own t. */
int ctl_service__report_edge(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                             const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__list_edges(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                            const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);

#endif
