/* SPDX-License-Identifier: Apache-2.0 */
/* watch_sink.h - where Watch events go: the interface each transport implements (a type only) */
#ifndef CTL_WATCH_SINK_H
#define CTL_WATCH_SINK_H

#include <stdbool.h>

#include "certplane/v1/certplane.pb-c.h"
#include "shared/err.h"

/** Where Watch events go: implemented by each transport (a gRPC server stream, an NDJSON response).
 *  Below both the service core (service.h) and the event relay (relay.h), which hands events to it.
 */
typedef struct ctl_watch_sink {
    void *u;
    /** Queues one event without blocking. CP_ECANCELED: the client is gone; CP_ETOOBIG: too slow
     * (the transport has ended the stream with a clear status). Either way the watcher is dropped.
     */
    int (*send)(void *u, const Certplane__V1__CertificateEvent *ev, cp_err_t *err);
    /** Ends the stream with a gRPC status code and message. */
    void (*finish)(void *u, int grpc_status, const char *message);
    /** Whether the client is already gone. */
    bool (*closed)(void *u);
    /** The service is done with the sink (called exactly once after a successful
     * ctl_service_watch). */
    void (*release)(void *u);
    /** Optional (NULL: unknown): how full the send queue is, in per mille of the bound past which
     * send() fails with CP_ETOOBIG. A snapshot or replay waits while it is over half full, so it
     * goes at the reader's pace instead of overrunning the queue (1,000,000 certificates). */
    int (*fill)(void *u);
} ctl_watch_sink_t;

#endif
