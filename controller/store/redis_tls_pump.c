/* SPDX-License-Identifier: Apache-2.0 */
/* redis_tls_pump.c - the epoll thread that relays plaintext between TLS connections to Redis and
 * hiredis' socketpairs */
#include "controller/store/redis_tls_pump.h"
#include "shared/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_CAP (16 * 1024) /* per direction: one TLS record */
#define SIDE_LOCAL 1u       /* tag in the low bit of the epoll data: the socketpair end */

typedef struct buf {
    size_t start, end;
    unsigned char data[BUF_CAP];
} buf_t;

typedef struct conn {
    struct conn *prev, *next;
    SSL *ssl;
    int tls_fd, local_fd;
    bool tls_eof, local_eof;
    buf_t to_local, to_tls;
} conn_t;

struct ctl_redis_tls_pump {
    int epfd, wakefd;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu;
    conn_t *incoming; /* handed over, not yet registered (under mu) */
    conn_t *conns;    /* relayed (pump thread only) */
    conn_t *dead;     /* closed during this batch of events; freed after it */
};

static void list_push(conn_t **head, conn_t *c)
{
    c->prev = NULL;
    c->next = *head;
    if (*head != NULL)
        (*head)->prev = c;
    *head = c;
}

static void list_unlink(conn_t **head, conn_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void conn_free(conn_t *c)
{
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl); /* one non-blocking try: a close_notify if the socket takes it */
        SSL_free(c->ssl);
    }
    if (c->tls_fd >= 0)
        close(c->tls_fd);
    if (c->local_fd >= 0)
        close(c->local_fd);
    OPENSSL_cleanse(c->to_local.data, sizeof c->to_local.data);
    OPENSSL_cleanse(c->to_tls.data, sizeof c->to_tls.data);
    free(c);
}

/* Closes both sides now (epoll forgets the descriptors); the memory waits for the end of the batch,
 * since a later event of the same batch may still name this connection. */
static void conn_close(ctl_redis_tls_pump_t *p, conn_t *c)
{
    list_unlink(&p->conns, c);
    if (c->ssl != NULL) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->tls_fd);
    close(c->local_fd);
    c->tls_fd = c->local_fd = -1;
    list_push(&p->dead, c);
}

static void buf_compact(buf_t *b)
{
    if (b->start == b->end)
        b->start = b->end = 0;
    else if (b->start > 0 && b->end == BUF_CAP) {
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
    }
}

/* Reads Redis' plaintext into to_local and writes it to hiredis' end. Returns -1 when the
 * connection must close, else whether anything moved. */
static int tls_to_local(conn_t *c)
{
    bool moved = false;
    buf_t *b = &c->to_local;
    while (!c->tls_eof && (buf_compact(b), b->end < BUF_CAP)) {
        size_t got = 0;
        ERR_clear_error();
        if (SSL_read_ex(c->ssl, b->data + b->end, BUF_CAP - b->end, &got) == 1) {
            b->end += got;
            moved = true;
            continue;
        }
        int e = SSL_get_error(c->ssl, 0);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        c->tls_eof = true; /* close_notify, a reset or a TLS error: Redis is gone either way */
    }
    while (b->start < b->end) {
        ssize_t n = send(c->local_fd, b->data + b->start, b->end - b->start, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1; /* hiredis closed its end */
        b->start += (size_t)n;
        moved = true;
    }
    if (c->tls_eof && b->start == b->end)
        return -1;
    return moved;
}

/* Reads hiredis' commands into to_tls and writes them over TLS. Same results as tls_to_local. A
 * write that wants to be repeated is repeated with the same start and at least the same length,
 * as SSL_write_ex asks (the buffer only grows at its end meanwhile). */
static int local_to_tls(conn_t *c)
{
    bool moved = false;
    buf_t *b = &c->to_tls;
    while (!c->local_eof && (buf_compact(b), b->end < BUF_CAP)) {
        ssize_t n = recv(c->local_fd, b->data + b->end, BUF_CAP - b->end, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            c->local_eof = true; /* hiredis freed its context (or its end failed) */
        else {
            b->end += (size_t)n;
            moved = true;
        }
    }
    while (b->start < b->end) {
        size_t put = 0;
        ERR_clear_error();
        if (SSL_write_ex(c->ssl, b->data + b->start, b->end - b->start, &put) == 1) {
            b->start += put;
            moved = true;
            continue;
        }
        int e = SSL_get_error(c->ssl, 0);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        return -1;
    }
    if (c->local_eof && b->start == b->end)
        return -1;
    return moved;
}

/* Moves bytes until nothing moves: every stall is then an EAGAIN, which edge-triggered epoll
 * reports again when it clears. */
static void conn_pump(ctl_redis_tls_pump_t *p, conn_t *c)
{
    for (;;) {
        int a = tls_to_local(c);
        int b = a < 0 ? -1 : local_to_tls(c);
        if (a < 0 || b < 0) {
            conn_close(p, c);
            return;
        }
        if (a == 0 && b == 0)
            return;
    }
}

static void take_incoming(ctl_redis_tls_pump_t *p)
{
    uint64_t v;
    while (read(p->wakefd, &v, sizeof v) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&p->mu);
    conn_t *list = p->incoming;
    p->incoming = NULL;
    pthread_mutex_unlock(&p->mu);
    while (list != NULL) {
        conn_t *c = list;
        list = c->next;
        list_push(&p->conns, c);
        struct epoll_event t = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                .data.u64 = (uint64_t)(uintptr_t)c};
        struct epoll_event l = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                .data.u64 = (uint64_t)(uintptr_t)c | SIDE_LOCAL};
        if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, c->tls_fd, &t) != 0 ||
            epoll_ctl(p->epfd, EPOLL_CTL_ADD, c->local_fd, &l) != 0) {
            conn_close(p, c);
            continue;
        }
        conn_pump(p, c); /* the handshake may have left Redis' first bytes inside SSL */
    }
}

static void *pump_main(void *arg)
{
    ctl_redis_tls_pump_t *p = arg;
    struct epoll_event ev[64];
    while (!atomic_load(&p->stop)) {
        int n = epoll_wait(p->epfd, ev, 64, -1);
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == 0) {
                take_incoming(p);
                continue;
            }
            conn_t *c = (conn_t *)(uintptr_t)(ev[i].data.u64 & ~(uint64_t)SIDE_LOCAL);
            if (c->tls_fd >= 0) /* else closed earlier in this batch */
                conn_pump(p, c);
        }
        while (p->dead != NULL) {
            conn_t *c = p->dead;
            list_unlink(&p->dead, c);
            conn_free(c);
        }
    }
    return NULL;
}

static int start_thread(ctl_redis_tls_pump_t *p)
{
    /* Every signal blocked from the thread's first instruction: SIGTERM and SIGHUP stay with the
     * threads that wait for them, and a SIGPIPE from a write to a reset socket stays pending here,
     * unhandled and harmless. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->thread, NULL, pump_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        pthread_setname_np(p->thread, "cp-redis-tls");
    return rc;
}

int ctl_redis_tls_pump_new(ctl_redis_tls_pump_t **out, cp_err_t *err)
{
    *out = NULL;
    ctl_redis_tls_pump_t *p = cp_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event w = {.events = EPOLLIN, .data.u64 = 0};
    if (p->epfd < 0 || p->wakefd < 0 || epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wakefd, &w) != 0 ||
        start_thread(p) != 0) {
        int rc = cp_err_set(err, CP_EIO, "redis TLS: cannot start the relay thread: %s",
                            strerror(errno));
        if (p->epfd >= 0)
            close(p->epfd);
        if (p->wakefd >= 0)
            close(p->wakefd);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static void wake(ctl_redis_tls_pump_t *p)
{
    uint64_t one = 1;
    while (write(p->wakefd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

void ctl_redis_tls_pump_free(ctl_redis_tls_pump_t *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stop, true);
    wake(p);
    pthread_join(p->thread, NULL);
    while (p->conns != NULL)
        conn_close(p, p->conns);
    while (p->incoming != NULL) {
        conn_t *c = p->incoming;
        list_unlink(&p->incoming, c);
        conn_free(c);
    }
    while (p->dead != NULL) {
        conn_t *c = p->dead;
        list_unlink(&p->dead, c);
        conn_free(c);
    }
    close(p->epfd);
    close(p->wakefd);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int ctl_redis_tls_pump_add(ctl_redis_tls_pump_t *p, SSL *ssl, int tls_fd, int *fd, cp_err_t *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return cp_err_set(err, CP_EIO, "redis TLS: socketpair: %s", strerror(errno));
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    /* A relay writes what the socket takes and repeats the rest from a buffer that may move. */
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    conn_t *c = cp_xcalloc(1, sizeof *c);
    c->ssl = ssl;
    c->tls_fd = tls_fd;
    c->local_fd = sv[0];
    pthread_mutex_lock(&p->mu);
    list_push(&p->incoming, c);
    pthread_mutex_unlock(&p->mu);
    wake(p);
    *fd = sv[1];
    return 0;
}
