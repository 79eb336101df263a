/* SPDX-License-Identifier: Apache-2.0 */
/* service_webhooks.h - CreateWebhook, ListWebhooks, DeleteWebhook, ListWebhookDeadLetters */
#ifndef CTL_SERVICE_WEBHOOKS_H
#define CTL_SERVICE_WEBHOOKS_H

#include "controller/service/service_types.h"
#include "shared/err.h"

/* The RPCs of ctl_service_rpcs[] (service.c) this file implements; their contracts are those of
 * certplane.v1 (proto/certplane/v1/certplane.proto) and ctl_rpc_t. THREAD SAFETY: any thread, with
 * its own t. */
int ctl_service__webhook_create(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                                const ProtobufCMessage *req, ProtobufCMessage **resp,
                                cp_err_t *err);
int ctl_service__webhook_list(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                              const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);
int ctl_service__webhook_delete(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                                const ProtobufCMessage *req, ProtobufCMessage **resp,
                                cp_err_t *err);
int ctl_service__webhook_dead(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                              const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err);

/** Checks a CreateWebhook request: url (http/https with a host, at most 2048 bytes, no spaces or
 * control characters), events (1 to 7 known types, no repeats), name_filter (at most 253
 * printable characters without spaces). CP_EINVAL naming the field. THREAD SAFETY: pure. */
int ctl_service__webhook_check(const Certplane__V1__CreateWebhookRequest *r, cp_err_t *err);

#endif
