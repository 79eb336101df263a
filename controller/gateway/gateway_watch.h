/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_watch.h - Watch over HTTP: an NDJSON response fed by a ctl_watch_sink_t */
#ifndef CTL_GATEWAY_WATCH_H
#define CTL_GATEWAY_WATCH_H

#include "controller/gateway/gateway_internal.h"

/* THREAD SAFETY (module): these run on the loop thread; the sinks handed to the service may be
 * called from any thread. */

/** Answers GET /v1/watch: a JSON error, or (once ctl_service_watch accepted the sink on a service
 * thread) a 200 NDJSON stream fed by the service. */
void ctl_gateway__watch(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *route);

/** The loop's message receiver: flushes the streams that have news. */
void ctl_gateway__watch_on_wake(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages);

/** Periodic timer: ends the streams whose client has gone. */
void ctl_gateway__watch_on_check(h2o_timeout_entry_t *entry);

/** Ends every open stream and drops the pending wake-ups (the loop thread, while stopping). */
void ctl_gateway__watch_stop_all(ctl_gateway_t *g);

#endif
