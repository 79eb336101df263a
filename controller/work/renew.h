/* SPDX-License-Identifier: Apache-2.0 */
/* renew.h - renewal policy: when to renew a certificate, how long to back off after a failure */
#ifndef CTL_RENEW_H
#define CTL_RENEW_H

#include <stdint.h>

/*
 * Pure functions of their arguments (design.md, "Renewal time"): no clock, no randomness of their
 * own. Times are Unix milliseconds, durations milliseconds. Randomness comes in as `rnd`, a
 * uniformly random 64-bit value the caller draws (ctl_renew_random()), so tests can pin it.
 *
 * THREAD SAFETY (whole module): any thread.
 */

/** Lifetimes shorter than this renew when half of the lifetime remains instead of one third. */
#define CTL_RENEW_SHORT_LIFETIME_MS (10LL * 86400 * 1000)

/** How long before not_after a certificate is renewed: renew_before_ms when > 0, otherwise one
 * third of the lifetime (30 days for 90 days), or one half for lifetimes under 10 days. 0 for an
 * empty or negative lifetime. */
int64_t ctl_renew_lead_ms(int64_t not_before_ms, int64_t not_after_ms, int64_t renew_before_ms);

/** Width of the jitter window for a lead time: a tenth of it (3 days for 30 days, 3 s for 30 s). */
int64_t ctl_renew_spread_ms(int64_t lead_ms);

/** How much earlier than the exact policy time `name` renews: a part fixed per name (a hash of it,
 * in [0, spread/2)) plus a random part (rnd, in [0, spread/2)), so certificates created together
 * spread out and one certificate does not drift between controllers. Result in [0, spread) (0 when
 * spread < 2). */
int64_t ctl_renew_jitter_ms(const char *name, int64_t spread_ms, uint64_t rnd);

/** The renewal floor of a lifetime: the shortest time after not_before a renewal may be scheduled,
 * whatever the flags. max(a tenth of the lifetime, min(1 minute, a third of the lifetime)): never
 * later than the default policy renews (at least 45 % of the lifetime has passed by then), so it
 * only bites when --renew-before asks for more than about 90 % of the lifetime; one minute at least
 * for every lifetime of 3 minutes or more, so no flag can make a certificate be ordered again the
 * moment it is issued (issue #12: 54 orders of one certificate in 25 s). 0 for an empty or negative
 * lifetime. */
int64_t ctl_renew_floor_ms(int64_t not_before_ms, int64_t not_after_ms);

/** Longest lifetime a publicly trusted TLS certificate may have (CA/Browser Forum Baseline
 * Requirements: 200 days from 15 March 2026). A --renew-before this long renews every such
 * certificate at its floor, that is: at once after issuance; the configuration refuses it. */
#define CTL_RENEW_MAX_PUBLIC_LIFETIME_MS (200LL * 86400 * 1000)

/** 1 when renew_before_ms would renew a certificate of that lifetime at once after issuance (it is
 * the whole lifetime or more, so only the floor holds the renewal back), else 0. */
int ctl_renew_before_too_long(int64_t not_before_ms, int64_t not_after_ms, int64_t renew_before_ms);

/** The renewal time of a certificate valid from not_before_ms to not_after_ms: not_after - lead -
 * jitter, never sooner than not_before + ctl_renew_floor_ms() and never after not_after. An empty
 * or negative lifetime renews at not_before_ms (that is: now, for a certificate already issued).
 * name may be NULL (no fixed part). */
int64_t ctl_renew_at_ms(const char *name, int64_t not_before_ms, int64_t not_after_ms,
                        int64_t renew_before_ms, uint64_t rnd);

/** A renewal window suggested by the CA (ACME Renewal Information, RFC 9773). */
typedef struct ctl_renew_window {
    int64_t start_ms;
    int64_t end_ms;
} ctl_renew_window_t;

/** The renewal time with an optional ARI window: a uniformly random moment in [start, end] when
 *  `suggested` is given and well-formed (start <= end), otherwise ctl_renew_at_ms(). The result may
 * be in the past (a window that already ended): the caller renews at once. */
int64_t ctl_renew_pick_ms(const ctl_renew_window_t *suggested, const char *name,
                          int64_t not_before_ms, int64_t not_after_ms, int64_t renew_before_ms,
                          uint64_t rnd);

/** The renewal time after an ARI poll answered `window`: the previous choice `prev_at_ms` when the
 * window is the one chosen in before (`prev`, may be NULL) and the choice lies inside it, so
 * polling does not move a renewal around; otherwise a new uniformly random moment in the window
 * (ctl_renew_pick_ms). A time in the past means: renew at once. */
int64_t ctl_renew_ari_at_ms(const ctl_renew_window_t *window, const ctl_renew_window_t *prev,
                            int64_t prev_at_ms, uint64_t rnd);

/** Default bounds of the wait between two ARI polls: an hour, and twelve hours (twice a day). */
#define CTL_RENEW_ARI_POLL_MIN_MS (3600LL * 1000)
#define CTL_RENEW_ARI_POLL_MAX_MS (12LL * 3600 * 1000)

/** The wait before the next ARI poll: the CA's Retry-After (`retry_after_s`, -1 when it sent none:
 * then max_ms) clamped to [min_ms, max_ms]. min_ms or max_ms <= 0 take the defaults above. */
int64_t ctl_renew_ari_poll_ms(long retry_after_s, int64_t min_ms, int64_t max_ms);

/** Back-off after `failure_count` consecutive failures (Let's Encrypt's integration guide): 0 for
 * none, then 1 min, 10 min, 100 min, and one day from the fourth failure on. */
int64_t ctl_renew_backoff_ms(int64_t failure_count);

/** When to try again after `failure_count` consecutive failures at now_ms: now + the back-off + a
 * random part in [0, back-off / 20) from rnd (up to 3 s after 1 min, 72 min after a day), so
 * certificates that failed together (a CA outage) do not come back together. The back-off is at
 * most a tenth of the certificate's lifetime (`lifetime_ms`, 0 when unknown; at least a minute):
 * a day between tries is right for 90-day certificates, but would let a 160-hour certificate
 * expire after a two-day outage (seen in sim.renewals). now_ms for failure_count <= 0. */
int64_t ctl_renew_retry_at_ms(int64_t now_ms, int64_t failure_count, int64_t lifetime_ms,
                              uint64_t rnd);

/** A uniformly random 64-bit value from the system's generator (getrandom; a time-seeded fallback
 * when that fails, since jitter is not a secret). */
uint64_t ctl_renew_random(void);

#endif
