/* SPDX-License-Identifier: Apache-2.0 */
/* server.c - the edge's event loops: listeners, handlers, and the RCU grace period of table swaps
 */
#include "edge/server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shared/log.h"
#include "shared/mem.h"

enum { L_HTTPS, L_HTTP, L_ADMIN, N_LISTENERS };

/* Listening sockets of one loop: every --listen address (HTTPS), then HTTP and admin. */
enum { N_SOCKETS = EDGE_CONFIG_LISTEN_MAX + 2 };

/* Giving the heap back after connection bursts: the TLS state and socket buffers of a burst of
 * connections are freed into glibc's per-thread arenas, which keep the pages (measured: 3 x 1,000
 * slowloris TLS connections, all closed, left the edge at 68 MB from 17 MB; malloc_trim gave back
 * all but 2 MB). Loop 0 checks every TRIM_CHECK_MS: when the open connections fell by TRIM_DROP or
 * more below their high-water mark since the last trim, it trims (a few ms for such a heap). */
enum { TRIM_CHECK_MS = 1000, TRIM_DROP = 128 };

typedef struct worker worker_t;

/* One retired table version waiting for every loop to pass a grace period. */
typedef struct retire {
    struct retire *next, *prev; /* in the server's pending list */
    edge_certmap_t *old;
    int pending; /* loops that have not seen their message yet */
    struct retire_msg {
        h2o_multithread_message_t super;
        struct retire *r; /* NULL: a wake-up */
    } msgs[];
} retire_t;

struct worker {
    edge_server_t *srv;
    pthread_t tid;
    int started;
    int ready; /* its loop, context and message receiver exist (set on the loop's own thread) */
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept[N_LISTENERS];
    int fds[N_SOCKETS];
    int kinds[N_SOCKETS]; /* L_HTTPS, L_HTTP or L_ADMIN */
    h2o_socket_t *sockets[N_SOCKETS];
    h2o_multithread_receiver_t recv;
    struct retire_msg wake;
    h2o_timeout_t trim_timeout; /* loop 0 only */
    h2o_timeout_entry_t trim_entry;
    edge_park_t *park;                  /* on-demand TLS (--on-demand), else NULL */
    h2o_multithread_receiver_t od_recv; /* on-demand answers arrived: look at held handshakes */
};

struct edge_server {
    h2o_globalconf_t conf;
    edge_server__app_t app;
    edge_server__hosts_t hosts;
    int n_workers;
    worker_t *workers;
    atomic_int stopping;
    atomic_int conns_high; /* most connections open at once since the last heap trim */
    int running;
    pthread_mutex_t lock; /* guards the pending list, `running` and the workers' `ready` */
    pthread_cond_t ready_cv;
    retire_t pending; /* list head */
};

static void retire_unlink_free(edge_server_t *s, retire_t *r)
{
    pthread_mutex_lock(&s->lock);
    r->prev->next = r->next;
    r->next->prev = r->prev;
    pthread_mutex_unlock(&s->lock);
    edge_certmap_release(r->old);
    free(r);
}

static void on_messages(h2o_multithread_receiver_t *recv, h2o_linklist_t *msgs)
{
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, recv, recv);
    while (!h2o_linklist_is_empty(msgs)) {
        struct retire_msg *m = H2O_STRUCT_FROM_MEMBER(struct retire_msg, super.link, msgs->next);
        h2o_linklist_unlink(&m->super.link);
        if (m->r != NULL && __atomic_sub_fetch(&m->r->pending, 1, __ATOMIC_ACQ_REL) == 0)
            retire_unlink_free(w->srv, m->r);
    }
    if (w->park != NULL) /* a swap may have brought a held handshake's certificate */
        edge_park_recheck(w->park);
}

static void on_od_messages(h2o_multithread_receiver_t *recv, h2o_linklist_t *msgs)
{
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, od_recv, recv);
    while (!h2o_linklist_is_empty(msgs)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, msgs->next);
        h2o_linklist_unlink(&m->link);
        free(m);
    }
    edge_park_recheck(w->park);
}

void edge_server_ondemand_wake(void *arg)
{
    edge_server_t *s = arg;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; s->running && i < s->n_workers; i++) {
        h2o_multithread_message_t *m = cp_xcalloc(1, sizeof *m);
        h2o_multithread_send_message(&s->workers[i].od_recv, m);
    }
    pthread_mutex_unlock(&s->lock);
}

void edge_server_set_ondemand(edge_server_t *s, edge_ondemand_t *od)
{
    s->app.ondemand = od;
}

void edge_server_retire(edge_server_t *s, edge_certmap_t *old)
{
    pthread_mutex_lock(&s->lock);
    if (!s->running) {
        pthread_mutex_unlock(&s->lock);
        edge_certmap_release(old);
        return;
    }
    retire_t *r = cp_xcalloc(1, sizeof *r + (size_t)s->n_workers * sizeof r->msgs[0]);
    r->old = old;
    r->pending = s->n_workers;
    r->next = s->pending.next;
    r->prev = &s->pending;
    s->pending.next->prev = r;
    s->pending.next = r;
    for (int i = 0; i < s->n_workers; i++) {
        r->msgs[i].r = r;
        h2o_multithread_send_message(&s->workers[i].recv, &r->msgs[i].super);
    }
    pthread_mutex_unlock(&s->lock);
}

/* Splits "host:port" / "[v6]:port" / ":port" and binds a listening SO_REUSEPORT socket. */
static int bind_listener(const char *addr, int *fd_out, int *port_out, cp_err_t *err)
{
    char host[256] = "", port[16];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || strlen(colon + 1) >= sizeof port || (size_t)(colon - addr) >= sizeof host)
        return cp_err_set(err, CP_EINVAL, "listen address %s: expected host:port", addr);
    const char *h = addr;
    size_t hlen = (size_t)(colon - addr);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']')
        h++, hlen -= 2;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    strcpy(port, colon + 1);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai = NULL;
    if (getaddrinfo(hlen > 0 ? host : NULL, port, &hints, &ai) != 0 || ai == NULL)
        return cp_err_set(err, CP_EINVAL, "listen address %s: cannot resolve", addr);
    int one = 1, rc = 0;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        rc = cp_err_set(err, CP_EIO, "listen %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    if (rc == 0)
        *port_out = atoi(port);
    freeaddrinfo(ai);
    *fd_out = fd;
    return rc;
}

static void on_socket_close(void *data)
{
    edge_server_t *s = data;
    atomic_fetch_sub_explicit(&s->app.metrics->connections, 1, memory_order_relaxed);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL)
        return;
    h2o_accept_ctx_t *actx = listener->data;
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, ctx, actx->ctx);
    edge_server_t *s = w->srv;
    edge_metrics_t *m = s->app.metrics;
    int max = s->app.cfg->max_connections;
    /* The cap: a client beyond it sees its connection closed before any byte (no TLS handshake);
     * the admin listener stays reachable for probes and /metrics. */
    if (max > 0 && actx != &w->accept[L_ADMIN] && atomic_load(&m->connections) >= max) {
        atomic_fetch_add_explicit(&m->connections_rejected, 1, memory_order_relaxed);
        h2o_socket_close(sock);
        return;
    }
    int open = atomic_fetch_add_explicit(&m->connections, 1, memory_order_relaxed) + 1;
    int high = atomic_load_explicit(&s->conns_high, memory_order_relaxed);
    while (open > high && !atomic_compare_exchange_weak(&s->conns_high, &high, open))
        ;
    sock->on_close.cb = on_socket_close;
    sock->on_close.data = s;
    if (w->park != NULL && actx == &w->accept[L_HTTPS])
        edge_park_accept(w->park, actx, sock); /* peeks at the ClientHello first */
    else
        h2o_accept(actx, sock);
}

/* Loop 0's periodic check (see TRIM_DROP). */
static void on_trim_check(h2o_timeout_entry_t *entry)
{
    worker_t *w = H2O_STRUCT_FROM_MEMBER(worker_t, trim_entry, entry);
    edge_server_t *s = w->srv;
    int open = atomic_load(&s->app.metrics->connections);
    if (atomic_load(&s->conns_high) - open >= TRIM_DROP) {
        malloc_trim(0);
        atomic_store(&s->conns_high, open);
        atomic_fetch_add_explicit(&s->app.metrics->heap_trims, 1, memory_order_relaxed);
    }
    h2o_timeout_link(w->loop, &w->trim_timeout, &w->trim_entry);
}

/* h2o keeps per-thread state (the socket buffer prototype and its recycler are __thread), so a
 * loop, its context and everything they allocate must be created on the thread that runs the loop;
 * made on the main thread and run elsewhere, buffers were recycled across threads (a use-after-free
 * seen under ASan with two loops). */
static void worker_setup(worker_t *w)
{
    w->loop = h2o_evloop_create();
    h2o_context_init(&w->ctx, w->loop, &w->srv->conf);
    h2o_multithread_register_receiver(w->ctx.queue, &w->recv, on_messages);
    if (w->srv->app.ondemand != NULL) {
        w->park =
            edge_park_new(w->loop, w->srv->app.sni, w->srv->app.ondemand, w->srv->app.metrics);
        h2o_multithread_register_receiver(w->ctx.queue, &w->od_recv, on_od_messages);
    }
    if (w == &w->srv->workers[0]) {
        h2o_timeout_init(w->loop, &w->trim_timeout, TRIM_CHECK_MS);
        w->trim_entry.cb = on_trim_check;
        h2o_timeout_link(w->loop, &w->trim_timeout, &w->trim_entry);
    }
    pthread_mutex_lock(&w->srv->lock);
    w->ready = 1;
    pthread_cond_broadcast(&w->srv->ready_cv);
    pthread_mutex_unlock(&w->srv->lock);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    worker_setup(w);
    for (int i = 0; i < N_SOCKETS; i++) {
        if (w->fds[i] < 0)
            continue;
        w->sockets[i] = h2o_evloop_socket_create(w->loop, w->fds[i], H2O_SOCKET_FLAG_DONT_READ);
        w->sockets[i]->data = &w->accept[w->kinds[i]];
        h2o_socket_read_start(w->sockets[i], on_accept);
    }
    while (!atomic_load(&w->srv->stopping))
        h2o_evloop_run(w->loop, INT32_MAX);
    /* Stop accepting; let requests in flight finish for a moment. */
    if (h2o_timeout_is_linked(&w->trim_entry))
        h2o_timeout_unlink(&w->trim_entry);
    for (int i = 0; i < N_SOCKETS; i++)
        if (w->sockets[i] != NULL) {
            h2o_socket_read_stop(w->sockets[i]);
            h2o_socket_close(w->sockets[i]);
            w->sockets[i] = NULL;
            w->fds[i] = -1;
        }
    for (int i = 0; i < 5; i++)
        h2o_evloop_run(w->loop, 100);
    edge_park_free(w->park); /* closes the handshakes still held */
    w->park = NULL;
    return NULL;
}

static int worker_init(edge_server_t *s, worker_t *w, cp_err_t *err)
{
    const edge_config_t *cfg = s->app.cfg;
    h2o_hostconf_t **hosts[N_LISTENERS] = {s->hosts.https, s->hosts.http, s->hosts.admin};
    const char *addrs[N_SOCKETS];
    size_t n = 0;
    for (size_t i = 0; i < cfg->listen.n && n < EDGE_CONFIG_LISTEN_MAX; i++) {
        w->kinds[n] = L_HTTPS;
        addrs[n++] = cfg->listen.v[i];
    }
    w->kinds[n] = L_HTTP;
    addrs[n++] = cfg->http_listen;
    w->kinds[n] = L_ADMIN;
    addrs[n++] = cfg->admin_listen;
    w->srv = s;
    for (int i = 0; i < N_SOCKETS; i++)
        w->fds[i] = -1;
    for (size_t i = 0; i < n; i++) {
        int port = 0;
        if (addrs[i] == NULL || addrs[i][0] == '\0')
            continue;
        int rc = bind_listener(addrs[i], &w->fds[i], &port, err);
        if (rc != 0)
            return rc;
        if (i == 0) /* the first HTTPS address: the port redirects name */
            s->app.https_port = port;
    }
    for (int i = 0; i < N_LISTENERS; i++) {
        w->accept[i].ctx = &w->ctx; /* the context itself is made on the loop's thread */
        w->accept[i].hosts = hosts[i];
        w->accept[i].ssl_ctx = i == L_HTTPS ? s->app.sni->ctx : NULL;
    }
    return 0;
}

/* The local address of a TLS connection for edge/sni.h. h2o reads and writes TLS through its own
 * BIO ("h2o_socket", lib/common/socket.c setup_bio), whose data is the h2o_socket_t and which
 * answers no BIO_C_GET_FD, so SSL_get_fd is -1: ask the socket. */
static int h2o_local_addr(SSL *ssl, struct sockaddr_storage *out)
{
    BIO *b = SSL_get_rbio(ssl);
    const char *kind = b != NULL ? BIO_method_name(b) : NULL;
    if (kind == NULL || strcmp(kind, "h2o_socket") != 0) {
        int fd = SSL_get_fd(ssl);
        socklen_t len = sizeof *out;
        return fd >= 0 && getsockname(fd, (struct sockaddr *)out, &len) == 0 ? 0 : -1;
    }
    h2o_socket_t *sock = BIO_get_data(b);
    return sock != NULL && h2o_socket_getsockname(sock, (struct sockaddr *)out) > 0 ? 0 : -1;
}

int edge_server_new(const edge_config_t *cfg, edge_sni_t *sni, edge_metrics_t *metrics,
                    edge_server_t **out, cp_err_t *err)
{
    edge_server_t *s = cp_xcalloc(1, sizeof *s);
    int rc = 0;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->ready_cv, NULL);
    s->pending.next = s->pending.prev = &s->pending;
    s->app = (edge_server__app_t){cfg, sni, metrics, NULL, 443, NULL};
    h2o_config_init(&s->conf);
    s->conf.server_name = h2o_iovec_init(H2O_STRLIT("certplane-edge"));
    rc = edge_proxy_new(&s->conf, &cfg->routes, cfg->default_upstream,
                        (uint64_t)cfg->upstream_timeout_ms, &s->app.proxy, err);
    if (rc != 0)
        goto out;
    edge_http__register(&s->conf, &s->app, &s->hosts);
    edge_sni_set_local_addr(sni, h2o_local_addr);
    s->workers = cp_xcalloc((size_t)cfg->threads, sizeof *s->workers);
    for (s->n_workers = 0; s->n_workers < cfg->threads; s->n_workers++) {
        rc = worker_init(s, &s->workers[s->n_workers], err);
        if (rc != 0) {
            s->n_workers++; /* so free closes what this one opened */
            goto out;
        }
    }
out:
    if (rc != 0) {
        edge_server_free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

int edge_server_start(edge_server_t *s, cp_err_t *err)
{
    for (int i = 0; i < s->n_workers; i++) {
        worker_t *w = &s->workers[i];
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0)
            return cp_err_set(err, CP_EIO, "cannot start loop thread %d", i);
        w->started = 1;
        char name[16];
        snprintf(name, sizeof name, "edge-loop-%d", i % 1000);
        pthread_setname_np(w->tid, name);
    }
    /* Table swaps message every loop: return only once every receiver is registered. */
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->n_workers; i++)
        while (!s->workers[i].ready)
            pthread_cond_wait(&s->ready_cv, &s->lock);
    s->running = 1;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

void edge_server_stop(edge_server_t *s)
{
    atomic_store(&s->stopping, 1);
    for (int i = 0; i < s->n_workers; i++)
        if (s->workers[i].started)
            h2o_multithread_send_message(&s->workers[i].recv, &s->workers[i].wake.super);
    for (int i = 0; i < s->n_workers; i++)
        if (s->workers[i].started) {
            pthread_join(s->workers[i].tid, NULL);
            s->workers[i].started = 0;
        }
    pthread_mutex_lock(&s->lock);
    s->running = 0;
    pthread_mutex_unlock(&s->lock);
}

void edge_server_free(edge_server_t *s)
{
    if (s == NULL)
        return;
    /* The loops are gone: versions still in their grace period can go now. */
    while (s->pending.next != &s->pending)
        retire_unlink_free(s, s->pending.next);
    for (int i = 0; i < s->n_workers; i++) {
        worker_t *w = &s->workers[i];
        for (int j = 0; j < N_SOCKETS; j++)
            if (w->fds[j] >= 0)
                close(w->fds[j]);
        /* A loop that ran cannot be destroyed in h2o 2.2.5 while connections keep timers on it
         * (h2o_evloop_destroy asserts), so its context and loop end with the process. */
        if (w->loop != NULL)
            h2o_multithread_unregister_receiver(w->ctx.queue, &w->recv);
        if (w->loop != NULL && s->app.ondemand != NULL)
            h2o_multithread_unregister_receiver(w->ctx.queue, &w->od_recv);
    }
    free(s->workers);
    edge_proxy_free(s->app.proxy);
    h2o_config_dispose(&s->conf);
    pthread_cond_destroy(&s->ready_cv);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
