/* SPDX-License-Identifier: Apache-2.0 */
/* sim_model.h - the renewal simulation's model of the controller (scheduler, workers, order
 * admission, failover) and of the CAs, around the REAL renewal policy of controller/work/renew.c;
 * what is real and what is modelled is listed at the top of sim_model.c */
#ifndef SIM_MODEL_H
#define SIM_MODEL_H

#include "tests/sim/sim_world.h"

/*
 * Every function acts at the world's virtual time w->now.
 * THREAD SAFETY (whole module): the world's one thread.
 */

/** Appends v to t (grows with cp_xrealloc). */
void sim_times_push(sim_times_t *t, int64_t v);

/** The primary CA's ARI window for a lifetime, as fractions of it after not_before. */
void sim_ca_fractions(int64_t life_ms, double *start, double *end);

/** The renewal decision after certificate `id` was issued (its nb, na, issuer set): renew_at and
 * next_poll set through renew.c; returns the time to index it at. */
int64_t sim_after_issue(sim_world_t *w, int id);

/** The scheduler takes a due entry of certs:by_expiry: an ARI poll, or a renew job queued. */
void sim_on_due(sim_world_t *w, const sim_ev_t *ev);

/** A worker takes job `id`: admission, issuer choice, the order sent to the CA. */
void sim_start_job(sim_world_t *w, int id);

/** An order ended: new certificate served, account rate limit recorded, or back-off. */
void sim_on_done(sim_world_t *w, const sim_ev_t *ev);

/** The mass revocation: the CA moves the windows of the chosen certificates to now. */
void sim_on_revoke(sim_world_t *w);

/** Free workers take queued jobs. */
void sim_kick_workers(sim_world_t *w);

#endif
