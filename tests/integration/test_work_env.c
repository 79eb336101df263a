/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_env.c - fixture of the work machinery's integration tests */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "controller/store/certrec.h"
#include "shared/x509.h"
#include "tests/integration/test_work_env.h"

int64_t work_env_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int work_env_start(work_env_t *e, long validity_s)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->email, sizeof(e->email), "work@example.test");
    /* Pebble reuses valid authorizations half of the time by default; a renewal that must fail when
     * the responder is gone, and order counting, need every order to validate afresh. */
    setenv("PEBBLE_AUTHZREUSE", "0", 1);
    cp_test_pebble_opts_t opts = {.validity_s = validity_s};
    return acme_env_start(&e->acme, &opts);
}

void work_env_stop(work_env_t *e)
{
    for (int i = 0; i < WORK_ENV_MAX; i++)
        work_env_halt(e, e->works[i]);
    acme_env_stop(&e->acme);
}

ctl_work_t *work_env_run(work_env_t *e, const ctl_config_t *cfg)
{
    int slot = (int)(cfg - e->cfgs);
    cp_err_t err = {0};
    if (slot < 0 || slot >= WORK_ENV_MAX || e->works[slot] != NULL)
        return NULL;
    if (ctl_work_start(cfg, &e->works[slot], &err) != 0) {
        fprintf(stderr, "ctl_work_start: %s\n", err.msg);
        return NULL;
    }
    return e->works[slot];
}

void work_env_halt(work_env_t *e, ctl_work_t *w)
{
    for (int i = 0; w != NULL && i < WORK_ENV_MAX; i++)
        if (e->works[i] == w) {
            ctl_work_stop(w);
            e->works[i] = NULL;
        }
}

ctl_config_t *work_env_config(work_env_t *e, const char *controller_id, int workers,
                              int64_t job_timeout_ms)
{
    if (e->n_cfgs == WORK_ENV_MAX)
        return NULL;
    ctl_config_t *cfg = &e->cfgs[e->n_cfgs++];
    memset(cfg, 0, sizeof(*cfg));
    cfg->redis_url = e->acme.redis.url;
    cfg->acme_provider = e->acme.pebble.directory_url;
    cfg->acme_ca_file = e->acme.pebble.ca_file;
    cfg->acme_email = e->email;
    cfg->acme_timeout_ms = 60000;
    cfg->workers = workers;
    cfg->job_timeout_ms = job_timeout_ms;
    cfg->controller_id = (char *)controller_id;
    cfg->renew_interval_ms = 5000;
    cfg->challenge_propagation_ms = 2000;
    cfg->edge_ttl_ms = 30000;
    return cfg;
}

int work_env_create(work_env_t *e, const char *name, cp_key_type_t key_type, int64_t lease_ms)
{
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Timestamp renew = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char domain[128];
    char *domains[] = {domain};
    char *json = NULL;
    size_t len = 0;
    int64_t now = work_env_now_ms();
    snprintf(domain, sizeof(domain), "%s.example.test", name);
    c.name = (char *)name;
    c.n_domains = 1;
    c.domains = domains;
    c.email = e->email;
    c.key_type = (Certplane__V1__KeyType)key_type;
    c.state = CERTPLANE__V1__STATE__PENDING;
    created.seconds = now / 1000;
    renew.seconds = (now + lease_ms) / 1000;
    c.create_time = &created;
    c.update_time = &created;
    c.renew_after = &renew;
    cp_err_t err = {0};
    int rc = ctl_certrec_encode(&c, &json, &len, &err);
    if (rc == 0) {
        ctl_store_cert_write_t w = {.name = name,
                                    .json = json,
                                    .json_len = len,
                                    .mode = CTL_STORE_CREATE,
                                    .renew_at = (double)(now + lease_ms) / 1000.0,
                                    .job_kind = "issue"};
        rc = ctl_store_cert_put(e->acme.store, &w, NULL, &err);
    }
    if (rc != 0)
        fprintf(stderr, "work_env_create %s: %s\n", name, err.msg);
    free(json);
    return rc;
}

Certplane__V1__Certificate *work_env_get(work_env_t *e, const char *name)
{
    char *json = NULL;
    size_t len = 0;
    Certplane__V1__Certificate *c = NULL;
    if (ctl_store_cert_get(e->acme.store, name, &json, &len, NULL) == 0)
        ctl_certrec_decode(name, json, len, &c, NULL);
    free(json);
    return c;
}

void work_env_cert_free(Certplane__V1__Certificate *c)
{
    if (c != NULL)
        protobuf_c_message_free_unpacked(&c->base, NULL);
}

Certplane__V1__Certificate *work_env_wait(work_env_t *e, const char *name, int state,
                                          const char *serial_not, int timeout_ms)
{
    int64_t deadline = work_env_now_ms() + timeout_ms;
    do {
        Certplane__V1__Certificate *c = work_env_get(e, name);
        if (c != NULL && (int)c->state == state &&
            (serial_not == NULL || (c->serial != NULL && strcmp(c->serial, serial_not) != 0)))
            return c;
        work_env_cert_free(c);
        usleep(50 * 1000);
    } while (work_env_now_ms() < deadline);
    return NULL;
}

int work_env_verify(work_env_t *e, const Certplane__V1__Certificate *c)
{
    ctl_acme_result_t res = {.fullchain_pem = c->fullchain_pem,
                             .private_key_pem = c->private_key_pem,
                             .key_type =
                                 c->key_type == 0 ? CP_KEY_RSA_2048 : (cp_key_type_t)c->key_type};
    return acme_env_verify(&e->acme, &res, (const char *const *)c->domains, c->n_domains);
}

int work_env_key_matches(const Certplane__V1__Certificate *c)
{
    cp_x509_chain_t *ch = NULL;
    EVP_PKEY *key = NULL;
    int ok = 0;
    if (c->fullchain_pem == NULL || c->private_key_pem == NULL || c->fullchain_pem[0] == '\0')
        return 0;
    if (cp_x509_chain_parse(c->fullchain_pem, strlen(c->fullchain_pem), &ch, NULL) == 0 &&
        cp_x509_key_from_pem(c->private_key_pem, strlen(c->private_key_pem), &key, NULL) == 0)
        ok = cp_x509_key_matches(ch->certs[0], key, NULL) == 0;
    EVP_PKEY_free(key);
    cp_x509_chain_free(ch);
    return ok;
}

long work_env_challenge_keys(work_env_t *e)
{
    redisContext *r = redisConnect("127.0.0.1", e->acme.redis.port);
    long n = -1;
    if (r == NULL || r->err)
        goto out;
    redisReply *rep = redisCommand(r, "KEYS challenge:*");
    if (rep != NULL && rep->type == REDIS_REPLY_ARRAY)
        n = (long)rep->elements;
    freeReplyObject(rep);
out:
    redisFree(r);
    return n;
}

void work_env_print_stats(const char *label, ctl_work_t *w)
{
    ctl_work_stats_t st;
    ctl_work_get_stats(w, &st);
    printf("[ work ] %s: taken %lu (reclaimed %lu), acked %lu, busy %lu, issued %lu, failed %lu, "
           "conflicts %lu, enqueued %lu",
           label, st.jobs_taken, st.jobs_reclaimed, st.jobs_acked, st.jobs_busy, st.issued,
           st.failed, st.conflicts, st.enqueued);
    if (st.issued > 0)
        printf("; per issuance %.3f s wall, %.3f s CPU", st.issue_wall_s / (double)st.issued,
               st.issue_cpu_s / (double)st.issued);
    printf("\n");
    fflush(stdout);
}

int work_env_orders(work_env_t *e)
{
    return cp_test_pebble_log_count(&e->acme.pebble, "Added order \"");
}

void work_env_stats_until(ctl_work_t *w, ctl_work_stats_t *st,
                          int (*done)(const ctl_work_stats_t *))
{
    ctl_work_get_stats(w, st);
    for (int i = 0; i < 100 && !done(st); i++) {
        usleep(20 * 1000);
        ctl_work_get_stats(w, st);
    }
}

int work_env_setup(work_env_t *e, long validity_s)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return work_env_start(e, validity_s) == 0 ? 0 : -1;
}

int work_env_teardown(work_env_t *e)
{
    work_env_stop(e);
    curl_global_cleanup();
    return 0;
}
