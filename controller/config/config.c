/* SPDX-License-Identifier: Apache-2.0 */
/* config.c - the controller's option table and the checks across options */
#include "controller/config/config.h"
#include "controller/config/providers.h"
#include "shared/file.h"
#include "shared/mem.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define OPT(flag, env, type, field, def, help)                                                     \
    {                                                                                              \
        flag, "CERTPLANE_" env, type, offsetof(ctl_config_t, field), def, help, 0, 0, 0            \
    }
#define OPT_INT(flag, env, field, def, min, max, help)                                             \
    {                                                                                              \
        flag, "CERTPLANE_" env, CP_CFG_INT, offsetof(ctl_config_t, field), def, help, 0, min, max  \
    }
#define OPT_SECRET(flag, env, field, help)                                                         \
    {                                                                                              \
        flag, "CERTPLANE_" env, CP_CFG_STRING, offsetof(ctl_config_t, field), NULL, help,          \
            CP_CFG_SECRET, 0, 0                                                                    \
    }

const cp_cfg_opt_t ctl_config_opts[] = {
    OPT("grpc-listen", "GRPC_LISTEN", CP_CFG_STRING, grpc_listen, "127.0.0.1:8443",
        "Address of the gRPC API (host:port; [::]:8443 for every address)."),
    OPT("http-listen", "HTTP_LISTEN", CP_CFG_STRING, http_listen, "127.0.0.1:8080",
        "Address of the HTTP/JSON gateway, which also serves /healthz, /readyz, /metrics and "
        "/.well-known/acme-challenge/."),
    OPT("grpc-tls-cert", "GRPC_TLS_CERT", CP_CFG_STRING, grpc_tls_cert, NULL,
        "PEM certificate chain file for gRPC over TLS; unset serves plaintext gRPC."),
    OPT("grpc-tls-key", "GRPC_TLS_KEY", CP_CFG_STRING, grpc_tls_key, NULL,
        "PEM private key file of --grpc-tls-cert."),
    OPT("grpc-client-ca", "GRPC_CLIENT_CA", CP_CFG_STRING, grpc_client_ca, NULL,
        "PEM CA file: when set, gRPC clients must present a certificate it signed (mTLS)."),
    OPT_INT(
        "grpc-max-connections", "GRPC_MAX_CONNECTIONS", grpc_max_connections, "4096", 0, 1000000,
        "gRPC connections open at once (edges, clients); a connection beyond is closed at once, "
        "before TLS (0: no cap)."),
    OPT_INT("grpc-threads", "GRPC_THREADS", grpc_threads, "2", 1, 64,
            "Threads that serve gRPC calls."),
    OPT_SECRET("redis-url", "REDIS_URL", redis_url,
               "Redis holding all state: redis://[user:password@]host:port[/db] "
               "(default redis://127.0.0.1:6379); rediss://... for Redis over TLS (see "
               "--redis-tls-ca-file); or through Redis Sentinel "
               "redis+sentinel://[user:password@]host:26379[,host:26379...]/MASTER[/db] (the "
               "credentials are the master's; see docs/operations.md, Redis high availability)."),
    OPT_SECRET("redis-sentinel-password", "REDIS_SENTINEL_PASSWORD", redis_sentinel_password,
               "Password of the sentinels themselves (their requirepass), when they have one."),
    OPT_INT("redis-wait-replicas", "REDIS_WAIT_REPLICAS", redis_wait_replicas, "-1", -1, 16,
            "A certificate, job or lock write waits (Redis WAIT) until this many replicas have "
            "it, at most --redis-wait-timeout; -1: 1 with a redis+sentinel:// URL, else 0 (no "
            "wait)."),
    OPT("redis-wait-timeout", "REDIS_WAIT_TIMEOUT", CP_CFG_DURATION, redis_wait_timeout_ms, "1s",
        "Longest wait for --redis-wait-replicas; a write not replicated by then stands and is "
        "logged."),
    OPT("redis-password-file", "REDIS_PASSWORD_FILE", CP_CFG_STRING, redis_password_file, NULL,
        "File holding the Redis password (first line); it is added to --redis-url, which then must "
        "carry no password. Keeps the password off the command line."),
    OPT("redis-tls-ca-file", "REDIS_TLS_CA_FILE", CP_CFG_STRING, redis_tls_ca_file, NULL,
        "PEM CA bundle trusted for Redis' certificate with a rediss:// URL (default: the system "
        "trust store). The certificate must also name the URL's host (DNS name or IP address) or "
        "--redis-tls-server-name. See docs/redis.md."),
    OPT("redis-tls-cert", "REDIS_TLS_CERT", CP_CFG_STRING, redis_tls_cert, NULL,
        "PEM client certificate chain presented to Redis (tls-auth-clients yes) with a rediss:// "
        "URL."),
    OPT("redis-tls-key", "REDIS_TLS_KEY", CP_CFG_STRING, redis_tls_key, NULL,
        "PEM private key file of --redis-tls-cert."),
    OPT("redis-tls-server-name", "REDIS_TLS_SERVER_NAME", CP_CFG_STRING, redis_tls_server_name,
        NULL,
        "Name checked against Redis' certificate and sent as SNI instead of the URL's host (e.g. "
        "when Redis is reached by IP address through a tunnel)."),
    OPT("redis-user", "REDIS_USER", CP_CFG_STRING, redis_user, NULL,
        "Redis ACL user that --redis-password-file's password belongs to (default: the default "
        "user); see docs/operations.md, Redis ACL."),
    OPT("kek-file", "KEK_FILE", CP_CFG_STRING, kek_file, NULL,
        "Keyring of the key-encryption keys that seal private keys in Redis: lines \"ID BASE64\" "
        "(32 random bytes each, e.g. openssl rand -base64 32), the first line is the active key; "
        "mode 0600 or 0400 (refused if group or others may read it). Reloaded on SIGHUP. See "
        "docs/operations.md, Keys at rest."),
    OPT_SECRET(
        "kek", "KEK", kek,
        "The keyring as ID:BASE64[,ID:BASE64...] (the first is active) instead of --kek-file, "
        "for containers that take secrets as environment variables; prefer the variable, "
        "since flags are visible to other users. Not reloaded on SIGHUP."),
    OPT("insecure-plaintext-keys", "INSECURE_PLAINTEXT_KEYS", CP_CFG_BOOL, insecure_plaintext_keys,
        "false",
        "Store private keys in Redis in the clear. Without --kek-file the controller refuses to "
        "start unless this is set."),
    OPT("rotate-keys", "ROTATE_KEYS", CP_CFG_BOOL, rotate_keys, "false",
        "Do not serve: re-wrap every private key in Redis for the active key of --kek-file (and "
        "seal plaintext ones) while controllers keep serving, print the counts and exit."),
    OPT_INT("events-max", "EVENTS_MAX", events_max, "100000", 100, 100000000,
            "Events kept in Redis for Watch to replay; an edge further behind gets a snapshot."),
    OPT_INT("cert-cache", "CERT_CACHE", cert_cache, "65536", 16, 100000000,
            "Certificates the read cache behind GetCertificate, ListCertificates and Watch "
            "snapshots holds (~1.8 KiB each; keys only sealed, as in Redis); a snapshot of more "
            "reads the rest from Redis."),
    OPT_INT("watch-max-per-token", "WATCH_MAX_PER_TOKEN", watch_max_per_token, "64", 1, 100000,
            "Watch streams one API token may hold open at once (both transports); one more is "
            "refused with RESOURCE_EXHAUSTED (HTTP 429)."),
    OPT("api-tokens-file", "API_TOKENS_FILE", CP_CFG_STRING, api_tokens_file, NULL,
        "File of API tokens, one \"TOKEN SCOPE\" per line (scope admin, read or edge; # "
        "comments)."),
    OPT_SECRET("api-tokens", "API_TOKENS", api_tokens,
               "API tokens as TOKEN:SCOPE[,TOKEN:SCOPE...]; prefer the environment variable or the "
               "file, since flags are visible to other users."),
    OPT("metrics-require-token", "METRICS_REQUIRE_TOKEN", CP_CFG_BOOL, metrics_require_token,
        "false",
        "Serve /metrics (it names certificates) only to a bearer token with the read scope "
        "(Prometheus: authorization credentials); off: open to anyone who reaches the port."),
    OPT("insecure-no-auth", "INSECURE_NO_AUTH", CP_CFG_BOOL, insecure_no_auth, "false",
        "Accept every caller as admin. Without tokens the controller refuses to start unless this "
        "is "
        "set."),
    OPT("acme-provider", "ACME_PROVIDER", CP_CFG_STRING, acme_provider, "letsencrypt",
        "Default CA: letsencrypt, letsencrypt-staging, zerossl, buypass, google, or a directory "
        "URL."),
    OPT("acme-email", "ACME_EMAIL", CP_CFG_STRING, acme_email, NULL,
        "Default ACME account contact for certificates created without an email."),
    OPT("acme-ca-file", "ACME_CA_FILE", CP_CFG_STRING, acme_ca_file, NULL,
        "PEM bundle trusted for the CA's HTTPS instead of the system store (e.g. Pebble's)."),
    OPT("eab-kid", "EAB_KID", CP_CFG_STRING, eab_kid, NULL,
        "External account binding key id (ZeroSSL, Google)."),
    OPT_SECRET("eab-hmac-key", "EAB_HMAC_KEY", eab_hmac_key,
               "External account binding MAC key, base64url."),
    OPT("dns-exec", "DNS_EXEC", CP_CFG_STRING, dns_exec, NULL,
        "DNS-01 provider program, run as PROGRAM present|cleanup FQDN VALUE (as lego's exec)."),
    OPT("dns-propagation-wait", "DNS_PROPAGATION_WAIT", CP_CFG_DURATION, dns_propagation_ms, "0s",
        "Wait after publishing a DNS-01 record before asking the CA to validate."),
    OPT("acme-timeout", "ACME_TIMEOUT", CP_CFG_DURATION, acme_timeout_ms, "5m",
        "Deadline of one issuance, renewal or revocation at the CA."),
    OPT("acme-profile", "ACME_PROFILE", CP_CFG_STRING, acme_profile, NULL,
        "ACME profile (e.g. classic, tlsserver, shortlived) asked of the default CA for "
        "certificates that name none; the CA's directory must offer it (meta.profiles), or the "
        "certificate fails naming the profiles it offers."),
    OPT_INT("acme-orders-per-hour", "ACME_ORDERS_PER_HOUR", acme_orders_per_hour, "300", 0, 1000000,
            "New orders per hour at one CA, counted in Redis across every controller (fixed "
            "wall-clock hours); an order over the cap waits for the next hour. 0: no cap."),
    OPT_INT("acme-concurrent-orders", "ACME_CONCURRENT_ORDERS", acme_concurrent_orders, "20", 0,
            100000,
            "Orders in progress at once at one CA, across every controller; one more waits a few "
            "seconds and tries again. 0: no cap."),
    OPT("acme-account-key-type", "ACME_ACCOUNT_KEY_TYPE", CP_CFG_STRING, acme_account_key_type,
        "EC_P256",
        "Key type of new ACME accounts at the default CA: EC_P256 or RSA_2048 (providers of "
        "--providers-file set their own)."),
    OPT("providers-file", "PROVIDERS_FILE", CP_CFG_STRING, providers_file, NULL,
        "JSON file of named ACME providers: {\"providers\": {NAME: {\"directory\": URL or alias, "
        "\"ca_file\", \"eab_kid\", \"eab_hmac_key_file\" or \"eab_hmac_key_env\", \"profile\", "
        "\"account_key_type\": EC_P256|RSA_2048}}}. A certificate's provider may name one; the "
        "--acme-* flags make the provider \"default\". See docs/operations.md, Providers."),
    OPT("issuers", "ISSUERS", CP_CFG_STRING, issuers_flag, "default",
        "Providers that issue, in order, for certificates that name none (comma-separated): when "
        "one is down (unreachable, 5xx, rate limited for long, account unauthorized) the next one "
        "issues; every issuance tries the first again."),
    OPT("failover-rate-limit", "FAILOVER_RATE_LIMIT", CP_CFG_DURATION, failover_rate_limit_ms, "1h",
        "A certificate with more than one issuer goes to the next one when the CA holds its "
        "account's orders back (rate limit, Retry-After) for longer than this; a shorter wait is "
        "waited out."),
    OPT_INT("workers", "WORKERS", workers, "4", 1, 256, "ACME workers of this controller."),
    OPT("job-timeout", "JOB_TIMEOUT", CP_CFG_DURATION, job_timeout_ms, "10m",
        "A job taken by a controller that has not finished it after this long is taken over by "
        "another (its controller is presumed dead)."),
    OPT("controller-id", "CONTROLLER_ID", CP_CFG_STRING, controller_id, NULL,
        "Name of this controller in the jobs consumer group, letters, digits and ._:- (default: "
        "host name and process id)."),
    OPT("ticket-key-rotation", "TICKET_KEY_ROTATION", CP_CFG_DURATION, ticket_key_rotation_ms,
        "12h",
        "A new TLS session-ticket key for every edge this often (the two before it stay valid, "
        "so a session resumes on any edge for two periods); 0: edges keep their own keys."),
    OPT("presence-ttl", "PRESENCE_TTL", CP_CFG_DURATION, presence_ttl_ms, "5s",
        "A controller refreshes its presence in Redis five times per this period; when it lapses "
        "(the controller died, or lost Redis this long) others take over its jobs and locks at "
        "once."),
    OPT("renew-before", "RENEW_BEFORE", CP_CFG_DURATION, renew_before_ms, "0s",
        "Renew this long before expiry; 0 renews when a third of the lifetime remains (half for "
        "lifetimes under 10 days). Whatever it says, a renewal waits at least a tenth of the "
        "lifetime (and a minute) after issuance; 200 days or more (no public certificate lives "
        "longer) is refused at start."),
    OPT("renew-interval", "RENEW_INTERVAL", CP_CFG_DURATION, renew_interval_ms, "12h",
        "The scheduler wakes at least this often, even when no renewal is due."),
    OPT("ari-poll-min", "ARI_POLL_MIN", CP_CFG_DURATION, ari_poll_min_ms, "1h",
        "Shortest wait between two ACME Renewal Information (RFC 9773) polls of a certificate, "
        "whatever the CA's Retry-After asks."),
    OPT("ari-poll-max", "ARI_POLL_MAX", CP_CFG_DURATION, ari_poll_max_ms, "12h",
        "Longest wait between two ARI polls of a certificate (the CA's Retry-After is clamped to "
        "--ari-poll-min..--ari-poll-max)."),
    OPT("challenge-propagation-timeout", "CHALLENGE_PROPAGATION_TIMEOUT", CP_CFG_DURATION,
        challenge_propagation_ms, "10s",
        "Longest wait for every live edge to apply an HTTP-01 challenge before the CA is asked to "
        "validate it."),
    OPT("edge-ttl", "EDGE_TTL", CP_CFG_DURATION, edge_ttl_ms, "30s",
        "An edge that has not reported its status for this long no longer counts as live."),
    /* ---- webhooks (issue 16) ---- */
    OPT("webhook-expiring-within", "WEBHOOK_EXPIRING_WITHIN", CP_CFG_DURATION,
        webhook_expiring_within_ms, "7d",
        "Webhooks: an expiring_soon event is sent once per certificate and not-after when it "
        "expires within this long (0: never)."),
    OPT("webhook-scan-interval", "WEBHOOK_SCAN_INTERVAL", CP_CFG_DURATION, webhook_scan_ms, "1m",
        "Webhooks: how often the expiring-soon and edge-lag scans run (each reads at most 500 "
        "certificates per run and resumes where it stopped)."),
    OPT("webhook-edge-lag", "WEBHOOK_EDGE_LAG", CP_CFG_DURATION, webhook_edge_lag_ms, "2m",
        "Webhooks: an edge_lagging event is sent once when a live edge has not applied a "
        "revision for this long (0: never)."),
    OPT_INT("webhook-max-attempts", "WEBHOOK_MAX_ATTEMPTS", webhook_max_attempts, "8", 1, 100,
            "Webhooks: attempts of one delivery before it goes to the dead-letter list."),
    OPT("webhook-retry-base", "WEBHOOK_RETRY_BASE", CP_CFG_DURATION, webhook_retry_base_ms, "5s",
        "Webhooks: the first retry waits about this long, each later one twice as long (with "
        "jitter), up to --webhook-retry-max."),
    OPT("webhook-retry-max", "WEBHOOK_RETRY_MAX", CP_CFG_DURATION, webhook_retry_max_ms, "1h",
        "Webhooks: the longest wait between two attempts of a delivery."),
    OPT("webhook-timeout", "WEBHOOK_TIMEOUT", CP_CFG_DURATION, webhook_timeout_ms, "10s",
        "Webhooks: a receiver's answer must come within this long (connection included)."),
    /* ---- end webhooks ---- */
    OPT("log-level", "LOG_LEVEL", CP_CFG_STRING, log_level, "info", "debug, info, warn or error."),
    /* ---- on-demand TLS (issue 14) ---- */
    OPT("on-demand-allow", "ON_DEMAND_ALLOW", CP_CFG_LIST, on_demand_allow, NULL,
        "On-demand TLS: a name pattern edges may get a certificate for at its first handshake "
        "(example.com, or *.example.com for exactly one label more); repeatable. Without this and "
        "--on-demand-ask, on-demand TLS is off."),
    OPT("on-demand-ask", "ON_DEMAND_ASK", CP_CFG_STRING, on_demand_ask, NULL,
        "On-demand TLS: URL asked GET URL?domain=NAME for a name (after --on-demand-allow, when "
        "set); 200 allows, anything else or no answer within 3 s refuses."),
    OPT("on-demand-ask-ttl", "ON_DEMAND_ASK_TTL", CP_CFG_DURATION, on_demand_ask_ttl_ms, "5m",
        "On-demand TLS: how long an --on-demand-ask answer is kept (at most 4,096 names)."),
    OPT_INT("on-demand-max-per-hour", "ON_DEMAND_MAX_PER_HOUR", on_demand_max_per_hour, "100", 0,
            1000000,
            "On-demand TLS: certificates created on demand per wall-clock hour, across every "
            "controller of the Redis; 0 = no cap."),
    OPT("on-demand-cooldown", "ON_DEMAND_COOLDOWN", CP_CFG_DURATION, on_demand_cooldown_ms, "10m",
        "On-demand TLS: after an on-demand certificate failed to issue, edges asking for it are "
        "told to wait this long."),
    OPT("on-demand-unused-after", "ON_DEMAND_UNUSED_AFTER", CP_CFG_DURATION, on_demand_unused_ms,
        "720h",
        "On-demand TLS: an on-demand certificate no edge reported serving for this long is not "
        "renewed (0 = always renewed)."),
    OPT("on-demand-challenge", "ON_DEMAND_CHALLENGE", CP_CFG_STRING, on_demand_challenge, "http-01",
        "On-demand TLS: the challenge of on-demand certificates, http-01 or tls-alpn-01."),
    /* ---- end on-demand TLS ---- */
};
const size_t ctl_config_n_opts = sizeof ctl_config_opts / sizeof ctl_config_opts[0];

static int check_file(const char *path, const char *flag, cp_err_t *err)
{
    if (path != NULL && access(path, R_OK) != 0)
        return cp_err_set(err, CP_EINVAL, "--%s: cannot read %s", flag, path);
    return 0;
}

/* Appends every byte of [p, p+len) percent-encoded. */
static size_t put_encoded(char *out, size_t size, const char *p, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++)
        o += (size_t)snprintf(out + o, size - o, "%%%02X", (unsigned char)p[i]);
    return o;
}

/* Percent-encodes every byte of the user (--redis-user) and the password into the userinfo of the
 * URL (redis:// or redis+sentinel://). */
static int add_password(ctl_config_t *c, cp_err_t *err)
{
    char *pw = NULL;
    size_t len = 0;
    const char *scheme = "redis://";
    if (strncmp(c->redis_url, "redis+sentinel://", 17) == 0)
        scheme = "redis+sentinel://";
    else if (strncmp(c->redis_url, "rediss://", 9) == 0)
        scheme = "rediss://";
    else if (strncmp(c->redis_url, scheme, strlen(scheme)) != 0)
        return cp_err_set(
            err, CP_EINVAL,
            "--redis-password-file needs a redis://, rediss:// or redis+sentinel:// URL");
    const char *rest = c->redis_url + strlen(scheme);
    const char *at = strchr(rest, '@'), *slash = strchr(rest, '/');
    if (at != NULL && (slash == NULL || at < slash))
        return cp_err_set(err, CP_EINVAL,
                          "--redis-password-file: --redis-url already carries a user or password");
    int rc = cp_file_read(c->redis_password_file, 4096, &pw, &len, err);
    if (rc != 0) {
        cp_err_prefix(err, "--redis-password-file");
        return CP_EINVAL;
    }
    while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
        pw[--len] = '\0';
    if (len == 0 || memchr(pw, '\n', len) != NULL) {
        cp_secure_free(pw, len);
        return cp_err_set(err, CP_EINVAL, "--redis-password-file: expected one non-empty line");
    }
    const char *user = c->redis_user != NULL ? c->redis_user : "";
    size_t n = (size_t)(rest - c->redis_url) + (strlen(user) + len) * 3 + 2 + strlen(rest) + 1;
    char *url = cp_xmalloc(n);
    size_t o = (size_t)snprintf(url, n, "%.*s", (int)(rest - c->redis_url), c->redis_url);
    o += put_encoded(url + o, n - o, user, strlen(user));
    url[o++] = ':';
    o += put_encoded(url + o, n - o, pw, len);
    snprintf(url + o, n - o, "@%s", rest);
    cp_secure_free(pw, len);
    cp_secure_free_str(c->redis_url);
    c->redis_url = url;
    return 0;
}

/* The --redis-tls-* files, which only a rediss:// URL uses (a TLS setting beside a plaintext URL
 * is a mistake that would send the password in the clear). */
static int check_redis_tls(const ctl_config_t *c, cp_err_t *err)
{
    bool any = c->redis_tls_ca_file != NULL || c->redis_tls_cert != NULL ||
               c->redis_tls_key != NULL || c->redis_tls_server_name != NULL;
    if (any && strncasecmp(c->redis_url, "redis://", 8) == 0)
        return cp_err_set(err, CP_EINVAL, "--redis-tls-* settings need a rediss:// URL");
    if ((c->redis_tls_cert == NULL) != (c->redis_tls_key == NULL))
        return cp_err_set(err, CP_EINVAL, "--redis-tls-cert and --redis-tls-key go together");
    if (check_file(c->redis_tls_ca_file, "redis-tls-ca-file", err) != 0 ||
        check_file(c->redis_tls_cert, "redis-tls-cert", err) != 0 ||
        check_file(c->redis_tls_key, "redis-tls-key", err) != 0)
        return CP_EINVAL;
    return 0;
}

/* The choices that concern keys at rest and the Redis password. */
static int check_keys(ctl_config_t *c, cp_err_t *err)
{
    if (c->redis_user != NULL && c->redis_password_file == NULL)
        return cp_err_set(err, CP_EINVAL, "--redis-user needs --redis-password-file");
    if (c->redis_password_file != NULL && add_password(c, err) != 0)
        return CP_EINVAL;
    if (c->kek_file != NULL && c->kek != NULL)
        return cp_err_set(err, CP_EINVAL, "--kek-file and --kek exclude each other");
    if (c->kek_file == NULL && c->kek == NULL && !c->insecure_plaintext_keys)
        return cp_err_set(err, CP_EINVAL,
                          "no key-encryption key: set --kek-file (private keys are sealed in "
                          "Redis), or run with --insecure-plaintext-keys");
    if (c->rotate_keys && c->kek_file == NULL && c->kek == NULL)
        return cp_err_set(err, CP_EINVAL, "--rotate-keys needs --kek-file or --kek");
    return 0;
}

int ctl_config_parse(ctl_config_t *c, int argc, char **argv, cp_err_t *err)
{
    memset(c, 0, sizeof *c);
    int rc = cp_cfg_parse(ctl_config_opts, ctl_config_n_opts, c, argc, argv, err);
    if (rc != 0)
        return rc;
    if (c->redis_url == NULL) {
        c->redis_url = cp_xstrdup("redis://127.0.0.1:6379");
    }
    if (c->redis_wait_replicas < 0)
        c->redis_wait_replicas = strncmp(c->redis_url, "redis+sentinel://", 17) == 0 ? 1 : 0;
    if (c->redis_wait_timeout_ms < 1 || c->redis_wait_timeout_ms > 60000)
        return cp_err_set(err, CP_EINVAL, "--redis-wait-timeout: 1ms to 60s");
    if ((c->grpc_tls_cert == NULL) != (c->grpc_tls_key == NULL))
        return cp_err_set(err, CP_EINVAL, "--grpc-tls-cert and --grpc-tls-key go together");
    if (c->grpc_client_ca != NULL && c->grpc_tls_cert == NULL)
        return cp_err_set(err, CP_EINVAL,
                          "--grpc-client-ca needs --grpc-tls-cert and --grpc-tls-key");
    if ((c->eab_kid == NULL) != (c->eab_hmac_key == NULL))
        return cp_err_set(err, CP_EINVAL, "--eab-kid and --eab-hmac-key go together");
    if (check_file(c->grpc_tls_cert, "grpc-tls-cert", err) != 0 ||
        check_file(c->grpc_tls_key, "grpc-tls-key", err) != 0 ||
        check_file(c->grpc_client_ca, "grpc-client-ca", err) != 0 ||
        check_file(c->api_tokens_file, "api-tokens-file", err) != 0 ||
        check_file(c->acme_ca_file, "acme-ca-file", err) != 0 || check_keys(c, err) != 0 ||
        check_redis_tls(c, err) != 0)
        return CP_EINVAL;
    if (c->api_tokens_file == NULL && c->api_tokens == NULL && !c->insecure_no_auth &&
        !c->rotate_keys)
        return cp_err_set(
            err, CP_EINVAL,
            "no API token configured: set --api-tokens-file or CERTPLANE_API_TOKENS, or "
            "run with --insecure-no-auth on a trusted network");
    if (c->renew_interval_ms < 1000)
        return cp_err_set(err, CP_EINVAL, "--renew-interval: at least 1s");
    if (c->ari_poll_min_ms < 1000 || c->ari_poll_max_ms < c->ari_poll_min_ms)
        return cp_err_set(err, CP_EINVAL,
                          "--ari-poll-min: at least 1s, and at most --ari-poll-max");
    if (c->controller_id == NULL) {
        char host[200] = "controller";
        gethostname(host, sizeof host - 1);
        char id[256];
        snprintf(id, sizeof id, "%s-%ld", host, (long)getpid());
        c->controller_id = cp_xstrdup(id);
    }
    if (c->presence_ttl_ms < 1000 || c->presence_ttl_ms > 3600 * 1000)
        return cp_err_set(err, CP_EINVAL, "--presence-ttl: between 1s and 1h");
    /* webhooks (issue 16) */
    if (c->webhook_retry_base_ms < 100 || c->webhook_retry_max_ms < c->webhook_retry_base_ms)
        return cp_err_set(err, CP_EINVAL,
                          "--webhook-retry-base: at least 100ms, and at most --webhook-retry-max");
    if (c->webhook_timeout_ms < 100 || c->webhook_timeout_ms > 300 * 1000)
        return cp_err_set(err, CP_EINVAL, "--webhook-timeout: between 100ms and 5m");
    if (c->webhook_scan_ms < 100)
        return cp_err_set(err, CP_EINVAL, "--webhook-scan-interval: at least 100ms");
    return ctl_providers_load(c, err);
}

void ctl_config_dispose(ctl_config_t *c)
{
    ctl_providers_dispose(c);
    cp_cfg_dispose(ctl_config_opts, ctl_config_n_opts, c);
}

void ctl_config_help(FILE *out)
{
    cp_cfg_help(
        ctl_config_opts, ctl_config_n_opts, "certplane-controller",
        "Runs the certplane controller: the ACME client, the renewal scheduler and the gRPC and "
        "HTTP/JSON API, with all state in Redis. Several controllers may share one Redis.",
        out);
}
