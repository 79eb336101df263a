/* SPDX-License-Identifier: Apache-2.0 */
/* service_certs.c - CreateCertificate, GetCertificate, DeleteCertificate, RenewCertificate */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/acme/acme.h"
#include "controller/service/service_certs.h"
#include "controller/service/service_util.h"
#include "controller/service/validate.h"
#include "controller/store/store_ca.h"
#include "controller/store/store_webhooks.h"
#include "controller/work/work_issuers.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

static bool empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

/* Output-only fields of a Certificate: a client that sends one has misunderstood the API. */
static int check_output_only(const Certplane__V1__Certificate *c, cp_err_t *err)
{
    const struct {
        const char *field;
        bool set;
    } f[] = {
        {"state", c->state != 0},
        {"not_before", c->not_before != NULL},
        {"not_after", c->not_after != NULL},
        {"renew_after", c->renew_after != NULL},
        {"serial", !empty(c->serial)},
        {"issuer", !empty(c->issuer)},
        {"fullchain_pem", !empty(c->fullchain_pem)},
        {"private_key_pem", !empty(c->private_key_pem)},
        {"last_error", !empty(c->last_error)},
        {"failure_count", c->failure_count != 0},
        {"revision", c->revision != 0},
        {"create_time", c->create_time != NULL},
        {"update_time", c->update_time != NULL},
        {"revoke_request_time", c->revoke_request_time != NULL},
        {"revocation_reason", c->revocation_reason != 0},
        {"ari_window_start", c->ari_window_start != NULL},
        {"ari_window_end", c->ari_window_end != NULL},
        {"ari_explanation_url", !empty(c->ari_explanation_url)},
        {"ari_next_poll", c->ari_next_poll != NULL},
        {"ari_cert_id", !empty(c->ari_cert_id)},
        {"issued_by", !empty(c->issued_by)},
        {"on_demand", c->on_demand},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].set)
            return cp_err_set(err, CP_EINVAL, "certificate.%s: output only", f[i].field);
    return 0;
}

/* A free-text field: at most max bytes, no control characters (it ends up in logs and ACME
 * requests). */
static int check_text(const char *field, const char *s, size_t max, bool ascii, cp_err_t *err)
{
    size_t n = strlen(s);
    if (n > max)
        return cp_err_set(err, CP_EINVAL, "%s: longer than %zu bytes", field, max);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || (ascii && (ch > 0x7e || ch == ' ')))
            return cp_err_set(err, CP_EINVAL, "%s: invalid character at byte %zu", field, i);
    }
    return 0;
}

/* A provider reference: a configured provider name, a built-in alias or an https:// URL. */
static int check_provider_ref(const ctl_config_t *cfg, const char *field, const char *ref,
                              cp_err_t *err)
{
    int rc = check_text(field, ref, 512, true, err);
    ctl_provider_t adhoc;
    if (rc == 0 && ref[0] != '\0' && ctl_work_provider(cfg, ref, &adhoc) == NULL) {
        char names[512];
        ctl_providers_names(cfg, names, sizeof names);
        rc = cp_err_set(
            err, CP_EINVAL,
            "%s: unknown provider \"%s\" (configured: %s; or letsencrypt, "
            "letsencrypt-staging, zerossl, buypass, google or an https:// directory URL)",
            field, ref, names);
    }
    return rc;
}

/* provider, or issuers in order (not both). */
static int check_providers(const ctl_config_t *cfg, const Certplane__V1__Certificate *c,
                           cp_err_t *err)
{
    int rc = check_provider_ref(cfg, "certificate.provider", c->provider, err);
    if (rc != 0 || c->n_issuers == 0)
        return rc;
    if (!empty(c->provider))
        return cp_err_set(err, CP_EINVAL, "certificate.issuers: set provider or issuers, not both");
    if (c->n_issuers > CTL_WORK_MAX_ISSUERS)
        return cp_err_set(err, CP_EINVAL, "certificate.issuers: at most %d", CTL_WORK_MAX_ISSUERS);
    for (size_t i = 0; i < c->n_issuers; i++) {
        char field[48];
        snprintf(field, sizeof field, "certificate.issuers[%zu]", i);
        if (empty(c->issuers[i]))
            return cp_err_set(err, CP_EINVAL, "%s: empty", field);
        if ((rc = check_provider_ref(cfg, field, c->issuers[i], err)) != 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->issuers[i], c->issuers[j]) == 0)
                return cp_err_set(err, CP_EINVAL, "%s: \"%s\" listed twice", field, c->issuers[i]);
    }
    return 0;
}

/* Names in their normal form: lower case without a trailing dot, IP addresses canonical. Also says
 * whether there is a wildcard. */
static int normalize_names(Certplane__V1__Certificate *c, bool *wildcard, cp_err_t *err)
{
    char buf[CTL_VALIDATE_NAME_BUF];
    int rc = ctl_validate_names((const char *const *)c->domains, c->n_domains,
                                (const char *const *)c->ip_addresses, c->n_ip_addresses,
                                CTL_VALIDATE_ALLOW_WILDCARD, err);
    if (rc != 0) {
        /* The validator names "domains[2]"; the request's path is "certificate.domains[2]". */
        char msg[CP_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err != NULL ? err->msg : "");
        return cp_err_set(err, rc, "certificate.%s", msg);
    }
    *wildcard = false;
    for (size_t i = 0; i < c->n_domains; i++) {
        rc = ctl_validate_domain_normalize(c->domains[i], CTL_VALIDATE_ALLOW_WILDCARD, buf,
                                           sizeof buf, err);
        if (rc != 0)
            return cp_err_prefix(err, "certificate.domains[%zu]", i), rc;
        ctl_service__set_string(&c->domains[i], buf);
        *wildcard = *wildcard || strncmp(buf, "*.", 2) == 0;
    }
    for (size_t i = 0; i < c->n_ip_addresses; i++) {
        rc = ctl_validate_ip(c->ip_addresses[i], buf, sizeof buf, err);
        if (rc != 0)
            return cp_err_prefix(err, "certificate.ip_addresses[%zu]", i), rc;
        ctl_service__set_string(&c->ip_addresses[i], buf);
    }
    return 0;
}

static int check_create(ctl_service_t *svc, Certplane__V1__Certificate *c, cp_err_t *err)
{
    bool wildcard = false;
    int rc = ctl_service__check_name("certificate.name", c->name, err);
    if (rc == 0)
        rc = normalize_names(c, &wildcard, err);
    if (rc != 0)
        return rc;
    if (empty(c->email) && !empty(svc->cfg->acme_email))
        ctl_service__set_string(&c->email, svc->cfg->acme_email);
    if (empty(c->email))
        return cp_err_set(err, CP_EINVAL, "certificate.email: required (no --acme-email default)");
    if ((rc = ctl_validate_email(c->email, err)) != 0)
        return cp_err_prefix(err, "certificate.email"), rc;
    if ((rc = check_providers(svc->cfg, c, err)) != 0 ||
        (rc = check_text("certificate.profile", c->profile, 64, true, err)) != 0 ||
        (rc = check_text("certificate.preferred_chain", c->preferred_chain, 256, false, err)) != 0)
        return rc;
    if ((int)c->key_type < 0 || c->key_type > CERTPLANE__V1__KEY_TYPE__EC_P384)
        return cp_err_set(err, CP_EINVAL, "certificate.key_type: unknown value %d",
                          (int)c->key_type);
    if (c->key_type == CERTPLANE__V1__KEY_TYPE__KEY_TYPE_UNSPECIFIED)
        c->key_type = CERTPLANE__V1__KEY_TYPE__RSA_2048; /* stored and answered as what it means */
    if ((int)c->challenge_type < 0 ||
        c->challenge_type > CERTPLANE__V1__CHALLENGE_TYPE__TLS_ALPN_01)
        return cp_err_set(err, CP_EINVAL, "certificate.challenge_type: unknown value %d",
                          (int)c->challenge_type);
    if (wildcard && (c->challenge_type == CERTPLANE__V1__CHALLENGE_TYPE__HTTP_01 ||
                     c->challenge_type == CERTPLANE__V1__CHALLENGE_TYPE__TLS_ALPN_01))
        return cp_err_set(err, CP_EINVAL,
                          "certificate.challenge_type: wildcard names need DNS_01, "
                          "not HTTP_01 or TLS_ALPN_01");
    bool dns = wildcard || c->challenge_type == CERTPLANE__V1__CHALLENGE_TYPE__DNS_01;
    if (dns && empty(svc->cfg->dns_exec))
        return cp_err_set(err, CP_ESTATE,
                          "certificate.challenge_type: %s needs DNS-01, and this controller has no "
                          "DNS provider (--dns-exec)",
                          wildcard ? "a wildcard name" : "DNS_01");
    return 0;
}

/* The profile c's orders will ask for, checked against what its CA's directory offers when a
 * controller fetched it lately (store_ca.h); when nobody knows yet, issuance checks it. */
static int check_profile(ctl_service_t *svc, ctl_thread_t *t, const Certplane__V1__Certificate *c,
                         cp_err_t *err)
{
    const char *refs[CTL_WORK_MAX_ISSUERS];
    ctl_provider_t adhoc;
    const ctl_provider_t *p = NULL;
    if (ctl_work_issuers(svc->cfg, c, refs, CTL_WORK_MAX_ISSUERS) > 0)
        p = ctl_work_provider(svc->cfg, refs[0], &adhoc);
    const char *dir = p != NULL ? ctl_acme_directory_url(p->directory) : NULL;
    const char *profile = !empty(c->profile) ? c->profile : p != NULL ? p->profile : NULL;
    if (empty(profile) || dir == NULL)
        return 0;
    char *offered = NULL;
    cp_err_t serr = {0};
    if (ctl_store_ca_profiles_get(t->store, dir, &offered, &serr) != 0)
        return 0;
    int rc = 0;
    if (!ctl_acme_profile_offered(offered, profile))
        rc = cp_err_set(err, CP_EINVAL, "certificate.profile: \"%s\" is not offered by %s (%s%s)",
                        profile, dir,
                        offered[0] ? "it offers: " : "its directory lists no profiles", offered);
    free(offered);
    return rc;
}

int ctl_service__create_owned(ctl_service_t *svc, ctl_thread_t *t, Certplane__V1__Certificate *c,
                              ProtobufCMessage **resp, cp_err_t *err)
{
    int rc = check_create(svc, c, err);
    if (rc == 0)
        rc = check_profile(svc, t, c, err);
    if (rc != 0)
        goto out;
    int64_t now = cp_clock_wall_ms();
    c->state = CERTPLANE__V1__STATE__PENDING;
    c->create_time = cp_clock_ts_new(now);
    c->update_time = cp_clock_ts_new(now);
    /* One script: the record, its index entries, the UPSERT event and the issue job, or nothing.
     * The schedule entry is a lease: should the job ever be lost, the scheduler queues the work
     * again once --job-timeout has passed without a commit. */
    ctl_certrepo_write_t w = {.mode = CTL_STORE_CREATE,
                              .renew_at_ms = now + svc->cfg->job_timeout_ms,
                              .job_kind = "issue"};
    rc = ctl_service__cert_store(t, c, &w, err);
out:
    if (rc != 0)
        protobuf_c_message_free_unpacked(&c->base, NULL);
    else
        *resp = &c->base;
    return rc;
}

int ctl_service__create(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__CreateCertificateRequest *r = (const void *)req;
    (void)caller;
    if (r->certificate == NULL)
        return cp_err_set(err, CP_EINVAL, "certificate: required");
    int rc = check_output_only(r->certificate, err);
    if (rc != 0)
        return rc;
    return ctl_service__create_owned(svc, t, ctl_service__cert_dup(r->certificate), resp, err);
}

int ctl_service__get(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                     const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__GetCertificateRequest *r = (const void *)req;
    Certplane__V1__Certificate *c = NULL;
    int rc = ctl_service__check_name("name", r->name, err);
    if (rc != 0)
        return rc;
    if (r->include_private_key && (caller->scopes & CTL_SCOPE_ADMIN) != CTL_SCOPE_ADMIN)
        return cp_err_set(err, CP_EPERM,
                          "permission denied: include_private_key needs the admin scope");
    /* The cache holds no private keys: a read that wants the key always goes to Redis. */
    if (!r->include_private_key && ctl_certcache_get(svc->cache, r->name, &c)) {
        *resp = &c->base;
        return 0;
    }
    uint64_t gen = ctl_certcache_gen(svc->cache);
    rc = ctl_service__cert_load(t, r->name, &c, err);
    if (rc != 0)
        return rc;
    ctl_certcache_fill(svc->cache, c, gen);
    if (!r->include_private_key)
        ctl_service__strip_key(c);
    *resp = &c->base;
    return 0;
}

int ctl_service_get_cached(ctl_service_t *svc, const ctl_caller_t *caller,
                           const Certplane__V1__GetCertificateRequest *req,
                           Certplane__V1__Certificate **resp, cp_err_t *err)
{
    *resp = NULL;
    if ((caller->scopes & CTL_SCOPE_READ) != CTL_SCOPE_READ)
        return cp_err_set(err, CP_EPERM, "permission denied: GetCertificate needs the read scope");
    int rc = ctl_service__check_name("name", req->name, err);
    if (rc != 0)
        return rc;
    if (req->include_private_key)
        return 0; /* the cache holds no keys; the scope check for the key is invoke's */
    return ctl_certcache_get(svc->cache, req->name, resp) ? 1 : 0;
}

int ctl_service__delete(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                        const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__DeleteCertificateRequest *r = (const void *)req;
    (void)caller;
    int rc = ctl_service__check_name("name", r->name, err);
    if (rc != 0)
        return rc;
    (void)svc;
    /* Record, index entries and the DELETE event go in one script. */
    rc = ctl_certrepo_delete(&t->repo, r->name, 0, NULL, err);
    if (rc != 0)
        return rc == CP_ENOTFOUND ? rc : ctl_service__store_fail(rc, err);
    cp_err_t werr = {0}; /* webhooks (issue 16): the delete is done; a lost event is logged */
    if (ctl_store_webhook_cert_event(t->store, "deleted", r->name, NULL, NULL, NULL, &werr) != 0)
        CP_LOG(CP_LOG_WARN, "service", "%s: deleted event not recorded: %s", r->name, werr.msg);
    Certplane__V1__DeleteCertificateResponse *out = cp_xcalloc(1, sizeof *out);
    certplane__v1__delete_certificate_response__init(out);
    *resp = &out->base;
    return 0;
}

/* One attempt of RenewCertificate on the certificate as just read. */
static int renew_once(ctl_thread_t *t, Certplane__V1__Certificate *c, void *ctx, cp_err_t *err)
{
    (void)ctx;
    if (c->state == CERTPLANE__V1__STATE__REVOKED)
        return cp_err_set(err, CP_ESTATE,
                          "certificate \"%s\" is revoked: delete and create it again instead",
                          c->name);
    if (c->revoke_request_time != NULL)
        return cp_err_set(err, CP_ESTATE, "certificate \"%s\" is being revoked", c->name);
    bool issued = !empty(c->fullchain_pem);
    if (issued)
        c->state = CERTPLANE__V1__STATE__RENEWING;
    else if (c->state != CERTPLANE__V1__STATE__ISSUING)
        c->state = CERTPLANE__V1__STATE__PENDING; /* never issued: queued for its first issuance */
    free(c->update_time);
    c->update_time = cp_clock_ts_new(cp_clock_wall_ms());
    /* The scheduler's entry stays as it is: the job is queued now, and a failure reschedules. */
    ctl_certrepo_write_t w = {
        .mode = CTL_STORE_MATCH,
        .expected_revision = c->revision,
        .renew_at_ms = c->renew_after != NULL ? c->renew_after->seconds * 1000 : -1,
        .job_kind = "renew",
    };
    return ctl_service__cert_store(t, c, &w, err);
}

int ctl_service__renew(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                       const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__RenewCertificateRequest *r = (const void *)req;
    (void)svc;
    (void)caller;
    int rc = ctl_service__check_name("name", r->name, err);
    if (rc != 0)
        return rc;
    return ctl_service__update(t, r->name, renew_once, NULL, resp, err);
}
