/* SPDX-License-Identifier: Apache-2.0 */
/* work_issuers.h - which provider a certificate's CA reference means, its ordered issuers, and
 * which failures move an issuance on to the next issuer */
#ifndef CTL_WORK_ISSUERS_H
#define CTL_WORK_ISSUERS_H

#include <stddef.h>
#include <stdint.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/config/config.h"
#include "controller/config/providers.h"
#include "shared/err.h"

/* The most issuers one certificate may list. */
#define CTL_WORK_MAX_ISSUERS 8

/** The provider `ref` means: the configured provider of that name; else the first configured
 * provider with the same directory once aliases are resolved (so "letsencrypt" and its URL are one
 * CA, with that provider's EAB and key type); else an ad-hoc provider written into *adhoc
 * (directory = ref, --acme-ca-file, no EAB, P-256 accounts, no profile) whose strings borrow ref
 * and cfg. NULL when ref is none of these (not a name, alias or https:// URL). THREAD SAFETY: any
 * thread. */
const ctl_provider_t *ctl_work_provider(const ctl_config_t *cfg, const char *ref,
                                        ctl_provider_t *adhoc);

/** Fills out[0..] with c's issuers in order (borrowed): its `issuers`, else its `provider`, else
 * --issuers. Returns how many (at most max, at least 1 when the configuration has issuers). THREAD
 * SAFETY: any thread. */
size_t ctl_work_issuers(const ctl_config_t *cfg, const Certplane__V1__Certificate *c,
                        const char **out, size_t max);

/** Whether an issuance that failed with rc/err should move on to the next issuer: the CA is
 * unreachable or timed out (CP_EUNAVAIL, CP_ETIMEDOUT), answered 5xx (serverInternal, or "HTTP 5xx"
 * without a problem document), refused the account (unauthorized at newAccount or newOrder,
 * accountDoesNotExist), or the order must wait (CP_EBUSY) until deferred_until_ms, later than
 * bound_ms from now_ms. THREAD SAFETY: any thread.
 */
int ctl_work_failover_worthy(int rc, const cp_err_t *err, int64_t deferred_until_ms, int64_t now_ms,
                             int64_t bound_ms);

/** Checks that every configured provider's directory is a known alias or an https:// URL.
 * Errors: CP_EINVAL naming the provider. THREAD SAFETY: any thread. */
int ctl_work_check_providers(const ctl_config_t *cfg, cp_err_t *err);

#endif
