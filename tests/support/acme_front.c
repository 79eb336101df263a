/* SPDX-License-Identifier: Apache-2.0 */
/* acme_front.c - test support: start and drive the test ACME front (acme_front.py) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "shared/err.h"
#include "tests/support/acme_front.h"

#ifndef CP_TEST_SOURCE_DIR
#error "CP_TEST_SOURCE_DIR must name the source tree (tests/CMakeLists.txt sets it)"
#endif

int cp_test_front_start(cp_test_front_t *f, const cp_test_pebble_t *p,
                        const cp_test_front_opts_t *opts)
{
    cp_test_front_opts_t none = {0};
    const cp_test_front_opts_t *o = opts != NULL ? opts : &none;
    char port[16], mgmt[16], upstream[64], cert[320], key[320], retry[16];
    memset(f, 0, sizeof(*f));
    f->port = cp_test_free_port();
    f->mgmt_port = cp_test_free_port();
    if (f->port < 0 || f->mgmt_port < 0)
        return CP_EIO;
    snprintf(port, sizeof(port), "%d", f->port);
    snprintf(mgmt, sizeof(mgmt), "%d", f->mgmt_port);
    snprintf(upstream, sizeof(upstream), "https://127.0.0.1:%d", p->acme_port);
    snprintf(cert, sizeof(cert), "%s/cert.pem", p->dir);
    snprintf(key, sizeof(key), "%s/key.pem", p->dir);
    snprintf(retry, sizeof(retry), "%d", o->retry_after_s > 0 ? o->retry_after_s : 21600);
    snprintf(f->directory_url, sizeof(f->directory_url), "https://127.0.0.1:%d/dir", f->port);
    snprintf(f->ca_file, sizeof(f->ca_file), "%s", p->ca_file);
    snprintf(f->log_path, sizeof(f->log_path), "%s/front-%d.log", p->dir, f->port);
    char *argv[24] = {"/usr/bin/python3",
                      CP_TEST_SOURCE_DIR "/tests/support/acme_front.py",
                      "--port",
                      port,
                      "--mgmt-port",
                      mgmt,
                      "--upstream",
                      upstream,
                      "--ca",
                      (char *)p->ca_file,
                      "--cert",
                      cert,
                      "--key",
                      key,
                      "--retry-after",
                      retry};
    int argc = 16;
    if (o->no_ari)
        argv[argc++] = "--no-ari";
    if (o->profiles != NULL) {
        argv[argc++] = "--profiles";
        argv[argc++] = (char *)o->profiles;
    }
    if (o->ip_profiles != NULL) {
        argv[argc++] = "--ip-profiles";
        argv[argc++] = (char *)o->ip_profiles;
    }
    argv[argc] = NULL;
    int rc = cp_test_spawn(&f->proc, "acme_front", argv, NULL, f->log_path);
    if (rc == 0)
        rc = cp_test_wait_port(f->mgmt_port, 15000);
    if (rc == 0)
        rc = cp_test_wait_port(f->port, 15000);
    if (rc != 0) {
        fprintf(stderr, "acme front: start failed (%s), log %s\n", cp_strerror(rc), f->log_path);
        cp_test_front_stop(f);
    }
    return rc;
}

void cp_test_front_stop(cp_test_front_t *f)
{
    cp_test_stop(&f->proc, SIGTERM, 5000);
}

typedef struct sink {
    char *buf;
    size_t len;
} sink_t;

static size_t on_data(char *d, size_t size, size_t nmemb, void *ud)
{
    sink_t *s = ud;
    size_t n = size * nmemb;
    char *b = realloc(s->buf, s->len + n + 1);
    if (b == NULL)
        abort();
    memcpy(b + s->len, d, n);
    s->buf = b;
    s->len += n;
    b[s->len] = '\0';
    return n;
}

static int mgmt(const cp_test_front_t *f, const char *path, const char *body, char **out)
{
    char url[128];
    sink_t s = {0};
    long status = 0;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->mgmt_port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (cc != CURLE_OK || status != 200) {
        fprintf(stderr, "acme front: %s %s: %s, HTTP %ld: %s\n", body ? "POST" : "GET", url,
                curl_easy_strerror(cc), status, s.buf ? s.buf : "");
        free(s.buf);
        return cc != CURLE_OK ? CP_EUNAVAIL : CP_EIO;
    }
    if (out != NULL)
        *out = s.buf ? s.buf : strdup("");
    else
        free(s.buf);
    return 0;
}

int cp_test_front_post(const cp_test_front_t *f, const char *path, const char *body)
{
    return mgmt(f, path, body != NULL ? body : "{}", NULL);
}

int cp_test_front_get(const cp_test_front_t *f, const char *path, char **body)
{
    return mgmt(f, path, NULL, body);
}
