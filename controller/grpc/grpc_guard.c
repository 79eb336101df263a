/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_guard.c - the gRPC listener in front of the gRPC C core: one epoll thread that accepts,
 * terminates TLS, accounts HTTP/2 frame headers and relays plaintext to gRPC over socketpairs */
#include "controller/grpc/grpc_guard.h"
#include "controller/grpc/grpc_guard_tls.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_CAP (64 * 1024) /* per direction: the most one connection buffers here */
#define HANDSHAKE_MS 10000  /* a TLS handshake not done by then is dropped */
#define LINGER_MS 1000      /* after a GOAWAY: drain the abuser's bytes this long, then close */
#define EV_LISTEN 0u
#define EV_WAKE 1u
#define SIDE_INNER 1u

typedef struct buf {
    size_t start, end;
    uint8_t data[BUF_CAP];
} buf_t;

typedef struct conn {
    struct conn *prev, *next;
    int cfd, ifd;         /* client socket; our end of the socketpair (-1 before the hand-off) */
    ctl_gtls_conn_t *tls; /* NULL for plaintext */
    bool handed_off, client_eof, inner_eof, inner_shut, lingering, dead;
    bool goaway_pending; /* abusive, but gRPC's last frame was partly sent: GOAWAY after it */
    int64_t deadline_ms; /* handshake or linger deadline; 0: none */
    uint32_t cev, iev;   /* events registered for cfd, ifd */
    int grpc_fd;         /* gRPC's end, for the peer table */
    ctl_h2_acct_t acct;
    char peer[64];
    buf_t c2s, s2c;
} conn_t;

typedef struct peer_slot {
    char peer[64];
} peer_slot_t;

struct ctl_grpc_guard {
    ctl_grpc_guard_opts_t o;
    ctl_gtls_ctx_t *tls;
    int lfd, efd, wfd;
    pthread_t thread;
    atomic_bool stop;
    conn_t *conns;
    conn_t *dead; /* closed during this batch of events; freed after it */
    pthread_mutex_t peers_mu;
    peer_slot_t *peers; /* indexed by gRPC's fd */
    size_t n_peers;
    atomic_ulong abusive;
    int64_t accept_paused_until; /* out of descriptors: the listener rests until then (0: not) */
    int n_conns;                 /* open client connections */
    unsigned long rejected;      /* connections closed at accept by max_connections */
};

static size_t buf_len(const buf_t *b)
{
    return b->end - b->start;
}
static size_t buf_space(buf_t *b)
{
    if (b->start == b->end)
        b->start = b->end = 0;
    if (b->start > 0 && b->end == BUF_CAP) {
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
    }
    return BUF_CAP - b->end;
}

/* ---- the peer table ---- */

static void peer_set(ctl_grpc_guard_t *g, int fd, const char *peer)
{
    pthread_mutex_lock(&g->peers_mu);
    if ((size_t)fd >= g->n_peers) {
        size_t n = (size_t)fd * 2 + 16;
        g->peers = cp_xrealloc(g->peers, n * sizeof *g->peers);
        memset(g->peers + g->n_peers, 0, (n - g->n_peers) * sizeof *g->peers);
        g->n_peers = n;
    }
    snprintf(g->peers[fd].peer, sizeof g->peers[fd].peer, "%s", peer);
    pthread_mutex_unlock(&g->peers_mu);
}

void ctl_grpc_guard_peer(ctl_grpc_guard_t *g, const char *grpc_peer, char *out, size_t size)
{
    snprintf(out, size, "%s", grpc_peer != NULL ? grpc_peer : "");
    if (g == NULL || grpc_peer == NULL || strncmp(grpc_peer, "fd:", 3) != 0)
        return;
    char *end = NULL;
    long fd = strtol(grpc_peer + 3, &end, 10);
    pthread_mutex_lock(&g->peers_mu);
    if (end != grpc_peer + 3 && fd >= 0 && (size_t)fd < g->n_peers && g->peers[fd].peer[0])
        snprintf(out, size, "%s", g->peers[fd].peer);
    pthread_mutex_unlock(&g->peers_mu);
}

unsigned long ctl_grpc_guard_closed_abusive(ctl_grpc_guard_t *g)
{
    return atomic_load(&g->abusive);
}

/* ---- connections ---- */

static void watch(ctl_grpc_guard_t *g, int fd, uint32_t *cur, uint32_t want, uint64_t tag)
{
    if (fd < 0 || *cur == want)
        return;
    struct epoll_event ev = {.events = want, .data.u64 = tag};
    epoll_ctl(g->efd, EPOLL_CTL_MOD, fd, &ev);
    *cur = want;
}

static void conn_close(ctl_grpc_guard_t *g, conn_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        g->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (c->handed_off)
        peer_set(g, c->grpc_fd, "");
    ctl_gtls_conn_free(c->tls);
    g->n_conns--;
    close(c->cfd);
    if (c->ifd >= 0)
        close(c->ifd); /* gRPC reads EOF and drops its transport */
    c->dead = true;
    c->next = g->dead;
    g->dead = c;
}

static void free_dead(ctl_grpc_guard_t *g)
{
    while (g->dead != NULL) {
        conn_t *c = g->dead;
        g->dead = c->next;
        free(c);
    }
}

/* Creates the socketpair and gives one end to gRPC. */
static int hand_off(ctl_grpc_guard_t *g, conn_t *c)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    c->ifd = sv[0];
    c->grpc_fd = sv[1];
    c->handed_off = true;
    c->iev = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uintptr_t)c | SIDE_INNER};
    epoll_ctl(g->efd, EPOLL_CTL_ADD, c->ifd, &ev);
    peer_set(g, sv[1], c->peer);
    g->o.hand_off(g->o.user, sv[1]);
    return 0;
}

/* Puts GOAWAY(ENHANCE_YOUR_CALM) after the last complete frame gRPC wrote (what follows it is
 * dropped). False while part of gRPC's current frame already went to the client: a GOAWAY there
 * would land inside a frame, so the caller waits for the frame's end. */
static bool goaway_try(conn_t *c)
{
    size_t partial = c->acct.out.partial;
    if (partial > buf_len(&c->s2c) || BUF_CAP - (c->s2c.end - partial) < 17)
        return false;
    c->s2c.end -= partial;
    ctl_h2_goaway(c->s2c.data + c->s2c.end, c->acct.last_client_sid, CTL_H2_ENHANCE_YOUR_CALM);
    c->s2c.end += 17;
    return true;
}

static void inner_drop(ctl_grpc_guard_t *g, conn_t *c)
{
    if (c->ifd >= 0) {
        epoll_ctl(g->efd, EPOLL_CTL_DEL, c->ifd, NULL);
        close(c->ifd);
        c->ifd = -1;
    }
    c->inner_eof = true;
}

/* The client passed its reset budget: stop feeding gRPC, send GOAWAY(ENHANCE_YOUR_CALM) after the
 * last complete frame gRPC wrote, and linger a moment reading (and dropping) what still comes. When
 * gRPC's current frame is partly sent, its rest is still read and forwarded, then the GOAWAY. */
static void conn_abuse(ctl_grpc_guard_t *g, conn_t *c)
{
    atomic_fetch_add(&g->abusive, 1);
    char n[3][24];
    snprintf(n[0], sizeof n[0], "%llu", (unsigned long long)c->acct.opened);
    snprintf(n[1], sizeof n[1], "%llu", (unsigned long long)c->acct.resets);
    snprintf(n[2], sizeof n[2], "%llu", (unsigned long long)c->acct.completed);
    const char *kv[] = {"peer", c->peer, "streams", n[0], "resets", n[1], "completed", n[2], NULL};
    CP_LOGKV(CP_LOG_WARN, "grpc", kv,
             "closing a connection that resets or opens streams beyond its budget (rapid reset)");
    c->c2s.start = c->c2s.end = 0;
    if (goaway_try(c))
        inner_drop(g, c);
    else
        c->goaway_pending = true;
    c->lingering = true;
    c->deadline_ms = cp_clock_mono_ms() + LINGER_MS;
}

/* What one pass of conn_pump learnt: a socket that gave less than asked (or EAGAIN) is empty, one
 * that took less than offered is full; neither is tried again in this pass (epoll is level
 * triggered and reports them again), which saves a failing syscall per event. */
typedef struct pass {
    bool moved, client_empty, inner_empty, inner_full, client_full;
} pass_t;

static int client_read(ctl_grpc_guard_t *g, conn_t *c, pass_t *ps)
{
    if (c->client_eof || ps->client_empty || buf_space(&c->c2s) == 0)
        return 0;
    uint8_t *p = c->c2s.data + c->c2s.end;
    size_t want = BUF_CAP - c->c2s.end;
    ssize_t n = ctl_gtls_conn_read(c->tls, c->cfd, p, want);
    /* TLS hands out one record at a time: only EAGAIN says it is empty. */
    ps->client_empty = n == -EAGAIN || (c->tls == NULL && n > 0 && (size_t)n < want);
    if (n > 0 && c->lingering) {
        ps->client_empty = true; /* dropped, once per pass: an abuser must not hold the loop */
    } else if (n > 0) {
        ps->moved = true;
        if (ctl_h2_acct_client(&c->acct, p, (size_t)n, cp_clock_mono_ms(), &g->o.limits))
            conn_abuse(g, c);
        else
            c->c2s.end += (size_t)n;
    } else if (n == 0) {
        c->client_eof = true;
    } else if (n != -EAGAIN) {
        return -1;
    }
    return 0;
}

static int inner_write(conn_t *c, pass_t *ps)
{
    if (c->ifd < 0 || ps->inner_full || buf_len(&c->c2s) == 0)
        return 0;
    size_t want = buf_len(&c->c2s);
    ssize_t n = write(c->ifd, c->c2s.data + c->c2s.start, want);
    if (n < 0 && errno != EAGAIN)
        return -1;
    ps->inner_full = n < (ssize_t)want;
    if (n > 0) {
        c->c2s.start += (size_t)n;
        ps->moved = true;
    }
    return 0;
}

static void inner_read(ctl_grpc_guard_t *g, conn_t *c, pass_t *ps)
{
    if (c->ifd < 0 || c->inner_eof || ps->inner_empty || buf_space(&c->s2c) == 0)
        return;
    uint8_t *p = c->s2c.data + c->s2c.end;
    size_t want = BUF_CAP - c->s2c.end;
    ssize_t n = read(c->ifd, p, want);
    if (n > 0) {
        ctl_h2_acct_server(&c->acct, p, (size_t)n);
        c->s2c.end += (size_t)n;
        ps->moved = true;
        ps->inner_empty = (size_t)n < want;
        if (c->goaway_pending && goaway_try(c)) {
            c->goaway_pending = false;
            inner_drop(g, c);
        }
    } else if (n == 0 || errno != EAGAIN) {
        c->inner_eof = true;
    } else {
        ps->inner_empty = true;
    }
}

static int client_write(conn_t *c, pass_t *ps)
{
    if (ps->client_full || buf_len(&c->s2c) == 0)
        return 0;
    size_t want = buf_len(&c->s2c);
    ssize_t n = ctl_gtls_conn_write(c->tls, c->cfd, c->s2c.data + c->s2c.start, want);
    if (n < 0 && n != -EAGAIN)
        return -1;
    ps->client_full = n < (ssize_t)want;
    if (n > 0) {
        c->s2c.start += (size_t)n;
        ps->moved = true;
    }
    return 0;
}

/* Registers the events the connection now waits for. */
static void update_interest(ctl_grpc_guard_t *g, conn_t *c)
{
    uint32_t cw = 0, iw = 0;
    if ((!c->client_eof && buf_space(&c->c2s) > 0) || ctl_gtls_conn_wants(c->tls, EPOLLIN))
        cw |= EPOLLIN;
    if (buf_len(&c->s2c) > 0 || ctl_gtls_conn_wants(c->tls, EPOLLOUT))
        cw |= EPOLLOUT;
    if (!c->inner_eof && buf_space(&c->s2c) > 0)
        iw |= EPOLLIN;
    if (buf_len(&c->c2s) > 0)
        iw |= EPOLLOUT;
    watch(g, c->cfd, &c->cev, cw, (uintptr_t)c);
    watch(g, c->ifd, &c->iev, iw, (uintptr_t)c | SIDE_INNER);
}

/* Moves bytes between the client and gRPC until nothing moves. Returns -1 when the connection is
 * over. */
static int conn_pump(ctl_grpc_guard_t *g, conn_t *c)
{
    pass_t ps = {.moved = true};
    while (ps.moved) {
        ps.moved = false;
        if (c->tls != NULL && !ctl_gtls_conn_ready(c->tls)) {
            int r = ctl_gtls_conn_handshake(c->tls);
            if (r < 0)
                return -1;
            if (r == 0)
                break;
            c->deadline_ms = 0;
            if (hand_off(g, c) != 0)
                return -1;
        }
        if (client_read(g, c, &ps) != 0 || inner_write(c, &ps) != 0)
            return -1;
        inner_read(g, c, &ps);
        if (client_write(c, &ps) != 0)
            return -1;
    }
    if (c->client_eof && buf_len(&c->c2s) == 0 && c->ifd >= 0 && !c->inner_shut) {
        shutdown(c->ifd, SHUT_WR);
        c->inner_shut = true;
    }
    if (c->inner_eof && buf_len(&c->s2c) == 0 && (!c->lingering || c->client_eof))
        return -1;
    if (c->lingering && c->inner_eof && buf_len(&c->s2c) == 0)
        shutdown(c->cfd, SHUT_WR);
    update_interest(g, c);
    return 0;
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        snprintf(out, size, "ipv4:%s:%u", host, ntohs(a->sin_port));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        snprintf(out, size, "ipv6:[%s]:%u", host, ntohs(a->sin6_port));
    }
}

static void accept_all(ctl_grpc_guard_t *g)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(g->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
            /* The listener stays readable: rest it for a moment instead of spinning. */
            struct epoll_event ev = {.events = 0, .data.u64 = EV_LISTEN};
            epoll_ctl(g->efd, EPOLL_CTL_MOD, g->lfd, &ev);
            g->accept_paused_until = cp_clock_mono_ms() + 100;
            CP_LOG(CP_LOG_WARN, "grpc", "accept: %s; not accepting for 100 ms", strerror(errno));
        }
        if (fd < 0)
            return;
        if (g->o.max_connections > 0 && g->n_conns >= g->o.max_connections) {
            /* Closed before a byte or a TLS handshake: each open connection costs buffers here and
             * a transport in gRPC, so their number is what bounds an unauthenticated client. */
            close(fd);
            if (g->rejected++ % 1000 == 0)
                CP_LOG(CP_LOG_WARN, "grpc",
                       "%d connections open (--grpc-max-connections): "
                       "closing new ones (%lu so far)",
                       g->n_conns, g->rejected);
            continue;
        }
        g->n_conns++;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn_t *c = cp_xcalloc(1, sizeof *c);
        c->cfd = fd;
        c->ifd = -1;
        c->grpc_fd = -1;
        format_peer(&ss, c->peer, sizeof c->peer);
        ctl_h2_acct_init(&c->acct, cp_clock_mono_ms());
        c->next = g->conns;
        if (g->conns != NULL)
            g->conns->prev = c;
        g->conns = c;
        c->cev = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uintptr_t)c};
        epoll_ctl(g->efd, EPOLL_CTL_ADD, fd, &ev);
        int rc = 0;
        if (g->tls != NULL) {
            c->tls = ctl_gtls_conn_new(g->tls, fd);
            c->deadline_ms = cp_clock_mono_ms() + HANDSHAKE_MS;
        } else {
            rc = hand_off(g, c);
        }
        if (rc != 0 || conn_pump(g, c) != 0)
            conn_close(g, c);
    }
}

/* Drops connections past their handshake or linger deadline. */
static void sweep(ctl_grpc_guard_t *g)
{
    int64_t now = cp_clock_mono_ms();
    for (conn_t *c = g->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->deadline_ms != 0 && now >= c->deadline_ms)
            conn_close(g, c);
    }
    free_dead(g);
}

static void *guard_main(void *arg)
{
    ctl_grpc_guard_t *g = arg;
    struct epoll_event evs[64];
    int64_t next_sweep = cp_clock_mono_ms() + 1000;
    while (!atomic_load(&g->stop)) {
        int n = epoll_wait(g->efd, evs, 64, 500);
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == EV_LISTEN) {
                accept_all(g);
            } else if (tag != EV_WAKE) {
                /* A connection closed earlier in this batch stays allocated until its end. */
                conn_t *c = (conn_t *)(uintptr_t)(tag & ~(uint64_t)SIDE_INNER);
                if (!c->dead && conn_pump(g, c) != 0)
                    conn_close(g, c);
            }
        }
        free_dead(g);
        if (g->accept_paused_until != 0 && cp_clock_mono_ms() >= g->accept_paused_until) {
            struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_LISTEN};
            epoll_ctl(g->efd, EPOLL_CTL_MOD, g->lfd, &ev);
            g->accept_paused_until = 0;
        }
        if (cp_clock_mono_ms() >= next_sweep) {
            sweep(g);
            next_sweep = cp_clock_mono_ms() + 1000;
        }
    }
    while (g->conns != NULL)
        conn_close(g, g->conns);
    free_dead(g);
    return NULL;
}

/* ---- lifecycle ---- */

/* Splits "host:port" / "[v6]:port" and binds a listening socket. */
static int bind_listen(const char *listen_addr, int *port, cp_err_t *err)
{
    char host[256];
    const char *colon = strrchr(listen_addr, ':');
    if (colon == NULL || (size_t)(colon - listen_addr) >= sizeof host)
        return cp_err_set(err, CP_EINVAL, "gRPC: bad listen address %s", listen_addr);
    const char *h = listen_addr;
    size_t hl = (size_t)(colon - listen_addr);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(hl > 0 ? host : NULL, colon + 1, &hints, &ai) != 0 || ai == NULL)
        return cp_err_set(err, CP_EINVAL, "gRPC: bad listen address %s", listen_addr);
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return cp_err_set(err, CP_EIO, "gRPC: cannot listen on %s", listen_addr);
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

int ctl_grpc_guard_start(const ctl_grpc_guard_opts_t *o, ctl_grpc_guard_t **out, int *port,
                         cp_err_t *err)
{
    ctl_grpc_guard_t *g = cp_xcalloc(1, sizeof *g);
    g->o = *o;
    if (g->o.limits.max_resets == 0)
        g->o.limits.max_resets = 100;
    if (g->o.limits.window_ms <= 0)
        g->o.limits.window_ms = 10000;
    if (g->o.limits.max_open == 0)
        g->o.limits.max_open = 1000;
    g->lfd = g->efd = g->wfd = -1;
    pthread_mutex_init(&g->peers_mu, NULL);
    int rc = 0;
    if (o->tls_cert_pem != NULL)
        rc = ctl_gtls_ctx_new(o->tls_cert_pem, o->tls_key_pem, o->client_ca_pem, &g->tls, err);
    if (rc == 0 && (rc = bind_listen(o->listen, port, err)) >= 0) {
        g->lfd = rc;
        rc = 0;
    }
    if (rc != 0) {
        ctl_grpc_guard_stop(g);
        return rc;
    }
    g->efd = epoll_create1(EPOLL_CLOEXEC);
    g->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_LISTEN};
    epoll_ctl(g->efd, EPOLL_CTL_ADD, g->lfd, &ev);
    ev.data.u64 = EV_WAKE;
    epoll_ctl(g->efd, EPOLL_CTL_ADD, g->wfd, &ev);
    pthread_create(&g->thread, NULL, guard_main, g);
    pthread_setname_np(g->thread, "grpc-guard");
    *out = g;
    return 0;
}

void ctl_grpc_guard_stop(ctl_grpc_guard_t *g)
{
    if (g == NULL)
        return;
    if (g->wfd >= 0) {
        atomic_store(&g->stop, true);
        uint64_t one = 1;
        if (write(g->wfd, &one, sizeof one) < 0) { /* the loop also wakes every 500 ms */
        }
        pthread_join(g->thread, NULL);
        close(g->wfd);
    }
    if (g->efd >= 0)
        close(g->efd);
    if (g->lfd >= 0)
        close(g->lfd);
    ctl_gtls_ctx_free(g->tls);
    pthread_mutex_destroy(&g->peers_mu);
    free(g->peers);
    free(g);
}
