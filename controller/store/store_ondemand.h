/* SPDX-License-Identifier: Apache-2.0 */
/* store_ondemand.h - what every controller shares about on-demand TLS (issue 14): the hourly cap
 * and when each on-demand certificate was last served */
#ifndef CTL_STORE_ONDEMAND_H
#define CTL_STORE_ONDEMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/err.h"

/*
 * Keys:
 *   ondemand:orders:{hour}  on-demand certificates admitted in that wall-clock hour (INCR),
 *                           expires after two hours: fixed hour buckets, shared by every
 *                           controller on the Redis, so --on-demand-max-per-hour is global.
 *   ondemand:used           hash: certificate name -> wall ms an edge last reported serving it.
 *
 * THREAD SAFETY: one thread at a time per ctl_store_t (as the whole store).
 */

typedef struct ctl_store ctl_store_t;

/** Counts one on-demand admission in the hour of now_ms and says whether it stays within max
 *  (*admitted; max <= 0: no cap, nothing counted). Errors: CP_EUNAVAIL, CP_EAUTH. */
int ctl_store_ondemand_admit(ctl_store_t *s, int64_t now_ms, int64_t max, bool *admitted,
                             cp_err_t *err);

/** Records that edges served the n certificates `names` at now_ms. Errors: CP_EUNAVAIL, CP_EAUTH.
 */
int ctl_store_ondemand_used(ctl_store_t *s, const char *const *names, size_t n, int64_t now_ms,
                            cp_err_t *err);

/** When `name` was last reported served (wall ms) into *ms, 0 when never. Errors: CP_EUNAVAIL. */
int ctl_store_ondemand_last_used(ctl_store_t *s, const char *name, int64_t *ms, cp_err_t *err);

#endif
