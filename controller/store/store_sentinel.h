/* SPDX-License-Identifier: Apache-2.0 */
/* store_sentinel.h - Redis Sentinel: where the master is, and a watch on failovers */
#ifndef CTL_STORE_SENTINEL_H
#define CTL_STORE_SENTINEL_H

#include <stddef.h>
#include <stdint.h>

#include "controller/store/store.h"

/*
 * A redis+sentinel:// URL names sentinels and a master; the store asks the sentinels in turn for
 * the master's address (SENTINEL get-master-addr-by-name) whenever it connects, then checks with
 * ROLE that the server it reached is a master (a sentinel may answer with a stale address for a
 * moment after a failover). The watch (one thread per process) subscribes to +switch-master at a
 * sentinel and bumps a process-wide epoch when our master moves: every store drops a connection
 * made in an older epoch before its next command, so no write goes to a demoted master that is
 * still reachable. Sentinel connections authenticate with `password` when given (sentinels with
 * requirepass); the master's credentials stay in the URL.
 */

/** Asks url's sentinels, starting after the one that answered last, for the master's address.
 * host gets the address (IPv6 without brackets), *port the port. Errors: CP_EUNAVAIL (no sentinel
 * answered, or none knows the master; the message names each sentinel's failure), CP_EAUTH (a
 * sentinel refused the password). SIGPIPE must be blocked or ignored by the caller. THREAD SAFETY:
 * any thread. */
int ctl_store_sentinel_master(const ctl_store_url_t *url, const char *password, int timeout_ms,
                              char *host, size_t host_size, int *port, cp_err_t *err);

/** The failover epoch: 0 until the watch saw a +switch-master of its master, then one more per
 * failover. THREAD SAFETY: any thread. */
uint64_t ctl_store_sentinel_epoch(void);

/** Forces a new epoch (the watch calls it on +switch-master; tests and a READONLY answer may).
 * THREAD SAFETY: any thread. */
void ctl_store_sentinel_bump(void);

typedef struct ctl_store_sentinel_watch ctl_store_sentinel_watch_t;

/** Starts the watch thread for url's master (url must have sentinels; copied). Errors: CP_EINVAL
 * (no sentinels), CP_EINTERNAL (no thread). THREAD SAFETY: start and stop from one thread. */
int ctl_store_sentinel_watch_start(const ctl_store_url_t *url, const char *password,
                                   ctl_store_sentinel_watch_t **out, cp_err_t *err);

/** Stops and joins the watch (within about half a second); NULL is a no-op. */
void ctl_store_sentinel_watch_stop(ctl_store_sentinel_watch_t *w);

#endif
