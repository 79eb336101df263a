/* SPDX-License-Identifier: Apache-2.0 */
/* acme_env.c - fixture of the ACME integration tests: redis + pebble + HTTP-01 responder + checks
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "shared/x509.h"
#include "tests/integration/acme_env.h"

static int hook_present(void *ctx, const char *token, const char *ka, cp_err_t *err)
{
    acme_env_t *e = ctx;
    int64_t rev = 0;
    if (e->n_tokens < ENV_MAX_TOKENS)
        e->tokens[e->n_tokens++] = strdup(token);
    if (e->present_drops)
        return 0;
    return ctl_store_challenge_set(e->store, token, ka, 3600, &rev, err);
}

static int hook_cleanup(void *ctx, const char *token, cp_err_t *err)
{
    acme_env_t *e = ctx;
    int64_t rev = 0;
    return ctl_store_challenge_clear(e->store, token, &rev, err);
}

static int hook_load(void *ctx, const char *provider, const char *email, char **key_pem, char **url,
                     cp_err_t *err)
{
    acme_env_t *e = ctx;
    /* The store wants a non-empty email; a contactless account is stored under "-". */
    return ctl_store_account_get(e->store, provider, email[0] ? email : "-", key_pem, url, err);
}

static int hook_save(void *ctx, const char *provider, const char *email, const char *key_pem,
                     const char *url, cp_err_t *err)
{
    acme_env_t *e = ctx;
    return ctl_store_account_put(e->store, provider, email[0] ? email : "-", key_pem, url, err);
}

/* Runs on the responder thread, with that thread's own store connection. */
static int lookup(void *ctx, const char *token, char **ka)
{
    acme_env_t *e = ctx;
    return ctl_store_challenge_get(e->store_http01, token, ka, NULL);
}

int acme_env_start(acme_env_t *e, cp_test_pebble_opts_t *opts)
{
    cp_err_t err = {0};
    memset(e, 0, sizeof(*e));
    int rc = cp_test_redis_start(&e->redis, NULL);
    if (rc == 0)
        rc = ctl_store_new(e->redis.url, NULL, &e->store, &err);
    if (rc == 0)
        rc = ctl_store_new(e->redis.url, NULL, &e->store_http01, &err);
    if (rc == 0)
        rc = ctl_http01_server_start("127.0.0.1", 0, lookup, e, &e->http01, &err);
    if (rc != 0) {
        fprintf(stderr, "acme env: %s\n", err.msg);
        return rc;
    }
    opts->http_port = ctl_http01_server_port(e->http01);
    rc = cp_test_pebble_start(&e->pebble, opts);
    if (rc != 0)
        return rc;
    setenv("CP_CHALLTESTSRV_URL", e->pebble.chall_mgmt_url, 1);
    const char *src = getenv("CP_SOURCE_DIR") ? getenv("CP_SOURCE_DIR") : CP_TEST_SOURCE_DIR;
    snprintf(e->dns_script, sizeof(e->dns_script), "%s/tests/integration/dns_exec_challtestsrv.sh",
             src);
    e->hooks = (ctl_acme_hooks_t){.ctx = e,
                                  .challenge_present = hook_present,
                                  .challenge_cleanup = hook_cleanup,
                                  .account_load = hook_load,
                                  .account_save = hook_save};
    return 0;
}

void acme_env_stop(acme_env_t *e)
{
    if (e->issued > 0)
        printf("[ perf ] %d certificates: %.3f s wall, %.3f s CPU per certificate (average)\n",
               e->issued, e->wall_s / e->issued, e->cpu_s / e->issued);
    cp_test_pebble_stop(&e->pebble);
    ctl_http01_server_stop(e->http01);
    ctl_store_free(e->store_http01);
    ctl_store_free(e->store);
    cp_test_redis_stop(&e->redis);
    for (size_t i = 0; i < e->n_tokens; i++)
        free(e->tokens[i]);
}

ctl_acme_t *acme_env_client(acme_env_t *e, const char *email, cp_key_type_t account_key,
                            long deadline_ms)
{
    cp_err_t err = {0};
    ctl_acme_t *c = NULL;
    ctl_acme_config_t cfg = {.directory = e->pebble.directory_url,
                             .ca_file = e->pebble.ca_file,
                             .email = email,
                             .account_key_type = account_key,
                             .deadline_ms = deadline_ms};
    if (ctl_acme_new(&cfg, &e->hooks, &c, &err) != 0)
        fprintf(stderr, "ctl_acme_new: %s\n", err.msg);
    return c;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int acme_env_issue(acme_env_t *e, ctl_acme_t *c, const ctl_acme_request_t *req,
                   ctl_acme_result_t *res, cp_err_t *err)
{
    double w0 = wall_seconds(), c0 = cpu_seconds();
    int rc = ctl_acme_issue(c, req, res, err);
    double w = wall_seconds() - w0, cpu = cpu_seconds() - c0;
    if (rc == 0) {
        e->wall_s += w;
        e->cpu_s += cpu;
        e->issued++;
        printf("[ perf ] %s (%zu names, %s): %.3f s wall, %.3f s CPU\n", req->names[0],
               req->n_names,
               req->key_type == CP_KEY_EC_P256    ? "ec-p256"
               : req->key_type == CP_KEY_EC_P384  ? "ec-p384"
               : req->key_type == CP_KEY_RSA_3072 ? "rsa3072"
               : req->key_type == CP_KEY_RSA_4096 ? "rsa4096"
                                                  : "rsa2048",
               w, cpu);
    } else {
        printf("[ error ] %s\n", err->msg);
    }
    return rc;
}

static X509 *mgmt_cert(acme_env_t *e, const char *path)
{
    char *pem = NULL;
    cp_x509_chain_t *ch = NULL;
    X509 *x = NULL;
    if (cp_test_pebble_mgmt_get(&e->pebble, path, &pem) == 0 &&
        cp_x509_chain_parse(pem, strlen(pem), &ch, NULL) == 0) {
        x = ch->certs[0];
        X509_up_ref(x);
    }
    cp_x509_chain_free(ch);
    free(pem);
    return x;
}

/* X509_verify_cert of the leaf with the downloaded chain against Pebble's root. */
static int verify_chain(acme_env_t *e, cp_x509_chain_t *ch)
{
    X509 *root = mgmt_cert(e, "/roots/0");
    X509 *inter = mgmt_cert(e, "/intermediates/0");
    X509_STORE *st = X509_STORE_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = 0;
    if (root == NULL || inter == NULL)
        goto out;
    X509_STORE_add_cert(st, root);
    for (size_t i = 1; i < ch->n; i++)
        sk_X509_push(untrusted, ch->certs[i]);
    ok = X509_STORE_CTX_init(ctx, st, ch->certs[0], untrusted) == 1 && X509_verify_cert(ctx) == 1;
    if (!ok)
        fprintf(stderr, "verify: %s\n",
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    /* The chain's intermediate is the one the management API reports. */
    ok = ok && ch->n >= 2 && X509_cmp(ch->certs[1], inter) == 0;
out:
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(st);
    X509_free(root);
    X509_free(inter);
    return ok;
}

static int names_match(const cp_x509_info_t *info, const char *const *names, size_t n)
{
    if (info->n_dns_names + info->n_ip_addresses != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t j = 0; j < info->n_dns_names; j++)
            found |= strcmp(info->dns_names[j], names[i]) == 0;
        for (size_t j = 0; j < info->n_ip_addresses; j++)
            found |= strcmp(info->ip_addresses[j], names[i]) == 0;
        if (!found)
            return 0;
    }
    /* Our CSR never carries an IP address in the CN (cp_x509 tests that); Pebble 2.4.0 itself
     * writes the first identifier, IP or not, into the issued certificate's CN, so the CN is not
     * checked here. */
    return 1;
}

int acme_env_verify(acme_env_t *e, const ctl_acme_result_t *res, const char *const *names, size_t n)
{
    cp_x509_chain_t *ch = NULL;
    cp_x509_info_t info = {0};
    EVP_PKEY *key = NULL;
    int ok = 0;
    if (cp_x509_chain_parse(res->fullchain_pem, strlen(res->fullchain_pem), &ch, NULL) != 0 ||
        cp_x509_info_get(ch->certs[0], &info, NULL) != 0 ||
        cp_x509_key_from_pem(res->private_key_pem, strlen(res->private_key_pem), &key, NULL) != 0)
        goto out;
    ok = verify_chain(e, ch);
    if (ok && !names_match(&info, names, n)) {
        fprintf(stderr, "verify: names differ (CN %s, %zu DNS, %zu IP)\n",
                info.common_name ? info.common_name : "-", info.n_dns_names, info.n_ip_addresses);
        ok = 0;
    }
    if (ok && (info.key_type != (int)res->key_type ||
               cp_x509_key_matches(ch->certs[0], key, NULL) != 0)) {
        fprintf(stderr, "verify: key type %d, want %d, or key mismatch\n", info.key_type,
                (int)res->key_type);
        ok = 0;
    }
out:
    EVP_PKEY_free(key);
    cp_x509_info_dispose(&info);
    cp_x509_chain_free(ch);
    return ok ? 0 : -1;
}

int acme_env_no_challenge_left(acme_env_t *e)
{
    for (size_t i = 0; i < e->n_tokens; i++) {
        char *ka = NULL;
        int rc = ctl_store_challenge_get(e->store, e->tokens[i], &ka, NULL);
        free(ka);
        if (rc != CP_ENOTFOUND)
            return 0;
    }
    return 1;
}
