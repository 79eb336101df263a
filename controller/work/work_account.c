/* SPDX-License-Identifier: Apache-2.0 */
/* work_account.c - ACME account operations asked for through the API: key rollover */
#include "controller/work/work_account.h"

#include <stdlib.h>
#include <string.h>

#include "controller/store/store_jobs.h"
#include "controller/work/work_acme.h"
#include "controller/work/work_types.h"
#include "shared/log.h"
#include "shared/mem.h"

/* The account lock outlives the rollover's deadline: it is released at the end, or expires. */
#define LOCK_TTL_MS (2 * CTL_WORK_ROLLOVER_DEADLINE_MS)

void ctl_work_rollover_dispose(ctl_work_rollover_t *out)
{
    if (out == NULL)
        return;
    free(out->provider);
    free(out->email);
    free(out->account_url);
    free(out->thumbprint);
    memset(out, 0, sizeof(*out));
}

/* Rolls over with a client made for t (its store) and fills out; the caller holds the lock. */
static int roll(ctl_work_thread_t *t, const char *provider, const char *email, cp_key_type_t type,
                ctl_work_rollover_t *out, cp_err_t *err)
{
    ctl_acme_t *acme = NULL;
    char tp[64];
    int rc = ctl_work__client_make(t, provider, email, CTL_WORK_ROLLOVER_DEADLINE_MS, &acme, err);
    if (rc != 0)
        return rc;
    rc = ctl_acme_account_rollover(acme, type, err);
    /* Also after a failure past the account lookup (storing failed after the CA switched, or the
     * answer to keyChange was lost): the cached clients may hold a dead key, and remaking them is
     * cheap. */
    if (rc == 0 || ctl_acme_account_url(acme) != NULL)
        atomic_fetch_add(&t->w->account_gen, 1);
    if (rc == 0)
        rc = ctl_acme_account_thumbprint(acme, tp, sizeof tp, err);
    if (rc == 0) {
        out->provider = cp_xstrdup(provider);
        out->email = cp_xstrdup(email);
        out->account_url = cp_xstrdup(ctl_acme_account_url(acme));
        out->thumbprint = cp_xstrdup(tp);
    }
    ctl_acme_free(acme);
    return rc;
}

static void log_rollover(const char *provider, const char *email, const ctl_work_rollover_t *out,
                         int rc, const cp_err_t *err)
{
    const char *kv[] = {"provider", provider, "email", ctl_work_acme_account_email(email), NULL};
    if (rc == 0)
        CP_LOGKV(CP_LOG_INFO, "work", kv, "account key rolled over: %s, new key %s",
                 out->account_url, out->thumbprint);
    else
        CP_LOGKV(CP_LOG_WARN, "work", kv, "account key rollover failed: %s", err->msg);
}

int ctl_work_account_rollover(ctl_work_t *w, const char *provider, const char *email,
                              cp_key_type_t type, ctl_work_rollover_t *out, cp_err_t *err)
{
    cp_err_t local = {0};
    char token[CTL_STORE_LOCK_TOKEN_SIZE];
    ctl_store_t *store = NULL;
    memset(out, 0, sizeof(*out));
    if (err == NULL)
        err = &local;
    if (provider == NULL || provider[0] == '\0')
        provider = w->cfg->acme_provider;
    if (email == NULL || email[0] == '\0')
        email = w->cfg->acme_email != NULL ? w->cfg->acme_email : "";
    if (provider == NULL || provider[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "provider: none given and no --acme-provider");
    const char *dir = ctl_acme_directory_url(provider);
    if (dir == NULL)
        return cp_err_set(err, CP_EINVAL, "provider: unknown provider or not an https:// URL");
    if (type != CP_KEY_EC_P256 && type != CP_KEY_RSA_2048)
        return cp_err_set(err, CP_EINVAL, "key_type: must be EC_P256 or RSA_2048");
    ctl_store_opts_t so = {.owner = w->owner,
                           .keyring = w->cfg->keyring,
                           .wait_replicas = w->cfg->redis_wait_replicas,
                           .wait_timeout_ms = (int)w->cfg->redis_wait_timeout_ms,
                           .sentinel_password = w->cfg->redis_sentinel_password,
                           .tls = w->cfg->redis_tls};
    int rc = ctl_store_new(w->cfg->redis_url, &so, &store, err);
    if (rc != 0)
        return rc;
    /* One lock per account whatever alias names its CA (lock:cert:account:{directory}:{email}). */
    char *lock = cp_xasprintf("account:%s:%s", dir, ctl_work_acme_account_email(email));
    rc = ctl_store_lock_acquire(store, lock, LOCK_TTL_MS, token, err);
    if (rc == CP_EBUSY)
        cp_err_set(err, CP_EBUSY, "a rollover of this account is already running");
    if (rc >= 0) {
        ctl_work_thread_t t = {.w = w, .index = -1, .store = store};
        rc = roll(&t, provider, email, type, out, err);
        cp_err_t e = {0};
        (void)ctl_store_lock_release(store, lock, token, &e);
    }
    log_rollover(provider, email, out, rc, err);
    free(lock);
    ctl_store_free(store);
    return rc;
}
