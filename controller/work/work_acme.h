/* SPDX-License-Identifier: Apache-2.0 */
/* work_acme.h - the one ACME client factory: a worker's clients (one per CA and account email),
 * their hooks into Redis, issuance and revocation */
#ifndef CTL_WORK_ACME_H
#define CTL_WORK_ACME_H

#include "certplane/v1/certplane.pb-c.h"
#include "controller/acme/acme.h"
#include "controller/config/config.h"
#include "controller/config/providers.h"
#include "controller/work/work_types.h"
#include "shared/err.h"

/*
 * Only workers talk to the CA (issuance, renewal and revocation are all queued work), and they all
 * make their clients here, so there is one answer to "which account, which CA, which binding":
 *
 * - The CA is a provider (work_issuers.h): a certificate lists its issuers (or names one provider,
 *   or takes --issuers); each is a configured provider name, or an alias or URL, which means the
 *   configured provider of the same directory when there is one. Issuance tries them in order and
 *   moves on only after a failure retrying will not soon cure; ARI and revocation go to the
 *   provider that issued (issued_by). The account email is the certificate's, or --acme-email.
 * - Everything about the CA comes from the provider entry: directory, CA bundle, external account
 *   binding, default profile, account key type. An EAB pair is issued by one CA to bind accounts
 *   at that CA, so it belongs to its provider only (another CA could not verify it, and handing it
 *   to every CA would disclose the key id to parties it does not belong to).
 * - An account is stored under (directory, email); an account without contact (empty email) is
 *   stored under the email "-", because the store keys accounts by a non-empty email.
 */

/** Fills *out with the client settings of provider p for email under cfg (email may be NULL or
 * ""). Borrowed strings point into p, cfg and the arguments; hooks, keypool and metrics are left
 * to the caller. THREAD SAFETY: any thread. */
void ctl_work_acme_config(const ctl_provider_t *p, const ctl_config_t *cfg, const char *email,
                          ctl_acme_config_t *out);

/** The email under which the account of `email` is stored: email itself, or "-" when it is NULL or
 *  empty. THREAD SAFETY: any thread. */
const char *ctl_work_acme_account_email(const char *email);

/** Issues c's certificate with the thread's client for its CA and email. Errors: CP_EINVAL (no
 * provider; DNS-01 needed without --dns-exec) and those of ctl_acme_issue(). THREAD SAFETY: t's
 * thread. */
int ctl_work__issue(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                    ctl_acme_result_t *res, cp_err_t *err);

/** Revokes c's fullchain_pem at its CA with reason c->revocation_reason, through the account of its
 * email (the same client issuance uses). A certificate the CA already revoked counts as revoked
 * (0). Errors: CP_EINVAL (no provider, no certificate) and those of ctl_acme_revoke(). THREAD
 * SAFETY: t's thread. */
int ctl_work__revoke(ctl_work_thread_t *t, const Certplane__V1__Certificate *c, cp_err_t *err);

/** The thread's client for c: the provider that issued it (during an issuance: the one that just
 * did), else its first issuer; its email or the default email (made on first use, owned by t).
 * Errors: CP_EINVAL (no provider), those of ctl_acme_new(). THREAD SAFETY: t's thread. */
int ctl_work__client_for(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                         ctl_acme_t **out, cp_err_t *err);

/** Makes a client for (provider, email) with t's hooks (account load and save through t->store),
 * as every worker's clients are made; deadline_ms > 0 shortens the configured --acme-timeout.
 * Errors: those of ctl_acme_new(). THREAD SAFETY: t's thread. */
int ctl_work__client_make(ctl_work_thread_t *t, const char *provider, const char *email,
                          long deadline_ms, ctl_acme_t **out, cp_err_t *err);

/** Frees the thread's clients. THREAD SAFETY: t's thread, or after it ended. */
void ctl_work__clients_free(ctl_work_thread_t *t);

#endif
