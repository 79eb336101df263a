/* SPDX-License-Identifier: Apache-2.0 */
/* clock.h - the clocks (wall and monotonic), RFC 3339 text and google.protobuf.Timestamp <-> ms */
#ifndef CP_CLOCK_H
#define CP_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "google/protobuf/timestamp.pb-c.h"

/* One implementation of time for every program. Wall-clock milliseconds (CLOCK_REALTIME) are what
 * records, Timestamps and deadlines shared between processes hold; monotonic milliseconds
 * (CLOCK_MONOTONIC) are what timeouts and intervals inside one process are measured with, because
 * they never jump. THREAD SAFETY: every function is safe from any thread. */

/** Size of a buffer that holds any text cp_clock_rfc3339_format writes. */
#define CP_CLOCK_RFC3339_MAX 40

/** Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t cp_clock_wall_ms(void);

/** Milliseconds on CLOCK_MONOTONIC: only differences between two calls mean anything. */
int64_t cp_clock_mono_ms(void);

/** Nanoseconds on CLOCK_MONOTONIC, for measuring short durations. */
int64_t cp_clock_mono_ns(void);

/** The absolute time ms milliseconds from now on `clock` (for pthread_cond_timedwait and friends;
 *  CLOCK_REALTIME unless the condition variable was set to another clock). */
struct timespec cp_clock_after(clockid_t clock, int64_t ms);

/** Writes seconds/nanos as RFC 3339 UTC into buf: "2023-11-14T22:13:20Z", with 3, 6 or 9 fraction
 *  digits when nanos is not 0 (".500Z"). Returns 0, or -1 when outside 0001-01-01..9999-12-31,
 *  nanos is not 0..999999999 or size is below CP_CLOCK_RFC3339_MAX. */
int cp_clock_rfc3339_format(int64_t seconds, int32_t nanos, char *buf, size_t size);

/** Parses the len bytes at s as RFC 3339 (any offset, 'T'/'t', 'Z'/'z', 1-9 fraction digits).
 *  Returns 0, or -1 (outputs unchanged) when malformed or outside 0001-01-01..9999-12-31 UTC. */
int cp_clock_rfc3339_parse(const char *s, size_t len, int64_t *seconds, int32_t *nanos);

/** Initialises *ts to the instant ms milliseconds after the epoch. Negative ms round towards
 *  minus infinity, as Timestamp requires: -1 is seconds -1, nanos 999000000. */
void cp_clock_ts_set(Google__Protobuf__Timestamp *ts, int64_t ms);

/** A new Timestamp (cp_xmalloc'd, free with free()) set as cp_clock_ts_set does. */
Google__Protobuf__Timestamp *cp_clock_ts_new(int64_t ms);

/** Milliseconds since the epoch of ts (sub-millisecond nanos dropped, rounding towards minus
 *  infinity), or if_null when ts is NULL (an unset field). */
int64_t cp_clock_ts_ms(const Google__Protobuf__Timestamp *ts, int64_t if_null);

#endif
