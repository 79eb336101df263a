/* SPDX-License-Identifier: Apache-2.0 */
/* server.h - the edge's event loops: listeners, handlers, and the RCU grace period of table swaps
 */
#ifndef EDGE_SERVER_H
#define EDGE_SERVER_H

#include "edge/config.h"
#include "edge/metrics.h"
#include "edge/ondemand.h"
#include "edge/park.h"
#include "edge/proxy.h"
#include "edge/sni.h"
#include "shared/err.h"

/*
 * One h2o event loop per thread (--threads). Every loop has its own SO_REUSEPORT socket on each
 * listener (HTTPS, HTTP, admin), so the kernel spreads connections; all loops share one h2o global
 * configuration and the one SSL_CTX of edge/sni.h.
 *
 * Retiring a table version: after the writer swaps in a new version, edge_server_retire sends a
 * message to every loop. A loop handles messages between events, never inside a TLS callback, so
 * when the last loop has seen its message no loop can still be reading the old version, and it is
 * released then (an RCU grace period). Certs it shares with the new version live on (refcounts).
 *
 * THREAD SAFETY: new/start/stop/free from the main thread; retire from the one writer thread
 * (edge/watch.h) while the loops run.
 */
typedef struct edge_server edge_server_t;

/** Builds the h2o configuration (HTTPS router and proxy, HTTP-01 and redirect, admin) and binds
 *  every listener socket for every loop (so "address in use" shows before anything starts).
 *  `cfg`, `sni` and `metrics` must outlive the server. Errors: CP_EINVAL (bad address or route),
 *  CP_EIO (bind/listen failed). */
int edge_server_new(const edge_config_t *cfg, edge_sni_t *sni, edge_metrics_t *metrics,
                    edge_server_t **out, cp_err_t *err);

/** Turns on on-demand TLS (edge/park.h) on the HTTPS listeners; before start. `od` must outlive
 *  the server. */
void edge_server_set_ondemand(edge_server_t *s, edge_ondemand_t *od);

/** edge_ondemand_opts_t.wake: every loop looks at its held handshakes again. THREAD SAFETY: any
 *  thread; `arg` is the server. */
void edge_server_ondemand_wake(void *arg);

/** Starts the loop threads. Errors: CP_EIO. */
int edge_server_start(edge_server_t *s, cp_err_t *err);

/** Releases `old` once every loop has passed a grace period (see above). Without running loops
 *  (before start, after stop) it is released at once or at edge_server_free. */
void edge_server_retire(edge_server_t *s, edge_certmap_t *old);

/** Stops accepting, gives open requests a moment, stops and joins the loops. */
void edge_server_stop(edge_server_t *s);

/** Frees the server (after stop) and every version still waiting for its grace period. */
void edge_server_free(edge_server_t *s);

/* Internal to edge/server.c and edge/http.c. */

/** Registers the handlers of the three listeners; returns their host lists (NULL-terminated). */
typedef struct edge_server__hosts {
    h2o_hostconf_t *https[2];
    h2o_hostconf_t *http[2];
    h2o_hostconf_t *admin[2];
} edge_server__hosts_t;

/** What the handlers need. */
typedef struct edge_server__app {
    const edge_config_t *cfg;
    edge_sni_t *sni;
    edge_metrics_t *metrics;
    edge_proxy_t *proxy;
    int https_port;
    edge_ondemand_t *ondemand; /* NULL: on-demand TLS off */
} edge_server__app_t;

/* The parts (each declares the functions of its .c file); included last, so that they see the
 * types above and users of this header keep the whole API. */
#include "edge/http.h"

#endif
