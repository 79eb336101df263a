/* SPDX-License-Identifier: Apache-2.0 */
/* acme_fake.c - a scripted fake ACME server (HTTPS on loopback) for failures Pebble never makes */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "controller/acme/acme_internal.h"
#include "shared/base64.h"
#include "shared/x509.h"
#include "tests/integration/acme_fake.h"
#include "tests/support/harness.h"

#define MAX_QUEUED 64
#define MAX_LOG 512
#define MAX_REQ (64 * 1024)
#define IO_LIMIT_MS 30000 /* no connection is served longer than this */

typedef struct queued {
    char path[128];
    acme_fake_reply_t r; /* strings malloc'd, $BASE substituted */
    size_t body_len;
} queued_t;

typedef struct hit {
    char path[128];
    int64_t at;
    char *payload; /* the decoded JWS payload of a POST, malloc'd, or NULL */
} hit_t;

struct acme_fake {
    int lfd;
    int port;
    char base[64];
    char dir[256];
    char ca_file[300];
    SSL_CTX *ssl;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu; /* guards everything below */
    queued_t queue[MAX_QUEUED];
    size_t n_queue;
    hit_t log[MAX_LOG];
    size_t n_log;
    unsigned long nonce_next;
    char *used[MAX_LOG];
    size_t n_used;
    int reuses;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* s with every "$BASE" replaced, malloc'd; NULL stays NULL. */
static char *subst(const acme_fake_t *f, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1, bl = strlen(f->base);
    for (const char *p = strstr(s, "$BASE"); p; p = strstr(p + 5, "$BASE"))
        n += bl;
    char *out = malloc(n), *o = out;
    if (out == NULL)
        abort();
    while (*s) {
        if (strncmp(s, "$BASE", 5) == 0) {
            memcpy(o, f->base, bl);
            o += bl;
            s += 5;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

static void queued_free(queued_t *q)
{
    free((char *)q->r.headers);
    free((char *)q->r.body);
    free((char *)q->r.preface);
}

void acme_fake_push(acme_fake_t *f, const char *path, const acme_fake_reply_t *reply)
{
    pthread_mutex_lock(&f->mu);
    if (f->n_queue < MAX_QUEUED) {
        queued_t *q = &f->queue[f->n_queue++];
        snprintf(q->path, sizeof(q->path), "%s", path);
        q->r = *reply;
        q->r.headers = subst(f, reply->headers);
        q->r.body = subst(f, reply->body);
        q->r.preface = subst(f, reply->preface);
        q->body_len = q->r.body ? strlen(q->r.body) : 0;
    }
    pthread_mutex_unlock(&f->mu);
}

void acme_fake_reset(acme_fake_t *f)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_queue; i++)
        queued_free(&f->queue[i]);
    f->n_queue = 0;
    for (size_t i = 0; i < f->n_log; i++)
        free(f->log[i].payload);
    f->n_log = 0;
    for (size_t i = 0; i < f->n_used; i++)
        free(f->used[i]);
    f->n_used = 0;
    f->reuses = 0;
    pthread_mutex_unlock(&f->mu);
}

size_t acme_fake_hits(acme_fake_t *f, const char *path, int64_t *times, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_log; i++) {
        if (strcmp(f->log[i].path, path) != 0)
            continue;
        if (n < max)
            times[n] = f->log[i].at;
        n++;
    }
    pthread_mutex_unlock(&f->mu);
    return n;
}

char *acme_fake_last_payload(acme_fake_t *f, const char *path)
{
    char *out = NULL;
    pthread_mutex_lock(&f->mu);
    for (size_t i = f->n_log; i-- > 0;)
        if (strcmp(f->log[i].path, path) == 0) {
            out = f->log[i].payload != NULL ? strdup(f->log[i].payload) : NULL;
            break;
        }
    pthread_mutex_unlock(&f->mu);
    return out;
}

/* The decoded payload of a POSTed JWS (malloc'd), or NULL. */
static char *jws_payload(const char *body, size_t len)
{
    json_t *jws = json_loadb(body, len, 0, NULL);
    const char *b64 = json_string_value(json_object_get(jws, "payload"));
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    char *out = NULL;
    if (b64 != NULL && cp_base64_decode(b64, strlen(b64), 0, &raw, &raw_len) == 0) {
        out = malloc(raw_len + 1);
        if (out == NULL)
            abort();
        if (raw_len > 0)
            memcpy(out, raw, raw_len);
        out[raw_len] = '\0';
    }
    free(raw);
    json_decref(jws);
    return out;
}

int acme_fake_nonce_reuses(acme_fake_t *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->reuses;
    pthread_mutex_unlock(&f->mu);
    return n;
}

const char *acme_fake_base(const acme_fake_t *f)
{
    return f->base;
}

int acme_fake_port(const acme_fake_t *f)
{
    return f->port;
}

const char *acme_fake_ca_file(const acme_fake_t *f)
{
    return f->ca_file;
}

/* Checks the nonce of a POSTed JWS against those issued and those already used. */
static void check_nonce(acme_fake_t *f, const char *body, size_t len)
{
    json_t *jws = json_loadb(body, len, 0, NULL);
    const char *prot = json_string_value(json_object_get(jws, "protected"));
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    json_t *hdr = NULL;
    if (prot != NULL && cp_base64_decode(prot, strlen(prot), 0, &raw, &raw_len) == 0)
        hdr = json_loadb((const char *)raw, raw_len, 0, NULL);
    const char *nonce = json_string_value(json_object_get(hdr, "nonce"));
    unsigned long num = 0;
    pthread_mutex_lock(&f->mu);
    int bad = nonce == NULL || sscanf(nonce, "fake-%lu", &num) != 1 || num >= f->nonce_next;
    for (size_t i = 0; !bad && i < f->n_used; i++)
        bad = strcmp(f->used[i], nonce) == 0;
    if (bad)
        f->reuses++;
    else if (f->n_used < MAX_LOG)
        f->used[f->n_used++] = strdup(nonce);
    pthread_mutex_unlock(&f->mu);
    json_decref(hdr);
    free(raw);
    json_decref(jws);
}

/* Waits until fd is readable (or SSL has buffered bytes); 0 when the server stops or time is up. */
static int wait_readable(acme_fake_t *f, SSL *ssl, int fd, int64_t until)
{
    while (!atomic_load(&f->stop) && now_ms() < until) {
        if (ssl != NULL && SSL_pending(ssl) > 0)
            return 1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0)
            return 1;
    }
    return 0;
}

/* Reads one request (head and Content-Length body) into buf; its length, or -1. */
static long read_request(acme_fake_t *f, SSL *ssl, int fd, char *buf, size_t size, size_t *head)
{
    size_t n = 0;
    int64_t until = now_ms() + IO_LIMIT_MS;
    for (;;) {
        buf[n] = '\0';
        char *eoh = strstr(buf, "\r\n\r\n");
        if (eoh != NULL) {
            *head = (size_t)(eoh + 4 - buf);
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t want = *head + (cl && cl < eoh ? strtoul(cl + 17, NULL, 10) : 0);
            if (n >= want || want >= size)
                return (long)n;
        }
        if (n + 1 >= size || !wait_readable(f, ssl, fd, until))
            return -1;
        int got = SSL_read(ssl, buf + n, (int)(size - n - 1));
        if (got <= 0)
            return -1;
        n += (size_t)got;
    }
}

static void write_all(SSL *ssl, const char *p, size_t n)
{
    while (n > 0) {
        int w = SSL_write(ssl, p, (int)n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* The scripted reply of `path`, or a built-in one; *q is a copy the caller frees. */
static void next_reply(acme_fake_t *f, const char *method, const char *path, char *payload,
                       queued_t *q)
{
    memset(q, 0, sizeof(*q));
    pthread_mutex_lock(&f->mu);
    if (f->n_log < MAX_LOG) {
        snprintf(f->log[f->n_log].path, sizeof(f->log[0].path), "%s", path);
        f->log[f->n_log].payload = payload;
        f->log[f->n_log++].at = now_ms();
        payload = NULL;
    }
    free(payload);
    for (size_t i = 0; i < f->n_queue; i++) {
        if (strcmp(f->queue[i].path, path) != 0)
            continue;
        *q = f->queue[i];
        if (q->r.sticky) {
            q->r.headers = ctl_acme__strdup(q->r.headers);
            q->r.body = ctl_acme__strdup(q->r.body);
            q->r.preface = ctl_acme__strdup(q->r.preface);
        } else {
            memmove(&f->queue[i], &f->queue[i + 1], (f->n_queue - i - 1) * sizeof(queued_t));
            f->n_queue--;
        }
        pthread_mutex_unlock(&f->mu);
        return;
    }
    pthread_mutex_unlock(&f->mu);
    acme_fake_reply_t r = {.status = 404,
                           .body = "{\"type\":\"urn:ietf:params:acme:error:malformed\","
                                   "\"detail\":\"no such resource\"}"};
    if (strcmp(path, "/dir") == 0)
        r = (acme_fake_reply_t){
            .status = 200,
            .body = "{\"newNonce\":\"$BASE/nonce\",\"newAccount\":\"$BASE/acct-new\","
                    "\"newOrder\":\"$BASE/order-new\",\"revokeCert\":\"$BASE/revoke\","
                    "\"keyChange\":\"$BASE/key-change\"}"};
    else if (strcmp(path, "/nonce") == 0)
        r = (acme_fake_reply_t){.status = strcmp(method, "HEAD") == 0 ? 200 : 204};
    else if (strcmp(path, "/acct-new") == 0)
        r = (acme_fake_reply_t){.status = 201,
                                .headers = "Location: $BASE/acct/1\r\n",
                                .body = "{\"status\":\"valid\"}"};
    q->r = r;
    q->r.headers = subst(f, r.headers);
    q->r.body = subst(f, r.body);
    q->body_len = q->r.body ? strlen(q->r.body) : 0;
}

static const char *reason(int status)
{
    return status < 300 ? "OK" : status == 503 ? "Service Unavailable" : "Error";
}

/* Sends the answer (or misbehaves as scripted). */
static void answer(acme_fake_t *f, SSL *ssl, int fd, const char *method, const queued_t *q)
{
    const acme_fake_reply_t *r = &q->r;
    char head[4096];
    if (r->action == FAKE_CLOSE)
        return;
    if (r->action == FAKE_HANG) {
        /* Hold the connection until the client gives up and closes it. */
        char sink[512];
        while (wait_readable(f, ssl, fd, now_ms() + IO_LIMIT_MS) &&
               SSL_read(ssl, sink, sizeof(sink)) > 0)
            ;
        return;
    }
    if (r->preface != NULL)
        write_all(ssl, r->preface, strlen(r->preface));
    size_t body_len = q->body_len + r->pad;
    const char *ctype = r->headers && strcasestr(r->headers, "Content-Type:") ? NULL
                        : r->status >= 400 ? "application/problem+json"
                                           : "application/json";
    pthread_mutex_lock(&f->mu);
    unsigned long nonce = f->nonce_next++;
    pthread_mutex_unlock(&f->mu);
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nReplay-Nonce: fake-%lu\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s%s%s%s\r\n",
                     r->status, reason(r->status), nonce, body_len, ctype ? "Content-Type: " : "",
                     ctype ? ctype : "", ctype ? "\r\n" : "", r->headers ? r->headers : "");
    write_all(ssl, head, (size_t)n);
    if (strcmp(method, "HEAD") == 0)
        return;
    if (r->action == FAKE_RESET) {
        /* Part of the body, then a TCP reset (SO_LINGER 0) without a TLS close_notify. */
        write_all(ssl, r->body ? r->body : "", q->body_len / 2);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        return;
    }
    if (r->body != NULL)
        write_all(ssl, r->body, q->body_len);
    char spaces[1024];
    memset(spaces, ' ', sizeof(spaces));
    for (size_t left = r->pad; left > 0;) {
        size_t k = left < sizeof(spaces) ? left : sizeof(spaces);
        write_all(ssl, spaces, k);
        left -= k;
    }
    SSL_shutdown(ssl);
}

static void serve(acme_fake_t *f, int fd)
{
    static char buf[MAX_REQ];
    size_t head = 0;
    char method[8] = "", path[128] = "";
    queued_t q;
    SSL *ssl = SSL_new(f->ssl);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    SSL_set_fd(ssl, fd);
    if (!wait_readable(f, NULL, fd, now_ms() + IO_LIMIT_MS) || SSL_accept(ssl) != 1)
        goto out; /* e.g. a client that did not trust our certificate */
    long n = read_request(f, ssl, fd, buf, sizeof(buf), &head);
    if (n < 0 || sscanf(buf, "%7s %127s", method, path) != 2)
        goto out;
    char *payload = NULL;
    if (strcmp(method, "POST") == 0) {
        check_nonce(f, buf + head, (size_t)n - head);
        payload = jws_payload(buf + head, (size_t)n - head);
    }
    next_reply(f, method, path, payload, &q);
    answer(f, ssl, fd, method, &q);
    queued_free(&q);
out:
    SSL_free(ssl);
    close(fd);
}

static void *run(void *arg)
{
    acme_fake_t *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = f->lfd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd >= 0)
            serve(f, fd);
    }
    return NULL;
}

/* A fresh P-256 key and a self-signed certificate for "localhost", also written to ca_file. */
static int make_identity(acme_fake_t *f, cp_err_t *err)
{
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    char *pem = NULL;
    const char *names[] = {"localhost"};
    int rc = cp_x509_key_generate(CP_KEY_EC_P256, &key, err);
    if (rc == 0)
        rc = cp_x509_self_signed(key, names, 1, 1, &cert, err);
    if (rc == 0)
        rc = cp_x509_cert_to_pem(cert, &pem, err);
    if (rc == 0) {
        FILE *fp = fopen(f->ca_file, "w");
        rc = fp != NULL && fputs(pem, fp) >= 0 ? 0 : CP_EIO;
        if (fp != NULL && fclose(fp) != 0)
            rc = CP_EIO;
    }
    f->ssl = SSL_CTX_new(TLS_server_method());
    if (rc == 0 && (f->ssl == NULL || SSL_CTX_use_certificate(f->ssl, cert) != 1 ||
                    SSL_CTX_use_PrivateKey(f->ssl, key) != 1))
        rc = cp_err_set(err, CP_ECRYPTO, "fake ACME: SSL_CTX setup failed");
    free(pem);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

int acme_fake_start(acme_fake_t **out)
{
    cp_err_t err = {0};
    acme_fake_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        abort();
    pthread_mutex_init(&f->mu, NULL);
    f->lfd = -1;
    /* A client that hangs up mid-answer (body over its cap) must not kill the test with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    int rc = cp_test_tmpdir("acme-fake-", f->dir, sizeof(f->dir));
    if (rc != 0)
        goto fail;
    snprintf(f->ca_file, sizeof(f->ca_file), "%s/ca.pem", f->dir);
    rc = make_identity(f, &err);
    if (rc != 0)
        goto fail;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(f->lfd, 16) != 0 || getsockname(f->lfd, (struct sockaddr *)&sa, &sl) != 0) {
        rc = cp_err_set(&err, CP_EIO, "fake ACME: listen: %s", strerror(errno));
        goto fail;
    }
    f->port = ntohs(sa.sin_port);
    snprintf(f->base, sizeof(f->base), "https://localhost:%d", f->port);
    if (pthread_create(&f->thread, NULL, run, f) != 0) {
        rc = cp_err_set(&err, CP_EIO, "fake ACME: pthread_create failed");
        goto fail;
    }
    *out = f;
    return 0;
fail:
    fprintf(stderr, "acme_fake_start: %s\n", err.msg);
    if (f->lfd >= 0)
        close(f->lfd);
    SSL_CTX_free(f->ssl);
    if (f->dir[0])
        cp_test_rmrf(f->dir);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return rc;
}

void acme_fake_stop(acme_fake_t *f)
{
    if (f == NULL)
        return;
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->lfd);
    acme_fake_reset(f);
    SSL_CTX_free(f->ssl);
    cp_test_rmrf(f->dir);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
