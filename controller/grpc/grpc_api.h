/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_api.h - certplane.v1.Certificates and grpc.health.v1.Health on the gRPC transport */
#ifndef CTL_GRPC_API_H
#define CTL_GRPC_API_H

#include "controller/config/config.h"
#include "controller/service/service.h"
#include "shared/err.h"

typedef struct ctl_grpc_api ctl_grpc_api_t;

/** Starts the gRPC server of `cfg` (listen address, TLS files, threads) for `svc`: every unary RPC
 * of ctl_service_rpcs[], Watch, and the standard health service (no token needed; SERVING while
 * Redis answers). *port receives the bound port. Errors: CP_EINVAL (TLS files), CP_EIO (bind).
 *  THREAD SAFETY: main thread. */
int ctl_grpc_api_start(const ctl_config_t *cfg, ctl_service_t *svc, ctl_grpc_api_t **out, int *port,
                       cp_err_t *err);

/** Re-checks readiness and tells health watchers when it changed. Call about once a second.
 *  THREAD SAFETY: one thread (the main thread). */
void ctl_grpc_api_tick(ctl_grpc_api_t *api);

/** Stops the server (open streams end with UNAVAILABLE) and frees. NULL is a no-op. */
void ctl_grpc_api_stop(ctl_grpc_api_t *api);

#endif
