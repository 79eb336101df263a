/* SPDX-License-Identifier: Apache-2.0 */
/* work_webhook.h - the webhook thread: fans events out to subscriptions and delivers them */
#ifndef CTL_WORK_WEBHOOK_H
#define CTL_WORK_WEBHOOK_H

#include "controller/work/work_types.h"

/*
 * Issue 16. One thread per controller, with its own Redis connection, blocking only itself (never
 * an event loop). It takes entries of webhook:events through the consumer group "webhooks", writes
 * one delivery per matching subscription into the webhook:retry schedule and only then acknowledges
 * the entry; entries left pending by a dead consumer are claimed after CLAIM_IDLE_MS. Due
 * deliveries are leased (their score moves ahead, so a controller that dies with one leaves it due
 * again), POSTed with Standard Webhooks headers, then removed (2xx), rescheduled with capped
 * exponential back-off and jitter, or moved to the dead-letter list after --webhook-max-attempts.
 * At-least-once: a receiver may see a delivery twice (same webhook-id) but never none.
 */

/** The thread's body (arg: its ctl_work_thread_t). */
void *ctl_work__webhook_main(void *arg);

#endif
