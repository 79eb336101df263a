/* SPDX-License-Identifier: Apache-2.0 */
/* renew.c - renewal policy: renewal time, its floor, jitter, ARI window choice and failure back-off
 */
#include "controller/work/renew.h"

#include <stddef.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#include "shared/clock.h"
#include "shared/hash.h"

#define MINUTE_MS (60LL * 1000)
#define DAY_MS (86400LL * 1000)

int64_t ctl_renew_lead_ms(int64_t not_before_ms, int64_t not_after_ms, int64_t renew_before_ms)
{
    if (not_after_ms <= not_before_ms)
        return 0;
    if (renew_before_ms > 0)
        return renew_before_ms;
    int64_t lifetime = not_after_ms - not_before_ms;
    return lifetime < CTL_RENEW_SHORT_LIFETIME_MS ? lifetime / 2 : lifetime / 3;
}

int64_t ctl_renew_spread_ms(int64_t lead_ms)
{
    return lead_ms > 0 ? lead_ms / 10 : 0;
}

int64_t ctl_renew_jitter_ms(const char *name, int64_t spread_ms, uint64_t rnd)
{
    uint64_t half = spread_ms > 1 ? (uint64_t)spread_ms / 2 : 0;
    if (half == 0)
        return 0;
    uint64_t fixed =
        name != NULL ? cp_hash_fnv1a64_str(name) /* FNV-1a: stable across controllers */ % half : 0;
    return (int64_t)(fixed + rnd % half);
}

int64_t ctl_renew_floor_ms(int64_t not_before_ms, int64_t not_after_ms)
{
    if (not_after_ms <= not_before_ms)
        return 0;
    int64_t lifetime = not_after_ms - not_before_ms;
    int64_t least = lifetime / 3 < MINUTE_MS ? lifetime / 3 : MINUTE_MS;
    return lifetime / 10 > least ? lifetime / 10 : least;
}

int ctl_renew_before_too_long(int64_t not_before_ms, int64_t not_after_ms, int64_t renew_before_ms)
{
    return not_after_ms > not_before_ms && renew_before_ms >= not_after_ms - not_before_ms;
}

int64_t ctl_renew_at_ms(const char *name, int64_t not_before_ms, int64_t not_after_ms,
                        int64_t renew_before_ms, uint64_t rnd)
{
    if (not_after_ms <= not_before_ms)
        return not_before_ms;
    int64_t lead = ctl_renew_lead_ms(not_before_ms, not_after_ms, renew_before_ms);
    int64_t lifetime = not_after_ms - not_before_ms;
    if (lead > lifetime)
        lead = lifetime;
    int64_t at = not_after_ms - lead - ctl_renew_jitter_ms(name, ctl_renew_spread_ms(lead), rnd);
    /* A --renew-before close to (or past) the lifetime would put the renewal at issuance, and the
     * renewed certificate would be due again at once: an ordering loop. The floor breaks it. */
    int64_t floor = not_before_ms + ctl_renew_floor_ms(not_before_ms, not_after_ms);
    return at < floor ? floor : at;
}

int64_t ctl_renew_pick_ms(const ctl_renew_window_t *suggested, const char *name,
                          int64_t not_before_ms, int64_t not_after_ms, int64_t renew_before_ms,
                          uint64_t rnd)
{
    if (suggested == NULL || suggested->start_ms > suggested->end_ms)
        return ctl_renew_at_ms(name, not_before_ms, not_after_ms, renew_before_ms, rnd);
    /* Unsigned arithmetic: the width of any int64 window fits, and start + offset <= end wraps back
     * into range exactly. */
    uint64_t width = (uint64_t)suggested->end_ms - (uint64_t)suggested->start_ms;
    uint64_t offset = width == UINT64_MAX ? rnd : rnd % (width + 1);
    return (int64_t)((uint64_t)suggested->start_ms + offset);
}

int64_t ctl_renew_ari_at_ms(const ctl_renew_window_t *window, const ctl_renew_window_t *prev,
                            int64_t prev_at_ms, uint64_t rnd)
{
    if (prev != NULL && prev->start_ms == window->start_ms && prev->end_ms == window->end_ms &&
        prev_at_ms >= window->start_ms && prev_at_ms <= window->end_ms)
        return prev_at_ms;
    return ctl_renew_pick_ms(window, NULL, 0, 0, 0, rnd);
}

int64_t ctl_renew_ari_poll_ms(long retry_after_s, int64_t min_ms, int64_t max_ms)
{
    if (min_ms <= 0)
        min_ms = CTL_RENEW_ARI_POLL_MIN_MS;
    if (max_ms <= 0)
        max_ms = CTL_RENEW_ARI_POLL_MAX_MS;
    if (max_ms < min_ms)
        max_ms = min_ms;
    /* Capped before the multiplication: a Retry-After of years must not overflow. */
    int64_t ms = retry_after_s < 0                   ? max_ms
                 : retry_after_s > max_ms / 1000 + 1 ? max_ms
                                                     : (int64_t)retry_after_s * 1000;
    return ms < min_ms ? min_ms : ms > max_ms ? max_ms : ms;
}

int64_t ctl_renew_backoff_ms(int64_t failure_count)
{
    switch (failure_count > 4 ? 4 : failure_count) {
    case 1:
        return MINUTE_MS;
    case 2:
        return 10 * MINUTE_MS;
    case 3:
        return 100 * MINUTE_MS;
    case 4:
        return DAY_MS;
    default:
        return 0;
    }
}

int64_t ctl_renew_retry_at_ms(int64_t now_ms, int64_t failure_count, int64_t lifetime_ms,
                              uint64_t rnd)
{
    int64_t backoff = ctl_renew_backoff_ms(failure_count);
    int64_t cap = lifetime_ms / 10 > 60000 ? lifetime_ms / 10 : 60000;
    if (lifetime_ms > 0 && backoff > cap)
        backoff = cap;
    uint64_t spread = (uint64_t)(backoff / 20);
    return now_ms + backoff + (spread > 0 ? (int64_t)(rnd % spread) : 0);
}

uint64_t ctl_renew_random(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
        return v;
    v = (uint64_t)cp_clock_mono_ns() * 6364136223846793005ULL;
    return v ^ (v >> 29);
}
