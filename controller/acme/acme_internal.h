/* SPDX-License-Identifier: Apache-2.0 */
/* acme_internal.h - declarations shared by the acme_*.c files (not a public API) */
#ifndef CTL_ACME_INTERNAL_H
#define CTL_ACME_INTERNAL_H

#include <stdint.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "controller/acme/acme.h"

/* ---- acme_http.c: one HTTP exchange; the response is a value ---- */

#define CTL_ACME__MAX_LINKS 8

/** An HTTP response. Strings are malloc'd (or NULL); release with ctl_acme__resp_dispose. */
typedef struct ctl_acme__resp {
    long status;
    char *body; /* NUL-terminated, `len` bytes before the NUL */
    size_t len;
    char *content_type;
    char *location;
    char *nonce;                           /* Replay-Nonce */
    char *retry_after;                     /* raw Retry-After value */
    char *alternates[CTL_ACME__MAX_LINKS]; /* Link: rel="alternate" targets */
    size_t n_alternates;
} ctl_acme__resp_t;

typedef struct ctl_acme__http {
    CURL *curl;
    char *ca_file;
    long connect_ms;
    long total_ms;
    size_t max_body;
    int permanent; /* the last request failed in a way no retry can cure (TLS trust, URL, size) */
    void (*observe)(double seconds); /* ctl_acme_config_t.observe_request, or NULL */
} ctl_acme__http_t;

int ctl_acme__http_init(ctl_acme__http_t *h, const char *ca_file, long connect_ms, long total_ms,
                        size_t max_body, cp_err_t *err);
void ctl_acme__http_dispose(ctl_acme__http_t *h);
/** One request (method "GET", "HEAD" or "POST" with a JOSE body). Any HTTP status is success here;
 * only transport failures are errors: CP_EUNAVAIL (connect, TLS, reset), CP_ETIMEDOUT, CP_ETOOBIG.
 * After a failure h->permanent is 1 when retrying cannot help (the server's certificate was not
 * trusted, an unusable URL, a body over the cap), else 0.
 *  `timeout_ms` > 0 lowers the total timeout for this request (deadline). */
int ctl_acme__http_request(ctl_acme__http_t *h, const char *method, const char *url,
                           const char *body, long timeout_ms, ctl_acme__resp_t *resp,
                           cp_err_t *err);
void ctl_acme__resp_dispose(ctl_acme__resp_t *r);
/** Parses the JSON body of r into *out (caller json_decref). CP_EPROTO when it is not a JSON
 * object. */
int ctl_acme__resp_json(const ctl_acme__resp_t *r, const char *what, json_t **out, cp_err_t *err);

/* ---- acme_jws.c: JWK, thumbprint, JWS, EAB ---- */

/** JWS "alg" for the key: RS256 (RSA), ES256 (P-256), ES384 (P-384); NULL for anything else. */
const char *ctl_acme__jws_alg(EVP_PKEY *key);
/** Public JWK of the key with only the required members (RFC 7638 order when dumped sorted). */
int ctl_acme__jwk(EVP_PKEY *key, json_t **out, cp_err_t *err);
/** RFC 7638 SHA-256 thumbprint, base64url (43 characters) into out (>= 44 bytes). */
int ctl_acme__thumbprint(EVP_PKEY *key, char *out, size_t out_size, cp_err_t *err);
/** Flattened JWS object signed by `key`, with "kid" when kid != NULL else "jwk"; "nonce" when nonce
 * != NULL. `payload` NULL means POST-as-GET (empty payload). */
int ctl_acme__jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
                       const char *payload, json_t **out, cp_err_t *err);
/** externalAccountBinding JWS: HS256 with `mac` over the account key's JWK. */
int ctl_acme__jws_eab(const char *eab_kid, const unsigned char *mac, size_t mac_len, EVP_PKEY *acct,
                      const char *url, json_t **out, cp_err_t *err);
/** Raw JWS signature over `in` (ES*: r||s, RS256: PKCS#1 v1.5), malloc'd. */
int ctl_acme__sign_raw(EVP_PKEY *key, const unsigned char *in, size_t n, unsigned char **sig,
                       size_t *sig_len, cp_err_t *err);

/* ---- acme_problem.c: problem documents and Retry-After ---- */

/** Writes "type: detail (dns a.example: subtype: subdetail; ...)" for a problem document JSON
 * object. */
void ctl_acme__problem_format(const json_t *problem, char *buf, size_t size);
/** Sets err to CP_EACME with `what` and the problem document of r (or the status and a body excerpt
 * when the body is not a problem document). Returns CP_EACME. */
int ctl_acme__problem_err(const ctl_acme__resp_t *r, const char *what, cp_err_t *err);
/** 1 when r carries a problem document whose type is urn:ietf:params:acme:error:<short_type>. */
int ctl_acme__problem_is(const ctl_acme__resp_t *r, const char *short_type);
/** Seconds to wait from a Retry-After value (delta-seconds or an HTTP date) at time `now`; -1 when
 * absent or unparsable, 0 for a date in the past. */
long ctl_acme__retry_after_parse(const char *value, time_t now);

/* ---- acme_client.c: directory, nonces, signed POSTs, accounts ---- */

struct ctl_acme {
    ctl_acme__http_t http;
    ctl_acme_hooks_t hooks;
    char *provider; /* the name accounts are stored under */
    char *dir_url;
    char *email;
    cp_key_type_t account_key_type;
    char *eab_kid;
    unsigned char *eab_mac;
    size_t eab_mac_len;
    long deadline_ms;
    ctl_keypool_t *keypool; /* borrowed, may be NULL */
    int64_t deadline;       /* monotonic ms for the running operation */
    /* directory */
    int have_directory;
    char *url_new_nonce, *url_new_account, *url_new_order, *url_revoke, *url_key_change;
    char *url_renewal_info; /* RFC 9773 renewalInfo, NULL when the CA offers none */
    char *profiles;         /* meta.profiles names, space-separated ("" when none is offered) */
    /* rate limit met by the running operation (429 / rateLimited): when the CA lets us try again,
     * wall-clock ms; 0 when none */
    int64_t rate_limited_until_ms;
    /* nonce pool (a small stack) */
    char *nonces[8];
    size_t n_nonces;
    /* account */
    EVP_PKEY *account_key;
    char *account_url;
    int account_checked; /* looked up or created by this client */
    ctl_acme_stats_t stats;
};

/** Starts the deadline of one public operation. */
void ctl_acme__deadline_start(ctl_acme_t *c);
/** Sleeps `ms`, or fails with CP_ETIMEDOUT ("what") when that would pass the deadline. */
int ctl_acme__sleep(ctl_acme_t *c, long ms, const char *what, cp_err_t *err);
int ctl_acme__directory(ctl_acme_t *c, cp_err_t *err);
/** An unsigned request (directory, newNonce, renewalInfo) with network and busy retries inside the
 * deadline. A 2xx-5xx answer that is not retried lands in *resp. */
int ctl_acme__exchange(ctl_acme_t *c, const char *method, const char *url, const char *what,
                       ctl_acme__resp_t *resp, cp_err_t *err);
/** Signed POST (payload NULL = POST-as-GET) with the account kid, or with `jwk_key`'s jwk when not
 * NULL. Retries within the deadline: badNonce; 503, 429 and rateLimited after Retry-After (delay
 * seconds or an HTTP date; without it 1 s, doubling), failing at once with the retry time in err
 * when that wait would pass the deadline; network failures with a capped backoff, each attempt
 * signed with a fresh nonce. Failures no retry can cure (untrusted TLS certificate, body over the
 * cap) are not retried. A non-2xx final answer is CP_EACME with the problem document; *resp is
 * then empty. */
int ctl_acme__post(ctl_acme_t *c, const char *url, const char *payload, EVP_PKEY *jwk_key,
                   const char *what, ctl_acme__resp_t *resp, cp_err_t *err);
/** The same with a prebuilt JSON payload object (stolen reference). */
int ctl_acme__post_json(ctl_acme_t *c, const char *url, json_t *payload, EVP_PKEY *jwk_key,
                        const char *what, ctl_acme__resp_t *resp, cp_err_t *err);

/** ctl_acme_account_ensure without starting a new deadline (acme_account.c). */
int ctl_acme__account_ready(ctl_acme_t *c, cp_err_t *err);

/* ---- acme_cert.c ---- */

/** Downloads the certificate chain at `url` (POST-as-GET); with `preferred` set, the first chain
 * among the default and its alternates whose top certificate's issuer CN (or subject CN) equals
 * `preferred`; the default chain when none matches. *pem is malloc'd. */
int ctl_acme__download(ctl_acme_t *c, const char *url, const char *preferred, char **pem,
                       cp_err_t *err);
/** 1 when the top certificate of PEM chain `pem` is issued by (or is) `name` (CN compare). */
int ctl_acme__chain_matches(const char *pem, const char *name);

/** Strdup that aborts on OOM. */
char *ctl_acme__strdup(const char *s);
/** Key type -> readable name, "rsa2048"... */
const char *ctl_acme__key_type_name(cp_key_type_t t);

#endif
