/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_metrics.h - the /metrics page, rendered on a gateway service thread */
#ifndef CTL_GATEWAY_METRICS_H
#define CTL_GATEWAY_METRICS_H

#include <stddef.h>

#include "controller/service/service.h"

/** The /metrics page: the registry plus the certificates listed through the service core (pages of
 *  ListCertificates as an internal read caller); when the store cannot be listed (t NULL, Redis
 *  down) the certificate gauges are left out and certplane_certificates_scrape_success is 0.
 *  Returns malloc'd text of *len bytes. THREAD SAFETY: any thread with its own t; it waits on
 *  Redis, so never the gateway's loop. */
char *ctl_gateway__metrics(ctl_service_t *svc, ctl_thread_t *t, size_t *len);

#endif
