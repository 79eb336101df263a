/* SPDX-License-Identifier: Apache-2.0 */
/* acme.h - ACME v2 (RFC 8555) client: accounts, orders, challenges, certificates, revocation */
#ifndef CTL_ACME_H
#define CTL_ACME_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "controller/acme/keypool.h"
#include "shared/err.h"
#include "shared/x509.h"

/* Ownership: ctl_acme_new() gives a client the caller frees with ctl_acme_free(). Strings in
 * results are malloc'd and released by the matching _dispose(). Configuration strings are copied.
 *
 * THREAD SAFETY (whole module): a ctl_acme_t holds one CURL handle, a nonce pool and the account
 * key; use it from one thread at a time (one client per ACME worker). Different clients are
 * independent. Call curl_global_init() once before any thread uses this module. */

typedef struct ctl_acme ctl_acme_t;

/** Seams the caller supplies so the client needs no storage of its own. Every function returns 0 or
 * a negative CP_E* code and may fill err. `ctx` is passed back unchanged. */
typedef struct ctl_acme_hooks {
    void *ctx;
    /** Publishes `key_authorization` for GET /.well-known/acme-challenge/<token> (HTTP-01). */
    int (*challenge_present)(void *ctx, const char *token, const char *key_authorization,
                             cp_err_t *err);
    /** Withdraws what challenge_present published. Called once per presented token, also on
     * failure. */
    int (*challenge_cleanup)(void *ctx, const char *token, cp_err_t *err);
    /** Publishes a TLS-ALPN-01 answer (RFC 8737): handshakes for `identifier` (a name or IP
     * address) offering ALPN "acme-tls/1" get a validation certificate carrying the SHA-256 of
     * key_authorization. challenge_cleanup withdraws it by token. NULL: TLS-ALPN-01 unavailable. */
    int (*challenge_present_alpn)(void *ctx, const char *identifier, const char *token,
                                  const char *key_authorization, cp_err_t *err);
    /** Loads the account key (PEM) and URL of (provider, email) into malloc'd strings; *account_url
     * may be NULL when only the key is known. CP_ENOTFOUND when there is none. */
    int (*account_load)(void *ctx, const char *provider, const char *email, char **key_pem,
                        char **account_url, cp_err_t *err);
    /** Stores the account key (PEM, a secret) and URL of (provider, email), replacing what was
     * there. */
    int (*account_save)(void *ctx, const char *provider, const char *email, const char *key_pem,
                        const char *account_url, cp_err_t *err);
    /** Records where an issuance stands, so that whoever resumes it continues this order instead
     * of ordering again (design decision 3): called with key_pem NULL once the CA created the
     * order, and with the key the CSR certifies (PEM, a secret) just before finalize. A failure
     * stops the issuance before anything more is asked of the CA (NULL: nothing is recorded). */
    int (*order_checkpoint)(void *ctx, const char *order_url, const char *key_pem, cp_err_t *err);
    /** Told at once when the CA answers 429 or rateLimited, before the client waits out a short
     * Retry-After and tries again: the limit is the account's (provider, email) at this CA until
     * until_ms (wall ms), so others can hold back their orders meanwhile. NULL: nobody is told. */
    void (*rate_limited)(void *ctx, const char *provider, const char *email, int64_t until_ms);
} ctl_acme_hooks_t;

/** A DNS-01 provider: publishes and withdraws TXT records. `fqdn` is "_acme-challenge.<name>."
 * (with the trailing dot, wildcard label stripped), `value` the base64url SHA-256 of the key
 * authorization. */
typedef struct ctl_acme_dns ctl_acme_dns_t;
typedef struct ctl_acme_dns_ops {
    int (*present)(ctl_acme_dns_t *dns, const char *fqdn, const char *value, cp_err_t *err);
    int (*cleanup)(ctl_acme_dns_t *dns, const char *fqdn, const char *value, cp_err_t *err);
    void (*free)(ctl_acme_dns_t *dns);
} ctl_acme_dns_ops_t;
struct ctl_acme_dns {
    const ctl_acme_dns_ops_t *ops;
    long propagation_wait_ms; /* sleep after present before the challenge is answered */
};

/** Makes the `exec` DNS provider: runs `program present <fqdn> <value>` and `program cleanup <fqdn>
 *  <value>` directly (never through a shell), killing it after `timeout_ms` (0: 60 s). A non-zero
 * exit status is CP_EIO with the first line of its output. Free with ctl_acme_dns_free(). Errors:
 * CP_EINVAL (program not an absolute path or not executable). THREAD SAFETY: any thread; one
 *  provider may be used by several threads at once. */
int ctl_acme_dns_exec_new(const char *program, long timeout_ms, ctl_acme_dns_t **out,
                          cp_err_t *err);

/** Frees a DNS provider; NULL is a no-op. */
void ctl_acme_dns_free(ctl_acme_dns_t *dns);

/** Client configuration. Only `directory` is required. */
typedef struct ctl_acme_config {
    /** "letsencrypt", "letsencrypt-staging", "zerossl", "buypass", "google" or an https:// URL. */
    const char *directory;
    const char *ca_file; /* PEM bundle that replaces the system trust store, or NULL */
    const char *email;   /* account contact (mailto:), may be NULL */
    cp_key_type_t
        account_key_type;     /* a new account's key: CP_KEY_EC_P256 (ES256, default) or RSA */
    const char *eab_kid;      /* external account binding key id, or NULL */
    const char *eab_hmac_key; /* its base64url MAC key (a secret), or NULL */
    long connect_timeout_ms;  /* per request; 0: 10 s */
    long request_timeout_ms;  /* per request; 0: 30 s */
    long deadline_ms;         /* whole operation (one issuance, one revocation...); 0: 300 s */
    size_t max_body;          /* response body cap; 0: 1 MiB */
    /** Called after every HTTP exchange with the CA (failed ones too) with its duration, on the
     *  client's thread; for latency metrics. May be NULL. */
    void (*observe_request)(double seconds);
    /** Where certificate keys come from (borrowed: it must outlive the client), or NULL to generate
     *  each on the client's thread. Either way every issuance gets a fresh key used once. */
    ctl_keypool_t *keypool;
} ctl_acme_config_t;

/** Resolves a provider name to its directory URL (static string); an https:// URL is returned as
 * is, anything else is NULL. THREAD SAFETY: any thread. */
const char *ctl_acme_directory_url(const char *provider);

/** Creates a client (no network yet). `hooks` is copied and may be NULL (then HTTP-01 and account
 *  storage are unavailable). Errors: CP_EINVAL (unknown provider, non-https URL, bad EAB key).
 *  THREAD SAFETY: any thread. */
int ctl_acme_new(const ctl_acme_config_t *cfg, const ctl_acme_hooks_t *hooks, ctl_acme_t **out,
                 cp_err_t *err);

/** Frees a client and its account key; NULL is a no-op. */
void ctl_acme_free(ctl_acme_t *c);

/** Counters of one client, for metrics and tests. */
typedef struct ctl_acme_stats {
    unsigned long requests;          /* HTTP exchanges, retries included */
    unsigned long bad_nonce_retries; /* POSTs repeated after badNonce */
    unsigned long busy_retries;      /* POSTs repeated after 503 / rateLimited */
    unsigned long accounts_created;  /* newAccount that created an account */
    unsigned long account_lookups;   /* newAccount with onlyReturnExisting */
    unsigned long orders_created;
    unsigned long orders_resumed;   /* recorded orders continued instead of ordering again */
    unsigned long polls;            /* authorization and order polls */
    unsigned long replaces_refused; /* newOrder sent again without `replaces` after a refusal */
    unsigned long ari_fetches;      /* renewalInfo requests answered with a window */
} ctl_acme_stats_t;

/** Copies the counters of `c`. */
void ctl_acme_get_stats(const ctl_acme_t *c, ctl_acme_stats_t *stats);

/** Makes sure the client has an account: loads key and URL through account_load; with a key but no
 * URL it looks the account up (onlyReturnExisting, also done once per client with a stored URL, to
 * check the key still opens it; a CA that forgot it gets a new account with the same key); with no
 * key it generates one, creates the account (contact, termsOfServiceAgreed, EAB when configured)
 * and saves key + URL through account_save. Nothing is saved unless the CA returned an account URL.
 * Idempotent. Errors: CP_EACME (problem document in err), CP_EUNAVAIL / CP_ETIMEDOUT (network),
 * hook errors. */
int ctl_acme_account_ensure(ctl_acme_t *c, cp_err_t *err);

/** The account URL (borrowed, valid until the next call on `c`), or NULL before
 * ctl_acme_account_ensure. */
const char *ctl_acme_account_url(const ctl_acme_t *c);

/** RFC 7638 thumbprint (base64url) of the account key into `out` (at least 44 bytes), for logging.
 */
int ctl_acme_account_thumbprint(const ctl_acme_t *c, char *out, size_t out_size, cp_err_t *err);

/** RFC 7638 thumbprint (base64url) of the private key in key_pem (a stored account key) into `out`
 * (at least 44 bytes): tells whether a client still holds the stored key. Errors: CP_EINVAL (not a
 * key), CP_ECRYPTO. THREAD SAFETY: any thread. */
int ctl_acme_key_thumbprint(const char *key_pem, char *out, size_t out_size, cp_err_t *err);

/** Replaces the account key with a fresh key of `type` (keyChange: inner JWS with the new jwk,
 * outer with the kid by the old key) and saves it through account_save. On failure the old key
 * stays in use and stored. */
int ctl_acme_account_rollover(ctl_acme_t *c, cp_key_type_t type, cp_err_t *err);

/** What to issue. Names are DNS names ("*.example.com" allowed) or IP addresses (RFC 8738). */
typedef struct ctl_acme_request {
    const char *const *names;
    size_t n_names;
    cp_key_type_t key_type; /* the certificate's fresh key; CP_KEY_DEFAULT: RSA 2048 */
    const char
        *preferred_chain;  /* issuer CN (or any part of the name) of the chain's top, or NULL */
    ctl_acme_dns_t *dns;   /* DNS-01 provider (required for wildcards), or NULL */
    int prefer_dns01;      /* use DNS-01 for every DNS name that offers it */
    int prefer_tls_alpn01; /* use TLS-ALPN-01 for every identifier (wildcards take DNS-01) */
    /* An order an earlier attempt at this same request recorded (order_checkpoint), or NULL. It is
     * continued where it stands (pending: authorize; ready: finalize; processing: poll; valid:
     * download, with resume_key_pem as the certificate's key); one that is invalid, gone, or valid
     * without its key is abandoned for a new order. */
    const char *resume_order_url;
    const char *resume_key_pem; /* the key recorded before finalize, or NULL */
    /* RFC 9773: the certificate ID (ctl_acme_ari_cert_id) of the certificate this order replaces,
     * sent as newOrder's `replaces`, or NULL. When the CA refuses the order because of it
     * (alreadyReplaced, or malformed), the order is sent once more without it. */
    const char *replaces;
    /* ACME profile to ask for in newOrder (the directory's meta.profiles must offer it), or NULL
     * for the CA's default. */
    const char *profile;
} ctl_acme_request_t;

/** An issued certificate; release with ctl_acme_result_dispose. */
typedef struct ctl_acme_result {
    char *fullchain_pem;   /* leaf first */
    char *private_key_pem; /* the fresh key, PKCS#8 (a secret) */
    char *order_url;
    char *cert_url;
    cp_key_type_t key_type;
} ctl_acme_result_t;

/** Frees the strings of *res (the key is cleansed first) and zeroes it. */
void ctl_acme_result_dispose(ctl_acme_result_t *res);

/** Issues a certificate: newOrder with every name, one challenge per pending authorization (HTTP-01
 *  through the hooks, DNS-01 through req->dns), polling that honours Retry-After, finalize with a
 * CSR of a fresh key, download (preferred chain among alternates). Every presented challenge is
 * cleaned up, success or not. Calls ctl_acme_account_ensure first. On failure *res is untouched.
 *  Errors: CP_EINVAL (bad request), CP_EACME (with the problem document), CP_ETIMEDOUT (deadline),
 *  CP_EUNAVAIL (network). */
int ctl_acme_issue(ctl_acme_t *c, const ctl_acme_request_t *req, ctl_acme_result_t *res,
                   cp_err_t *err);

/** The profiles the CA's directory offers (meta.profiles names, space-separated, "" for none), or
 * NULL while the directory has not been fetched. Borrowed: valid until the next call on `c`. */
const char *ctl_acme_profiles_get0(const ctl_acme_t *c);

/** 1 when `name` is one of the space-separated profile names of `profiles` (as
 * ctl_acme_profiles_get0 gives them; NULL offers none), else 0. THREAD SAFETY: any thread. */
int ctl_acme_profile_offered(const char *profiles, const char *name);

/** When the CA's rate limit met by the last operation on `c` (an answer 429 or rateLimited, retried
 * or not) lets the account try again: wall-clock ms from its Retry-After (one minute without one);
 * 0 when the last operation met none. The limit belongs to the account at this CA. */
int64_t ctl_acme_rate_limited_until(const ctl_acme_t *c);

/** Revokes the first certificate of `cert_pem` with RFC 5280 `reason` (0 unspecified, 1
 * keyCompromise, 4 superseded, 5 cessationOfOperation ...). With `cert_key` NULL the account signs
 * (kid); otherwise the certificate's own key signs (jwk). Errors as ctl_acme_issue. */
int ctl_acme_revoke(ctl_acme_t *c, const char *cert_pem, int reason, EVP_PKEY *cert_key,
                    cp_err_t *err);

/* ---- ACME Renewal Information (RFC 9773), acme_ari.c ---- */

/** The RFC 9773 certificate ID of the first certificate of PEM `cert_pem`: base64url(the
 * keyIdentifier of its Authority Key Identifier) "." base64url(the DER content octets of its serial
 * number), without padding. *out is malloc'd. Errors: CP_EINVAL (no certificate, no AKI
 * keyIdentifier). THREAD SAFETY: any thread. */
int ctl_acme_ari_cert_id(const char *cert_pem, char **out, cp_err_t *err);

/** A renewal window the CA suggests. Release with ctl_acme_ari_dispose. */
typedef struct ctl_acme_ari {
    int64_t start_ms, end_ms; /* suggestedWindow, Unix ms, start < end */
    char *explanation_url;    /* explanationURL, or NULL */
    long retry_after_s;       /* the answer's Retry-After in seconds, -1 when absent */
} ctl_acme_ari_t;

/** Frees the strings of *ari and zeroes it. */
void ctl_acme_ari_dispose(ctl_acme_ari_t *ari);

/** 1 when the CA's directory has a renewalInfo URL, 0 when not. Errors: as fetching the directory
 * (CP_EUNAVAIL, CP_ETIMEDOUT, CP_EACME, CP_EPROTO). */
int ctl_acme_has_ari(ctl_acme_t *c, cp_err_t *err);

/** GET <renewalInfo>/<cert_id>: the suggested window of the certificate, with Retry-After (503 and
 * 429 are retried as for any request, within the deadline). Errors: CP_ENOTFOUND (the CA offers no
 * renewalInfo), CP_EACME (a non-200 answer), CP_EPROTO (no well-formed window: start after end, or
 * not RFC 3339), CP_EUNAVAIL, CP_ETIMEDOUT. */
int ctl_acme_renewal_info(ctl_acme_t *c, const char *cert_id, ctl_acme_ari_t *out, cp_err_t *err);

#endif
