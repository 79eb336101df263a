/* SPDX-License-Identifier: Apache-2.0 */
/* ondemand_ask.c - the --on-demand-ask URL and its answer cache (ondemand_ask.h) */
#include "controller/service/ondemand_ask.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/clock.h"
#include "shared/hash.h"
#include "shared/log.h"
#include "shared/mem.h"

#define SLOTS 4096
#define ASK_TIMEOUT_MS 3000
#define FAIL_TTL_MS 5000

typedef struct slot {
    char *name; /* NULL: empty */
    bool allowed;
    int64_t expires_ms;
} slot_t;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static slot_t g_slots[SLOTS];

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

/* The GET: 1 allowed, 0 refused (an answer), -1 no answer. */
static int ask_once(const char *url, const char *name)
{
    size_t n = strlen(url) + strlen(name) + 16;
    char *full = cp_xmalloc(n);
    snprintf(full, n, "%s%cdomain=%s", url, strchr(url, '?') != NULL ? '&' : '?', name);
    CURL *h = curl_easy_init();
    int rc = -1;
    if (h != NULL) {
        curl_easy_setopt(h, CURLOPT_URL, full);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)ASK_TIMEOUT_MS);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        long status = 0;
        if (curl_easy_perform(h) == CURLE_OK &&
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
            rc = status == 200 ? 1 : 0;
        curl_easy_cleanup(h);
    }
    if (rc < 0)
        CP_LOG(CP_LOG_WARN, "ondemand", "--on-demand-ask %s: no answer for %s: refused", url, name);
    free(full);
    return rc;
}

bool ctl_ondemand_ask(const char *url, const char *name, int64_t ttl_ms, bool *cached)
{
    slot_t *s = &g_slots[cp_hash_fnv1a32_str(name) % SLOTS];
    int64_t now = cp_clock_mono_ms();
    if (cached != NULL)
        *cached = false;
    pthread_mutex_lock(&g_mu);
    if (s->name != NULL && strcmp(s->name, name) == 0 && s->expires_ms > now) {
        bool allowed = s->allowed;
        pthread_mutex_unlock(&g_mu);
        if (cached != NULL)
            *cached = true;
        return allowed;
    }
    pthread_mutex_unlock(&g_mu);
    int rc = ask_once(url, name);
    pthread_mutex_lock(&g_mu);
    free(s->name);
    s->name = cp_xstrdup(name);
    s->allowed = rc == 1;
    s->expires_ms = cp_clock_mono_ms() + (rc < 0 && ttl_ms > FAIL_TTL_MS ? FAIL_TTL_MS : ttl_ms);
    pthread_mutex_unlock(&g_mu);
    return rc == 1;
}

void ctl_ondemand_ask_clear(void)
{
    pthread_mutex_lock(&g_mu);
    for (size_t i = 0; i < SLOTS; i++) {
        free(g_slots[i].name);
        g_slots[i].name = NULL;
    }
    pthread_mutex_unlock(&g_mu);
}
