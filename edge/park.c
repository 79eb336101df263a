/* SPDX-License-Identifier: Apache-2.0 */
/* park.c - peeking at ClientHellos and holding handshakes of unknown names (park.h) */
#include "edge/park.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "edge/clienthello.h"
#include "shared/clock.h"
#include "shared/mem.h"

enum { PEEK_MS = 5000, POLL_MS = 20, USED_SLOTS = 256, USED_EVERY_MS = 60000 };

typedef struct conn {
    edge_park_t *p;
    h2o_accept_ctx_t *actx;
    h2o_socket_t *sock;
    h2o_timeout_entry_t timer;
    h2o_linklist_t link; /* in p->parked while held */
    int64_t peek_deadline_ms;
    char name[EDGE_CLIENTHELLO_NAME_BUF];
} conn_t;

struct edge_park {
    h2o_loop_t *loop;
    edge_sni_t *sni;
    edge_ondemand_t *od;
    edge_metrics_t *m;
    h2o_timeout_t peek_timeout, poll_timeout, wait_timeout;
    h2o_linklist_t parked;
    /* certificates reported used lately: a handshake notes its certificate at most once a minute */
    const edge_cert_t *used_cert[USED_SLOTS];
    int64_t used_ms[USED_SLOTS];
    uint8_t buf[EDGE_CLIENTHELLO_MAX];
};

edge_park_t *edge_park_new(h2o_loop_t *loop, edge_sni_t *sni, edge_ondemand_t *od,
                           edge_metrics_t *m)
{
    edge_park_t *p = cp_xcalloc(1, sizeof *p);
    p->loop = loop;
    p->sni = sni;
    p->od = od;
    p->m = m;
    h2o_timeout_init(loop, &p->peek_timeout, PEEK_MS);
    h2o_timeout_init(loop, &p->poll_timeout, POLL_MS);
    h2o_timeout_init(loop, &p->wait_timeout, (uint64_t)edge_ondemand_wait_ms(od));
    h2o_linklist_init_anchor(&p->parked);
    return p;
}

/* Forgets c: its timer, its place, its memory; the socket is the caller's again. */
static h2o_socket_t *release(conn_t *c)
{
    h2o_socket_t *sock = c->sock;
    if (h2o_timeout_is_linked(&c->timer))
        h2o_timeout_unlink(&c->timer);
    if (h2o_linklist_is_linked(&c->link)) {
        h2o_linklist_unlink(&c->link);
        edge_ondemand_park_release(c->p->od);
    }
    h2o_socket_read_stop(sock);
    h2o_socket_dont_read(sock, 0);
    sock->data = NULL;
    free(c);
    return sock;
}

/* Hands the connection to h2o: its TLS handshake starts with the bytes peeked at. */
static void go_on(conn_t *c)
{
    h2o_accept_ctx_t *actx = c->actx;
    h2o_accept(actx, release(c));
}

static void drop(conn_t *c)
{
    h2o_socket_close(release(c));
}

static void on_wait_timeout(h2o_timeout_entry_t *entry)
{
    conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, timer, entry);
    atomic_fetch_add_explicit(&c->p->m->od_resumed_fallback, 1, memory_order_relaxed);
    go_on(c);
}

/* An eligible name the table does not serve: wait, or go on. */
static void decide_unknown(conn_t *c)
{
    edge_park_t *p = c->p;
    if (edge_ondemand_check(p->od, c->name) == EDGE_ONDEMAND_FALLBACK) {
        atomic_fetch_add_explicit(&p->m->od_fallback_refused, 1, memory_order_relaxed);
        go_on(c);
        return;
    }
    if (!edge_ondemand_park_take(p->od)) {
        atomic_fetch_add_explicit(&p->m->od_park_full, 1, memory_order_relaxed);
        go_on(c);
        return;
    }
    h2o_socket_read_stop(c->sock);
    h2o_linklist_insert(&p->parked, &c->link);
    c->timer.cb = on_wait_timeout;
    h2o_timeout_link(p->loop, &p->wait_timeout, &c->timer);
}

/* For the controller's last-use record of on-demand certificates (--on-demand-unused-after). */
static void note_used(edge_park_t *p, const edge_cert_t *cert)
{
    size_t slot = ((uintptr_t)cert >> 4) % USED_SLOTS;
    int64_t now = cp_clock_mono_ms();
    if (p->used_cert[slot] == cert && now - p->used_ms[slot] < USED_EVERY_MS)
        return;
    p->used_cert[slot] = cert;
    p->used_ms[slot] = now;
    edge_ondemand_used(p->od, cert->name);
}

/* Looks at what arrived: true when c was decided (and may be gone), false to look again later. */
static bool peek(conn_t *c)
{
    edge_park_t *p = c->p;
    ssize_t n = recv(h2o_socket_get_fd(c->sock), p->buf, sizeof p->buf, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        drop(c);
        return true;
    }
    if (n < 0)
        return false;
    edge_clienthello_t ch;
    edge_clienthello_rc_t rc = edge_clienthello_parse(p->buf, (size_t)n, &ch);
    if (rc == EDGE_CLIENTHELLO_MORE && (size_t)n < sizeof p->buf)
        return false;
    if (rc != EDGE_CLIENTHELLO_DONE || !ch.eligible || ch.acme_alpn) {
        go_on(c);
        return true;
    }
    edge_match_t how = EDGE_MATCH_FALLBACK;
    const edge_cert_t *cert = edge_certmap_get0(edge_sni_current0(p->sni), ch.name, &how);
    if (how != EDGE_MATCH_FALLBACK) {
        note_used(p, cert);
        go_on(c); /* the common case: a name the edge serves */
        return true;
    }
    memcpy(c->name, ch.name, sizeof c->name);
    decide_unknown(c);
    return true;
}

static void on_peek_timeout(h2o_timeout_entry_t *entry);

/* Not decided yet: poll again shortly, unless the first record took too long. */
static void later(conn_t *c)
{
    if (cp_clock_mono_ms() >= c->peek_deadline_ms) {
        go_on(c);
        return;
    }
    h2o_socket_read_stop(c->sock);
    c->timer.cb = on_peek_timeout;
    h2o_timeout_link(c->p->loop, &c->p->poll_timeout, &c->timer);
}

static void on_peek_timeout(h2o_timeout_entry_t *entry)
{
    conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, timer, entry);
    if (!peek(c))
        later(c);
}

static void on_readable(h2o_socket_t *sock, const char *err)
{
    conn_t *c = sock->data;
    if (err != NULL) {
        drop(c);
        return;
    }
    if (h2o_timeout_is_linked(&c->timer))
        h2o_timeout_unlink(&c->timer);
    if (!peek(c))
        later(c);
}

static void on_first_timeout(h2o_timeout_entry_t *entry)
{
    go_on(H2O_STRUCT_FROM_MEMBER(conn_t, timer, entry));
}

void edge_park_accept(edge_park_t *p, h2o_accept_ctx_t *actx, h2o_socket_t *sock)
{
    conn_t *c = cp_xcalloc(1, sizeof *c);
    c->p = p;
    c->actx = actx;
    c->sock = sock;
    c->peek_deadline_ms = cp_clock_mono_ms() + PEEK_MS;
    sock->data = c;
    h2o_socket_dont_read(sock, 1);
    if (peek(c)) /* the ClientHello is often there already */
        return;
    c->timer.cb = on_first_timeout;
    h2o_timeout_link(p->loop, &p->peek_timeout, &c->timer);
    h2o_socket_read_start(sock, on_readable);
}

void edge_park_recheck(edge_park_t *p)
{
    if (h2o_linklist_is_empty(&p->parked))
        return;
    edge_certmap_t *map = edge_sni_current0(p->sni);
    h2o_linklist_t *it = p->parked.next;
    while (it != &p->parked) {
        conn_t *c = H2O_STRUCT_FROM_MEMBER(conn_t, link, it);
        it = it->next;
        edge_match_t how = EDGE_MATCH_FALLBACK;
        edge_certmap_get0(map, c->name, &how);
        if (how != EDGE_MATCH_FALLBACK) {
            atomic_fetch_add_explicit(&p->m->od_resumed_cert, 1, memory_order_relaxed);
            note_used(p, edge_certmap_get0(map, c->name, NULL));
            go_on(c);
        } else if (!edge_ondemand_waiting(p->od, c->name)) {
            atomic_fetch_add_explicit(&p->m->od_resumed_fallback, 1, memory_order_relaxed);
            go_on(c);
        }
    }
}

void edge_park_free(edge_park_t *p)
{
    if (p == NULL)
        return;
    while (!h2o_linklist_is_empty(&p->parked))
        drop(H2O_STRUCT_FROM_MEMBER(conn_t, link, p->parked.next));
    free(p);
}
