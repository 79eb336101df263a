/* SPDX-License-Identifier: Apache-2.0 */
/* work_account.h - ACME account operations asked for through the API: key rollover */
#ifndef CTL_WORK_ACCOUNT_H
#define CTL_WORK_ACCOUNT_H

#include "controller/work/work.h"
#include "shared/err.h"
#include "shared/x509.h"

/* The longest a rollover may take (network included), whatever --acme-timeout says: it runs on a
 * thread that answers an API call. */
#define CTL_WORK_ROLLOVER_DEADLINE_MS 30000

/** What a rollover did; every string malloc'd, freed by ctl_work_rollover_dispose(). Never the key.
 */
typedef struct ctl_work_rollover {
    char *provider; /* the CA as the account is stored under it (name or directory URL) */
    char *email;    /* the account's email, "" for an account without contact */
    char *account_url;
    char *thumbprint; /* RFC 7638 thumbprint of the new key */
} ctl_work_rollover_t;

/**
 * Rolls the account key of (provider, email) over at its CA (keyChange) and stores the new key
 * (sealed) in place of the old one. provider NULL or "" means --acme-provider, email NULL or ""
 * --acme-email; type is CP_KEY_EC_P256 or CP_KEY_RSA_2048. Runs on the calling thread with its own
 * short-lived Redis connection and an ACME client from the one factory (work_acme.c), bounded by
 * CTL_WORK_ROLLOVER_DEADLINE_MS; under the Redis lock of the account, so two controllers never roll
 * one account at once. Afterwards this controller's workers remake their cached clients; other
 * controllers' workers notice at the CA's refusal of the old key (work_acme.c). The account is
 * created first when it does not exist yet. Errors: CP_EINVAL (no or unknown provider, bad type),
 * CP_EBUSY (another rollover of the account is running), CP_EUNAVAIL, CP_EACME, CP_ETIMEDOUT and
 * the client's other errors. THREAD SAFETY: any thread, never an event loop (it blocks).
 */
int ctl_work_account_rollover(ctl_work_t *w, const char *provider, const char *email,
                              cp_key_type_t type, ctl_work_rollover_t *out, cp_err_t *err);

/** Frees out's strings and zeroes it; NULL is a no-op. */
void ctl_work_rollover_dispose(ctl_work_rollover_t *out);

#endif
