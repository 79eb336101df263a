/* SPDX-License-Identifier: Apache-2.0 */
/* acme_account.c - ACME accounts: newAccount (create, lookup, EAB), keyChange, revokeCert */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "controller/acme/acme_internal.h"
#include "shared/base64.h"
#include "shared/mem.h"

const char *ctl_acme_account_url(const ctl_acme_t *c)
{
    return c->account_url;
}

int ctl_acme_account_thumbprint(const ctl_acme_t *c, char *out, size_t out_size, cp_err_t *err)
{
    if (c->account_key == NULL)
        return cp_err_set(err, CP_ESTATE, "no ACME account key");
    return ctl_acme__thumbprint(c->account_key, out, out_size, err);
}

int ctl_acme_key_thumbprint(const char *key_pem, char *out, size_t out_size, cp_err_t *err)
{
    EVP_PKEY *key = NULL;
    int rc = cp_x509_key_from_pem(key_pem, strlen(key_pem), &key, err);
    if (rc == 0)
        rc = ctl_acme__thumbprint(key, out, out_size, err);
    EVP_PKEY_free(key);
    return rc;
}

/* newAccount payload: lookup only, or creation with contact, terms and EAB. */
static int account_payload(ctl_acme_t *c, int only_existing, json_t **out, cp_err_t *err)
{
    json_t *p = json_object();
    if (only_existing) {
        json_object_set_new(p, "onlyReturnExisting", json_true());
        *out = p;
        return 0;
    }
    json_object_set_new(p, "termsOfServiceAgreed", json_true());
    if (c->email != NULL && c->email[0] != '\0') {
        size_t n = strlen(c->email) + 8;
        char *mailto = cp_xmalloc(n);
        snprintf(mailto, n, "mailto:%s", c->email);
        json_object_set_new(p, "contact", json_pack("[s]", mailto));
        free(mailto);
    }
    if (c->eab_kid != NULL) {
        json_t *eab = NULL;
        int rc = ctl_acme__jws_eab(c->eab_kid, c->eab_mac, c->eab_mac_len, c->account_key,
                                   c->url_new_account, &eab, err);
        if (rc != 0) {
            json_decref(p);
            return rc;
        }
        json_object_set_new(p, "externalAccountBinding", eab);
    }
    *out = p;
    return 0;
}

/* POST newAccount with the jwk of the account key; sets c->account_url from Location. */
static int new_account(ctl_acme_t *c, int only_existing, cp_err_t *err)
{
    ctl_acme__resp_t r = {0};
    json_t *payload = NULL;
    int rc = ctl_acme__directory(c, err);
    if (rc != 0)
        return rc;
    rc = account_payload(c, only_existing, &payload, err);
    if (rc != 0)
        return rc;
    const char *what = only_existing ? "newAccount (lookup)" : "newAccount";
    rc = ctl_acme__post_json(c, c->url_new_account, payload, c->account_key, what, &r, err);
    if (rc != 0)
        return rc;
    if (r.location == NULL || r.location[0] == '\0') {
        rc = cp_err_set(err, CP_EPROTO, "%s: no account URL in the answer", what);
        goto out;
    }
    free(c->account_url);
    c->account_url = ctl_acme__strdup(r.location);
    if (only_existing)
        c->stats.account_lookups++;
    else if (r.status == 201)
        c->stats.accounts_created++;
out:
    ctl_acme__resp_dispose(&r);
    return rc;
}

/* Loads a stored account through the hook; CP_ENOTFOUND when there is none. */
static int account_load(ctl_acme_t *c, char **url, cp_err_t *err)
{
    char *pem = NULL;
    if (c->hooks.account_load == NULL)
        return CP_ENOTFOUND;
    int rc =
        c->hooks.account_load(c->hooks.ctx, c->provider, c->email ? c->email : "", &pem, url, err);
    if (rc != 0)
        return rc;
    rc = pem ? cp_x509_key_from_pem(pem, strlen(pem), &c->account_key, err) : CP_ENOTFOUND;
    if (rc == CP_EINVAL)
        cp_err_prefix(err, "stored account key");
    cp_secure_free_str(pem);
    if (rc != 0) {
        free(*url);
        *url = NULL;
    }
    return rc;
}

static int account_save(ctl_acme_t *c, cp_err_t *err)
{
    char *pem = NULL;
    if (c->hooks.account_save == NULL)
        return 0;
    int rc = cp_x509_key_to_pem(c->account_key, &pem, err);
    if (rc == 0)
        rc = c->hooks.account_save(c->hooks.ctx, c->provider, c->email ? c->email : "", pem,
                                   c->account_url, err);
    cp_secure_free_str(pem);
    return rc;
}

int ctl_acme__account_ready(ctl_acme_t *c, cp_err_t *err)
{
    char *stored_url = NULL;
    cp_err_t local;
    int rc = 0;
    if (err == NULL)
        err = &local; /* the accountDoesNotExist check below reads the message */
    if (c->account_key != NULL && c->account_checked)
        return 0;
    if (c->account_key == NULL) {
        rc = account_load(c, &stored_url, err);
        if (rc != 0 && rc != CP_ENOTFOUND) {
            cp_err_prefix(err, "loading the ACME account");
            return rc;
        }
    }
    if (c->account_key != NULL) {
        /* Known key: find its account; a CA that does not know it gets a new account for it. */
        rc = new_account(c, 1, err);
        if (rc == CP_EACME && err != NULL && strstr(err->msg, "accountDoesNotExist") != NULL)
            rc = new_account(c, 0, err);
    } else {
        rc = cp_x509_key_generate(c->account_key_type, &c->account_key, err);
        if (rc == 0)
            rc = new_account(c, 0, err);
    }
    if (rc == 0 && (stored_url == NULL || strcmp(stored_url, c->account_url) != 0))
        rc = account_save(c, err);
    if (rc == 0) {
        c->account_checked = 1;
    } else {
        /* Nothing half-known survives: the next call starts from storage again. */
        EVP_PKEY_free(c->account_key);
        c->account_key = NULL;
        free(c->account_url);
        c->account_url = NULL;
    }
    free(stored_url);
    return rc;
}

int ctl_acme_account_ensure(ctl_acme_t *c, cp_err_t *err)
{
    ctl_acme__deadline_start(c);
    return ctl_acme__account_ready(c, err);
}

/* The keyChange request: inner JWS by the new key (jwk, no nonce), posted by the old key (kid). */
static int key_change(ctl_acme_t *c, EVP_PKEY *new_key, cp_err_t *err)
{
    ctl_acme__resp_t r = {0};
    json_t *old_jwk = NULL, *inner = NULL;
    char *payload = NULL;
    if (c->url_key_change == NULL)
        return cp_err_set(err, CP_EACME, "keyChange: the CA offers no key rollover");
    int rc = ctl_acme__jwk(c->account_key, &old_jwk, err);
    if (rc != 0)
        return rc;
    json_t *p = json_pack("{s:s, s:o}", "account", c->account_url, "oldKey", old_jwk);
    payload = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    rc = ctl_acme__jws_sign(new_key, NULL, NULL, c->url_key_change, payload, &inner, err);
    if (rc == 0)
        rc = ctl_acme__post_json(c, c->url_key_change, inner, NULL, "keyChange", &r, err);
    ctl_acme__resp_dispose(&r);
    free(payload);
    return rc;
}

int ctl_acme_account_rollover(ctl_acme_t *c, cp_key_type_t type, cp_err_t *err)
{
    EVP_PKEY *new_key = NULL;
    ctl_acme__deadline_start(c);
    int rc = ctl_acme__account_ready(c, err);
    if (rc != 0)
        return rc;
    rc = cp_x509_key_generate(type ? type : c->account_key_type, &new_key, err);
    if (rc != 0)
        return rc;
    rc = key_change(c, new_key, err);
    if (rc != 0) {
        EVP_PKEY_free(new_key);
        return rc;
    }
    EVP_PKEY *old = c->account_key;
    c->account_key = new_key;
    rc = account_save(c, err);
    if (rc != 0) {
        /* The CA already switched: keep using the new key in memory and say so. */
        cp_err_prefix(err, "key rolled over at the CA but not stored");
    }
    EVP_PKEY_free(old);
    return rc;
}

int ctl_acme_revoke(ctl_acme_t *c, const char *cert_pem, int reason, EVP_PKEY *cert_key,
                    cp_err_t *err)
{
    ctl_acme__resp_t r = {0};
    cp_x509_chain_t *chain = NULL;
    unsigned char *der = NULL;
    char *der64 = NULL;
    ctl_acme__deadline_start(c);
    int rc = cp_x509_chain_parse(cert_pem, strlen(cert_pem), &chain, err);
    if (rc != 0)
        goto out;
    int n = i2d_X509(chain->certs[0], &der);
    if (n <= 0) {
        rc = cp_err_set(err, CP_ECRYPTO, "revokeCert: cannot encode the certificate");
        goto out;
    }
    der64 = cp_base64_encode(der, (size_t)n, CP_BASE64_URL);
    rc = cert_key ? ctl_acme__directory(c, err) : ctl_acme__account_ready(c, err);
    if (rc != 0)
        goto out;
    if (c->url_revoke == NULL) {
        rc = cp_err_set(err, CP_EACME, "revokeCert: the CA offers no revocation");
        goto out;
    }
    json_t *p = json_pack("{s:s, s:i}", "certificate", der64, "reason", reason);
    rc = ctl_acme__post_json(c, c->url_revoke, p, cert_key, "revokeCert", &r, err);
out:
    ctl_acme__resp_dispose(&r);
    OPENSSL_free(der);
    free(der64);
    cp_x509_chain_free(chain);
    return rc;
}
