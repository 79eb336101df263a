/* SPDX-License-Identifier: Apache-2.0 */
/* store_sentinel.c - Redis Sentinel: the master's address, and the +switch-master watch */
#include "controller/store/store_sentinel.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "shared/log.h"
#include "shared/mem.h"

#define WATCH_POLL_MS 250  /* how often the watch looks at its stop flag */
#define WATCH_RETRY_MS 500 /* pause before the next sentinel after a failure */
#define WATCH_CONNECT_MS 2000

static atomic_uint_fast64_t g_epoch;
static atomic_int g_first; /* the sentinel that answered last is asked first */

uint64_t ctl_store_sentinel_epoch(void)
{
    return (uint64_t)atomic_load(&g_epoch);
}

void ctl_store_sentinel_bump(void)
{
    atomic_fetch_add(&g_epoch, 1);
}

static struct timeval tv_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* A connection to sentinel h, authenticated when password is set; NULL with why filled (and
 * *auth_failed set when the sentinel refused the password). */
static redisContext *sentinel_connect(const ctl_store_hostport_t *h, const char *password,
                                      int timeout_ms, char *why, size_t why_size, bool *auth_failed)
{
    redisContext *c =
        cp_xcheck(redisConnectWithTimeout(h->host, h->port, tv_ms(timeout_ms)), "redisConnect");
    if (c->err) {
        snprintf(why, why_size, "%s", c->errstr);
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv_ms(timeout_ms));
    if (password != NULL && password[0] != '\0') {
        redisReply *r = redisCommand(c, "AUTH %s", password);
        bool ok = r != NULL && r->type != REDIS_REPLY_ERROR;
        if (!ok) {
            snprintf(why, why_size, "%s", r != NULL ? "authentication failed" : c->errstr);
            *auth_failed = r != NULL;
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

/* One sentinel's answer for master: 0 with host/port, or -1 with why. */
static int ask_one(redisContext *c, const char *master, char *host, size_t host_size, int *port,
                   char *why, size_t why_size)
{
    redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", master);
    int rc = -1;
    if (r == NULL)
        snprintf(why, why_size, "%s", c->errstr[0] ? c->errstr : "connection lost");
    else if (r->type == REDIS_REPLY_NIL)
        snprintf(why, why_size, "does not know master \"%s\"", master);
    else if (r->type == REDIS_REPLY_ERROR)
        snprintf(why, why_size, "%s", r->str);
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
             r->element[0]->type != REDIS_REPLY_STRING ||
             r->element[1]->type != REDIS_REPLY_STRING || atoi(r->element[1]->str) <= 0 ||
             atoi(r->element[1]->str) > 65535 || r->element[0]->len >= host_size)
        snprintf(why, why_size, "unexpected answer");
    else {
        memcpy(host, r->element[0]->str, r->element[0]->len + 1);
        *port = atoi(r->element[1]->str);
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

int ctl_store_sentinel_master(const ctl_store_url_t *url, const char *password, int timeout_ms,
                              char *host, size_t host_size, int *port, cp_err_t *err)
{
    char all[600] = "";
    size_t used = 0;
    bool auth_failed = false;
    int first = atomic_load(&g_first);
    for (int k = 0; k < url->n_sentinels; k++) {
        int i = (first + k) % url->n_sentinels;
        const ctl_store_hostport_t *h = &url->sentinels[i];
        char why[200] = "";
        redisContext *c = sentinel_connect(h, password, timeout_ms, why, sizeof why, &auth_failed);
        int rc = c != NULL ? ask_one(c, url->master, host, host_size, port, why, sizeof why) : -1;
        if (c != NULL)
            redisFree(c);
        if (rc == 0) {
            atomic_store(&g_first, i);
            return 0;
        }
        if (used < sizeof all) {
            int n = snprintf(all + used, sizeof all - used, "%s%s:%d: %s", k ? "; " : "", h->host,
                             h->port, why);
            used += n > 0 ? (size_t)n : 0;
        }
    }
    return cp_err_set(err, auth_failed ? CP_EAUTH : CP_EUNAVAIL,
                      "redis sentinel: no address for master \"%s\" (%s)", url->master, all);
}

/* ---- the +switch-master watch ---- */

struct ctl_store_sentinel_watch {
    ctl_store_url_t url;
    char password[256];
    pthread_t thread;
    atomic_bool stop;
};

/* A pub/sub message: ["message", "+switch-master", "<master> <old ip> <old port> <new ip> <new
 * port>"]. */
static void on_message(ctl_store_sentinel_watch_t *w, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return;
    const char *text = r->element[2]->str;
    size_t n = strlen(w->url.master);
    if (strncmp(text, w->url.master, n) != 0 || text[n] != ' ')
        return;
    ctl_store_sentinel_bump();
    const char *kv[] = {"master", w->url.master, "switch", text + n + 1, NULL};
    CP_LOGKV(CP_LOG_WARN, "store", kv,
             "redis failover: the sentinels moved the master; reconnecting to the new one");
}

static bool watch_sleep(ctl_store_sentinel_watch_t *w, int ms)
{
    for (int t = 0; t < ms && !atomic_load(&w->stop); t += WATCH_POLL_MS)
        poll(NULL, 0, WATCH_POLL_MS);
    return !atomic_load(&w->stop);
}

/* Reads messages from a subscribed connection until it fails or the watch stops. */
static void watch_read(ctl_store_sentinel_watch_t *w, redisContext *c)
{
    while (!atomic_load(&w->stop)) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int n = poll(&pfd, 1, WATCH_POLL_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        if (redisBufferRead(c) != REDIS_OK)
            return;
        void *reply = NULL;
        while (redisGetReplyFromReader(c, &reply) == REDIS_OK && reply != NULL) {
            on_message(w, reply);
            freeReplyObject(reply);
            reply = NULL;
        }
        if (c->err)
            return;
    }
}

static void *watch_main(void *arg)
{
    ctl_store_sentinel_watch_t *w = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    bool subscribed_before = false;
    for (int i = 0; !atomic_load(&w->stop); i = (i + 1) % w->url.n_sentinels) {
        char why[200] = "";
        bool auth_failed = false;
        redisContext *c = sentinel_connect(&w->url.sentinels[i], w->password, WATCH_CONNECT_MS, why,
                                           sizeof why, &auth_failed);
        redisReply *r = c != NULL ? redisCommand(c, "SUBSCRIBE +switch-master") : NULL;
        if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
            /* A failover while no sentinel was watched would go unseen: connections made before
             * are dropped once to be safe. */
            if (subscribed_before)
                ctl_store_sentinel_bump();
            subscribed_before = true;
            watch_read(w, c);
        } else if (c != NULL || why[0] != '\0') {
            CP_LOG(CP_LOG_DEBUG, "store", "sentinel %s:%d not watched: %s",
                   w->url.sentinels[i].host, w->url.sentinels[i].port,
                   why[0] ? why : "SUBSCRIBE refused");
        }
        freeReplyObject(r);
        if (c != NULL)
            redisFree(c);
        if (!watch_sleep(w, WATCH_RETRY_MS))
            break;
    }
    return NULL;
}

int ctl_store_sentinel_watch_start(const ctl_store_url_t *url, const char *password,
                                   ctl_store_sentinel_watch_t **out, cp_err_t *err)
{
    *out = NULL;
    if (url->n_sentinels <= 0)
        return cp_err_set(err, CP_EINVAL, "sentinel watch: the URL names no sentinels");
    ctl_store_sentinel_watch_t *w = cp_xcalloc(1, sizeof *w);
    w->url = *url;
    snprintf(w->password, sizeof w->password, "%s", password != NULL ? password : "");
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        cp_secure_free(w, sizeof *w);
        return cp_err_set(err, CP_EINTERNAL, "sentinel watch: no thread");
    }
    *out = w;
    return 0;
}

void ctl_store_sentinel_watch_stop(ctl_store_sentinel_watch_t *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    cp_secure_free(w, sizeof *w);
}
