/* SPDX-License-Identifier: Apache-2.0 */
/* work_tickets.h - rotation of the edges' TLS session-ticket keys (issue 14) */
#ifndef CTL_WORK_TICKETS_H
#define CTL_WORK_TICKETS_H

#include <stdint.h>

#include "controller/work/work_util.h"

/** Keys kept: the active one and the two before it, so a ticket lives through two rotations. */
#define CTL_WORK_TICKET_KEYS_KEPT 3

/** Called by the presence thread each period: at most once a minute (or a quarter of
 * --ticket-key-rotation when shorter) checks the keys and rotates them when the active one is
 * older than --ticket-key-rotation. Every controller checks; the store's compare-and-set makes one
 * rotation win. *next_ms (monotonic) is the next check. THREAD SAFETY: the presence thread. */
void ctl_work__tickets_tick(ctl_work_thread_t *t, int64_t *next_ms);

#endif
