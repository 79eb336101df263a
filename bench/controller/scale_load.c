/* SPDX-License-Identifier: Apache-2.0 */
/* scale_load.c - fills a Redis with N certificate records exactly as the controller writes them */

/*
 * usage: scale_load --redis HOST:PORT --kek ID:BASE64 --pool DIR --pool-n K --count N
 *                   [--renew-at UNIX_S] [--events-max M] [--depth D] [--limit-s S]
 *
 * DIR holds K files <i>.pem (leaf, CA, PKCS#8 key; bench/gen_certs makes them). Certificate i is
 * named s<i>.scale.test and carries pool pair i % K: an imported, VALID record (the fields
 * ImportCertificate sets), its key sealed with the keyring for cert:{name} (keywrap.h), encoded by
 * ctl_certrec_encode() and written with the controller's own certificate script
 * (ctl_store__lua[CTL_STORE__LUA_CERT_PUT]: record, `certs`, `certs:by_expiry`, the UPSERT event
 * and the revision counter, exactly as ctl_store_cert_put() does), D scripts in flight at a time.
 * Stops after N records or S seconds (default 900), whichever comes first; prints what it wrote.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/store/certrec.h"
#include "controller/store/keywrap.h"
#include "controller/store/store_internal.h"
#include "shared/clock.h"
#include "shared/file.h"
#include "shared/mem.h"
#include "shared/x509.h"

typedef struct pool_pair {
    char *chain, *key, *serial, *issuer;
    int64_t not_before, not_after;
    int key_type;
} pool_pair_t;

typedef struct opts {
    const char *host, *kek, *dir;
    int port, pool_n, depth;
    long count, events_max;
    double renew_at, limit_s;
} opts_t;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "scale_load: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pool_read(const char *dir, int i, pool_pair_t *p)
{
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    cp_err_t err = {0};
    snprintf(path, sizeof path, "%s/%05d.pem", dir, i);
    if (cp_file_read(path, 1 << 20, &text, &len, &err) != 0)
        die(path, err.msg);
    static const char end[] = "-----END CERTIFICATE-----\n";
    char *last = NULL;
    for (char *q = strstr(text, end); q != NULL; q = strstr(q + 1, end))
        last = q;
    if (last == NULL)
        die(path, "no certificate");
    size_t cut = (size_t)(last - text) + strlen(end);
    p->chain = cp_xstrndup(text, cut);
    p->key = cp_xstrdup(text + cut);
    cp_secure_free(text, len);
    cp_x509_chain_t *chain = NULL;
    cp_x509_info_t info = {0};
    if (cp_x509_chain_parse(p->chain, strlen(p->chain), &chain, &err) != 0 ||
        cp_x509_info_get(chain->certs[0], &info, &err) != 0)
        die(path, err.msg);
    p->serial = cp_xstrdup(info.serial ? info.serial : "");
    p->issuer = cp_xstrdup(info.issuer ? info.issuer : "");
    p->not_before = info.not_before, p->not_after = info.not_after;
    p->key_type = info.key_type;
    cp_x509_info_dispose(&info);
    cp_x509_chain_free(chain);
}

/* The record ImportCertificate writes (service_import.c), encoded with its key sealed. */
static char *record_of(const opts_t *o, const ctl_keyring_t *kr, const pool_pair_t *p,
                       const char *name, int64_t now_ms, size_t *len)
{
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Google__Protobuf__Timestamp nb, na, ra, ct;
    char *domains[1] = {(char *)name}, record[300], *sealed = NULL, *json = NULL;
    cp_err_t err = {0};
    cp_clock_ts_set(&nb, p->not_before * 1000);
    cp_clock_ts_set(&na, p->not_after * 1000);
    cp_clock_ts_set(&ra, (int64_t)(o->renew_at * 1000));
    cp_clock_ts_set(&ct, now_ms);
    snprintf(record, sizeof record, "cert:%s", name);
    if (ctl_keywrap_seal(kr, record, p->key, strlen(p->key), &sealed, &err) != 0)
        die("seal", err.msg);
    c.name = (char *)name;
    c.n_domains = 1;
    c.domains = domains;
    c.email = "bench@example.com";
    c.key_type = (Certplane__V1__KeyType)p->key_type;
    c.state = CERTPLANE__V1__STATE__VALID;
    c.not_before = &nb, c.not_after = &na, c.renew_after = &ra;
    c.serial = p->serial, c.issuer = p->issuer;
    c.fullchain_pem = p->chain;
    c.private_key_pem = sealed;
    c.create_time = &ct, c.update_time = &ct;
    if (ctl_certrec_encode(&c, &json, len, &err) != 0)
        die("encode", err.msg);
    cp_secure_free_str(sealed);
    return json;
}

static void check_reply(redisContext *rc)
{
    redisReply *r = NULL;
    if (redisGetReply(rc, (void **)&r) != REDIS_OK || r == NULL)
        die("redis", rc->errstr);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->integer != 0) {
        char msg[256] = "unexpected reply";
        if (r->type == REDIS_REPLY_ERROR)
            snprintf(msg, sizeof msg, "%s", r->str);
        else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
            snprintf(msg, sizeof msg, "script status %lld", r->element[0]->integer);
        die("cert put", msg);
    }
    freeReplyObject(r);
}

static void parse_args(int argc, char **argv, opts_t *o)
{
    o->depth = 256, o->events_max = 100000, o->limit_s = 900, o->pool_n = 1000;
    o->renew_at = (double)(cp_clock_wall_ms() / 1000 + 30 * 86400);
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--redis")) {
            static char host[256];
            const char *colon = strrchr(v, ':');
            if (colon == NULL || (size_t)(colon - v) >= sizeof host)
                die("--redis", "HOST:PORT");
            memcpy(host, v, (size_t)(colon - v));
            o->host = host, o->port = atoi(colon + 1);
        } else if (!strcmp(a, "--kek"))
            o->kek = v;
        else if (!strcmp(a, "--pool"))
            o->dir = v;
        else if (!strcmp(a, "--pool-n"))
            o->pool_n = atoi(v);
        else if (!strcmp(a, "--count"))
            o->count = atol(v);
        else if (!strcmp(a, "--renew-at"))
            o->renew_at = atof(v);
        else if (!strcmp(a, "--events-max"))
            o->events_max = atol(v);
        else if (!strcmp(a, "--depth"))
            o->depth = atoi(v);
        else if (!strcmp(a, "--limit-s"))
            o->limit_s = atof(v);
        else
            die("unknown option", a);
    }
    if (o->host == NULL || o->kek == NULL || o->dir == NULL || o->count <= 0 || o->pool_n <= 0 ||
        o->depth <= 0)
        die("usage", "--redis HOST:PORT --kek ID:BASE64 --pool DIR --pool-n K --count N");
}

int main(int argc, char **argv)
{
    opts_t o = {0};
    cp_err_t err = {0};
    ctl_keyring_t *kr = NULL;
    parse_args(argc, argv, &o);
    if (ctl_keyring_parse_list(o.kek, "--kek", &kr, &err) != 0)
        die("--kek", err.msg);
    pool_pair_t *pool = cp_xcalloc((size_t)o.pool_n, sizeof *pool);
    for (int i = 0; i < o.pool_n; i++)
        pool_read(o.dir, i, &pool[i]);
    redisContext *rc = redisConnect(o.host, o.port);
    if (rc == NULL || rc->err)
        die("connect", rc ? rc->errstr : "out of memory");
    const char *script = ctl_store__lua[CTL_STORE__LUA_CERT_PUT];
    redisReply *r = redisCommand(rc, "SCRIPT LOAD %s", script);
    if (r == NULL || r->type != REDIS_REPLY_STRING)
        die("SCRIPT LOAD", rc->errstr);
    char sha[41];
    snprintf(sha, sizeof sha, "%s", r->str);
    freeReplyObject(r);
    char maxlen[32];
    snprintf(maxlen, sizeof maxlen, "%ld", o.events_max);
    int64_t now_ms = cp_clock_wall_ms();
    double t0 = now_s();
    long sent = 0, done = 0;
    size_t bytes = 0;
    while (done < o.count && (sent < o.count || done < sent)) {
        if (sent < o.count && sent - done < o.depth && now_s() - t0 < o.limit_s) {
            char name[64], key[80];
            size_t len = 0;
            snprintf(name, sizeof name, "s%07ld.scale.test", sent);
            snprintf(key, sizeof key, "cert:%s", name);
            char *json = record_of(&o, kr, &pool[sent % o.pool_n], name, now_ms, &len);
            char at[32];
            snprintf(at, sizeof at, "%.17g", o.renew_at);
            const char *av[] = {"EVALSHA", sha,        "6",    key,   "certs", "certs:by_expiry",
                                "events",  "revision", "jobs", name,  json,    "create",
                                "0",       at,         "",     maxlen};
            size_t al[16];
            for (int k = 0; k < 16; k++)
                al[k] = av[k] == json ? len : strlen(av[k]);
            redisAppendCommandArgv(rc, 16, av, al);
            bytes += len;
            cp_secure_free(json, len);
            sent++;
            continue;
        }
        if (done == sent)
            break; /* the time limit stopped the sending */
        check_reply(rc);
        done++;
    }
    double t = now_s() - t0;
    printf("{\"written\":%ld,\"seconds\":%.3f,\"per_s\":%.0f,\"avg_json_bytes\":%.1f}\n", done, t,
           done / (t > 0 ? t : 1), done ? (double)bytes / done : 0.0);
    redisFree(rc);
    for (int i = 0; i < o.pool_n; i++) {
        free(pool[i].chain), free(pool[i].serial), free(pool[i].issuer);
        cp_secure_free_str(pool[i].key);
    }
    free(pool);
    ctl_keyring_free(kr);
    return done == o.count ? 0 : 2;
}
