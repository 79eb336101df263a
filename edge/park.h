/* SPDX-License-Identifier: Apache-2.0 */
/* park.h - on-demand TLS in an event loop: peek at a new connection's ClientHello and hold the
 * handshake of an unknown name until its certificate arrives, without blocking the loop */
#ifndef EDGE_PARK_H
#define EDGE_PARK_H

#include <h2o.h>

#include "edge/metrics.h"
#include "edge/ondemand.h"
#include "edge/sni.h"

/*
 * A new HTTPS connection is not handed to h2o at once: the loop waits (read readiness, no read:
 * h2o_socket_dont_read) for its first TLS record, looks at it with recv(MSG_PEEK) (nothing is
 * consumed, so h2o's handshake later reads the same bytes), and parses the SNI
 * (edge/clienthello.h). A name the table serves, no name, an ineligible name, an acme-tls/1
 * validation, or anything that is not a ClientHello in one record goes to h2o_accept at once. An
 * unknown eligible name asks edge/ondemand.h: refused names go on at once (the fallback); allowed
 * or asked ones wait, holding one of --on-demand-max-parked places (none left: at once), until the
 * table gains a certificate for the name (edge_park_recheck after every table swap), the answer is
 * a refusal, or --on-demand-wait passes; then h2o_accept, so that same handshake gets the new
 * certificate or the fallback. A first record that does not complete within 5 s goes to h2o as it
 * is. A partial record is polled every 20 ms instead of on readiness (level-triggered readiness
 * without a read would spin the loop).
 *
 * THREAD SAFETY: a park belongs to one loop and is used on its thread only.
 */
typedef struct edge_park edge_park_t;

/** On the loop's thread. */
edge_park_t *edge_park_new(h2o_loop_t *loop, edge_sni_t *sni, edge_ondemand_t *od,
                           edge_metrics_t *m);

/** Takes over a new connection of an HTTPS listener (instead of h2o_accept). */
void edge_park_accept(edge_park_t *p, h2o_accept_ctx_t *actx, h2o_socket_t *sock);

/** Lets every held handshake whose certificate arrived, or whose name was refused, go on. */
void edge_park_recheck(edge_park_t *p);

/** Closes every held connection and frees (the loop's end). NULL is a no-op. */
void edge_park_free(edge_park_t *p);

#endif
