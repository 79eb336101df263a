/* SPDX-License-Identifier: Apache-2.0 */
/* acme_order.c - ACME order state machine: newOrder, authorizations, challenges, finalize */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "controller/acme/acme_internal.h"
#include "shared/base64.h"
#include "shared/log.h"
#include "shared/mem.h"

/* The states of one issuance; each step is one ACME resource's request/response. */
typedef enum order_state {
    ORDER_RESUME,     /* POST-as-GET of a recorded order: continue where it stands */
    ORDER_NEW,        /* POST newOrder */
    ORDER_AUTHORIZE,  /* authorizations pending: present, respond, poll */
    ORDER_READY,      /* POST finalize with the CSR */
    ORDER_PROCESSING, /* poll the order until valid */
    ORDER_VALID,      /* download the certificate */
    ORDER_DONE,
} order_state_t;

/* One challenge this issuance answers. */
typedef struct chal {
    char *authz_url;
    char *url;
    char *ident; /* "dns a.example" for messages */
    char *token;
    char *fqdn; /* DNS-01 only */
    char *txt;  /* DNS-01 only */
    int presented;
} chal_t;

typedef struct order {
    ctl_acme_t *c;
    const ctl_acme_request_t *req;
    order_state_t state;
    char *url;
    json_t *obj; /* the last order object */
    chal_t *chals;
    size_t n_chals;
    EVP_PKEY *key;
    char *chain;
} order_t;

static int is_ip(const char *name)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

static int check_request(const ctl_acme_t *c, const ctl_acme_request_t *req, cp_err_t *err)
{
    if (req->n_names == 0)
        return cp_err_set(err, CP_EINVAL, "no names to certify");
    for (size_t i = 0; i < req->n_names; i++) {
        const char *n = req->names[i];
        if (n == NULL || n[0] == '\0')
            return cp_err_set(err, CP_EINVAL, "names[%zu]: empty", i);
        if (strncmp(n, "*.", 2) == 0 && req->dns == NULL)
            return cp_err_set(err, CP_EINVAL, "names[%zu]: %s needs DNS-01, no DNS provider", i, n);
        if (!is_ip(n) && strncmp(n, "*.", 2) != 0 && !(req->dns && req->prefer_dns01) &&
            c->hooks.challenge_present == NULL)
            return cp_err_set(err, CP_EINVAL, "names[%zu]: no HTTP-01 hook to answer for %s", i, n);
    }
    return 0;
}

/* Stores a new order object; moves the state along its status. */
static int order_take(order_t *o, json_t *obj, const char *what, cp_err_t *err)
{
    const char *st = json_string_value(json_object_get(obj, "status"));
    json_decref(o->obj);
    o->obj = obj;
    if (st == NULL)
        return cp_err_set(err, CP_EPROTO, "%s: order without status", what);
    if (strcmp(st, "pending") == 0)
        o->state = ORDER_AUTHORIZE;
    else if (strcmp(st, "ready") == 0)
        o->state = ORDER_READY;
    else if (strcmp(st, "processing") == 0)
        o->state = ORDER_PROCESSING;
    else if (strcmp(st, "valid") == 0)
        o->state = ORDER_VALID;
    else {
        char msg[CP_ERR_MSG_MAX] = "";
        const json_t *pb = json_object_get(obj, "error");
        if (json_is_object(pb))
            ctl_acme__problem_format(pb, msg, sizeof(msg));
        return cp_err_set(err, CP_EACME, "%s: order is %s%s%s", what, st, msg[0] ? ": " : "", msg);
    }
    return 0;
}

/* POST-as-GET of url into a JSON object. */
static int fetch_json(ctl_acme_t *c, const char *url, const char *what, json_t **out,
                      ctl_acme__resp_t *r, cp_err_t *err)
{
    int rc = ctl_acme__post(c, url, NULL, NULL, what, r, err);
    if (rc == 0)
        rc = ctl_acme__resp_json(r, what, out, err);
    return rc;
}

/* Records the order (and, before finalize, its key) through the hook, when there is one. */
static int checkpoint(order_t *o, const char *key_pem, cp_err_t *err)
{
    if (o->c->hooks.order_checkpoint == NULL)
        return 0;
    return o->c->hooks.order_checkpoint(o->c->hooks.ctx, o->url, key_pem, err);
}

/* Continues a recorded order: its current object decides the next state. An order that cannot be
 * continued (gone, invalid, expired, valid without the key it certifies) is abandoned for a new
 * one; only a failure to reach the CA at all is an error. */
static int step_resume(order_t *o, cp_err_t *err)
{
    ctl_acme__resp_t r = {0};
    json_t *obj = NULL;
    cp_err_t why = {0};
    o->url = ctl_acme__strdup(o->req->resume_order_url);
    int rc = ctl_acme__directory(o->c, err);
    if (rc == 0 && o->req->resume_key_pem != NULL)
        rc = cp_x509_key_from_pem(o->req->resume_key_pem, strlen(o->req->resume_key_pem), &o->key,
                                  &why) == 0
                 ? 0
                 : CP_EACME;
    if (rc == 0)
        rc = fetch_json(o->c, o->url, "order", &obj, &r, &why);
    if (rc == 0)
        rc = order_take(o, obj, "order", &why);
    else
        json_decref(obj);
    ctl_acme__resp_dispose(&r);
    if (rc == CP_EUNAVAIL || rc == CP_ETIMEDOUT || rc == CP_ECANCELED) {
        *err = why;
        return rc;
    }
    if (rc == 0 && !(o->state == ORDER_VALID && o->key == NULL)) {
        o->c->stats.orders_resumed++;
        return 0;
    }
    /* Start over: a new order, a fresh key. */
    CP_LOG(CP_LOG_WARN, "acme", "recorded order %s not continued (%s): ordering again", o->url,
           rc != 0 ? why.msg : "valid, but its key was not recorded");
    free(o->url);
    o->url = NULL;
    EVP_PKEY_free(o->key);
    o->key = NULL;
    o->state = ORDER_NEW;
    return 0;
}

/* RFC 9773: whether newOrder failed because of `replaces` (the certificate was replaced already,
 * or the CA cannot use the ID): then the order is worth sending once more without it. */
static int replaces_refused(int rc, const cp_err_t *err)
{
    return rc == CP_EACME && err != NULL &&
           (strstr(err->msg, "urn:ietf:params:acme:error:alreadyReplaced") != NULL ||
            strstr(err->msg, "urn:ietf:params:acme:error:malformed") != NULL);
}

/* POST newOrder with `ids` (a stolen reference), the request's `profile` and `replaces` when it
 * has them; once more without `replaces` when the CA refuses it. */
static int post_new_order(order_t *o, json_t *ids, ctl_acme__resp_t *r, cp_err_t *err)
{
    const char *replaces = o->req->replaces;
    for (;;) {
        json_t *payload = json_pack("{s:O}", "identifiers", ids);
        if (o->req->profile != NULL)
            json_object_set_new(payload, "profile", json_string(o->req->profile));
        if (replaces != NULL && replaces[0] != '\0')
            json_object_set_new(payload, "replaces", json_string(replaces));
        int rc = ctl_acme__post_json(o->c, o->c->url_new_order, payload, NULL, "newOrder", r, err);
        if (replaces == NULL || replaces[0] == '\0' || !replaces_refused(rc, err)) {
            json_decref(ids);
            return rc;
        }
        CP_LOG(CP_LOG_WARN, "acme", "newOrder refused with replaces %s (%s): ordering without it",
               replaces, err->msg);
        o->c->stats.replaces_refused++;
        replaces = NULL;
    }
}

/* newOrder with every name as an identifier (dns, or ip per RFC 8738). */
static int step_new_order(order_t *o, cp_err_t *err)
{
    ctl_acme__resp_t r = {0};
    json_t *ids = NULL, *obj = NULL;
    int rc = ctl_acme__directory(o->c, err);
    if (rc != 0)
        return rc;
    const char *profile = o->req->profile;
    if (profile != NULL && !ctl_acme_profile_offered(o->c->profiles, profile))
        return cp_err_set(err, CP_EINVAL, "profile \"%s\" is not offered by the CA (%s%s)", profile,
                          o->c->profiles[0] ? "it offers: " : "its directory lists no profiles",
                          o->c->profiles);
    ids = json_array();
    for (size_t i = 0; i < o->req->n_names; i++)
        json_array_append_new(ids, json_pack("{s:s, s:s}", "type",
                                             is_ip(o->req->names[i]) ? "ip" : "dns", "value",
                                             o->req->names[i]));
    rc = post_new_order(o, ids, &r, err);
    if (rc != 0)
        goto out;
    o->c->stats.orders_created++;
    rc = ctl_acme__resp_json(&r, "newOrder", &obj, err);
    if (rc != 0)
        goto out;
    if (r.location == NULL) {
        json_decref(obj);
        rc = cp_err_set(err, CP_EPROTO, "newOrder: no order URL");
        goto out;
    }
    o->url = ctl_acme__strdup(r.location);
    rc = order_take(o, obj, "newOrder", err);
    if (rc == 0)
        rc = checkpoint(o, NULL, err);
out:
    ctl_acme__resp_dispose(&r);
    return rc;
}

static char *key_authorization(ctl_acme_t *c, const char *token, cp_err_t *err)
{
    char tp[64];
    if (ctl_acme__thumbprint(c->account_key, tp, sizeof(tp), err) != 0)
        return NULL;
    size_t n = strlen(token) + strlen(tp) + 2;
    char *ka = cp_xmalloc(n);
    snprintf(ka, n, "%s.%s", token, tp);
    return ka;
}

enum { CHAL_HTTP01 = 0, CHAL_DNS01 = 1, CHAL_ALPN01 = 2 };
static const char *const chal_names[] = {"http-01", "dns-01", "tls-alpn-01"};

/* Picks the challenge this client answers for an authorization; *kind gets its CHAL_*. */
static const json_t *pick_challenge(const order_t *o, const json_t *authz, int *kind)
{
    const json_t *id = json_object_get(authz, "identifier");
    const char *type = json_string_value(json_object_get(id, "type"));
    int wildcard = json_is_true(json_object_get(authz, "wildcard"));
    int want_dns = o->req->dns != NULL &&
                   (wildcard || (o->req->prefer_dns01 && type && strcmp(type, "dns") == 0));
    int want =
        want_dns ? CHAL_DNS01
        : o->req->prefer_tls_alpn01 && !wildcard && o->c->hooks.challenge_present_alpn != NULL
            ? CHAL_ALPN01
            : CHAL_HTTP01;
    const json_t *chals = json_object_get(authz, "challenges");
    for (size_t i = 0; i < json_array_size(chals); i++) {
        const json_t *ch = json_array_get(chals, i);
        const char *ct = json_string_value(json_object_get(ch, "type"));
        if (ct && strcmp(ct, chal_names[want]) == 0) {
            *kind = want;
            return ch;
        }
    }
    return NULL;
}

/* Publishes the answer to one challenge (HTTP-01 and TLS-ALPN-01 via the hooks, DNS-01 via the
 * provider). */
static int present(order_t *o, chal_t *ch, int kind, const char *ident_value, cp_err_t *err)
{
    int dns01 = kind == CHAL_DNS01;
    ctl_acme_t *c = o->c;
    char *ka = key_authorization(c, ch->token, err);
    int rc = 0;
    if (ka == NULL)
        return CP_ECRYPTO;
    if (dns01) {
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)ka, strlen(ka), md);
        ch->txt = cp_base64_encode(md, sizeof(md), CP_BASE64_URL);
        const char *base = strncmp(ident_value, "*.", 2) == 0 ? ident_value + 2 : ident_value;
        size_t n = strlen(base) + 18;
        ch->fqdn = cp_xmalloc(n);
        snprintf(ch->fqdn, n, "_acme-challenge.%s.", base);
        rc = o->req->dns->ops->present(o->req->dns, ch->fqdn, ch->txt, err);
    } else if (kind == CHAL_ALPN01) {
        rc = c->hooks.challenge_present_alpn(c->hooks.ctx, ident_value, ch->token, ka, err);
    } else {
        rc = c->hooks.challenge_present(c->hooks.ctx, ch->token, ka, err);
    }
    cp_secure_free_str(ka);
    if (rc != 0) {
        cp_err_prefix(err, "presenting the %s challenge for %s", chal_names[kind], ch->ident);
        return rc;
    }
    ch->presented = 1;
    return 0;
}

/* Fetches one authorization; a pending one gets a challenge picked and presented. */
static int step_authz(order_t *o, const char *authz_url, cp_err_t *err)
{
    ctl_acme__resp_t r = {0};
    json_t *authz = NULL;
    int kind = CHAL_HTTP01;
    int rc = fetch_json(o->c, authz_url, "authorization", &authz, &r, err);
    if (rc != 0)
        goto out;
    const char *st = json_string_value(json_object_get(authz, "status"));
    const json_t *id = json_object_get(authz, "identifier");
    const char *itype = json_string_value(json_object_get(id, "type"));
    const char *ival = json_string_value(json_object_get(id, "value"));
    if (st != NULL && strcmp(st, "valid") == 0)
        goto out;
    if (st == NULL || strcmp(st, "pending") != 0 || itype == NULL || ival == NULL) {
        rc = cp_err_set(err, CP_EACME, "authorization for %s %s is %s", itype ? itype : "?",
                        ival ? ival : "?", st ? st : "without status");
        goto out;
    }
    int wildcard = json_is_true(json_object_get(authz, "wildcard"));
    const json_t *chj = pick_challenge(o, authz, &kind);
    const char *curl_ = json_string_value(json_object_get(chj, "url"));
    const char *token = json_string_value(json_object_get(chj, "token"));
    if (chj == NULL || curl_ == NULL || token == NULL) {
        rc =
            cp_err_set(err, CP_EACME, "authorization for %s %s%s offers no challenge we can answer",
                       itype, wildcard ? "*." : "", ival);
        goto out;
    }
    o->chals = cp_xrealloc(o->chals, (o->n_chals + 1) * sizeof(*o->chals));
    chal_t *ch = &o->chals[o->n_chals++];
    memset(ch, 0, sizeof(*ch));
    ch->authz_url = ctl_acme__strdup(authz_url);
    ch->url = ctl_acme__strdup(curl_);
    ch->token = ctl_acme__strdup(token);
    size_t n = strlen(itype) + strlen(ival) + 4;
    ch->ident = cp_xmalloc(n);
    snprintf(ch->ident, n, "%s %s%s", itype, wildcard ? "*." : "", ival);
    rc = present(o, ch, kind, ival, err);
out:
    json_decref(authz);
    ctl_acme__resp_dispose(&r);
    return rc;
}

/* Tells the CA a challenge is ready: POST {} to the challenge URL. */
static int step_challenge(order_t *o, chal_t *ch, cp_err_t *err)
{
    ctl_acme__resp_t r = {0};
    int rc = ctl_acme__post(o->c, ch->url, "{}", NULL, "challenge", &r, err);
    ctl_acme__resp_dispose(&r);
    if (rc != 0)
        cp_err_prefix(err, "%s", ch->ident);
    return rc;
}

/* The poll schedule of an authorization or an order without Retry-After: the first wait is
 * POLL_FIRST_MS, each next one twice the last, capped at POLL_CAP_MS: 25, 50, 100, 200, 400, 800,
 * 1600, 3000, 3000... ms. A CA that validates in a few milliseconds (Pebble) is seen at once, one
 * that takes seconds costs about 7 polls in its first 3 s and then one every 3 s. POLL_MAX bounds
 * the polls of one resource whatever the deadline (about 5 minutes on this schedule); Retry-After,
 * when the CA sends it, replaces the schedule's wait (at least POLL_MIN_RA_MS). */
#define POLL_FIRST_MS 25
#define POLL_CAP_MS 3000
#define POLL_MAX 110
#define POLL_MIN_RA_MS 100

/* Waiting time before the next poll: Retry-After when given, else the growing interval. */
static long poll_delay(const ctl_acme__resp_t *r, long *interval)
{
    long s = ctl_acme__retry_after_parse(r->retry_after, time(NULL));
    long d = s >= 0 ? (s > 0 ? s * 1000 : POLL_MIN_RA_MS) : *interval;
    *interval = *interval * 2 > POLL_CAP_MS ? POLL_CAP_MS : *interval * 2;
    return d;
}

/* CP_ETIMEDOUT once a resource has been polled POLL_MAX times. */
static int poll_budget(int *polls, const char *what, cp_err_t *err)
{
    if (++*polls < POLL_MAX)
        return 0;
    return cp_err_set(err, CP_ETIMEDOUT, "%s: still not final after %d polls", what, POLL_MAX);
}

/* The failure of an invalid authorization, with the challenge's problem document. */
static int authz_failed(const json_t *authz, const chal_t *ch, const char *st, cp_err_t *err)
{
    char msg[CP_ERR_MSG_MAX] = "";
    const json_t *chals = json_object_get(authz, "challenges");
    for (size_t i = 0; i < json_array_size(chals) && !msg[0]; i++) {
        const json_t *pb = json_object_get(json_array_get(chals, i), "error");
        if (json_is_object(pb))
            ctl_acme__problem_format(pb, msg, sizeof(msg));
    }
    return cp_err_set(err, CP_EACME, "authorization for %s is %s%s%s", ch->ident, st,
                      msg[0] ? ": " : "", msg);
}

/* Polls one authorization until it is valid or final. */
static int step_authz_poll(order_t *o, const chal_t *ch, cp_err_t *err)
{
    long interval = POLL_FIRST_MS;
    int polls = 0;
    for (;;) {
        ctl_acme__resp_t r = {0};
        json_t *authz = NULL;
        int rc = fetch_json(o->c, ch->authz_url, "authorization", &authz, &r, err);
        if (rc != 0)
            return rc;
        o->c->stats.polls++;
        const char *st = json_string_value(json_object_get(authz, "status"));
        if (st != NULL && strcmp(st, "valid") == 0)
            rc = 1;
        else if (st == NULL || strcmp(st, "pending") != 0)
            rc = authz_failed(authz, ch, st ? st : "without status", err);
        long delay = poll_delay(&r, &interval);
        json_decref(authz);
        ctl_acme__resp_dispose(&r);
        if (rc != 0)
            return rc == 1 ? 0 : rc;
        rc = poll_budget(&polls, ch->ident, err);
        if (rc == 0)
            rc = ctl_acme__sleep(o->c, delay, ch->ident, err);
        if (rc != 0) {
            cp_err_prefix(err, "authorization still pending");
            return rc;
        }
    }
}

static int step_authorize(order_t *o, cp_err_t *err)
{
    const json_t *authzs = json_object_get(o->obj, "authorizations");
    int rc = 0;
    for (size_t i = 0; i < json_array_size(authzs) && rc == 0; i++) {
        const char *u = json_string_value(json_array_get(authzs, i));
        rc = u ? step_authz(o, u, err) : cp_err_set(err, CP_EPROTO, "order: bad authorization");
    }
    for (size_t i = 0; i < o->n_chals && rc == 0; i++) {
        if (o->req->dns != NULL && o->chals[i].fqdn != NULL &&
            o->req->dns->propagation_wait_ms > 0 && i == 0)
            rc = ctl_acme__sleep(o->c, o->req->dns->propagation_wait_ms, "DNS propagation", err);
        if (rc == 0)
            rc = step_challenge(o, &o->chals[i], err);
    }
    for (size_t i = 0; i < o->n_chals && rc == 0; i++)
        rc = step_authz_poll(o, &o->chals[i], err);
    return rc;
}

/* Polls the order (after authorizations, or while processing). */
static int step_order_poll(order_t *o, order_state_t leave, cp_err_t *err)
{
    long interval = POLL_FIRST_MS;
    int polls = 0;
    for (;;) {
        ctl_acme__resp_t r = {0};
        json_t *obj = NULL;
        int rc = fetch_json(o->c, o->url, "order", &obj, &r, err);
        if (rc == 0)
            rc = order_take(o, obj, "order", err);
        else
            json_decref(obj);
        o->c->stats.polls++;
        long delay = poll_delay(&r, &interval);
        ctl_acme__resp_dispose(&r);
        if (rc != 0 || o->state != leave)
            return rc;
        const char *what =
            leave == ORDER_PROCESSING ? "order still processing" : "order still pending";
        rc = poll_budget(&polls, what, err);
        if (rc == 0)
            rc = ctl_acme__sleep(o->c, delay, what, err);
        if (rc != 0)
            return rc;
    }
}

/* Fresh key (from the pool when there is one), CSR with every name, POST finalize. */
static int step_finalize(order_t *o, cp_err_t *err)
{
    ctl_acme__resp_t r = {0};
    const char **dns = cp_xmalloc(o->req->n_names * sizeof(char *));
    const char **ips = cp_xmalloc(o->req->n_names * sizeof(char *));
    size_t nd = 0, ni = 0;
    unsigned char *der = NULL;
    size_t der_len = 0;
    json_t *obj = NULL;
    const char *fin = json_string_value(json_object_get(o->obj, "finalize"));
    for (size_t i = 0; i < o->req->n_names; i++) {
        if (is_ip(o->req->names[i]))
            ips[ni++] = o->req->names[i];
        else
            dns[nd++] = o->req->names[i];
    }
    char *key_pem = NULL;
    /* A resumed order keeps the key recorded for it: the CA may have seen its CSR already. */
    int rc = o->key != NULL ? 0 : ctl_keypool_take(o->c->keypool, o->req->key_type, &o->key, err);
    if (rc == 0)
        rc = cp_x509_csr_build(o->key, dns, nd, ips, ni, &der, &der_len, err);
    if (rc != 0)
        goto out;
    if (fin == NULL) {
        rc = cp_err_set(err, CP_EPROTO, "order without a finalize URL");
        goto out;
    }
    rc = cp_x509_key_to_pem(o->key, &key_pem, err);
    if (rc == 0)
        rc = checkpoint(o, key_pem, err);
    cp_secure_free_str(key_pem);
    if (rc != 0)
        goto out;
    char *csr64 = cp_base64_encode(der, der_len, CP_BASE64_URL);
    rc =
        ctl_acme__post_json(o->c, fin, json_pack("{s:s}", "csr", csr64), NULL, "finalize", &r, err);
    free(csr64);
    if (rc == 0)
        rc = ctl_acme__resp_json(&r, "finalize", &obj, err);
    if (rc == 0)
        rc = order_take(o, obj, "finalize", err);
out:
    ctl_acme__resp_dispose(&r);
    free(der);
    free(dns);
    free(ips);
    return rc;
}

static void cleanup_challenges(order_t *o)
{
    for (size_t i = 0; i < o->n_chals; i++) {
        chal_t *ch = &o->chals[i];
        /* A failed cleanup cannot be helped here: the record expires (TTL) or the provider retries.
         */
        if (ch->presented && ch->fqdn != NULL)
            o->req->dns->ops->cleanup(o->req->dns, ch->fqdn, ch->txt, NULL);
        else if (ch->presented && o->c->hooks.challenge_cleanup != NULL)
            o->c->hooks.challenge_cleanup(o->c->hooks.ctx, ch->token, NULL);
        free(ch->authz_url);
        free(ch->url);
        free(ch->ident);
        free(ch->token);
        free(ch->fqdn);
        free(ch->txt);
    }
    free(o->chals);
    o->chals = NULL;
    o->n_chals = 0;
}

/* Runs the state machine from ORDER_NEW to ORDER_DONE. */
static int run(order_t *o, cp_err_t *err)
{
    int rc = 0;
    while (rc == 0 && o->state != ORDER_DONE) {
        switch (o->state) {
        case ORDER_RESUME:
            rc = step_resume(o, err);
            break;
        case ORDER_NEW:
            rc = step_new_order(o, err);
            break;
        case ORDER_AUTHORIZE:
            rc = step_authorize(o, err);
            cleanup_challenges(o);
            if (rc == 0)
                rc = step_order_poll(o, ORDER_AUTHORIZE, err);
            break;
        case ORDER_READY:
            rc = step_finalize(o, err);
            break;
        case ORDER_PROCESSING:
            rc = step_order_poll(o, ORDER_PROCESSING, err);
            break;
        case ORDER_VALID:
            if (o->key == NULL) /* an order valid before we finalized it is not ours to use */
                rc = cp_err_set(err, CP_EACME, "order is valid but was not finalized by us");
            else
                rc = ctl_acme__download(o->c,
                                        json_string_value(json_object_get(o->obj, "certificate")),
                                        o->req->preferred_chain, &o->chain, err);
            if (rc == 0)
                o->state = ORDER_DONE;
            break;
        case ORDER_DONE:
            break;
        }
    }
    return rc;
}

int ctl_acme_issue(ctl_acme_t *c, const ctl_acme_request_t *req, ctl_acme_result_t *res,
                   cp_err_t *err)
{
    order_t o = {.c = c, .req = req, .state = req->resume_order_url ? ORDER_RESUME : ORDER_NEW};
    char *key_pem = NULL;
    ctl_acme__deadline_start(c);
    int rc = check_request(c, req, err);
    if (rc == 0)
        rc = ctl_acme__account_ready(c, err);
    if (rc == 0)
        rc = run(&o, err);
    cleanup_challenges(&o);
    if (rc == 0)
        rc = cp_x509_key_to_pem(o.key, &key_pem, err);
    if (rc == 0) {
        memset(res, 0, sizeof(*res));
        res->fullchain_pem = o.chain;
        o.chain = NULL;
        res->private_key_pem = key_pem;
        res->order_url = o.url;
        o.url = NULL;
        res->cert_url = ctl_acme__strdup(json_string_value(json_object_get(o.obj, "certificate")));
        res->key_type = req->key_type ? req->key_type : CP_KEY_RSA_2048;
    }
    free(o.chain);
    free(o.url);
    json_decref(o.obj);
    EVP_PKEY_free(o.key);
    return rc;
}

void ctl_acme_result_dispose(ctl_acme_result_t *res)
{
    cp_secure_free_str(res->private_key_pem);
    free(res->fullchain_pem);
    free(res->order_url);
    free(res->cert_url);
    memset(res, 0, sizeof(*res));
}
