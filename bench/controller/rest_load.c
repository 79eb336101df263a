/* SPDX-License-Identifier: Apache-2.0 */
/* rest_load.c - bounded HTTP/1.1 keep-alive load (raw sockets, epoll): GET /v1/certificates/{name}.
 *
 * T threads, each with C connections to 127.0.0.1:PORT, one request in flight per connection (no
 * pipelining). Stops after --requests requests (all threads together) or --seconds seconds,
 * whichever comes first, after an uncounted --warmup. Responses are framed by Content-Length or
 * chunked encoding; a "Connection: close" answer reconnects. With --pid the server's CPU time
 * (user+sys from /proc/<pid>/stat) is sampled around the measured phase. One JSON line on stdout.
 *
 *   rest_load --port 8080 --token TOK --path /v1/certificates/web [--threads 2] [--concurrency 32]
 *             [--requests 200000] [--seconds 10] [--warmup 2000] [--pid N]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_MAX (1 << 20)

typedef struct {
    int fd;
    size_t woff; /* bytes of the request written */
    char *buf;   /* response bytes read */
    size_t len;
    int64_t t0_ns;
    int measured; /* 1 measured, 0 warm-up, -1 idle */
} conn_t;

typedef struct {
    int ep;
    conn_t *conns;
    uint32_t *lat_us;
    size_t n_lat, cap_lat;
    uint64_t ok, errors, bytes, reconnects, status_counts[6];
} worker_t;

static int g_port = 8080, g_threads = 2, g_conc = 32, g_pid = 0;
static const char *g_token = "", *g_path = "/v1/certificates/bench";
static long g_requests = 200000, g_warmup = 2000;
static double g_seconds = 10;
static char g_req[1024];
static size_t g_req_len;

static atomic_long g_claimed;
static atomic_int g_phase; /* 0 warm-up, 1 measured, 2 stop */
static int64_t g_deadline_ns;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double proc_cpu_s(int pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    unsigned long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int claim(void)
{
    int ph = atomic_load(&g_phase);
    if (ph == 2)
        return -1;
    if (ph == 1 && now_ns() >= g_deadline_ns) {
        atomic_store(&g_phase, 2);
        return -1;
    }
    long k = atomic_fetch_add(&g_claimed, 1);
    if (k < g_warmup)
        return 0;
    if (k >= g_warmup + g_requests)
        return -1;
    while (atomic_load(&g_phase) == 0)
        usleep(50);
    return 1;
}

static int dial(worker_t *w, conn_t *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    return epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void hangup(worker_t *w, conn_t *c)
{
    if (c->fd >= 0) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
}

static void want(worker_t *w, conn_t *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what is left of the request; 0 done, 1 again later, -1 broken. */
static int flush_req(conn_t *c)
{
    while (c->woff < g_req_len) {
        ssize_t n = write(c->fd, g_req + c->woff, g_req_len - c->woff);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 1 : -1;
        c->woff += (size_t)n;
    }
    return 0;
}

/* Complete response length in c->buf, 0 when more is needed, -1 malformed. *status, *close_after.
 */
static long framed(const conn_t *c, int *status, int *close_after)
{
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (end == NULL)
        return c->len > 65536 ? -1 : 0;
    size_t hlen = (size_t)(end - c->buf) + 4;
    if (c->len < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0)
        return -1;
    *status = atoi(c->buf + 9);
    long clen = -1;
    int chunked = 0;
    *close_after = 0;
    for (char *p = memchr(c->buf, '\n', hlen); p != NULL && p + 1 < c->buf + hlen;
         p = memchr(p + 1, '\n', (size_t)(c->buf + hlen - (p + 1)))) {
        char *l = p + 1;
        if (strncasecmp(l, "content-length:", 15) == 0)
            clen = atol(l + 15);
        else if (strncasecmp(l, "transfer-encoding:", 18) == 0 &&
                 strncasecmp(l + 18, " chunked", 8) == 0)
            chunked = 1;
        else if (strncasecmp(l, "connection:", 11) == 0 && strncasecmp(l + 11, " close", 6) == 0)
            *close_after = 1;
    }
    if (!chunked) {
        if (clen < 0)
            return -1;
        return c->len >= hlen + (size_t)clen ? (long)(hlen + (size_t)clen) : 0;
    }
    size_t off = hlen;
    for (;;) {
        char *crlf = memmem(c->buf + off, c->len - off, "\r\n", 2);
        if (crlf == NULL)
            return 0;
        long sz = strtol(c->buf + off, NULL, 16);
        off = (size_t)(crlf - c->buf) + 2;
        if (sz == 0) { /* no trailers expected */
            return c->len >= off + 2 ? (long)(off + 2) : 0;
        }
        if (c->len < off + (size_t)sz + 2)
            return 0;
        off += (size_t)sz + 2;
    }
}

static void send_next(worker_t *w, conn_t *c, int measured)
{
    c->measured = measured;
    c->woff = 0;
    c->len = 0;
    c->t0_ns = now_ns();
    if (c->fd < 0) {
        w->reconnects++;
        if (dial(w, c) != 0) {
            fprintf(stderr, "rest_load: connect: %s\n", strerror(errno));
            exit(2);
        }
        return; /* EPOLLOUT writes the request */
    }
    int r = flush_req(c);
    if (r < 0) {
        hangup(w, c);
        send_next(w, c, measured);
    } else
        want(w, c, r ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* Finishes one exchange; returns 1 when the connection goes on with another request. */
static int done(worker_t *w, conn_t *c, int ok, int status, long bytes)
{
    int64_t lat = now_ns() - c->t0_ns;
    if (c->measured == 1) {
        if (ok && status == 200) {
            w->ok++;
            w->bytes += (uint64_t)bytes;
        } else {
            w->errors++;
            if (w->errors <= 3)
                fprintf(stderr, "rest_load: request failed: HTTP %d\n", status);
        }
        w->status_counts[status >= 100 && status < 600 ? status / 100 : 0]++;
        if (w->n_lat < w->cap_lat)
            w->lat_us[w->n_lat++] = (uint32_t)(lat / 1000);
    }
    int m = claim();
    if (m < 0) {
        c->measured = -1;
        hangup(w, c);
        return 0;
    }
    send_next(w, c, m);
    return 1;
}

static void *run(void *arg)
{
    worker_t *w = arg;
    int active = 0;
    for (int i = 0; i < g_conc; i++) {
        conn_t *c = &w->conns[i];
        c->fd = -1;
        c->buf = malloc(BUF_MAX);
        int m = claim();
        if (m < 0) {
            c->measured = -1;
            continue;
        }
        send_next(w, c, m);
        w->reconnects--; /* the first connection is not a reconnect */
        active++;
    }
    struct epoll_event evs[64];
    while (active > 0) {
        int n = epoll_wait(w->ep, evs, 64, 30000);
        if (n == 0) {
            fprintf(stderr, "rest_load: no progress for 30 s\n");
            exit(2);
        }
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->fd < 0 || c->measured < 0)
                continue;
            if (evs[i].events & EPOLLOUT) {
                int r = flush_req(c);
                if (r == 0)
                    want(w, c, EPOLLIN);
                else if (r < 0) {
                    hangup(w, c);
                    active -= !done(w, c, 0, 0, 0);
                    continue;
                }
            }
            if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            for (;;) {
                ssize_t r = read(c->fd, c->buf + c->len, BUF_MAX - c->len);
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    break;
                if (r <= 0) { /* closed or broken before a complete response */
                    hangup(w, c);
                    active -= !done(w, c, 0, 0, 0);
                    break;
                }
                c->len += (size_t)r;
                int status = 0, close_after = 0;
                long fl = framed(c, &status, &close_after);
                if (fl == 0)
                    continue;
                if (fl < 0 || (size_t)fl != c->len) { /* malformed, or bytes after the response */
                    hangup(w, c);
                    active -= !done(w, c, 0, status, 0);
                    break;
                }
                if (close_after)
                    hangup(w, c);
                active -= !done(w, c, 1, status, fl);
                break;
            }
        }
    }
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: rest_load --port PORT --token TOK --path /v1/certificates/NAME [--threads N] "
            "[--concurrency N per thread] [--requests N] [--seconds S] [--warmup N] [--pid PID]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (!strcmp(a, "--port"))
            g_port = atoi(v);
        else if (!strcmp(a, "--token"))
            g_token = v;
        else if (!strcmp(a, "--path"))
            g_path = v;
        else if (!strcmp(a, "--threads"))
            g_threads = atoi(v);
        else if (!strcmp(a, "--concurrency"))
            g_conc = atoi(v);
        else if (!strcmp(a, "--requests"))
            g_requests = atol(v);
        else if (!strcmp(a, "--seconds"))
            g_seconds = atof(v);
        else if (!strcmp(a, "--warmup"))
            g_warmup = atol(v);
        else if (!strcmp(a, "--pid"))
            g_pid = atoi(v);
        else
            usage();
        i++;
    }
    if (g_threads < 1 || g_conc < 1 || g_requests < 1 || g_seconds <= 0 || g_port <= 0)
        usage();
    int n = snprintf(g_req, sizeof g_req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                     "Accept: application/json\r\n\r\n",
                     g_path, g_port, g_token);
    if (n <= 0 || (size_t)n >= sizeof g_req)
        usage();
    g_req_len = (size_t)n;

    worker_t *ws = calloc((size_t)g_threads, sizeof *ws);
    pthread_t *th = calloc((size_t)g_threads, sizeof *th);
    for (int i = 0; i < g_threads; i++) {
        ws[i].ep = epoll_create1(EPOLL_CLOEXEC);
        ws[i].conns = calloc((size_t)g_conc, sizeof(conn_t));
        ws[i].cap_lat = g_requests > 4000000 ? 4000000 : (size_t)g_requests;
        ws[i].lat_us = malloc(ws[i].cap_lat * sizeof(uint32_t));
    }
    atomic_store(&g_phase, g_warmup > 0 ? 0 : 1);
    g_deadline_ns = now_ns() + (int64_t)(g_seconds * 1e9) + (int64_t)30e9;
    for (int i = 0; i < g_threads; i++)
        pthread_create(&th[i], NULL, run, &ws[i]);
    int64_t warm_deadline = now_ns() + (int64_t)30e9;
    while (g_warmup > 0 && atomic_load(&g_claimed) < g_warmup && now_ns() < warm_deadline)
        usleep(200);
    double srv0 = g_pid ? proc_cpu_s(g_pid) : -1, cli0 = self_cpu_s();
    int64_t t0 = now_ns();
    g_deadline_ns = t0 + (int64_t)(g_seconds * 1e9);
    atomic_store(&g_phase, 1);
    for (int i = 0; i < g_threads; i++)
        pthread_join(th[i], NULL);
    int64_t t1 = now_ns();
    double srv1 = g_pid ? proc_cpu_s(g_pid) : -1, cli1 = self_cpu_s();

    uint64_t ok = 0, errors = 0, bytes = 0, reconnects = 0;
    size_t nl = 0;
    for (int i = 0; i < g_threads; i++) {
        ok += ws[i].ok;
        errors += ws[i].errors;
        bytes += ws[i].bytes;
        reconnects += ws[i].reconnects;
        nl += ws[i].n_lat;
    }
    uint32_t *all = malloc((nl ? nl : 1) * sizeof(uint32_t));
    size_t k = 0;
    for (int i = 0; i < g_threads; i++) {
        memcpy(all + k, ws[i].lat_us, ws[i].n_lat * sizeof(uint32_t));
        k += ws[i].n_lat;
    }
    qsort(all, nl, sizeof(uint32_t), cmp_u32);
    double secs = (double)(t1 - t0) / 1e9, reqs = (double)(ok + errors);
#define PCT(p) (nl ? all[(size_t)((double)(nl - 1) * (p))] : 0)
    double srv = (g_pid && srv0 >= 0 && srv1 >= 0) ? srv1 - srv0 : -1;
    printf(
        "{\"transport\":\"rest\",\"threads\":%d,\"concurrency\":%d,\"calls\":%.0f,\"ok\":%" PRIu64
        ",\"errors\":%" PRIu64 ",\"reconnects\":%" PRIu64 ",\"seconds\":%.3f,\"rps\":%.1f,"
        "\"resp_bytes_avg\":%.0f,\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"max_us\":%u,"
        "\"server_cpu_s\":%.2f,\"server_cpu_us_per_call\":%.1f,\"client_cpu_s\":%.2f}\n",
        g_threads, g_conc * g_threads, reqs, ok, errors, reconnects, secs, reqs / secs,
        ok ? (double)bytes / (double)ok : 0.0, PCT(0.50), PCT(0.90), PCT(0.99),
        nl ? all[nl - 1] : 0, srv, srv >= 0 && reqs > 0 ? srv * 1e6 / reqs : -1.0, cli1 - cli0);
    return errors > 0 && ok == 0 ? 1 : 0;
}
