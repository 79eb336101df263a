/* SPDX-License-Identifier: Apache-2.0 */
/* acme_client.c - ACME client object, directory, nonce pool and signed POSTs with retries */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "controller/acme/acme_internal.h"
#include "shared/base64.h"
#include "shared/clock.h"
#include "shared/mem.h"

#define NET_ATTEMPTS 4
#define BAD_NONCE_RETRIES 10
#define BUSY_RETRIES 3

static const struct {
    const char *name;
    const char *url;
} PROVIDERS[] = {
    {"letsencrypt", "https://acme-v02.api.letsencrypt.org/directory"},
    {"letsencrypt-staging", "https://acme-staging-v02.api.letsencrypt.org/directory"},
    {"zerossl", "https://acme.zerossl.com/v2/DV90"},
    {"buypass", "https://api.buypass.com/acme/directory"},
    {"google", "https://dv.acme-v02.api.pki.goog/directory"},
};

const char *ctl_acme_directory_url(const char *provider)
{
    if (provider == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(PROVIDERS) / sizeof(PROVIDERS[0]); i++)
        if (strcmp(provider, PROVIDERS[i].name) == 0)
            return PROVIDERS[i].url;
    if (strncmp(provider, "https://", 8) == 0 && provider[8] != '\0')
        return provider;
    return NULL;
}

void ctl_acme__deadline_start(ctl_acme_t *c)
{
    c->deadline = cp_clock_mono_ms() + c->deadline_ms;
    c->rate_limited_until_ms = 0;
}

int64_t ctl_acme_rate_limited_until(const ctl_acme_t *c)
{
    return c->rate_limited_until_ms;
}

const char *ctl_acme_profiles_get0(const ctl_acme_t *c)
{
    return c->have_directory ? c->profiles : NULL;
}

int ctl_acme_profile_offered(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ' ');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

int ctl_acme__sleep(ctl_acme_t *c, long ms, const char *what, cp_err_t *err)
{
    if (cp_clock_mono_ms() + ms > c->deadline)
        return cp_err_set(err, CP_ETIMEDOUT,
                          "%s: the deadline of %ld ms ends before the next try in %ld ms", what,
                          c->deadline_ms, ms);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return 0;
}

const char *ctl_acme__key_type_name(cp_key_type_t t)
{
    switch (t) {
    case CP_KEY_DEFAULT:
    case CP_KEY_RSA_2048:
        return "rsa2048";
    case CP_KEY_RSA_3072:
        return "rsa3072";
    case CP_KEY_RSA_4096:
        return "rsa4096";
    case CP_KEY_EC_P256:
        return "ec-p256";
    case CP_KEY_EC_P384:
        return "ec-p384";
    }
    return "unknown";
}

static int set_eab(ctl_acme_t *c, const ctl_acme_config_t *cfg, cp_err_t *err)
{
    if (cfg->eab_kid == NULL && cfg->eab_hmac_key == NULL)
        return 0;
    if (cfg->eab_kid == NULL || cfg->eab_hmac_key == NULL || cfg->eab_kid[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "external account binding needs both a key id and a key");
    int rc = cp_base64_decode(cfg->eab_hmac_key, strlen(cfg->eab_hmac_key), 0, &c->eab_mac,
                              &c->eab_mac_len);
    if (rc != 0 || c->eab_mac_len == 0)
        return cp_err_set(err, CP_EINVAL, "external account binding key is not base64url");
    c->eab_kid = ctl_acme__strdup(cfg->eab_kid);
    return 0;
}

int ctl_acme_new(const ctl_acme_config_t *cfg, const ctl_acme_hooks_t *hooks, ctl_acme_t **out,
                 cp_err_t *err)
{
    const char *url = ctl_acme_directory_url(cfg->directory);
    if (url == NULL)
        return cp_err_set(err, CP_EINVAL,
                          "ACME directory: unknown provider or not an https:// URL: %s",
                          cfg->directory ? cfg->directory : "(none)");
    ctl_acme_t *c = cp_xcalloc(1, sizeof(*c));
    int rc = ctl_acme__http_init(&c->http, cfg->ca_file,
                                 cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000,
                                 cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : 30000,
                                 cfg->max_body > 0 ? cfg->max_body : 1 << 20, err);
    if (rc != 0)
        goto out;
    c->http.observe = cfg->observe_request;
    c->keypool = cfg->keypool;
    rc = set_eab(c, cfg, err);
    if (rc != 0)
        goto out;
    if (hooks != NULL)
        c->hooks = *hooks;
    c->provider = ctl_acme__strdup(cfg->directory);
    c->dir_url = ctl_acme__strdup(url);
    c->email = ctl_acme__strdup(cfg->email);
    c->account_key_type = cfg->account_key_type ? cfg->account_key_type : CP_KEY_EC_P256;
    c->deadline_ms = cfg->deadline_ms > 0 ? cfg->deadline_ms : 300000;
    *out = c;
    c = NULL;
out:
    ctl_acme_free(c);
    return rc;
}

static void forget_directory(ctl_acme_t *c)
{
    free(c->url_new_nonce);
    free(c->url_new_account);
    free(c->url_new_order);
    free(c->url_revoke);
    free(c->url_key_change);
    free(c->url_renewal_info);
    free(c->profiles);
    c->profiles = NULL;
    c->url_new_nonce = c->url_new_account = c->url_new_order = NULL;
    c->url_revoke = c->url_key_change = c->url_renewal_info = NULL;
    c->have_directory = 0;
}

void ctl_acme_free(ctl_acme_t *c)
{
    if (c == NULL)
        return;
    ctl_acme__http_dispose(&c->http);
    forget_directory(c);
    for (size_t i = 0; i < c->n_nonces; i++)
        free(c->nonces[i]);
    cp_secure_free(c->eab_mac, c->eab_mac_len);
    free(c->eab_kid);
    free(c->provider);
    free(c->dir_url);
    free(c->email);
    EVP_PKEY_free(c->account_key);
    free(c->account_url);
    free(c);
}

void ctl_acme_get_stats(const ctl_acme_t *c, ctl_acme_stats_t *stats)
{
    *stats = c->stats;
}

/* Retry bookkeeping of one logical request. */
typedef struct retry {
    int net;      /* transport attempts made */
    long backoff; /* next wait after a network error, ms */
    int busy;     /* retries after 503 / 429 / rateLimited */
    int bad_nonce;
} retry_t;

#define RETRY_INIT                                                                                 \
    {                                                                                              \
        .backoff = 250                                                                             \
    }

/* One HTTP exchange, bounded by what is left of the deadline. */
static int send_once(ctl_acme_t *c, const char *method, const char *url, const char *body,
                     ctl_acme__resp_t *resp, cp_err_t *err)
{
    long left = (long)(c->deadline - cp_clock_mono_ms());
    memset(resp, 0, sizeof(*resp));
    if (left <= 0)
        return cp_err_set(err, CP_ETIMEDOUT, "%s %s: deadline of %ld ms reached", method, url,
                          c->deadline_ms);
    c->stats.requests++;
    return ctl_acme__http_request(&c->http, method, url, body, left, resp, err);
}

/* After a transport failure `rc`: sleeps a capped exponential backoff and returns 1 when another
 * attempt is worthwhile (a network error that retrying can cure, attempts and deadline left).
 * Otherwise returns 0 and, for network errors, says in err how many attempts were made. */
static int net_retry(ctl_acme_t *c, retry_t *rs, int rc, cp_err_t *err)
{
    rs->net++;
    if (rc != CP_EUNAVAIL || c->http.permanent)
        return 0;
    if (rs->net < NET_ATTEMPTS && cp_clock_mono_ms() + rs->backoff < c->deadline) {
        ctl_acme__sleep(c, rs->backoff, "network", NULL);
        rs->backoff = rs->backoff * 2 > 4000 ? 4000 : rs->backoff * 2;
        return 1;
    }
    cp_err_prefix(err, "network (%d attempt%s)", rs->net, rs->net == 1 ? "" : "s");
    return 0;
}

/* For an answer of 503, 429 or rateLimited: waits as Retry-After asks (else 1 s, doubling) and
 * returns 1 to repeat the request. Returns a negative code with err set (the problem document and
 * the retry time the CA named) when no retry is left or the wait would pass the deadline: sleeping
 * past it helps nobody. Returns 0 for any other answer. */
static int busy_wait(ctl_acme_t *c, retry_t *rs, const ctl_acme__resp_t *r, const char *what,
                     cp_err_t *err)
{
    if (r->status != 503 && r->status != 429 && !ctl_acme__problem_is(r, "rateLimited"))
        return 0;
    time_t now = time(NULL);
    long s = ctl_acme__retry_after_parse(r->retry_after, now);
    long ms = s < 0 ? 1000L << rs->busy : s * 1000L;
    if (r->status == 429 || ctl_acme__problem_is(r, "rateLimited")) {
        /* The limit is the account's at this CA, not this request's: the caller learns it. Without
         * a Retry-After, one minute (the first step of the back-off schedule). */
        int64_t until = cp_clock_wall_ms() + (s >= 0 ? s * 1000L : 60000L);
        if (until > c->rate_limited_until_ms)
            c->rate_limited_until_ms = until;
        if (c->hooks.rate_limited != NULL)
            c->hooks.rate_limited(c->hooks.ctx, c->provider, c->email, until);
    }
    int past_deadline = cp_clock_mono_ms() + ms > c->deadline;
    if (rs->busy < BUSY_RETRIES && !past_deadline) {
        rs->busy++;
        c->stats.busy_retries++;
        return ms > 0 && ctl_acme__sleep(c, ms, what, err) != 0 ? CP_ETIMEDOUT : 1;
    }
    int rc = ctl_acme__problem_err(r, what, err);
    if (err != NULL && s >= 0) {
        char msg[CP_ERR_MSG_MAX], when[32] = "?";
        struct tm tm;
        time_t at = now + s;
        if (gmtime_r(&at, &tm) != NULL)
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        memcpy(msg, err->msg, sizeof(msg));
        if (past_deadline)
            cp_err_set(err, rc,
                       "%s; the CA asks to retry after %ld s (at %s), past this operation's "
                       "deadline",
                       msg, s, when);
        else
            cp_err_set(err, rc,
                       "%s; the CA asks to retry after %ld s (at %s); gave up after %d "
                       "retries",
                       msg, s, when, rs->busy);
    } else if (err != NULL && rs->busy > 0) {
        cp_err_prefix(err, "still busy after %d retries", rs->busy);
    }
    return rc;
}

int ctl_acme__exchange(ctl_acme_t *c, const char *method, const char *url, const char *what,
                       ctl_acme__resp_t *resp, cp_err_t *err)
{
    retry_t rs = RETRY_INIT;
    for (;;) {
        int rc = send_once(c, method, url, NULL, resp, err);
        if (rc != 0) {
            if (net_retry(c, &rs, rc, err))
                continue;
            cp_err_prefix(err, "%s", what);
            return rc;
        }
        rc = busy_wait(c, &rs, resp, what, err);
        if (rc == 0)
            return 0;
        ctl_acme__resp_dispose(resp);
        if (rc < 0)
            return rc;
    }
}

/* Keeps a fresh nonce from a response; the oldest one is dropped when the pool is full. */
static void keep_nonce(ctl_acme_t *c, ctl_acme__resp_t *r)
{
    if (r->nonce == NULL || r->nonce[0] == '\0')
        return;
    size_t cap = sizeof(c->nonces) / sizeof(c->nonces[0]);
    if (c->n_nonces == cap) {
        free(c->nonces[0]);
        memmove(c->nonces, c->nonces + 1, (cap - 1) * sizeof(c->nonces[0]));
        c->n_nonces--;
    }
    c->nonces[c->n_nonces++] = r->nonce;
    r->nonce = NULL;
}

/* The names of a directory's meta.profiles object (name -> description), space-separated; "" when
 * the CA offers none. A name with a space or an empty one cannot be asked for and is left out. */
static char *profile_names(const json_t *profiles)
{
    char *out = ctl_acme__strdup("");
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)profiles, name, v)
    {
        (void)v;
        if (name[0] == '\0' || strchr(name, ' ') != NULL)
            continue;
        char *next = cp_xasprintf("%s%s%s", out, out[0] ? " " : "", name);
        free(out);
        out = next;
    }
    return out;
}

int ctl_acme__directory(ctl_acme_t *c, cp_err_t *err)
{
    ctl_acme__resp_t r;
    json_t *j = NULL;
    if (c->have_directory)
        return 0;
    int rc = ctl_acme__exchange(c, "GET", c->dir_url, "ACME directory", &r, err);
    if (rc != 0)
        return rc;
    if (r.status != 200) {
        rc = ctl_acme__problem_err(&r, "ACME directory", err);
        goto out;
    }
    rc = ctl_acme__resp_json(&r, "ACME directory", &j, err);
    if (rc != 0)
        goto out;
    const char *nn = json_string_value(json_object_get(j, "newNonce"));
    const char *na = json_string_value(json_object_get(j, "newAccount"));
    const char *no = json_string_value(json_object_get(j, "newOrder"));
    if (nn == NULL || na == NULL || no == NULL) {
        rc = cp_err_set(err, CP_EPROTO, "ACME directory %s lacks newNonce/newAccount/newOrder",
                        c->dir_url);
        goto out;
    }
    c->url_new_nonce = ctl_acme__strdup(nn);
    c->url_new_account = ctl_acme__strdup(na);
    c->url_new_order = ctl_acme__strdup(no);
    c->url_revoke = ctl_acme__strdup(json_string_value(json_object_get(j, "revokeCert")));
    c->url_key_change = ctl_acme__strdup(json_string_value(json_object_get(j, "keyChange")));
    /* RFC 9773: only an https URL is taken (it is fetched without a signature). */
    const char *ri = json_string_value(json_object_get(j, "renewalInfo"));
    if (ri != NULL && strncmp(ri, "https://", 8) == 0)
        c->url_renewal_info = ctl_acme__strdup(ri);
    c->profiles = profile_names(json_object_get(json_object_get(j, "meta"), "profiles"));
    c->have_directory = 1;
out:
    json_decref(j);
    ctl_acme__resp_dispose(&r);
    return rc;
}

static int take_nonce(ctl_acme_t *c, char **nonce, cp_err_t *err)
{
    ctl_acme__resp_t r;
    if (c->n_nonces > 0) {
        *nonce = c->nonces[--c->n_nonces];
        return 0;
    }
    int rc = ctl_acme__directory(c, err);
    if (rc != 0)
        return rc;
    rc = ctl_acme__exchange(c, "HEAD", c->url_new_nonce, "newNonce", &r, err);
    if (rc != 0)
        return rc;
    if (r.nonce == NULL || (r.status != 200 && r.status != 204)) {
        rc = cp_err_set(err, CP_EPROTO, "newNonce: HTTP %ld without Replay-Nonce", r.status);
    } else {
        *nonce = r.nonce;
        r.nonce = NULL;
    }
    ctl_acme__resp_dispose(&r);
    return rc;
}

/* Signs and sends one POST with a fresh nonce; the response of any status lands in *resp. *sent
 * tells whether the POST itself was attempted (a failure before it was already retried). */
static int post_once(ctl_acme_t *c, const char *url, const char *payload, EVP_PKEY *jwk_key,
                     ctl_acme__resp_t *resp, int *sent, cp_err_t *err)
{
    char *nonce = NULL;
    json_t *jws = NULL;
    char *body = NULL;
    EVP_PKEY *key = jwk_key ? jwk_key : c->account_key;
    *sent = 0;
    memset(resp, 0, sizeof(*resp));
    int rc = take_nonce(c, &nonce, err);
    if (rc != 0)
        goto out;
    if (key == NULL || (jwk_key == NULL && c->account_url == NULL)) {
        rc = cp_err_set(err, CP_ESTATE, "no ACME account");
        goto out;
    }
    rc = ctl_acme__jws_sign(key, jwk_key ? NULL : c->account_url, nonce, url, payload, &jws, err);
    if (rc != 0)
        goto out;
    body = json_dumps(jws, JSON_COMPACT);
    *sent = 1;
    rc = send_once(c, "POST", url, body, resp, err);
    if (rc == 0)
        keep_nonce(c, resp);
out:
    free(body);
    json_decref(jws);
    free(nonce);
    return rc;
}

int ctl_acme__post(ctl_acme_t *c, const char *url, const char *payload, EVP_PKEY *jwk_key,
                   const char *what, ctl_acme__resp_t *resp, cp_err_t *err)
{
    retry_t rs = RETRY_INIT;
    for (;;) {
        int sent = 0;
        int rc = post_once(c, url, payload, jwk_key, resp, &sent, err);
        if (rc != 0) {
            /* A repeated POST is signed again: the lost one may have used up its nonce. */
            if (sent && net_retry(c, &rs, rc, err))
                continue;
            cp_err_prefix(err, "%s", what);
            return rc;
        }
        if (resp->status >= 200 && resp->status < 300)
            return 0;
        if (ctl_acme__problem_is(resp, "badNonce") && ++rs.bad_nonce <= BAD_NONCE_RETRIES) {
            c->stats.bad_nonce_retries++;
            ctl_acme__resp_dispose(resp);
            continue;
        }
        rc = busy_wait(c, &rs, resp, what, err);
        if (rc == 0)
            rc = ctl_acme__problem_err(resp, what, err);
        ctl_acme__resp_dispose(resp);
        if (rc < 0)
            return rc;
    }
}

int ctl_acme__post_json(ctl_acme_t *c, const char *url, json_t *payload, EVP_PKEY *jwk_key,
                        const char *what, ctl_acme__resp_t *resp, cp_err_t *err)
{
    char *s = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    int rc = ctl_acme__post(c, url, s, jwk_key, what, resp, err);
    free(s);
    return rc;
}
