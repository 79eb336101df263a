/* SPDX-License-Identifier: Apache-2.0 */
/* hamt.c - persistent hash array mapped trie: string keys, shared structure between versions */
#include "edge/hamt.h"
#include "shared/mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define BITS 5
#define WIDTH (1u << BITS)
/* Past this shift all 64 hash bits are used up: keys that still collide share a collision node,
 * searched linearly (only possible for full 64-bit collisions). */
#define MAX_SHIFT 64

typedef struct edge_hamt_leaf {
    atomic_uint refs;
    uint64_t hash;
    void *value;
    char key[];
} leaf_t;

/* A slot holds either a child node or a leaf. */
typedef struct slot {
    edge_hamt_node_t *node;
    leaf_t *leaf;
} slot_t;

struct edge_hamt_node {
    atomic_uint refs;
    uint32_t bitmap; /* which of the 32 hash digits have a slot; 0 in a collision node */
    unsigned collision : 1;
    unsigned n : 8;
    slot_t s[];
};

/* The hash is keyed with a per-process random seed, so names chosen by an outsider cannot be made
 * to collide on purpose (which would only cost speed, never correctness). */
static uint64_t seed(void)
{
    static _Atomic uint64_t s;
    uint64_t v = atomic_load_explicit(&s, memory_order_relaxed);
    if (v == 0) {
        if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
            v = (uint64_t)(uintptr_t)&s ^ 0x9e3779b97f4a7c15ull;
        v |= 1;
        uint64_t expected = 0;
        if (!atomic_compare_exchange_strong(&s, &expected, v))
            v = expected;
    }
    return v;
}

static uint64_t hash_key(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed();
    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    /* splitmix64 finaliser: spreads every input bit over the digits the trie uses. */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

static unsigned digit(uint64_t hash, unsigned shift)
{
    return (unsigned)(hash >> shift) & (WIDTH - 1);
}

static unsigned pos_of(uint32_t bitmap, unsigned d)
{
    return (unsigned)__builtin_popcount(bitmap & ((1u << d) - 1));
}

static void leaf_release(leaf_t *l, const edge_hamt_ops_t *ops)
{
    if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (ops != NULL && ops->release != NULL)
        ops->release(l->value);
    free(l);
}

static void node_release(edge_hamt_node_t *n, const edge_hamt_ops_t *ops)
{
    if (n == NULL || atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (unsigned i = 0; i < n->n; i++) {
        if (n->s[i].node != NULL)
            node_release(n->s[i].node, ops);
        else
            leaf_release(n->s[i].leaf, ops);
    }
    free(n);
}

static void slot_retain(const slot_t *s)
{
    if (s->node != NULL)
        atomic_fetch_add_explicit(&s->node->refs, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&s->leaf->refs, 1, memory_order_relaxed);
}

static edge_hamt_node_t *node_alloc(unsigned n)
{
    edge_hamt_node_t *node = cp_xmalloc(sizeof *node + n * sizeof(slot_t));
    atomic_init(&node->refs, 1);
    node->bitmap = 0;
    node->collision = 0;
    node->n = n;
    return node;
}

/* A new node like `src` with slot `at` replaced by `with` (taken, not retained) or, when `insert`,
 * with `with` inserted before `at`; or with slot `at` removed when `with` is NULL. Every other slot
 * is shared (retained). */
static edge_hamt_node_t *node_edit(const edge_hamt_node_t *src, unsigned at, const slot_t *with,
                                   int insert)
{
    unsigned n = src->n + (insert ? 1 : 0) - (with == NULL ? 1 : 0);
    edge_hamt_node_t *dst = node_alloc(n);
    dst->bitmap = src->bitmap;
    dst->collision = src->collision;
    unsigned j = 0;
    for (unsigned i = 0; i < src->n; i++) {
        if (i == at) {
            if (with != NULL)
                dst->s[j++] = *with;
            if (!insert)
                continue;
        }
        dst->s[j] = src->s[i];
        slot_retain(&dst->s[j++]);
    }
    if (insert && at == src->n)
        dst->s[j++] = *with;
    return dst;
}

static leaf_t *leaf_new(const char *key, uint64_t hash, void *value, const edge_hamt_ops_t *ops)
{
    size_t len = strlen(key);
    leaf_t *l = cp_xmalloc(sizeof *l + len + 1);
    atomic_init(&l->refs, 1);
    l->hash = hash;
    l->value = value;
    memcpy(l->key, key, len + 1);
    if (ops != NULL && ops->retain != NULL)
        ops->retain(value);
    return l;
}

/* A node holding two leaves (both taken) that agree on the digits below `shift`. */
static edge_hamt_node_t *node_pair(leaf_t *a, leaf_t *b, unsigned shift)
{
    if (shift >= MAX_SHIFT) {
        edge_hamt_node_t *c = node_alloc(2);
        c->collision = 1;
        c->s[0] = (slot_t){NULL, a};
        c->s[1] = (slot_t){NULL, b};
        return c;
    }
    unsigned da = digit(a->hash, shift), db = digit(b->hash, shift);
    if (da == db) {
        edge_hamt_node_t *n = node_alloc(1);
        n->bitmap = 1u << da;
        n->s[0] = (slot_t){node_pair(a, b, shift + BITS), NULL};
        return n;
    }
    edge_hamt_node_t *n = node_alloc(2);
    n->bitmap = (1u << da) | (1u << db);
    n->s[da < db ? 0 : 1] = (slot_t){NULL, a};
    n->s[da < db ? 1 : 0] = (slot_t){NULL, b};
    return n;
}

/* Returns a new version of `n` (which stays unchanged) with leaf `l` (taken) stored. */
static edge_hamt_node_t *insert(const edge_hamt_node_t *n, unsigned shift, leaf_t *l, int *added)
{
    slot_t with = {NULL, l};
    if (n->collision) {
        for (unsigned i = 0; i < n->n; i++)
            if (strcmp(n->s[i].leaf->key, l->key) == 0)
                return node_edit(n, i, &with, 0);
        *added = 1;
        return node_edit(n, n->n, &with, 1);
    }
    unsigned d = digit(l->hash, shift), at = pos_of(n->bitmap, d);
    if ((n->bitmap & (1u << d)) == 0) {
        *added = 1;
        edge_hamt_node_t *r = node_edit(n, at, &with, 1);
        r->bitmap |= 1u << d;
        return r;
    }
    const slot_t *s = &n->s[at];
    if (s->node != NULL) {
        with = (slot_t){insert(s->node, shift + BITS, l, added), NULL};
    } else if (strcmp(s->leaf->key, l->key) != 0) {
        atomic_fetch_add_explicit(&s->leaf->refs, 1, memory_order_relaxed);
        with = (slot_t){node_pair(s->leaf, l, shift + BITS), NULL};
        *added = 1;
    }
    return node_edit(n, at, &with, 0);
}

/* `n` with `with` put in at slot `at`, the slots from there on moving up one; `n` is owned (see
 * insert_owned), so it grows in place (its address may change). */
static edge_hamt_node_t *node_grow(edge_hamt_node_t *n, unsigned at, slot_t with)
{
    n = cp_xrealloc(n, sizeof *n + (n->n + 1u) * sizeof(slot_t));
    memmove(&n->s[at + 1], &n->s[at], (n->n - at) * sizeof(slot_t));
    n->s[at] = with;
    n->n++;
    return n;
}

/* insert() for a node this map alone holds: its count is 1 and so is that of every node above it,
 * so no other version and no reader can reach it (readers never use a map being changed). Such a
 * node is changed in place instead of copied, which makes building a table of N entries (a Watch
 * snapshot) cost N small edits rather than N path copies and releases. Below the first shared node
 * it copies as insert() does. Returns `n`, or its new address when it grew. */
static edge_hamt_node_t *insert_owned(edge_hamt_node_t *n, unsigned shift, leaf_t *l, int *added,
                                      const edge_hamt_ops_t *ops)
{
    if (n->collision) {
        for (unsigned i = 0; i < n->n; i++)
            if (strcmp(n->s[i].leaf->key, l->key) == 0) {
                leaf_release(n->s[i].leaf, ops);
                n->s[i].leaf = l;
                return n;
            }
        *added = 1;
        return node_grow(n, n->n, (slot_t){NULL, l});
    }
    unsigned d = digit(l->hash, shift), at = pos_of(n->bitmap, d);
    if ((n->bitmap & (1u << d)) == 0) {
        *added = 1;
        n = node_grow(n, at, (slot_t){NULL, l});
        n->bitmap |= 1u << d;
        return n;
    }
    slot_t *s = &n->s[at];
    if (s->node != NULL) {
        edge_hamt_node_t *child = s->node;
        if (atomic_load_explicit(&child->refs, memory_order_acquire) == 1) {
            s->node = insert_owned(child, shift + BITS, l, added, ops);
        } else {
            s->node = insert(child, shift + BITS, l, added);
            node_release(child, ops); /* this node's reference on the shared child */
        }
    } else if (strcmp(s->leaf->key, l->key) != 0) {
        s->node = node_pair(s->leaf, l, shift + BITS); /* the slot's reference moves along */
        s->leaf = NULL;
        *added = 1;
    } else {
        leaf_release(s->leaf, ops);
        s->leaf = l;
    }
    return n;
}

/* Sets *out to the new version of `n` without `key` (NULL when it becomes empty). Returns 0 when
 * the key is absent (then *out is not set). */
static int erase(const edge_hamt_node_t *n, unsigned shift, const char *key, uint64_t hash,
                 edge_hamt_node_t **out)
{
    unsigned at;
    if (n->collision) {
        for (at = 0; at < n->n && strcmp(n->s[at].leaf->key, key) != 0; at++)
            ;
        if (at == n->n)
            return 0;
    } else {
        unsigned d = digit(hash, shift);
        if ((n->bitmap & (1u << d)) == 0)
            return 0;
        at = pos_of(n->bitmap, d);
        const slot_t *s = &n->s[at];
        if (s->node != NULL) {
            edge_hamt_node_t *child;
            if (!erase(s->node, shift + BITS, key, hash, &child))
                return 0;
            slot_t with = {child, NULL};
            /* A child left with one leaf collapses into that leaf, keeping the trie shallow. */
            if (child != NULL && child->n == 1 && child->s[0].leaf != NULL) {
                with = (slot_t){NULL, child->s[0].leaf};
                slot_retain(&with);
                node_release(child, NULL);
            }
            if (child != NULL) {
                *out = node_edit(n, at, &with, 0);
                return 1;
            }
        } else if (strcmp(s->leaf->key, key) != 0) {
            return 0;
        }
        if (n->n == 1) {
            *out = NULL;
            return 1;
        }
        *out = node_edit(n, at, NULL, 0);
        (*out)->bitmap &= ~(1u << d);
        return 1;
    }
    *out = n->n == 1 ? NULL : node_edit(n, at, NULL, 0);
    return 1;
}

void edge_hamt_init(edge_hamt_t *h, const edge_hamt_ops_t *ops)
{
    h->root = NULL;
    h->count = 0;
    h->ops = ops;
}

void edge_hamt_copy(edge_hamt_t *dst, const edge_hamt_t *src)
{
    *dst = *src;
    if (dst->root != NULL)
        atomic_fetch_add_explicit(&dst->root->refs, 1, memory_order_relaxed);
}

void edge_hamt_dispose(edge_hamt_t *h)
{
    node_release(h->root, h->ops);
    h->root = NULL;
    h->count = 0;
}

void *edge_hamt_get(const edge_hamt_t *h, const char *key)
{
    uint64_t hash = hash_key(key);
    const edge_hamt_node_t *n = h->root;
    for (unsigned shift = 0; n != NULL; shift += BITS) {
        if (n->collision) {
            for (unsigned i = 0; i < n->n; i++)
                if (strcmp(n->s[i].leaf->key, key) == 0)
                    return n->s[i].leaf->value;
            return NULL;
        }
        unsigned d = digit(hash, shift);
        if ((n->bitmap & (1u << d)) == 0)
            return NULL;
        const slot_t *s = &n->s[pos_of(n->bitmap, d)];
        if (s->leaf != NULL)
            return (s->leaf->hash == hash && strcmp(s->leaf->key, key) == 0) ? s->leaf->value
                                                                             : NULL;
        n = s->node;
    }
    return NULL;
}

void edge_hamt_set(edge_hamt_t *h, const char *key, void *value)
{
    uint64_t hash = hash_key(key);
    leaf_t *l = leaf_new(key, hash, value, h->ops);
    edge_hamt_node_t *root;
    int added = 0;
    if (h->root == NULL) {
        root = node_alloc(1);
        root->bitmap = 1u << digit(hash, 0);
        root->s[0] = (slot_t){NULL, l};
        added = 1;
    } else if (atomic_load_explicit(&h->root->refs, memory_order_acquire) == 1) {
        root = insert_owned(h->root, 0, l, &added, h->ops); /* no other version holds it */
        h->root = NULL;
    } else {
        root = insert(h->root, 0, l, &added);
    }
    node_release(h->root, h->ops);
    h->root = root;
    h->count += (size_t)added;
}

int edge_hamt_remove(edge_hamt_t *h, const char *key)
{
    edge_hamt_node_t *root;
    if (h->root == NULL || !erase(h->root, 0, key, hash_key(key), &root))
        return 0;
    node_release(h->root, h->ops);
    h->root = root;
    h->count--;
    return 1;
}

static void walk(const edge_hamt_node_t *n, void (*cb)(const char *, void *, void *), void *arg)
{
    for (unsigned i = 0; i < n->n; i++) {
        if (n->s[i].node != NULL)
            walk(n->s[i].node, cb, arg);
        else
            cb(n->s[i].leaf->key, n->s[i].leaf->value, arg);
    }
}

void edge_hamt_foreach(const edge_hamt_t *h, void (*cb)(const char *key, void *value, void *arg),
                       void *arg)
{
    if (h->root != NULL)
        walk(h->root, cb, arg);
}

static size_t count_nodes(const edge_hamt_node_t *n)
{
    size_t c = 1;
    for (unsigned i = 0; i < n->n; i++)
        if (n->s[i].node != NULL)
            c += count_nodes(n->s[i].node);
    return c;
}

size_t edge_hamt_node_count(const edge_hamt_t *h)
{
    return h->root == NULL ? 0 : count_nodes(h->root);
}

static size_t shared(const edge_hamt_node_t *a, const edge_hamt_node_t *b)
{
    if (a == NULL || b == NULL)
        return 0;
    if (a == b)
        return count_nodes(a);
    if (a->collision || b->collision)
        return 0;
    size_t c = 0;
    for (unsigned d = 0; d < WIDTH; d++) {
        uint32_t bit = 1u << d;
        if ((a->bitmap & bit) == 0 || (b->bitmap & bit) == 0)
            continue;
        c += shared(a->s[pos_of(a->bitmap, d)].node, b->s[pos_of(b->bitmap, d)].node);
    }
    return c;
}

size_t edge_hamt_shared_nodes(const edge_hamt_t *a, const edge_hamt_t *b)
{
    return shared(a->root, b->root);
}
