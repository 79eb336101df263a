/* SPDX-License-Identifier: Apache-2.0 */
/* sim_world.h - the state of the renewal simulation: its settings, the certificates, the CAs and
 * what is measured (types only; the model is in sim_renewals.c) */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include <stdint.h>

#include "controller/work/renew.h"
#include "tests/sim/sim_core.h"

#define SIM_MIN (60LL * 1000)
#define SIM_HOUR (3600LL * 1000)
#define SIM_DAY (86400LL * 1000)
/* 2026-01-01T00:00:00Z: the virtual clock starts here. */
#define SIM_T0 1767225600000LL

enum { SIM_PRIMARY = 0, SIM_FALLBACK = 1, SIM_NPROV = 2, SIM_MAX_ACCOUNTS = 16 };
enum { SIM_EV_DUE = 1, SIM_EV_DONE = 2, SIM_EV_REVOKE = 3 };
enum { SIM_OK = 0, SIM_FAIL = 1, SIM_RATELIMITED = 2 };

/** Settings; defaults in sim_renewals.c, flags in its usage text. */
typedef struct sim_cfg {
    int certs, days, accounts, workers;
    int orders_per_hour, concurrent; /* per provider: --acme-orders-per-hour, --acme-concurrent */
    int64_t latency_min_ms, latency_max_ms, unreachable_ms;
    double fail_rate; /* share of orders the CA fails at random (validation etc.) */
    double revoke_day, revoke_share;
    double outage_day, outage_hours;
    double rl_day, rl_hours;
    int rl_account;
    int64_t failover_bound_ms; /* the next issuer takes over after this long unreachable */
    long ari_retry_after_s;    /* the Retry-After the CA sends with renewalInfo */
    int ari_goal_hours;        /* revoked-window certificates must be renewed within this */
    int ignore_ari, no_failover;
    int expect_ari_miss; /* exit 0 only when the ARI goal alone is missed */
    int64_t renew_before_ms;
    uint64_t seed;
    int verbose;
} sim_cfg_t;

/** One certificate record and the certificate it serves. */
typedef struct sim_cert {
    int64_t life_ms;
    int64_t nb, na;         /* the served certificate */
    int64_t renew_at;       /* renew_after */
    int64_t next_poll;      /* ARI: next renewalInfo poll, -1 for none */
    ctl_renew_window_t win; /* the last window the CA suggested */
    int have_win;
    int issuer, account;
    int64_t failures;   /* failure_count */
    uint32_t gen;       /* generation of its certs:by_expiry entry */
    int busy;           /* a job is queued or running */
    int revoke_target;  /* the CA will move its window to "now" at the revocation */
    int64_t revoked_at; /* -1, or when the served certificate's window moved */
    int pending, pending_prov;
    int64_t pending_retry_ms;
    int64_t renewals;
    int bad10, expired; /* ever served inside its last 10 % / expired */
    int outage_due;     /* became due while the primary CA was down */
    double ideal;
} sim_cert_t;

/** A growable list of times (admissions, for the sliding-hour peak). */
typedef struct sim_times {
    int64_t *v;
    size_t n, cap;
} sim_times_t;

/** The CA side and the caps as the controller sees them, per provider. */
typedef struct sim_prov {
    int64_t hour;  /* the hour bucket of `orders` (orders:{p}:{hour}) */
    int orders;    /* admitted in that hour */
    int peak_hour; /* most admitted in one clock hour */
    int inflight;
    int64_t rl_until[SIM_MAX_ACCOUNTS]; /* ratelimit:{p}:{a} */
    int64_t down_since; /* first failed contact of the current streak, -1 when reachable */
    int64_t last_try;   /* last order sent to it */
    sim_times_t admitted;
    int64_t issued, issued_in_outage;
} sim_prov_t;

/** The whole world. */
typedef struct sim_world {
    sim_cfg_t cfg;
    int64_t now, end;
    int64_t revoke_at, outage_start, outage_end, rl_start, rl_end;
    sim_heap_t heap;
    uint64_t rng;
    sim_cert_t *c;
    int *queue; /* FIFO of job ids (the jobs stream), capacity certs + 1 */
    size_t qhead, qtail;
    int free_workers;
    sim_prov_t prov[SIM_NPROV];
    /* measured */
    int64_t polls, orders, failures, deferred_ratelimit, deferred_cap, deferred_concurrent;
    int64_t rl_orders_after_429; /* orders of the limited account that reached the CA afterwards */
    int64_t first_429;
    int64_t due_in_outage, renewed_in_outage_by_fallback;
    int64_t max_queue;
    sim_times_t revoke_delay;
} sim_world_t;

#endif
