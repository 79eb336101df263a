/* SPDX-License-Identifier: Apache-2.0 */
/* service_import.c - ImportCertificate (externally issued) and RevokeCertificate (at the CA) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "controller/acme/acme.h"
#include "controller/service/service_internal.h"
#include "controller/service/validate.h"
#include "shared/log.h"
#include "shared/mem.h"
#include "shared/x509.h"

static bool empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* ---- ImportCertificate ---------------------------------------------------------------------- */

/* Domains and IP addresses of the leaf, in normal form, into c. */
static int import_names(Certplane__V1__Certificate *c, const cp_x509_info_t *info, cp_err_t *err)
{
    char buf[CTL_VALIDATE_NAME_BUF];
    size_t nd = info->n_dns_names;
    const char *const *dns = (const char *const *)info->dns_names;
    const char *cn = info->common_name;
    if (nd == 0 && info->n_ip_addresses == 0 && cn != NULL) {
        dns = &cn; /* an old certificate without SANs: its CN is its name */
        nd = 1;
    }
    int rc = ctl_validate_names(dns, nd, (const char *const *)info->ip_addresses,
                                info->n_ip_addresses, CTL_VALIDATE_ALLOW_WILDCARD, err);
    if (rc != 0) {
        if (nd == 0 && info->n_ip_addresses == 0)
            return cp_err_set(err, CP_EINVAL, "fullchain_pem: the certificate names no domain");
        return cp_err_prefix(err, "fullchain_pem: leaf certificate"), rc;
    }
    c->n_domains = nd;
    c->domains = cp_xcalloc(nd, sizeof *c->domains);
    for (size_t i = 0; i < nd; i++) {
        if (ctl_validate_domain_normalize(dns[i], CTL_VALIDATE_ALLOW_WILDCARD, buf, sizeof buf,
                                          NULL) != 0)
            snprintf(buf, sizeof buf, "%s", dns[i]);
        c->domains[i] = cp_xstrdup(buf);
    }
    c->n_ip_addresses = info->n_ip_addresses;
    c->ip_addresses = cp_xcalloc(info->n_ip_addresses, sizeof *c->ip_addresses);
    for (size_t i = 0; i < info->n_ip_addresses; i++)
        c->ip_addresses[i] = cp_xstrdup(info->ip_addresses[i]);
    return 0;
}

/* Parses and checks chain and key; fills c (names, dates, serial, issuer, key type, PEMs). */
static int import_material(const Certplane__V1__ImportCertificateRequest *r,
                           Certplane__V1__Certificate *c, cp_err_t *err)
{
    cp_x509_chain_t *chain = NULL;
    EVP_PKEY *key = NULL;
    cp_x509_info_t info = {0};
    char *pkcs8 = NULL;
    int rc;

    if (empty(r->fullchain_pem))
        return cp_err_set(err, CP_EINVAL, "fullchain_pem: required");
    if (empty(r->private_key_pem))
        return cp_err_set(err, CP_EINVAL, "private_key_pem: required");
    if ((rc = cp_x509_chain_parse(r->fullchain_pem, strlen(r->fullchain_pem), &chain, err)) != 0 ||
        (rc = cp_x509_info_get(chain->certs[0], &info, err)) != 0) {
        cp_err_prefix(err, "fullchain_pem");
        goto out;
    }
    if ((rc = cp_x509_key_from_pem(r->private_key_pem, strlen(r->private_key_pem), &key, err)) !=
        0) {
        cp_err_prefix(err, "private_key_pem");
        goto out;
    }
    if (cp_x509_key_type(key) < 0) {
        rc = cp_err_set(
            err, CP_EINVAL,
            "private_key_pem: unsupported key type (RSA 2048/3072/4096, EC P-256/P-384)");
        goto out;
    }
    if ((rc = cp_x509_key_matches(chain->certs[0], key, err)) != 0) {
        cp_err_prefix(err, "private_key_pem");
        goto out;
    }
    if (info.not_after * 1000 <= ctl_service__now_ms()) {
        rc = cp_err_set(err, CP_EINVAL, "fullchain_pem: the certificate has expired");
        goto out;
    }
    if ((rc = import_names(c, &info, err)) != 0)
        goto out;
    /* Stored as PKCS#8, the one form the proto promises. */
    if ((rc = cp_x509_key_to_pem(key, &pkcs8, err)) != 0) {
        cp_err_prefix(err, "private_key_pem");
        rc = CP_EINVAL;
        goto out;
    }
    c->private_key_pem = pkcs8;
    pkcs8 = NULL;
    c->fullchain_pem = cp_xstrdup(r->fullchain_pem);
    c->key_type = (Certplane__V1__KeyType)cp_x509_key_type(key);
    c->not_before = ctl_service__timestamp(info.not_before * 1000);
    c->not_after = ctl_service__timestamp(info.not_after * 1000);
    c->serial = cp_xstrdup(info.serial != NULL ? info.serial : "");
    c->issuer = cp_xstrdup(info.issuer != NULL ? info.issuer : "");
out:
    cp_x509_info_dispose(&info);
    cp_x509_chain_free(chain);
    EVP_PKEY_free(key);
    return rc;
}

static int import_email(ctl_service_t *svc, const Certplane__V1__ImportCertificateRequest *r,
                        Certplane__V1__Certificate *c, cp_err_t *err)
{
    const char *email = r->email;
    if (empty(email) && r->auto_renew)
        email = svc->cfg->acme_email;
    if (empty(email)) {
        if (r->auto_renew)
            return cp_err_set(err, CP_EINVAL, "email: required with auto_renew");
        return 0;
    }
    int rc = ctl_validate_email(email, err);
    if (rc != 0)
        return cp_err_prefix(err, "email"), rc;
    c->email = cp_xstrdup(email);
    return 0;
}

/* overwrite: stores c over the certificate of its name in one MATCH write (one revision, one
 * UPSERT), keeping the existing create_time; creates it when there is none. A write that loses a
 * race with another writer reads the record again and retries. Errors as ctl_service__cert_store,
 * CP_ECONFLICT after CTL_SERVICE__RETRIES lost races. */
static int import_replace(ctl_thread_t *t, Certplane__V1__Certificate *c, double renew_at,
                          cp_err_t *err)
{
    int rc = CP_ECONFLICT;
    for (int i = 0; rc == CP_ECONFLICT && i < CTL_SERVICE__RETRIES; i++) {
        Certplane__V1__Certificate *old = NULL;
        rc = ctl_service__cert_load(t, c->name, &old, err);
        if (rc == CP_ENOTFOUND) {
            rc = ctl_service__cert_store(t, c, CTL_STORE_CREATE, 0, renew_at, NULL, err);
            if (rc == CP_EEXIST)
                rc = CP_ECONFLICT; /* created meanwhile: replace that one */
            continue;
        }
        if (rc != 0)
            return rc;
        if (old->create_time != NULL) {
            c->create_time->seconds = old->create_time->seconds;
            c->create_time->nanos = old->create_time->nanos;
        }
        int64_t expected = old->revision;
        protobuf_c_message_free_unpacked(&old->base, NULL);
        rc = ctl_service__cert_store(t, c, CTL_STORE_MATCH, expected, renew_at, NULL, err);
        if (rc == CP_ENOTFOUND)
            rc = CP_ECONFLICT; /* deleted meanwhile: create it */
    }
    if (rc == CP_ECONFLICT)
        cp_err_set(err, CP_ECONFLICT, "certificate \"%s\" keeps changing; retry", c->name);
    return rc;
}

int ctl_service__import(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__ImportCertificateRequest *r = (const void *)req;
    Certplane__V1__Certificate *c = cp_xcalloc(1, sizeof *c);
    double renew_at = -1;
    (void)caller;
    certplane__v1__certificate__init(c);
    int rc = ctl_service__check_name("name", r->name, err);
    if (rc == 0)
        rc = import_email(svc, r, c, err);
    if (rc == 0)
        rc = import_material(r, c, err);
    if (rc != 0)
        goto out;
    c->name = cp_xstrdup(r->name);
    c->state = CERTPLANE__V1__STATE__VALID;
    int64_t now = ctl_service__now_ms();
    c->create_time = ctl_service__timestamp(now);
    c->update_time = ctl_service__timestamp(now);
    if (r->auto_renew) {
        renew_at = ctl_service__renew_at(svc, c->not_before->seconds, c->not_after->seconds);
        c->renew_after = ctl_service__timestamp((int64_t)renew_at * 1000);
    }
    /* Never renewed without auto_renew: it stays out of certs:by_expiry. */
    if (r->overwrite)
        rc = import_replace(t, c, renew_at, err);
    else
        rc = ctl_service__cert_store(t, c, CTL_STORE_CREATE, 0, renew_at, NULL, err);
out:
    if (rc != 0) {
        protobuf_c_message_free_unpacked(&c->base, NULL);
        return rc;
    }
    ctl_service__strip_key(c);
    *resp = &c->base;
    return 0;
}

/* ---- RevokeCertificate ---------------------------------------------------------------------- */

static int hook_load(void *ctx, const char *provider, const char *email, char **key_pem, char **url,
                     cp_err_t *err)
{
    return ctl_store_account_get(ctx, provider, email, key_pem, url, err);
}

static int hook_save(void *ctx, const char *provider, const char *email, const char *key_pem,
                     const char *url, cp_err_t *err)
{
    return ctl_store_account_put(ctx, provider, email, key_pem, url, err);
}

/* Revokes c at its CA with an ACME client on this thread's store (accounts are shared with
 * workers). */
static int revoke_at_ca(ctl_service_t *svc, ctl_thread_t *t, const Certplane__V1__Certificate *c,
                        int reason, cp_err_t *err)
{
    const ctl_config_t *cfg = svc->cfg;
    ctl_acme_t *acme = NULL;
    ctl_acme_hooks_t hooks = {
        .ctx = t->store, .account_load = hook_load, .account_save = hook_save};
    ctl_acme_config_t ac = {
        .directory = !empty(c->provider) ? c->provider : cfg->acme_provider,
        .ca_file = cfg->acme_ca_file,
        .email = !empty(c->email) ? c->email : cfg->acme_email,
        .account_key_type = CP_KEY_EC_P256,
        .eab_kid = cfg->eab_kid,
        .eab_hmac_key = cfg->eab_hmac_key,
        .deadline_ms = cfg->acme_timeout_ms,
    };
    int rc = ctl_acme_new(&ac, &hooks, &acme, err);
    if (rc == 0)
        rc = ctl_acme_revoke(acme, c->fullchain_pem, reason, NULL, err);
    ctl_acme_free(acme);
    /* Revoked before (a stored REVOKED that failed to be written): the CA's state is what we want.
     */
    if (rc == CP_EACME && err != NULL && strstr(err->msg, "alreadyRevoked") != NULL)
        rc = 0;
    return rc;
}

static int revoke_check(const char *name, const Certplane__V1__Certificate *c, cp_err_t *err)
{
    if (c->state == CERTPLANE__V1__STATE__REVOKED)
        return cp_err_set(err, CP_ESTATE, "certificate \"%s\" is already revoked", name);
    if (empty(c->fullchain_pem))
        return cp_err_set(err, CP_ESTATE, "certificate \"%s\" has no issued certificate to revoke",
                          name);
    return 0;
}

/* Marks the certificate REVOKED; the CA has revoked it, so a concurrent change is re-read, not
 * lost. */
static int revoke_store(ctl_thread_t *t, const char *name, Certplane__V1__Certificate **cp,
                        cp_err_t *err)
{
    int rc = CP_ECONFLICT;
    for (int i = 0; rc == CP_ECONFLICT && i < CTL_SERVICE__RETRIES; i++) {
        Certplane__V1__Certificate *c = *cp;
        if (i > 0) {
            protobuf_c_message_free_unpacked(&c->base, NULL);
            *cp = NULL;
            if ((rc = ctl_service__cert_load(t, name, cp, err)) != 0)
                return rc;
            c = *cp;
        }
        c->state = CERTPLANE__V1__STATE__REVOKED;
        free(c->renew_after);
        c->renew_after = NULL;
        free(c->update_time);
        c->update_time = ctl_service__timestamp(ctl_service__now_ms());
        rc = ctl_service__cert_store(t, c, CTL_STORE_MATCH, c->revision, -1, NULL, err);
    }
    return rc;
}

int ctl_service__revoke(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__RevokeCertificateRequest *r = (const void *)req;
    Certplane__V1__Certificate *c = NULL;
    char lock[CTL_STORE_LOCK_TOKEN_SIZE] = "";
    (void)caller;
    int rc = ctl_service__check_name("name", r->name, err);
    if (rc != 0)
        return rc;
    if (r->reason < 0 || r->reason > 10 || r->reason == 7)
        return cp_err_set(err, CP_EINVAL,
                          "reason: must be an RFC 5280 reason code 0-10 other than 7");
    /* Checked before the lock for a quick answer, and again under it, where it counts. */
    if ((rc = ctl_service__cert_load(t, r->name, &c, err)) != 0 ||
        (rc = revoke_check(r->name, c, err)) != 0)
        goto out;
    int ttl = (int)(svc->cfg->acme_timeout_ms > 0 ? svc->cfg->acme_timeout_ms : 300000) + 30000;
    rc = ctl_store_lock_acquire(t->store, r->name, ttl, lock, err);
    if (rc == CP_EBUSY) {
        rc = cp_err_set(err, CP_EUNAVAIL, "certificate is being worked on, retry");
        goto out;
    }
    if (rc != 0) {
        lock[0] = '\0';
        rc = ctl_service__store_fail(rc, err);
        goto out;
    }
    protobuf_c_message_free_unpacked(&c->base, NULL);
    c = NULL;
    if ((rc = ctl_service__cert_load(t, r->name, &c, err)) != 0 ||
        (rc = revoke_check(r->name, c, err)) != 0 ||
        (rc = revoke_at_ca(svc, t, c, r->reason, err)) != 0)
        goto out;
    CP_LOGKV(CP_LOG_INFO, "service", ((const char *[]){"cert", r->name, NULL}),
             "revoked at the CA (reason %d)", (int)r->reason);
    rc = revoke_store(t, r->name, &c, err);
out:
    if (lock[0] != '\0')
        ctl_store_lock_release(t->store, r->name, lock, NULL);
    if (rc != 0) {
        protobuf_c_message_free_unpacked(c != NULL ? &c->base : NULL, NULL);
        return rc;
    }
    ctl_service__strip_key(c);
    *resp = &c->base;
    return 0;
}
