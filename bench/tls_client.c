/* SPDX-License-Identifier: Apache-2.0 */
/* tls_client.c - TLS load client that never resumes a session: full handshakes and keep-alive */

/*
 * Modes:
 *   handshake (default): every connection is new (new SSL, no session set, tickets refused, no
 *       client session cache), does one full handshake and one HTTP/1.1 GET with
 *       "Connection: close", and reads until the server closes.
 *   --keepalive: -c persistent connections send -n requests in total, one at a time each.
 *   --probe MS: one connection at a time until a handshake (and, with --check-cn, the right
 *       certificate) succeeds or MS pass; prints the CLOCK_REALTIME of success, for "time until
 *       ready" measured from a server's start.
 * Each of -t threads runs its own epoll loop over its share of -c connections. Every run is
 * bounded by -n (count) and -d (seconds). One JSON object goes to stdout, a summary to stderr.
 * A resumed handshake (which cannot happen, since no session is ever offered) counts as an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define RESP_BUF 4096
#define CONN_TIMEOUT_NS (10LL * 1000000000LL)

typedef struct bench_opts {
    const char *host, *sni, *sni_file, *path, *host_header;
    int port, threads, conc, keepalive, tls12, check_cn, sequential, probe_ms, alive_pid, status;
    long long n;
    double duration;
} bench_opts_t;

enum conn_state { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_WRITE, ST_READ };

typedef struct bench_conn {
    int fd;
    SSL *ssl;
    enum conn_state state;
    long long t_start, t_req; /* ns: connection start, current request start */
    size_t have, hdr_end;
    long long clen, body;
    int got_resp;
    const char *sni;
    char buf[RESP_BUF];
} bench_conn_t;

typedef struct bench_stats {
    long long ok, err_connect, err_tls, err_http, err_timeout, resumed, cn_mismatch;
    long long t_last;
    uint32_t *lat; /* microseconds per completed item */
    size_t nlat, caplat;
} bench_stats_t;

typedef struct bench_thread {
    pthread_t tid;
    int id, nconns;
    uint64_t rng;
    bench_stats_t st;
} bench_thread_t;

static bench_opts_t opt = {.host = "127.0.0.1",
                           .path = "/",
                           .threads = 2,
                           .conc = 64,
                           .n = 10000,
                           .duration = 10,
                           .status = 200};
static SSL_CTX *g_ctx;
static struct sockaddr_in g_addr;
static char **g_names;
static size_t g_nnames;
static atomic_llong g_budget, g_seq;
static long long g_t0, g_deadline;
static char g_req[512];
static size_t g_reqlen;

static long long now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        fprintf(stderr, "tls_client: out of memory\n");
        abort();
    }
    return p;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void stats_lat(bench_stats_t *st, long long ns)
{
    if (st->nlat == st->caplat) {
        st->caplat = st->caplat ? st->caplat * 2 : 4096;
        st->lat = xrealloc(st->lat, st->caplat * sizeof *st->lat);
    }
    long long us = ns / 1000;
    st->lat[st->nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Takes one unit (a connection, or a request in keep-alive mode) from the shared budget. */
static int budget_take(void)
{
    if (now_ns(CLOCK_MONOTONIC) >= g_deadline)
        return 0;
    return atomic_fetch_sub(&g_budget, 1) > 0;
}

static const char *pick_sni(bench_thread_t *th)
{
    if (g_nnames == 0)
        return opt.sni;
    if (opt.sequential)
        return g_names[(size_t)atomic_fetch_add(&g_seq, 1) % g_nnames];
    return g_names[rng_next(&th->rng) % g_nnames];
}

static void conn_close(bench_conn_t *c)
{
    if (c->ssl != NULL)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
    c->state = ST_IDLE;
}

/* Opens a non-blocking TCP connection and an SSL that has never seen a session. */
static int conn_open(bench_thread_t *th, bench_conn_t *c, int ep)
{
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->t_start = c->t_req = now_ns(CLOCK_MONOTONIC);
    c->have = c->hdr_end = 0;
    c->clen = -1;
    c->body = 0;
    c->got_resp = 0;
    c->sni = pick_sni(th);
    c->ssl = SSL_new(g_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return -1;
    if (c->sni != NULL)
        SSL_set_tlsext_host_name(c->ssl, c->sni);
    SSL_set_connect_state(c->ssl);
    c->state = ST_CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0 && errno != EINPROGRESS)
        return -1;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void want(bench_conn_t *c, int ep, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Parses the header once it is complete: remembers where it ends and the Content-Length. */
static int parse_head(bench_conn_t *c)
{
    c->buf[c->have < RESP_BUF ? c->have : RESP_BUF - 1] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL)
        return c->have >= RESP_BUF - 1 ? -1 : 0;
    if (strncmp(c->buf, "HTTP/1.", 7) != 0 || atoi(c->buf + 9) != opt.status)
        return -1;
    c->hdr_end = (size_t)(end - c->buf) + 4;
    const char *cl = strcasestr(c->buf, "\r\ncontent-length:");
    c->clen = cl != NULL && cl < end ? atoll(cl + 17) : -1;
    c->body = (long long)(c->have - c->hdr_end);
    return 1;
}

/* 1 once a whole response is in, 0 to read more, -1 on a malformed response. */
static int take_bytes(bench_conn_t *c, size_t n)
{
    if (c->hdr_end != 0) {
        c->body += (long long)n;
    } else {
        c->have += n;
        int rc = parse_head(c);
        if (rc <= 0)
            return rc;
    }
    if (c->clen < 0)
        return opt.keepalive ? -1 : 0; /* without a length only the close ends the body */
    return c->body >= c->clen;
}

/* A completed item: one connection (handshake mode) or one request (keep-alive mode). */
static void item_done(bench_thread_t *th, long long t0)
{
    long long t = now_ns(CLOCK_MONOTONIC);
    th->st.ok++;
    th->st.t_last = t;
    stats_lat(&th->st, t - t0);
}

static int check_handshake(bench_thread_t *th, bench_conn_t *c)
{
    if (SSL_session_reused(c->ssl)) {
        th->st.resumed++;
        return -1;
    }
    if (opt.check_cn && c->sni != NULL) {
        X509 *leaf = SSL_get0_peer_certificate(c->ssl);
        if (leaf == NULL || X509_check_host(leaf, c->sni, 0, 0, NULL) != 1) {
            th->st.cn_mismatch++;
            return -1;
        }
    }
    return 0;
}

/* Maps an SSL result to "wait for this event" (>0) or failure (-1). */
static int ssl_wait(bench_conn_t *c, int ep, int r)
{
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        want(c, ep, EPOLLIN);
        return 1;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        want(c, ep, EPOLLOUT);
        return 1;
    }
    return -1;
}

/* Reads in ST_READ: 1 wait, 0 item finished (state changed), -1 error. */
static int step_read(bench_thread_t *th, bench_conn_t *c, int ep)
{
    char sink[RESP_BUF];
    char *dst = c->hdr_end == 0 ? c->buf + c->have : sink;
    int cap = c->hdr_end == 0 ? (int)(RESP_BUF - 1 - c->have) : (int)sizeof sink;
    int r = SSL_read(c->ssl, dst, cap);
    if (r <= 0) {
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return ssl_wait(c, ep, r);
        /* The server closed: the end of a Connection: close exchange, or a failure. */
        if (opt.keepalive || !(c->got_resp || (c->hdr_end != 0 && c->clen < 0)))
            return th->st.err_http++, -1;
        item_done(th, c->t_start);
        conn_close(c);
        return 0;
    }
    int done = take_bytes(c, (size_t)r);
    if (done < 0)
        return th->st.err_http++, -1;
    if (done == 0)
        return 2; /* keep reading what OpenSSL may already hold */
    if (!opt.keepalive) {
        c->got_resp = 1;
        return 2;
    }
    item_done(th, c->t_req);
    if (!budget_take()) {
        conn_close(c);
        return 0;
    }
    c->have = c->hdr_end = 0;
    c->clen = -1;
    c->body = 0;
    c->t_req = now_ns(CLOCK_MONOTONIC);
    c->state = ST_WRITE;
    return 2;
}

/* Advances one connection as far as it goes without blocking. */
static void conn_step(bench_thread_t *th, bench_conn_t *c, int ep)
{
    for (;;) {
        int r, rc;
        switch (c->state) {
        case ST_IDLE:
            return;
        case ST_CONNECTING: {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
            if (soerr != 0) {
                th->st.err_connect++;
                goto fail;
            }
            c->state = ST_HANDSHAKE;
            break;
        }
        case ST_HANDSHAKE:
            r = SSL_do_handshake(c->ssl);
            if (r == 1) {
                if (check_handshake(th, c) != 0)
                    goto fail;
                c->state = ST_WRITE;
                break;
            }
            if (ssl_wait(c, ep, r) > 0)
                return;
            th->st.err_tls++;
            goto fail;
        case ST_WRITE:
            r = SSL_write(c->ssl, g_req, (int)g_reqlen);
            if (r == (int)g_reqlen) {
                c->state = ST_READ;
                break;
            }
            if (r <= 0 && ssl_wait(c, ep, r) > 0)
                return;
            th->st.err_http++;
            goto fail;
        case ST_READ:
            rc = step_read(th, c, ep);
            if (rc < 0)
                goto fail;
            if (rc != 2)
                return;
            break;
        }
    }
fail:
    conn_close(c);
}

static void fill_slots(bench_thread_t *th, bench_conn_t *conns, int ep)
{
    for (int i = 0; i < th->nconns; i++) {
        bench_conn_t *c = &conns[i];
        if (c->state != ST_IDLE || !budget_take())
            continue;
        if (conn_open(th, c, ep) != 0) {
            th->st.err_connect++;
            conn_close(c);
            continue;
        }
        conn_step(th, c, ep);
    }
}

/* Counts in-flight connections and fails those older than CONN_TIMEOUT_NS. */
static int reap(bench_thread_t *th, bench_conn_t *conns)
{
    long long t = now_ns(CLOCK_MONOTONIC);
    int busy = 0;
    for (int i = 0; i < th->nconns; i++) {
        if (conns[i].state == ST_IDLE)
            continue;
        if (t - conns[i].t_req > CONN_TIMEOUT_NS) {
            th->st.err_timeout++;
            conn_close(&conns[i]);
            continue;
        }
        busy++;
    }
    return busy;
}

static void *thread_main(void *arg)
{
    bench_thread_t *th = arg;
    bench_conn_t *conns = xrealloc(NULL, (size_t)th->nconns * sizeof *conns);
    struct epoll_event evs[256];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < th->nconns; i++) {
        conns[i].fd = -1;
        conns[i].ssl = NULL;
        conns[i].state = ST_IDLE;
    }
    for (;;) {
        fill_slots(th, conns, ep);
        if (reap(th, conns) == 0 &&
            (atomic_load(&g_budget) <= 0 || now_ns(CLOCK_MONOTONIC) >= g_deadline))
            break;
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; i++)
            conn_step(th, evs[i].data.ptr, ep);
        /* In keep-alive mode a connection may go idle only when the budget is spent. */
    }
    close(ep);
    free(conns);
    return NULL;
}

static int load_names(const char *file)
{
    FILE *f = fopen(file, "r");
    char line[512];
    size_t cap = 0;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n \t")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (g_nnames == cap) {
            cap = cap ? cap * 2 : 1024;
            g_names = xrealloc(g_names, cap * sizeof *g_names);
        }
        g_names[g_nnames++] = strdup(line);
    }
    fclose(f);
    return g_nnames > 0 ? 0 : -1;
}

/* A client context that can never resume: no session cache, no tickets, no sessions offered. */
static SSL_CTX *make_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_min_proto_version(ctx, opt.tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, opt.tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    return ctx;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t pct(const uint32_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

static void merge(bench_thread_t *ths, bench_stats_t *all)
{
    memset(all, 0, sizeof *all);
    for (int i = 0; i < opt.threads; i++) {
        bench_stats_t *s = &ths[i].st;
        all->ok += s->ok;
        all->err_connect += s->err_connect;
        all->err_tls += s->err_tls;
        all->err_http += s->err_http;
        all->err_timeout += s->err_timeout;
        all->resumed += s->resumed;
        all->cn_mismatch += s->cn_mismatch;
        if (s->t_last > all->t_last)
            all->t_last = s->t_last;
        all->lat = xrealloc(all->lat, (all->nlat + s->nlat + 1) * sizeof *all->lat);
        memcpy(all->lat + all->nlat, s->lat, s->nlat * sizeof *s->lat);
        all->nlat += s->nlat;
        free(s->lat);
    }
    qsort(all->lat, all->nlat, sizeof *all->lat, cmp_u32);
}

static void report(bench_stats_t *all, double wall)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    double sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    double elapsed = all->t_last > g_t0 ? (double)(all->t_last - g_t0) / 1e9 : wall;
    long long errors = all->err_connect + all->err_tls + all->err_http + all->err_timeout +
                       all->resumed + all->cn_mismatch;
    double rate = elapsed > 0 ? (double)all->ok / elapsed : 0;
    printf("{\"mode\":\"%s\",\"tls\":\"%s\",\"threads\":%d,\"concurrency\":%d,\"ok\":%lld,"
           "\"errors\":%lld,\"err_connect\":%lld,\"err_tls\":%lld,\"err_http\":%lld,"
           "\"err_timeout\":%lld,\"resumed\":%lld,\"cn_mismatch\":%lld,\"elapsed_s\":%.3f,"
           "\"rate\":%.1f,\"lat_us\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,\"max\":%u},"
           "\"client_cpu_s\":%.3f,\"client_user_s\":%.3f,\"client_sys_s\":%.3f}\n",
           opt.keepalive ? "keepalive" : "handshake", opt.tls12 ? "1.2" : "1.3", opt.threads,
           opt.conc, all->ok, errors, all->err_connect, all->err_tls, all->err_http,
           all->err_timeout, all->resumed, all->cn_mismatch, elapsed, rate,
           pct(all->lat, all->nlat, 0.5), pct(all->lat, all->nlat, 0.9),
           pct(all->lat, all->nlat, 0.99), all->nlat ? all->lat[all->nlat - 1] : 0, user + sys,
           user, sys);
    fprintf(stderr,
            "%s: %lld ok, %lld errors in %.2f s = %.0f/s; p50 %u us, p99 %u us; client CPU %.2f s "
            "(%.0f%% of one core)\n",
            opt.keepalive ? "requests" : "handshakes", all->ok, errors, elapsed, rate,
            pct(all->lat, all->nlat, 0.5), pct(all->lat, all->nlat, 0.99), user + sys,
            elapsed > 0 ? 100 * (user + sys) / elapsed : 0);
}

/* One blocking handshake: 0 when it succeeded (and served the certificate for sni if checked). */
static int probe_once(const char *sni)
{
    struct timeval tv = {.tv_sec = 1};
    int rc = -1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SSL *ssl = NULL;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0)
        goto out;
    ssl = SSL_new(g_ctx);
    SSL_set_fd(ssl, fd);
    if (sni != NULL)
        SSL_set_tlsext_host_name(ssl, sni);
    if (SSL_connect(ssl) != 1)
        goto out;
    if (opt.check_cn && sni != NULL) {
        X509 *leaf = SSL_get0_peer_certificate(ssl);
        if (leaf == NULL || X509_check_host(leaf, sni, 0, 0, NULL) != 1)
            goto out;
    }
    rc = 0;
out:
    SSL_free(ssl);
    close(fd);
    ERR_clear_error();
    return rc;
}

static int probe(void)
{
    const char *sni = g_nnames ? g_names[g_nnames - 1] : opt.sni; /* the last name loaded */
    long long t0 = now_ns(CLOCK_MONOTONIC), limit = t0 + (long long)opt.probe_ms * 1000000;
    struct timespec pause = {.tv_nsec = 2000000};
    for (long long attempts = 1;; attempts++) {
        if (probe_once(sni) == 0) {
            printf("{\"ready_realtime_ns\":%lld,\"attempts\":%lld,\"probe_ms\":%.1f}\n",
                   now_ns(CLOCK_REALTIME), attempts, (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e6);
            return 0;
        }
        if (now_ns(CLOCK_MONOTONIC) >= limit)
            break;
        if (opt.alive_pid > 0 && kill(opt.alive_pid, 0) != 0 && errno == ESRCH) {
            printf("{\"ready_realtime_ns\":0,\"error\":\"process %d exited\"}\n", opt.alive_pid);
            return 1;
        }
        nanosleep(&pause, NULL);
    }
    printf("{\"ready_realtime_ns\":0,\"error\":\"not ready within %d ms\"}\n", opt.probe_ms);
    return 1;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: tls_client -p PORT [options]\n"
        "  -h HOST       IPv4 address (default 127.0.0.1)\n"
        "  -p PORT       port\n"
        "  -n N          connections (handshake mode) or requests (--keepalive); default 10000\n"
        "  -c C          concurrent connections in all (default 64)\n"
        "  -t T          threads (default 2)\n"
        "  -d SECONDS    stop starting new work after this long (default 10)\n"
        "  -s NAME       SNI (fixed); also the Host header\n"
        "  -S FILE       SNI names, one a line, drawn at random per connection\n"
        "  --sequential  take -S names in order instead (each once when -n is their count)\n"
        "  --check-cn    count a certificate that does not cover the SNI as an error\n"
        "  --keepalive   -n requests over -c persistent connections\n"
        "  --tls12       TLS 1.2 instead of 1.3\n"
        "  --path PATH   request path (default /)\n"
        "  --host NAME   Host header (default: the -s name, or localhost)\n"
        "  --status CODE the HTTP status that counts as success (default 200)\n"
        "  --probe MS    retry one handshake (to the last -S name, or -s) until it works\n"
        "  --alive PID   with --probe: give up as soon as process PID has exited\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = 1;
        if (!strcmp(a, "--sequential"))
            opt.sequential = 1, used = 0;
        else if (!strcmp(a, "--check-cn"))
            opt.check_cn = 1, used = 0;
        else if (!strcmp(a, "--keepalive"))
            opt.keepalive = 1, used = 0;
        else if (!strcmp(a, "--tls12"))
            opt.tls12 = 1, used = 0;
        else if (v == NULL)
            usage();
        else if (!strcmp(a, "-h"))
            opt.host = v;
        else if (!strcmp(a, "-p"))
            opt.port = atoi(v);
        else if (!strcmp(a, "-n"))
            opt.n = atoll(v);
        else if (!strcmp(a, "-c"))
            opt.conc = atoi(v);
        else if (!strcmp(a, "-t"))
            opt.threads = atoi(v);
        else if (!strcmp(a, "-d"))
            opt.duration = atof(v);
        else if (!strcmp(a, "-s"))
            opt.sni = v;
        else if (!strcmp(a, "-S"))
            opt.sni_file = v;
        else if (!strcmp(a, "--path"))
            opt.path = v;
        else if (!strcmp(a, "--probe"))
            opt.probe_ms = atoi(v);
        else if (!strcmp(a, "--host"))
            opt.host_header = v;
        else if (!strcmp(a, "--status"))
            opt.status = atoi(v);
        else if (!strcmp(a, "--alive"))
            opt.alive_pid = atoi(v);
        else
            usage();
        i += used;
    }
    if (opt.port <= 0 || opt.n <= 0 || opt.conc <= 0 || opt.threads <= 0 || opt.duration <= 0 ||
        opt.threads > 64 || opt.conc > 100000 || opt.n > 100000000)
        usage();
    if (opt.conc < opt.threads)
        opt.threads = opt.conc;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &g_addr.sin_addr) != 1)
        usage();
    if (opt.sni_file != NULL && load_names(opt.sni_file) != 0) {
        fprintf(stderr, "tls_client: no names in %s\n", opt.sni_file);
        return 2;
    }
    if ((g_ctx = make_ctx()) == NULL)
        return 2;
    if (opt.probe_ms > 0)
        return probe();
    /* The Host header is fixed per run; with -S the SNI varies and servers route on it alone. */
    g_reqlen = (size_t)snprintf(
        g_req, sizeof g_req, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: certplane-bench\r\n%s\r\n",
        opt.path,
        opt.host_header != NULL ? opt.host_header
        : opt.sni != NULL       ? opt.sni
                                : "localhost",
        opt.keepalive ? "" : "Connection: close\r\n");
    atomic_store(&g_budget, opt.n);
    bench_thread_t *ths = calloc((size_t)opt.threads, sizeof *ths);
    g_t0 = now_ns(CLOCK_MONOTONIC);
    g_deadline = g_t0 + (long long)(opt.duration * 1e9);
    for (int i = 0; i < opt.threads; i++) {
        ths[i].id = i;
        ths[i].nconns = opt.conc / opt.threads + (i < opt.conc % opt.threads);
        ths[i].rng =
            0x9E3779B97F4A7C15ULL ^ ((uint64_t)now_ns(CLOCK_REALTIME) + (uint64_t)i * 7919);
        pthread_create(&ths[i].tid, NULL, thread_main, &ths[i]);
    }
    for (int i = 0; i < opt.threads; i++)
        pthread_join(ths[i].tid, NULL);
    bench_stats_t all;
    merge(ths, &all);
    report(&all, (double)(now_ns(CLOCK_MONOTONIC) - g_t0) / 1e9);
    free(all.lat);
    free(ths);
    SSL_CTX_free(g_ctx);
    return all.ok > 0 ? 0 : 1;
}
