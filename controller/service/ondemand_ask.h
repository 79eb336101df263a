/* SPDX-License-Identifier: Apache-2.0 */
/* ondemand_ask.h - on-demand TLS (issue 14): the --on-demand-ask URL, with a bounded answer cache
 */
#ifndef CTL_ONDEMAND_ASK_H
#define CTL_ONDEMAND_ASK_H

#include <stdbool.h>
#include <stdint.h>

/** Whether the ask URL allows `name` (a normalized DNS name: ondemand_policy.h): GET
 *  url?domain=NAME (&domain= when the URL has a query already), 200 allows; any other status, a
 *  redirect, or no answer within 3 s refuses. Answers are kept for ttl_ms in a direct-mapped cache
 *  of 4,096 names (a name evicts the one in its slot), so a burst for one name asks once per TTL;
 *  a failure to reach the URL is kept for at most 5 s. *cached (may be NULL) says whether the cache
 *  answered. THREAD SAFETY: any thread (the cache has its own lock; the GET runs outside it). */
bool ctl_ondemand_ask(const char *url, const char *name, int64_t ttl_ms, bool *cached);

/** Empties the cache (tests, shutdown: frees every entry). THREAD SAFETY: any thread. */
void ctl_ondemand_ask_clear(void);

#endif
