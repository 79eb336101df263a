/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_acme.h - HTTP-01 answers on the gateway without waiting on Redis on the loop */
#ifndef CTL_GATEWAY_ACME_H
#define CTL_GATEWAY_ACME_H

#include "controller/gateway/gateway_internal.h"

/*
 * GET /.well-known/acme-challenge/<token>: a token answered in the last CTL_GATEWAY__ACME_TTL_MS is
 * answered again from the loop's memory; any other token is looked up on a service thread (in Redis
 * through ctl_service_challenge_answer, or g->opts.http01_lookup when set) and answered when the
 * lookup returns. A CA validates one challenge with several requests (multi-perspective validation,
 * retries) within seconds, so only the first of them waits for Redis, and a slow Redis never holds
 * up an answer already known. Only answers found are kept (a token may be set right after a miss);
 * an answer may outlive its challenge by at most the TTL, which is harmless: a key authorization is
 * what the CA reads anyway, and a token is never reused.
 *
 * THREAD SAFETY (module): the loop thread; the lookup runs on a service thread.
 */

/** How long a found answer is served from memory. */
#define CTL_GATEWAY__ACME_TTL_MS 30000

/** Registers the responder of g on `pathconf` (registered for "/.well-known/acme-challenge"). */
void ctl_gateway__acme_register(ctl_gateway_t *g, h2o_pathconf_t *pathconf);

/** Frees the answers kept in memory. NULL-safe. Loop thread, or after it ended. */
void ctl_gateway__acme_free(ctl_gateway_t *g);

#endif
