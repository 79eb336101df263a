/* SPDX-License-Identifier: Apache-2.0 */
/* work_acme.c - the one ACME client factory: a worker's clients (one per CA and account email),
 * their hooks into Redis, issuance and revocation */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/metrics/metrics.h"
#include "controller/store/store_edges.h"
#include "controller/work/work_acme.h"
#include "controller/work/work_issuers.h"
#include "controller/work/work_limits.h"
#include "controller/work/work_util.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

/* Challenge records live an hour, as the seed's did. */
#define CHALLENGE_TTL_S 3600
/* How often a propagation wait looks at the edges' applied revisions. */
#define EDGE_POLL_MS 50

struct ctl_work_client {
    char *provider;
    char *email;
    ctl_acme_t *acme;
    unsigned gen; /* w->account_gen when it was made */
    ctl_work_client_t *next;
};

/* Keeps the job's lock for another full TTL: called at every step the ACME client hands back to us.
 */
static void extend_lock(ctl_work_thread_t *t)
{
    cp_err_t err = {0};
    if (t->cert_name == NULL)
        return;
    if (ctl_store_lock_extend(t->store, t->cert_name, t->lock_token, ctl_work__lock_ttl_ms(t->w),
                              &err) != 0) {
        const char *kv[] = {"cert", t->cert_name, NULL};
        CP_LOGKV(CP_LOG_WARN, "work", kv, "lock extension failed: %s", err.msg);
    }
}

/* Edges that are live and have not yet applied revision `rev`; -1 when Redis cannot tell. */
static int edges_behind(ctl_work_thread_t *t, int64_t rev)
{
    ctl_store_edge_t *edges = NULL;
    size_t n = 0;
    cp_err_t err = {0};
    if (ctl_store_edges_live(t->store, cp_clock_wall_ms(), t->w->cfg->edge_ttl_ms, &edges, &n,
                             &err) != 0)
        return -1;
    int behind = 0;
    for (size_t i = 0; i < n; i++)
        if (edges[i].applied_revision < rev)
            behind++;
    ctl_store_edges_free(edges, n);
    return behind;
}

/* Waits until every live edge has applied the challenge's revision, so whichever edge the CA
 * reaches can answer; bounded by --challenge-propagation-timeout, after which the CA is asked
 * anyway. */
static int wait_edges(ctl_work_thread_t *t, int64_t rev, cp_err_t *err)
{
    int64_t deadline = cp_clock_wall_ms() + t->w->cfg->challenge_propagation_ms;
    for (;;) {
        /* When Redis cannot tell (-1: it is away), keep waiting: asking the CA now could fail the
         * validation and with it the order. */
        int behind = edges_behind(t, rev);
        if (behind == 0)
            return 0;
        if (cp_clock_wall_ms() >= deadline) {
            const char *kv[] = {"cert", t->cert_name, NULL};
            CP_LOGKV(CP_LOG_WARN, "work", kv,
                     "%d edge(s) (-1: unknown, Redis away) have not applied the challenge "
                     "(revision %" PRId64 ") in time",
                     behind, rev);
            return 0;
        }
        if (ctl_work__sleep(t->w, EDGE_POLL_MS, 0))
            return cp_err_set(err, CP_ECANCELED, "controller stopping");
    }
}

/* Runs a Redis write of the issuance in progress again while Redis is away (CP_EUNAVAIL), within
 * the ACME deadline: a short outage must not cost the order. */
#define RETRY_WHILE_AWAY(t, rc, call)                                                              \
    do {                                                                                           \
        int64_t until_ = cp_clock_mono_ms() + (t)->w->cfg->acme_timeout_ms;                        \
        for (int try_ = 0;; try_++) {                                                              \
            (rc) = (call);                                                                         \
            if ((rc) != CP_EUNAVAIL || cp_clock_mono_ms() >= until_ ||                             \
                ctl_work__redis_backoff((t)->w, try_))                                             \
                break;                                                                             \
        }                                                                                          \
    } while (0)

/* Records the challenge (identifier NULL: HTTP-01; else TLS-ALPN-01 for it), which streams to
 * every edge, and waits until the live edges applied it. */
static int present_for(ctl_work_thread_t *t, const char *identifier, const char *token,
                       const char *key_authorization, cp_err_t *err)
{
    int64_t rev = 0;
    int rc;
    extend_lock(t);
    RETRY_WHILE_AWAY(t, rc,
                     ctl_store_challenge_set_for(t->store, token, key_authorization, identifier,
                                                 CHALLENGE_TTL_S, &rev, err));
    if (rc == 0)
        rc = wait_edges(t, rev, err);
    return rc;
}

static int hook_present(void *ctx, const char *token, const char *key_authorization, cp_err_t *err)
{
    return present_for(ctx, NULL, token, key_authorization, err);
}

static int hook_present_alpn(void *ctx, const char *identifier, const char *token,
                             const char *key_authorization, cp_err_t *err)
{
    return present_for(ctx, identifier, token, key_authorization, err);
}

/* Records the order (and before finalize its key) in order:{name}, so that whoever resumes the job
 * continues it instead of ordering again. */
static int hook_checkpoint(void *ctx, const char *order_url, const char *key_pem, cp_err_t *err)
{
    ctl_work_thread_t *t = ctx;
    int rc;
    if (t->cert_name == NULL || t->order_request == NULL)
        return 0;
    extend_lock(t);
    ctl_store_order_t o = {.url = (char *)order_url,
                           .request = (char *)t->order_request,
                           .replaces = (char *)t->order_replaces,
                           .key_pem = (char *)key_pem};
    RETRY_WHILE_AWAY(t, rc, ctl_store_order_put(t->store, t->cert_name, &o, err));
    return rc;
}

static int hook_cleanup(void *ctx, const char *token, cp_err_t *err)
{
    ctl_work_thread_t *t = ctx;
    extend_lock(t);
    return ctl_store_challenge_clear(t->store, token, NULL, err);
}

const char *ctl_work_acme_account_email(const char *email)
{
    return email != NULL && email[0] != '\0' ? email : "-";
}

static int hook_account_load(void *ctx, const char *provider, const char *email, char **key_pem,
                             char **account_url, cp_err_t *err)
{
    ctl_work_thread_t *t = ctx;
    return ctl_store_account_get(t->store, provider, ctl_work_acme_account_email(email), key_pem,
                                 account_url, err);
}

static int hook_account_save(void *ctx, const char *provider, const char *email,
                             const char *key_pem, const char *account_url, cp_err_t *err)
{
    ctl_work_thread_t *t = ctx;
    return ctl_store_account_put(t->store, provider, ctl_work_acme_account_email(email), key_pem,
                                 account_url, err);
}

/* A 429 met in the middle of an issuance: shared at once, before the client waits out a short
 * Retry-After, so no other worker orders for the account meanwhile. */
static void hook_rate_limited(void *ctx, const char *provider, const char *email, int64_t until_ms)
{
    const char *dir = ctl_acme_directory_url(provider);
    if (dir != NULL)
        ctl_work__share_rate_limit(ctx, dir, ctl_work_acme_account_email(email), until_ms);
}

void ctl_work_acme_config(const ctl_provider_t *p, const ctl_config_t *cfg, const char *email,
                          ctl_acme_config_t *out)
{
    memset(out, 0, sizeof(*out));
    out->directory = p->directory;
    out->ca_file = p->ca_file;
    out->email = email != NULL && email[0] != '\0' ? email : NULL;
    out->account_key_type = p->account_key_type;
    out->deadline_ms = (long)cfg->acme_timeout_ms;
    out->eab_kid = p->eab_kid;
    out->eab_hmac_key = p->eab_hmac_key;
}

/* A client for provider p (deadline_ms > 0: a shorter deadline than --acme-timeout). */
static int client_new(ctl_work_thread_t *t, const ctl_provider_t *p, const char *email,
                      long deadline_ms, ctl_acme_t **out, cp_err_t *err)
{
    ctl_acme_config_t ac;
    ctl_work_acme_config(p, t->w->cfg, email, &ac);
    ac.observe_request = ctl_metrics_acme_latency;
    ac.keypool = t->w->keypool;
    if (deadline_ms > 0 && (ac.deadline_ms <= 0 || deadline_ms < ac.deadline_ms))
        ac.deadline_ms = deadline_ms;
    ctl_acme_hooks_t hooks = {
        .ctx = t,
        .challenge_present = hook_present,
        .challenge_present_alpn = hook_present_alpn,
        .challenge_cleanup = hook_cleanup,
        .account_load = hook_account_load,
        .account_save = hook_account_save,
        .order_checkpoint = hook_checkpoint,
        .rate_limited = hook_rate_limited,
    };
    return ctl_acme_new(&ac, &hooks, out, err);
}

int ctl_work__client_make(ctl_work_thread_t *t, const char *provider, const char *email,
                          long deadline_ms, ctl_acme_t **out, cp_err_t *err)
{
    ctl_provider_t adhoc;
    const ctl_provider_t *p = ctl_work_provider(t->w->cfg, provider, &adhoc);
    if (p == NULL)
        return cp_err_set(err, CP_EINVAL, "unknown ACME provider \"%s\"", provider);
    return client_new(t, p, email, deadline_ms, out, err);
}

/* Unlinks and frees the client *pp points at. */
static void client_unlink(ctl_work_client_t **pp)
{
    ctl_work_client_t *c = *pp;
    *pp = c->next;
    ctl_acme_free(c->acme);
    free(c->provider);
    free(c->email);
    free(c);
}

/* The thread's client for (provider, email), made on first use; providers are told apart by
 * name. A client made before a key rollover of this controller (w->account_gen) is made anew. */
static int client_get(ctl_work_thread_t *t, const ctl_provider_t *p, const char *email,
                      ctl_acme_t **out, cp_err_t *err)
{
    unsigned gen = atomic_load(&t->w->account_gen);
    for (ctl_work_client_t **pp = &t->clients; *pp != NULL; pp = &(*pp)->next) {
        ctl_work_client_t *c = *pp;
        if (strcmp(c->provider, p->name) != 0 || strcmp(c->email, email) != 0)
            continue;
        if (c->gen == gen) {
            *out = c->acme;
            return 0;
        }
        client_unlink(pp); /* made before a key rollover: its key may be gone */
        break;
    }
    ctl_acme_t *acme = NULL;
    int rc = client_new(t, p, email, 0, &acme, err);
    if (rc != 0)
        return rc;
    ctl_work_client_t *c = cp_xcalloc(1, sizeof(*c));
    c->provider = cp_xstrdup(p->name);
    c->email = cp_xstrdup(email != NULL ? email : "");
    c->acme = acme;
    c->gen = gen;
    c->next = t->clients;
    t->clients = c;
    *out = acme;
    return 0;
}

void ctl_work__clients_free(ctl_work_thread_t *t)
{
    while (t->clients != NULL)
        client_unlink(&t->clients);
}

static int needs_dns01(const Certplane__V1__Certificate *c)
{
    if (c->challenge_type == CERTPLANE__V1__CHALLENGE_TYPE__DNS_01)
        return 1;
    for (size_t i = 0; i < c->n_domains; i++)
        if (strncmp(c->domains[i], "*.", 2) == 0)
            return 1;
    return 0;
}

static const char *email_for(const ctl_config_t *cfg, const Certplane__V1__Certificate *c)
{
    if (c->email != NULL && c->email[0] != '\0')
        return c->email;
    return cfg->acme_email != NULL ? cfg->acme_email : "";
}

/* The client of provider reference `ref` for c's email; *pp is its provider (possibly *adhoc). */
static int client_at(ctl_work_thread_t *t, const Certplane__V1__Certificate *c, const char *ref,
                     ctl_provider_t *adhoc, const ctl_provider_t **pp, ctl_acme_t **out,
                     cp_err_t *err)
{
    const ctl_provider_t *p = ctl_work_provider(t->w->cfg, ref, adhoc);
    if (p == NULL)
        return cp_err_set(err, CP_EINVAL, "unknown ACME provider \"%s\"", ref);
    if (pp != NULL)
        *pp = p;
    return client_get(t, p, email_for(t->w->cfg, c), out, err);
}

int ctl_work__client_for(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                         ctl_acme_t **out, cp_err_t *err)
{
    const char *refs[CTL_WORK_MAX_ISSUERS];
    const char *ref = NULL;
    if (t->issued_by[0] != '\0')
        ref = t->issued_by;
    else if (c->issued_by != NULL && c->issued_by[0] != '\0')
        ref = c->issued_by;
    else if (ctl_work_issuers(t->w->cfg, c, refs, CTL_WORK_MAX_ISSUERS) > 0)
        ref = refs[0];
    if (ref == NULL)
        return cp_err_set(err, CP_EINVAL, "no ACME provider (set --acme-provider)");
    ctl_provider_t adhoc;
    return client_at(t, c, ref, &adhoc, NULL, out, err);
}

/* The profile c's orders ask for at provider p: its own, or p's default; NULL for the CA's
 * default. */
static const char *profile_for(const Certplane__V1__Certificate *c, const ctl_provider_t *p)
{
    if (c->profile != NULL && c->profile[0] != '\0')
        return c->profile;
    return p != NULL && p->profile != NULL && p->profile[0] != '\0' ? p->profile : NULL;
}

/* Issues with acme under the rate-limit discipline (work_limits.h): a new order only when Redis
 * admits it; a rate limit met at the CA is shared with every controller. */
static int issue_limited(ctl_work_thread_t *t, const Certplane__V1__Certificate *c, const char *ref,
                         ctl_acme_t *acme, const ctl_acme_request_t *req, ctl_acme_result_t *res,
                         cp_err_t *err)
{
    ctl_provider_t adhoc;
    const ctl_provider_t *p = ctl_work_provider(t->w->cfg, ref, &adhoc);
    const char *dir = p != NULL ? ctl_acme_directory_url(p->directory) : NULL;
    const char *account = ctl_work_acme_account_email(email_for(t->w->cfg, c));
    if (dir == NULL)
        return ctl_acme_issue(acme, req, res, err); /* refused by the client with its message */
    /* A recorded order is continued, not ordered again: no admission needed. */
    int admitted = 0;
    if (req->resume_order_url == NULL) {
        if (!ctl_work__order_admit(t, dir, account, c->name, err))
            return CP_EBUSY;
        admitted = 1;
    }
    int rc = ctl_acme_issue(acme, req, res, err);
    if (admitted)
        ctl_work__order_done(t, dir, c->name);
    ctl_work__note_profiles(t, acme, dir);
    return ctl_work__after_order(t, acme, dir, account, rc, err);
}

/* Whether a refusal of a kid-signed request (unauthorized, malformed, badSignatureAlgorithm: what a
 * CA answers to a key it no longer knows) came from a key another controller rolled over: the
 * stored key of provider `ref`'s account is not the one acme holds. Then the thread's client is
 * dropped, so the next one loads the stored key; 1 when it was. */
static int client_stale(ctl_work_thread_t *t, const Certplane__V1__Certificate *c, const char *ref,
                        ctl_acme_t *acme, int rc, const cp_err_t *err)
{
    char stored[64], held[64];
    char *pem = NULL;
    cp_err_t e = {0};
    ctl_provider_t adhoc;
    if (rc != CP_EACME || err == NULL ||
        (strstr(err->msg, ":unauthorized") == NULL && strstr(err->msg, ":malformed") == NULL &&
         strstr(err->msg, ":badSignatureAlgorithm") == NULL))
        return 0;
    const ctl_provider_t *p = ctl_work_provider(t->w->cfg, ref, &adhoc);
    int stale = p != NULL &&
                ctl_store_account_get(t->store, p->directory,
                                      ctl_work_acme_account_email(email_for(t->w->cfg, c)), &pem,
                                      NULL, &e) == 0 &&
                ctl_acme_key_thumbprint(pem, stored, sizeof stored, &e) == 0 &&
                ctl_acme_account_thumbprint(acme, held, sizeof held, &e) == 0 &&
                strcmp(stored, held) != 0;
    cp_secure_free_str(pem);
    if (!stale)
        return 0;
    for (ctl_work_client_t **pp = &t->clients; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->acme == acme) {
            client_unlink(pp);
            break;
        }
    ctl_work__log_cert(
        CP_LOG_INFO, "work", c->name,
        "the account key was rolled over elsewhere: trying again with the stored key");
    return 1;
}

/* issue_limited, once more with a fresh client when the first held a key rolled over elsewhere. */
static int issue_fresh(ctl_work_thread_t *t, const Certplane__V1__Certificate *c, const char *ref,
                       ctl_acme_t *acme, const ctl_acme_request_t *req, ctl_acme_result_t *res,
                       cp_err_t *err)
{
    int rc = issue_limited(t, c, ref, acme, req, res, err);
    if (client_stale(t, c, ref, acme, rc, err)) {
        ctl_provider_t adhoc;
        rc = client_at(t, c, ref, &adhoc, NULL, &acme, err);
        if (rc == 0)
            rc = issue_limited(t, c, ref, acme, req, res, err);
    }
    return rc;
}

/* What an order record was made for (store_orders.h): CA, account, key type, profile and names,
 * one per line, in the order they are sent. malloc'd. */
static char *order_request(const ctl_config_t *cfg, const Certplane__V1__Certificate *c,
                           const char *ref, const char *profile, const char *const *names, size_t n)
{
    char *s = cp_xasprintf("%s\n%s\n%d\n%s", ref, email_for(cfg, c), (int)c->key_type,
                           profile != NULL ? profile : "");
    for (size_t i = 0; i < n; i++) {
        char *next = cp_xasprintf("%s\n%s", s, names[i]);
        free(s);
        s = next;
    }
    return s;
}

/* The order recorded for c's current request, if any: resume points into rec. */
static void find_resumable(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                           ctl_store_order_t *rec, ctl_acme_request_t *req)
{
    cp_err_t err = {0};
    if (ctl_store_order_get(t->store, c->name, rec, &err) != 0)
        return;
    if (strcmp(rec->request, t->order_request) != 0 ||
        strcmp(rec->replaces, t->order_replaces) != 0) {
        ctl_work__log_cert(CP_LOG_DEBUG, "work", c->name, "recorded order %s is stale", rec->url);
        return;
    }
    ctl_work__log_cert(CP_LOG_INFO, "work", c->name, "resuming order %s%s", rec->url,
                       rec->key_pem != NULL ? " (finalized)" : "");
    req->resume_order_url = rec->url;
    req->resume_key_pem = rec->key_pem;
}

/* One issuance of c's names at the provider `ref`. */
static int issue_at(ctl_work_thread_t *t, const Certplane__V1__Certificate *c, const char *ref,
                    const char **names, size_t n, ctl_acme_result_t *res, cp_err_t *err)
{
    ctl_store_order_t rec = {0};
    ctl_acme_t *acme = NULL;
    const ctl_provider_t *p = NULL;
    ctl_provider_t adhoc;
    t->defer_until_ms = 0;
    int rc = client_at(t, c, ref, &adhoc, &p, &acme, err);
    if (rc != 0)
        return rc;
    ctl_acme_request_t req = {
        .names = names,
        .n_names = n,
        .key_type = (cp_key_type_t)c->key_type,
        .preferred_chain =
            c->preferred_chain != NULL && c->preferred_chain[0] != '\0' ? c->preferred_chain : NULL,
        .dns = t->w->dns,
        .prefer_dns01 = c->challenge_type == CERTPLANE__V1__CHALLENGE_TYPE__DNS_01,
        .prefer_tls_alpn01 = c->challenge_type == CERTPLANE__V1__CHALLENGE_TYPE__TLS_ALPN_01,
        /* RFC 9773: a renewal names the certificate it replaces (the order record's request stays
         * the same with or without it: whether the CA took `replaces` does not change the order).
         * Only the CA that issued it knows it. */
        .replaces = ctl_work__has_cert(c) && c->ari_cert_id != NULL && c->ari_cert_id[0] != '\0' &&
                            (c->issued_by == NULL || c->issued_by[0] == '\0' ||
                             strcmp(c->issued_by, ref) == 0)
                        ? c->ari_cert_id
                        : NULL,
        .profile = profile_for(c, p),
    };
    char *request = order_request(t->w->cfg, c, ref, req.profile, names, n);
    t->order_request = request;
    t->order_replaces = ctl_work__has_cert(c) && c->serial != NULL ? c->serial : "";
    find_resumable(t, c, &rec, &req);
    rc = issue_fresh(t, c, ref, acme, &req, res, err);
    t->order_request = NULL;
    t->order_replaces = NULL;
    ctl_store_order_dispose(&rec);
    free(request);
    return rc;
}

/* Tries c's issuers in order (work_issuers.h): the next only after a failure that retrying will
 * not soon cure; the last failure is what the certificate records. */
static int issue_failover(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                          const char **names, size_t n, ctl_acme_result_t *res, cp_err_t *err)
{
    const char *refs[CTL_WORK_MAX_ISSUERS];
    size_t k = ctl_work_issuers(t->w->cfg, c, refs, CTL_WORK_MAX_ISSUERS);
    if (k == 0)
        return cp_err_set(err, CP_EINVAL, "no ACME provider (set --acme-provider)");
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        rc = issue_at(t, c, refs[i], names, n, res, err);
        if (rc == 0) {
            snprintf(t->issued_by, sizeof t->issued_by, "%s", refs[i]);
            if (i > 0)
                ctl_work__log_cert(CP_LOG_WARN, "work", c->name, "issued by %s (issuer %zu of %zu)",
                                   refs[i], i + 1, k);
            return 0;
        }
        if (i + 1 == k || ctl_work__stopping(t->w) ||
            !ctl_work_failover_worthy(rc, err, t->defer_until_ms, cp_clock_wall_ms(),
                                      t->w->cfg->failover_rate_limit_ms))
            break;
        ctl_work__log_cert(CP_LOG_WARN, "work", c->name, "issuer %s failed, trying %s: %s", refs[i],
                           refs[i + 1], err != NULL ? err->msg : "");
        ctl_metrics_failover();
        if (err != NULL)
            memset(err, 0, sizeof(*err));
    }
    return rc;
}

int ctl_work__issue(ctl_work_thread_t *t, const Certplane__V1__Certificate *c,
                    ctl_acme_result_t *res, cp_err_t *err)
{
    size_t n = c->n_domains + c->n_ip_addresses;
    t->defer_until_ms = 0;
    t->issued_by[0] = '\0';
    if (needs_dns01(c) && t->w->dns == NULL)
        return cp_err_set(err, CP_EINVAL,
                          "DNS-01 needed (wildcard or challenge_type DNS_01) but "
                          "no --dns-exec is configured");
    const char **names = cp_xcalloc(n > 0 ? n : 1, sizeof(*names));
    for (size_t i = 0; i < c->n_domains; i++)
        names[i] = c->domains[i];
    for (size_t i = 0; i < c->n_ip_addresses; i++)
        names[c->n_domains + i] = c->ip_addresses[i];
    int rc = issue_failover(t, c, names, n, res, err);
    free(names);
    return rc;
}

int ctl_work__revoke(ctl_work_thread_t *t, const Certplane__V1__Certificate *c, cp_err_t *err)
{
    ctl_acme_t *acme = NULL;
    if (!ctl_work__has_cert(c))
        return cp_err_set(err, CP_EINVAL, "no issued certificate to revoke");
    int rc = ctl_work__client_for(t, c, &acme, err);
    if (rc == 0)
        rc = ctl_acme_revoke(acme, c->fullchain_pem, c->revocation_reason, NULL, err);
    const char *ref = c->issued_by != NULL && c->issued_by[0] != '\0' ? c->issued_by : NULL;
    const char *refs[CTL_WORK_MAX_ISSUERS];
    if (ref == NULL && ctl_work_issuers(t->w->cfg, c, refs, CTL_WORK_MAX_ISSUERS) > 0)
        ref = refs[0];
    if (ref != NULL && acme != NULL && client_stale(t, c, ref, acme, rc, err)) {
        rc = ctl_work__client_for(t, c, &acme, err);
        if (rc == 0)
            rc = ctl_acme_revoke(acme, c->fullchain_pem, c->revocation_reason, NULL, err);
    }
    /* Revoked before (by us, with a commit that was lost, or by someone else): the CA's state is
     * what was asked for. */
    if (rc == CP_EACME && err != NULL && strstr(err->msg, "alreadyRevoked") != NULL)
        rc = 0;
    return rc;
}
