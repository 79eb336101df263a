/* SPDX-License-Identifier: Apache-2.0 */
/* service_ondemand.c - RequestOnDemandCertificate (service_ondemand.h) */
#include "controller/service/service_ondemand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/metrics/metrics_ondemand.h"
#include "controller/service/ondemand_ask.h"
#include "controller/service/ondemand_policy.h"
#include "controller/service/service_certs.h"
#include "controller/service/service_util.h"
#include "controller/store/store_ondemand.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

#define HOUR_MS 3600000LL
#define REFUSED_RETRY_S 60 /* how long an edge keeps a policy refusal */

typedef Certplane__V1__RequestOnDemandCertificateResponse resp_t;

static int answer(resp_t *out, int decision, const char *reason, const char *cert, int retry_s)
{
    out->decision = decision;
    ctl_service__set_string(&out->reason, reason);
    if (cert != NULL)
        ctl_service__set_string(&out->certificate, cert);
    out->retry_after_seconds = retry_s;
    ctl_metrics_ondemand_decision(
        decision == CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_RESPONSE__DECISION__ALLOWED
            ? "allowed"
        : decision == CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_RESPONSE__DECISION__REFUSED
            ? "refused"
            : "cooldown",
        reason);
    return 0;
}

#define ALLOWED CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_RESPONSE__DECISION__ALLOWED
#define REFUSED CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_RESPONSE__DECISION__REFUSED
#define COOLDOWN CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_RESPONSE__DECISION__COOLDOWN

/* An existing certificate of that name: 1 when it decided (out filled), 0 when there is none. */
static int existing(ctl_service_t *svc, ctl_thread_t *t, const char *cert, resp_t *out,
                    cp_err_t *err)
{
    Certplane__V1__Certificate *c = NULL;
    int rc = ctl_service__cert_load(t, cert, &c, err);
    if (rc == CP_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    int64_t now = cp_clock_wall_ms(), cool = svc->cfg->on_demand_cooldown_ms;
    int64_t since = c->update_time != NULL ? now - c->update_time->seconds * 1000 : cool;
    if (c->on_demand && c->failure_count > 0 && c->fullchain_pem[0] == '\0' && since < cool)
        answer(out, COOLDOWN, "cooldown", cert, (int)((cool - since) / 1000 + 1));
    else
        answer(out, ALLOWED, "exists", cert, 0);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    return 1;
}

/* The policy's own checks (pattern, ask, rate): 1 when it refused (out filled), 0 to go on. */
static int policy(ctl_service_t *svc, ctl_thread_t *t, const char *name, resp_t *out, cp_err_t *err)
{
    const ctl_config_t *cfg = svc->cfg;
    if (cfg->on_demand_allow.n > 0 &&
        !ctl_ondemand_match((const char *const *)cfg->on_demand_allow.v, cfg->on_demand_allow.n,
                            name))
        return answer(out, REFUSED, "pattern", NULL, REFUSED_RETRY_S), 1;
    if (cfg->on_demand_ask != NULL && cfg->on_demand_ask[0] != '\0' &&
        !ctl_ondemand_ask(cfg->on_demand_ask, name, cfg->on_demand_ask_ttl_ms, NULL))
        return answer(out, REFUSED, "ask", NULL, REFUSED_RETRY_S), 1;
    bool admitted = true;
    int64_t now = cp_clock_wall_ms();
    int rc = ctl_store_ondemand_admit(t->store, now, cfg->on_demand_max_per_hour, &admitted, err);
    if (rc != 0)
        return ctl_service__store_fail(rc, err);
    if (!admitted)
        return answer(out, COOLDOWN, "rate", NULL, (int)((HOUR_MS - now % HOUR_MS) / 1000 + 1)), 1;
    return 0;
}

static int create(ctl_service_t *svc, ctl_thread_t *t, const char *name, const char *cert,
                  resp_t *out, cp_err_t *err)
{
    Certplane__V1__Certificate *c = cp_xcalloc(1, sizeof *c);
    certplane__v1__certificate__init(c);
    c->name = cp_xstrdup(cert);
    c->domains = cp_xcalloc(1, sizeof *c->domains);
    c->domains[c->n_domains++] = cp_xstrdup(name);
    c->on_demand = true;
    const char *ch = svc->cfg->on_demand_challenge;
    c->challenge_type = ch != NULL && strcmp(ch, "tls-alpn-01") == 0
                            ? CERTPLANE__V1__CHALLENGE_TYPE__TLS_ALPN_01
                            : CERTPLANE__V1__CHALLENGE_TYPE__HTTP_01;
    ProtobufCMessage *created = NULL;
    int rc = ctl_service__create_owned(svc, t, c, &created, err);
    if (rc == CP_EEXIST)
        return answer(out, ALLOWED, "exists", cert, 0);
    if (rc != 0)
        return rc;
    protobuf_c_message_free_unpacked(created, NULL);
    const char *kv[] = {"cert", cert, NULL};
    CP_LOGKV(CP_LOG_INFO, "ondemand", kv, "on-demand certificate created for %s", name);
    return answer(out, ALLOWED, "created", cert, 0);
}

int ctl_service__ondemand_check_config(const ctl_config_t *cfg, cp_err_t *err)
{
    for (size_t i = 0; i < cfg->on_demand_allow.n; i++)
        if (!ctl_ondemand_pattern_ok(cfg->on_demand_allow.v[i]))
            return cp_err_set(err, CP_EINVAL,
                              "--on-demand-allow %s: expected a lower-case DNS name of two or more "
                              "labels, or *. and such a name",
                              cfg->on_demand_allow.v[i]);
    const char *ch = cfg->on_demand_challenge;
    if (ch != NULL && strcmp(ch, "http-01") != 0 && strcmp(ch, "tls-alpn-01") != 0)
        return cp_err_set(err, CP_EINVAL, "--on-demand-challenge: http-01 or tls-alpn-01");
    if ((cfg->on_demand_allow.n > 0 || cfg->on_demand_ask != NULL) && cfg->acme_email == NULL)
        return cp_err_set(err, CP_EINVAL, "on-demand TLS needs --acme-email (the account contact)");
    return 0;
}

int ctl_service__ondemand(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                          const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__RequestOnDemandCertificateRequest *r = (const void *)req;
    const ctl_config_t *cfg = svc->cfg;
    char name[CTL_ONDEMAND_NAME_BUF], cert[CTL_ONDEMAND_NAME_BUF];
    (void)caller;
    resp_t *out = cp_xcalloc(1, sizeof *out);
    certplane__v1__request_on_demand_certificate_response__init(out);
    int rc = 0;
    if (cfg->on_demand_allow.n == 0 && (cfg->on_demand_ask == NULL || !cfg->on_demand_ask[0])) {
        answer(out, REFUSED, "disabled", NULL, 300);
        goto out;
    }
    if (!ctl_ondemand_name(r->name, name, sizeof name)) {
        answer(out, REFUSED, "invalid", NULL, REFUSED_RETRY_S);
        goto out;
    }
    ctl_ondemand_cert_name(name, cert, sizeof cert);
    if ((rc = existing(svc, t, cert, out, err)) != 0 || (rc = policy(svc, t, name, out, err)) != 0)
        goto out;
    rc = create(svc, t, name, cert, out, err);
out:
    if (rc < 0) {
        protobuf_c_message_free_unpacked(&out->base, NULL);
        return rc;
    }
    *resp = &out->base;
    return 0;
}
