/* SPDX-License-Identifier: Apache-2.0 */
/* work_issuers.c - which provider a certificate's CA reference means, its ordered issuers, and
 * which failures move an issuance on to the next issuer */
#include "controller/work/work_issuers.h"

#include <string.h>

#include "controller/acme/acme.h"

const ctl_provider_t *ctl_work_provider(const ctl_config_t *cfg, const char *ref,
                                        ctl_provider_t *adhoc)
{
    if (ref == NULL || ref[0] == '\0')
        return NULL;
    const ctl_provider_t *p = ctl_providers_find(cfg, ref);
    if (p != NULL)
        return p;
    const char *url = ctl_acme_directory_url(ref);
    if (url == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const char *u = ctl_acme_directory_url(cfg->providers[i].directory);
        if (u != NULL && strcmp(u, url) == 0)
            return &cfg->providers[i];
    }
    memset(adhoc, 0, sizeof(*adhoc));
    adhoc->name = (char *)ref;
    adhoc->directory = (char *)ref;
    adhoc->ca_file = cfg->acme_ca_file;
    adhoc->account_key_type = CP_KEY_EC_P256;
    /* A configuration made without ctl_config_parse (tests, tools) has no provider list: the
     * --acme-* flags still describe its default CA. */
    const char *dflt = cfg->n_providers == 0 ? ctl_acme_directory_url(cfg->acme_provider) : NULL;
    if (dflt != NULL && strcmp(dflt, url) == 0) {
        adhoc->eab_kid = cfg->eab_kid;
        adhoc->eab_hmac_key = cfg->eab_hmac_key;
        adhoc->profile = cfg->acme_profile;
    }
    return adhoc;
}

static int nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

size_t ctl_work_issuers(const ctl_config_t *cfg, const Certplane__V1__Certificate *c,
                        const char **out, size_t max)
{
    size_t n = 0;
    if (c->n_issuers > 0) {
        for (size_t i = 0; i < c->n_issuers && n < max; i++)
            out[n++] = c->issuers[i];
    } else if (nonempty(c->provider)) {
        out[n++] = c->provider;
    } else if (cfg->n_issuers > 0) {
        for (size_t i = 0; i < cfg->n_issuers && n < max; i++)
            out[n++] = cfg->issuers[i];
    } else if (nonempty(cfg->acme_provider) && max > 0) {
        out[n++] = cfg->acme_provider; /* a configuration made without ctl_config_parse */
    }
    return n;
}

int ctl_work_failover_worthy(int rc, const cp_err_t *err, int64_t deferred_until_ms, int64_t now_ms,
                             int64_t bound_ms)
{
    const char *msg = err != NULL ? err->msg : "";
    switch (rc) {
    case CP_EUNAVAIL:
    case CP_ETIMEDOUT:
        return 1;
    case CP_EBUSY:
        return deferred_until_ms > now_ms + bound_ms;
    case CP_EPROTO: /* e.g. "newNonce: HTTP 500 without Replay-Nonce" */
    case CP_EACME:
        if (strstr(msg, "serverInternal") != NULL || strstr(msg, "HTTP 5") != NULL ||
            strstr(msg, "accountDoesNotExist") != NULL)
            return 1;
        /* unauthorized for the account: at newAccount or newOrder, not a failed challenge */
        return strstr(msg, "unauthorized") != NULL &&
               (strncmp(msg, "newAccount", 10) == 0 || strncmp(msg, "newOrder", 8) == 0);
    default:
        return 0;
    }
}

int ctl_work_check_providers(const ctl_config_t *cfg, cp_err_t *err)
{
    for (size_t i = 0; i < cfg->n_providers; i++)
        if (ctl_acme_directory_url(cfg->providers[i].directory) == NULL)
            return cp_err_set(err, CP_EINVAL,
                              "provider \"%s\": directory \"%s\" is neither an https:// URL nor "
                              "one of letsencrypt, letsencrypt-staging, zerossl, buypass, google",
                              cfg->providers[i].name, cfg->providers[i].directory);
    return 0;
}
