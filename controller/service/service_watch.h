/* SPDX-License-Identifier: Apache-2.0 */
/* service_watch.h - Watch: a replay or a snapshot on the caller's thread, then the relay's events
 */
#ifndef CTL_SERVICE_WATCH_H
#define CTL_SERVICE_WATCH_H

#include "controller/service/service_types.h"
#include "controller/service/watch_sink.h"
#include "shared/err.h"

/** ctl_service_watch() (service.h). */
int ctl_service__watch(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                       const Certplane__V1__WatchRequest *req, const ctl_watch_sink_t *sink,
                       cp_err_t *err);

#endif
