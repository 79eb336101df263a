/* SPDX-License-Identifier: Apache-2.0 */
/* store_perm.h - does the Redis user may run what the controller needs? (issue 13) */
#ifndef CTL_STORE_PERM_H
#define CTL_STORE_PERM_H

#include "controller/store/store.h"

/** Checks that the Redis user of s may run every command the controller sends, on every key
 * pattern it uses: each is queued inside MULTI and the transaction is discarded, so nothing runs
 * and nothing changes; Redis checks ACL permissions when it queues. (Commands inside the Lua
 * scripts are checked only when they run.) Errors: CP_EPERM naming the first command refused and
 * Redis' reason ("redis user cannot run ZRANGEBYLEX certs: NOPERM ..."), CP_EUNAVAIL, CP_EAUTH.
 * THREAD SAFETY: one thread at a time per s. */
int ctl_store_check_permissions(ctl_store_t *s, cp_err_t *err);

#endif
