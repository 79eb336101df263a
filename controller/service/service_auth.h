/* SPDX-License-Identifier: Apache-2.0 */
/* service_auth.h - bearer tokens: loading (--api-tokens-file, --api-tokens) and checking */
#ifndef CTL_SERVICE_AUTH_H
#define CTL_SERVICE_AUTH_H

#include <stddef.h>

#include "controller/service/service_types.h"
#include "shared/err.h"

/** Parses the tokens of --api-tokens-file and --api-tokens and, when all of them parse, replaces
 * svc->tokens with them; on failure the tokens in use stay. THREAD SAFETY: any thread. */
int ctl_service__tokens_load(ctl_service_t *svc, cp_err_t *err);

/** ctl_service_reload_tokens() (service.h). */
int ctl_service__tokens_reload(ctl_service_t *svc, size_t *n_tokens, cp_err_t *err);

/** ctl_service_authenticate() (service.h). */
int ctl_service__authenticate(ctl_service_t *svc, const char *token, const char *peer,
                              ctl_caller_t *caller, cp_err_t *err);

#endif
