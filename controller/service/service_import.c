/* SPDX-License-Identifier: Apache-2.0 */
/* service_import.c - ImportCertificate: an externally issued certificate, checked and stored */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/service/service_import.h"
#include "controller/service/service_util.h"
#include "controller/service/validate.h"
#include "controller/work/renew.h"
#include "shared/clock.h"
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
    if (info.not_after * 1000 <= cp_clock_wall_ms()) {
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
    c->not_before = cp_clock_ts_new(info.not_before * 1000);
    c->not_after = cp_clock_ts_new(info.not_after * 1000);
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
static int import_replace(ctl_thread_t *t, Certplane__V1__Certificate *c, int64_t renew_at_ms,
                          cp_err_t *err)
{
    int rc = CP_ECONFLICT;
    for (int i = 0; rc == CP_ECONFLICT && i < CTL_SERVICE__RETRIES; i++) {
        Certplane__V1__Certificate *old = NULL;
        rc = ctl_service__cert_load(t, c->name, &old, err);
        if (rc == CP_ENOTFOUND) {
            ctl_certrepo_write_t w = {.mode = CTL_STORE_CREATE, .renew_at_ms = renew_at_ms};
            rc = ctl_service__cert_store(t, c, &w, err);
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
        ctl_certrepo_write_t w = {
            .mode = CTL_STORE_MATCH, .expected_revision = expected, .renew_at_ms = renew_at_ms};
        rc = ctl_service__cert_store(t, c, &w, err);
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
    int64_t renew_at_ms = -1;
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
    int64_t now = cp_clock_wall_ms();
    c->create_time = cp_clock_ts_new(now);
    c->update_time = cp_clock_ts_new(now);
    if (r->auto_renew) {
        /* The one renewal policy (renew.h), jitter and clamp included, as for an issued one. */
        renew_at_ms =
            ctl_renew_at_ms(c->name, c->not_before->seconds * 1000, c->not_after->seconds * 1000,
                            svc->cfg->renew_before_ms, ctl_renew_random());
        c->renew_after = cp_clock_ts_new(renew_at_ms);
    }
    /* Never renewed without auto_renew: it stays out of certs:by_expiry. */
    if (r->overwrite) {
        rc = import_replace(t, c, renew_at_ms, err);
    } else {
        ctl_certrepo_write_t w = {.mode = CTL_STORE_CREATE, .renew_at_ms = renew_at_ms};
        rc = ctl_service__cert_store(t, c, &w, err);
    }
out:
    if (rc != 0) {
        protobuf_c_message_free_unpacked(&c->base, NULL);
        return rc;
    }
    ctl_service__strip_key(c);
    *resp = &c->base;
    return 0;
}
