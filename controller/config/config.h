/* SPDX-License-Identifier: Apache-2.0 */
/* config.h - the controller's configuration: one option table for the parser, --help and the docs
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/cfg.h"

struct ctl_keyring;   /* controller/store/keywrap.h */
struct ctl_redis_tls; /* controller/store/redis_tls.h */
struct ctl_provider;  /* controller/config/providers.h */

/** Every setting of certplane-controller. Filled by ctl_config_parse; strings are malloc'd copies.
 */
typedef struct ctl_config {
    /* listeners */
    char *grpc_listen;    /* --grpc-listen */
    char *http_listen;    /* --http-listen: the HTTP/JSON gateway, health, metrics, HTTP-01 */
    char *grpc_tls_cert;  /* --grpc-tls-cert: PEM file; unset = plaintext gRPC */
    char *grpc_tls_key;   /* --grpc-tls-key */
    char *grpc_client_ca; /* --grpc-client-ca: require client certificates signed by this CA */
    int grpc_threads;     /* --grpc-threads */
    /* storage */
    char *redis_url; /* --redis-url (a secret when it carries a password); after parsing it
                        carries the password of --redis-password-file */
    char *redis_password_file;     /* --redis-password-file */
    char *redis_sentinel_password; /* --redis-sentinel-password: the sentinels' own (secret) */
    int redis_wait_replicas;       /* --redis-wait-replicas; resolved: -1 never remains */
    int64_t redis_wait_timeout_ms; /* --redis-wait-timeout */
    char *redis_tls_ca_file;       /* --redis-tls-ca-file: CA trusted for rediss:// */
    char *redis_tls_cert;          /* --redis-tls-cert: client certificate (mutual TLS) */
    char *redis_tls_key;           /* --redis-tls-key */
    char *redis_tls_server_name;   /* --redis-tls-server-name: checked instead of the URL's host */
    /* Built by main.c for a rediss:// URL from the four above (redis_tls.h); borrowed by every
     * store. */
    struct ctl_redis_tls *redis_tls;
    char *redis_user;             /* --redis-user: the ACL user of --redis-password-file */
    char *kek_file;               /* --kek-file: keyring of the KEKs sealing private keys at rest */
    char *kek;                    /* --kek: the keyring as ID:BASE64[,ID:BASE64...] (secret) */
    bool insecure_plaintext_keys; /* --insecure-plaintext-keys: no --kek-file, keys in the clear */
    bool rotate_keys; /* --rotate-keys: re-wrap every key for the active KEK, then exit */
    /* Loaded from kek_file by main.c (not by ctl_config_parse, which stays below the store);
     * borrowed by every store; NULL with --insecure-plaintext-keys. */
    struct ctl_keyring *keyring;
    int events_max; /* --events-max: length of the events stream kept for Watch replays */
    /* auth */
    char *api_tokens_file;   /* --api-tokens-file: "token scope" per line */
    char *api_tokens;        /* --api-tokens: "token:scope,token:scope" (secret) */
    bool insecure_no_auth;   /* --insecure-no-auth */
    int watch_max_per_token; /* --watch-max-per-token: open Watch streams per API token */
    int cert_cache;          /* --cert-cache: entries of the read cache; 0: the default */
    /* ACME */
    char *acme_provider;            /* --acme-provider: default provider (name or directory URL) */
    char *acme_email;               /* --acme-email: default account contact */
    char *acme_ca_file;             /* --acme-ca-file: trust bundle for the CA's HTTPS */
    char *eab_kid;                  /* --eab-kid */
    char *eab_hmac_key;             /* --eab-hmac-key (secret) */
    char *dns_exec;                 /* --dns-exec: DNS-01 exec provider program */
    int64_t dns_propagation_ms;     /* --dns-propagation-wait */
    int64_t acme_timeout_ms;        /* --acme-timeout: deadline of one issuance */
    char *acme_profile;             /* --acme-profile: profile of the default provider's orders */
    int acme_orders_per_hour;       /* --acme-orders-per-hour: per provider, 0 = no cap */
    int acme_concurrent_orders;     /* --acme-concurrent-orders: per provider, 0 = no cap */
    char *acme_account_key_type;    /* --acme-account-key-type: EC_P256 or RSA_2048 */
    char *providers_file;           /* --providers-file: named providers (JSON) */
    char *issuers_flag;             /* --issuers: default issuer list, comma-separated */
    int64_t failover_rate_limit_ms; /* --failover-rate-limit: a longer rate limit fails over */
    /* Built by ctl_config_parse (providers.h): "default" from the --acme-* flags first, then the
     * file's; the default issuer list as provider names. */
    struct ctl_provider *providers;
    size_t n_providers;
    char **issuers;
    size_t n_issuers;
    /* work */
    int workers;                    /* --workers */
    int64_t job_timeout_ms;         /* --job-timeout: a job idle this long is reclaimed */
    bool metrics_require_token;     /* --metrics-require-token */
    int grpc_max_connections;       /* --grpc-max-connections */
    char *controller_id;            /* --controller-id: consumer name in the jobs group */
    int64_t ticket_key_rotation_ms; /* --ticket-key-rotation: edges' session-ticket keys; 0 off */
    int64_t presence_ttl_ms; /* --presence-ttl: how long a silent controller counts as alive */
    int64_t
        renew_before_ms; /* --renew-before: 0 = one third of the lifetime (half under 10 days) */
    int64_t renew_interval_ms; /* --renew-interval: the scheduler wakes at least this often */
    int64_t ari_poll_min_ms;   /* --ari-poll-min: shortest wait between two ARI polls */
    int64_t ari_poll_max_ms;   /* --ari-poll-max: longest wait between two ARI polls */
    int64_t challenge_propagation_ms; /* --challenge-propagation-timeout: wait for edges to apply */
    int64_t edge_ttl_ms; /* --edge-ttl: an edge that has not reported for this long is gone */
    /* webhooks (issue 16) */
    int64_t webhook_expiring_within_ms; /* --webhook-expiring-within: 0 off */
    int64_t webhook_scan_ms;            /* --webhook-scan-interval */
    int64_t webhook_edge_lag_ms;        /* --webhook-edge-lag: 0 off */
    int webhook_max_attempts;           /* --webhook-max-attempts */
    int64_t webhook_retry_base_ms;      /* --webhook-retry-base */
    int64_t webhook_retry_max_ms;       /* --webhook-retry-max */
    int64_t webhook_timeout_ms;         /* --webhook-timeout */
    /* logs */
    char *log_level; /* --log-level */
    /* ---- on-demand TLS (issue 14) ---- */
    cp_cfg_list_t on_demand_allow; /* --on-demand-allow: name patterns (name, *.name) */
    char *on_demand_ask;           /* --on-demand-ask: URL asked GET ?domain=NAME, 200 allows */
    int64_t on_demand_ask_ttl_ms;  /* --on-demand-ask-ttl: how long an answer is kept */
    int on_demand_max_per_hour;    /* --on-demand-max-per-hour: global cap, 0 = none */
    int64_t on_demand_cooldown_ms; /* --on-demand-cooldown: after a failed issuance */
    int64_t on_demand_unused_ms;   /* --on-demand-unused-after: not renewed once unused so long */
    char *on_demand_challenge;     /* --on-demand-challenge: http-01 or tls-alpn-01 */
    /* ---- end on-demand TLS ---- */
} ctl_config_t;

/** The option table (for tests and the docs check). */
extern const cp_cfg_opt_t ctl_config_opts[];
extern const size_t ctl_config_n_opts;

/** Parses defaults, CERTPLANE_* variables and argv into *c, then checks combinations (a TLS
 * certificate needs its key; no token and no --insecure-no-auth is an error; a tokens file that
 * cannot be read...). Returns 0, CP_CFG_HELP / CP_CFG_VERSION, or CP_EINVAL with err naming the
 * option. Release with ctl_config_dispose either way. THREAD SAFETY: main thread, before others
 * start. */
int ctl_config_parse(ctl_config_t *c, int argc, char **argv, cp_err_t *err);

/** Frees what ctl_config_parse stored. */
void ctl_config_dispose(ctl_config_t *c);

/** Prints --help. */
void ctl_config_help(FILE *out);

#endif
