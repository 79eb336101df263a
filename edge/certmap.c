/* SPDX-License-Identifier: Apache-2.0 */
/* certmap.c - the edge's certificate table: immutable versions sharing structure, SNI lookup */
#include "edge/certmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/hamt.h"
#include "shared/mem.h"

struct edge_certmap {
    int refs;
    edge_hamt_t by_name;
    edge_hamt_t exact;
    edge_hamt_t wildcard;
    edge_hamt_t by_ip;
    edge_hamt_t challenges;
    edge_hamt_t alpn; /* identifier -> TLS-ALPN-01 validation cert (RFC 8737) */
    edge_tickets_t
        *tickets; /* the fleet's session-ticket keys, NULL until the controller sent them */
    edge_cert_t *fallback;
    int64_t revision;
};

/* A challenge answer: reference-counted so trie leaves of several versions can share it. A
 * TLS-ALPN-01 challenge also names its identifier (stored after the text) and validation cert. */
typedef struct challenge {
    int refs;
    edge_cert_t *alpn;
    const char *ident; /* NULL, or points into text[] after the key authorization */
    char text[];
} challenge_t;

static void cert_retain(void *v)
{
    edge_cert_retain(v);
}

static void cert_release(void *v)
{
    edge_cert_release(v);
}

static void challenge_retain(void *v)
{
    __atomic_fetch_add(&((challenge_t *)v)->refs, 1, __ATOMIC_RELAXED);
}

static void challenge_release(void *v)
{
    challenge_t *c = v;
    if (__atomic_fetch_sub(&c->refs, 1, __ATOMIC_ACQ_REL) == 1) {
        edge_cert_release(c->alpn);
        free(c);
    }
}

static const edge_hamt_ops_t cert_ops = {cert_retain, cert_release};
static const edge_hamt_ops_t challenge_ops = {challenge_retain, challenge_release};

edge_certmap_t *edge_certmap_new(edge_cert_t *fallback)
{
    edge_certmap_t *m = cp_xcalloc(1, sizeof *m);
    m->refs = 1;
    edge_hamt_init(&m->by_name, &cert_ops);
    edge_hamt_init(&m->exact, &cert_ops);
    edge_hamt_init(&m->wildcard, &cert_ops);
    edge_hamt_init(&m->by_ip, &cert_ops);
    edge_hamt_init(&m->challenges, &challenge_ops);
    edge_hamt_init(&m->alpn, &cert_ops);
    m->fallback = edge_cert_retain(fallback);
    return m;
}

edge_certmap_t *edge_certmap_clone(const edge_certmap_t *src, int empty)
{
    edge_certmap_t *m = edge_certmap_new(src->fallback);
    m->revision = src->revision;
    if (!empty) {
        edge_hamt_copy(&m->by_name, &src->by_name);
        edge_hamt_copy(&m->exact, &src->exact);
        edge_hamt_copy(&m->wildcard, &src->wildcard);
        edge_hamt_copy(&m->by_ip, &src->by_ip);
        edge_hamt_copy(&m->challenges, &src->challenges);
        edge_hamt_copy(&m->alpn, &src->alpn);
    }
    m->tickets = edge_tickets_retain(src->tickets); /* kept by a snapshot too */
    return m;
}

edge_certmap_t *edge_certmap_retain(edge_certmap_t *m)
{
    __atomic_fetch_add(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void edge_certmap_release(edge_certmap_t *m)
{
    if (m == NULL || __atomic_fetch_sub(&m->refs, 1, __ATOMIC_ACQ_REL) != 1)
        return;
    edge_hamt_dispose(&m->by_name);
    edge_hamt_dispose(&m->exact);
    edge_hamt_dispose(&m->wildcard);
    edge_hamt_dispose(&m->by_ip);
    edge_hamt_dispose(&m->challenges);
    edge_hamt_dispose(&m->alpn);
    edge_tickets_release(m->tickets);
    edge_cert_release(m->fallback);
    free(m);
}

/* The trie and key a DNS name of a cert lives under: "*.a.b" under wildcard "a.b". */
static edge_hamt_t *index_for(edge_certmap_t *m, const char *dns, const char **key)
{
    if (dns[0] == '*' && dns[1] == '.') {
        *key = dns + 2;
        return &m->wildcard;
    }
    *key = dns;
    return &m->exact;
}

static void unindex(edge_certmap_t *m, const edge_cert_t *old)
{
    for (size_t i = 0; i < old->n_names; i++) {
        const char *key;
        edge_hamt_t *h = index_for(m, old->names[i], &key);
        /* Only the names this cert still serves: another cert may have claimed one since. */
        if (edge_hamt_get(h, key) == old)
            edge_hamt_remove(h, key);
    }
    for (size_t i = 0; i < old->n_ips; i++)
        if (edge_hamt_get(&m->by_ip, old->ips[i]) == old)
            edge_hamt_remove(&m->by_ip, old->ips[i]);
}

void edge_certmap_put(edge_certmap_t *m, edge_cert_t *cert)
{
    edge_cert_t *old = edge_hamt_get(&m->by_name, cert->name);
    if (old != NULL)
        unindex(m, old); /* `old` stays alive: by_name still holds it until the set below */
    for (size_t i = 0; i < cert->n_names; i++) {
        const char *key;
        edge_hamt_t *h = index_for(m, cert->names[i], &key);
        edge_hamt_set(h, key, cert);
    }
    for (size_t i = 0; i < cert->n_ips; i++)
        edge_hamt_set(&m->by_ip, cert->ips[i], cert);
    edge_hamt_set(&m->by_name, cert->name, cert);
}

int edge_certmap_delete(edge_certmap_t *m, const char *name)
{
    edge_cert_t *old = edge_hamt_get(&m->by_name, name);
    if (old == NULL)
        return 0;
    unindex(m, old);
    edge_hamt_remove(&m->by_name, name);
    return 1;
}

static void challenge_put(edge_certmap_t *m, const char *token, const char *key_auth,
                          const char *ident, edge_cert_t *alpn)
{
    edge_certmap_challenge_clear(m, token); /* a replaced ALPN answer leaves its identifier too */
    size_t len = strlen(key_auth), ilen = ident != NULL ? strlen(ident) : 0;
    challenge_t *c = cp_xcalloc(1, sizeof *c + len + 1 + ilen + 1);
    memcpy(c->text, key_auth, len);
    if (ident != NULL) {
        memcpy(c->text + len + 1, ident, ilen);
        c->ident = c->text + len + 1;
        c->alpn = edge_cert_retain(alpn);
        edge_hamt_set(&m->alpn, ident, alpn);
    }
    c->refs = 1;
    edge_hamt_set(&m->challenges, token, c);
    challenge_release(c); /* the trie holds its own reference now */
}

void edge_certmap_challenge_set(edge_certmap_t *m, const char *token, const char *key_auth)
{
    challenge_put(m, token, key_auth, NULL, NULL);
}

void edge_certmap_alpn_set(edge_certmap_t *m, const char *token, const char *key_auth,
                           const char *identifier, edge_cert_t *cert)
{
    challenge_put(m, token, key_auth, identifier, cert);
}

int edge_certmap_challenge_clear(edge_certmap_t *m, const char *token)
{
    challenge_t *c = edge_hamt_get(&m->challenges, token);
    if (c != NULL && c->ident != NULL && edge_hamt_get(&m->alpn, c->ident) == c->alpn)
        edge_hamt_remove(&m->alpn, c->ident);
    return edge_hamt_remove(&m->challenges, token);
}

void edge_certmap_set_tickets(edge_certmap_t *m, edge_tickets_t *tickets)
{
    edge_tickets_release(m->tickets);
    m->tickets = edge_tickets_retain(tickets);
}

edge_tickets_t *edge_certmap_tickets0(const edge_certmap_t *m)
{
    return m->tickets;
}

size_t edge_certmap_alpn_count(const edge_certmap_t *m)
{
    return m->alpn.count;
}

edge_cert_t *edge_certmap_alpn_get0(const edge_certmap_t *m, const char *identifier)
{
    return identifier != NULL ? edge_hamt_get(&m->alpn, identifier) : NULL;
}

typedef struct doomed {
    const edge_hamt_t *keep;
    char **keys;
    size_t n, cap;
} doomed_t;

static void collect(const char *key, void *value, void *arg)
{
    (void)value;
    doomed_t *d = arg;
    if (d->keep != NULL && edge_hamt_get(d->keep, key) != NULL)
        return;
    if (d->n == d->cap) {
        d->cap = d->cap == 0 ? 16 : d->cap * 2;
        d->keys = cp_xrealloc(d->keys, d->cap * sizeof *d->keys);
    }
    d->keys[d->n++] = cp_xstrdup(key);
}

void edge_certmap_prune(edge_certmap_t *m, const edge_hamt_t *keep_names,
                        const edge_hamt_t *keep_tokens)
{
    doomed_t certs = {keep_names, NULL, 0, 0}, tokens = {keep_tokens, NULL, 0, 0};
    edge_hamt_foreach(&m->by_name, collect, &certs);
    edge_hamt_foreach(&m->challenges, collect, &tokens);
    for (size_t i = 0; i < certs.n; i++) {
        edge_certmap_delete(m, certs.keys[i]);
        free(certs.keys[i]);
    }
    for (size_t i = 0; i < tokens.n; i++) {
        edge_certmap_challenge_clear(m, tokens.keys[i]);
        free(tokens.keys[i]);
    }
    free(certs.keys);
    free(tokens.keys);
}

void edge_certmap_set_revision(edge_certmap_t *m, int64_t revision)
{
    m->revision = revision;
}

edge_cert_t *edge_certmap_get0(const edge_certmap_t *m, const char *name, edge_match_t *how)
{
    char buf[256];
    edge_cert_t *c = NULL;
    edge_match_t found = EDGE_MATCH_FALLBACK;
    if (edge_cert_normalize_name(name, buf, sizeof buf) == 0) {
        if ((c = edge_hamt_get(&m->exact, buf)) != NULL) {
            found = EDGE_MATCH_EXACT;
        } else {
            /* A wildcard covers exactly one label: "a.example.com" looks up "example.com" only. */
            const char *dot = strchr(buf, '.');
            if (dot != NULL && dot != buf && dot[1] != '\0' &&
                (c = edge_hamt_get(&m->wildcard, dot + 1)) != NULL)
                found = EDGE_MATCH_WILDCARD;
        }
    }
    if (c == NULL)
        c = m->fallback;
    if (how != NULL)
        *how = found;
    return c;
}

edge_cert_t *edge_certmap_get0_ip(const edge_certmap_t *m, const char *ip)
{
    return m->by_ip.count > 0 && ip != NULL ? edge_hamt_get(&m->by_ip, ip) : NULL;
}

size_t edge_certmap_ip_count(const edge_certmap_t *m)
{
    return m->by_ip.count;
}

edge_cert_t *edge_certmap_get0_by_name(const edge_certmap_t *m, const char *name)
{
    return edge_hamt_get(&m->by_name, name);
}

const char *edge_certmap_challenge_get0(const edge_certmap_t *m, const char *token)
{
    challenge_t *c = edge_hamt_get(&m->challenges, token);
    return c != NULL ? c->text : NULL;
}

size_t edge_certmap_count(const edge_certmap_t *m)
{
    return m->by_name.count;
}

size_t edge_certmap_challenge_count(const edge_certmap_t *m)
{
    return m->challenges.count;
}

int64_t edge_certmap_revision(const edge_certmap_t *m)
{
    return m->revision;
}

struct foreach_arg {
    void (*cb)(edge_cert_t *, void *);
    void *arg;
};

static void foreach_one(const char *key, void *value, void *arg)
{
    (void)key;
    struct foreach_arg *a = arg;
    a->cb(value, a->arg);
}

void edge_certmap_foreach(const edge_certmap_t *m, void (*cb)(edge_cert_t *cert, void *arg),
                          void *arg)
{
    struct foreach_arg a = {cb, arg};
    edge_hamt_foreach(&m->by_name, foreach_one, &a);
}

size_t edge_certmap_shared_nodes(const edge_certmap_t *a, const edge_certmap_t *b)
{
    return edge_hamt_shared_nodes(&a->by_name, &b->by_name) +
           edge_hamt_shared_nodes(&a->exact, &b->exact) +
           edge_hamt_shared_nodes(&a->wildcard, &b->wildcard) +
           edge_hamt_shared_nodes(&a->by_ip, &b->by_ip) +
           edge_hamt_shared_nodes(&a->challenges, &b->challenges);
}

size_t edge_certmap_node_count(const edge_certmap_t *m)
{
    return edge_hamt_node_count(&m->by_name) + edge_hamt_node_count(&m->exact) +
           edge_hamt_node_count(&m->wildcard) + edge_hamt_node_count(&m->by_ip) +
           edge_hamt_node_count(&m->challenges);
}
