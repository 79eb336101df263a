/* SPDX-License-Identifier: Apache-2.0 */
/* hamt.h - persistent hash array mapped trie: string keys, shared structure between versions */
#ifndef EDGE_HAMT_H
#define EDGE_HAMT_H

#include <stddef.h>

/*
 * A map from NUL-terminated string keys to values, as a 32-way hash trie (HAMT) on a 64-bit keyed
 * hash. Maps are persistent: a copy costs O(1) (one reference on the root), and changing a map
 * copies only the path from the root to the changed leaf (at most 13 nodes of at most 32 slots, in
 * practice 2-4 for 10^4-10^6 keys); every other node and leaf stays shared with the versions that
 * hold it; a node no other version holds (a map being built) is changed in place instead of
 * copied. Nodes and leaves are reference-counted with atomic counters, so versions may be released
 * on different threads.
 *
 * Values are opaque; the map holds one reference on each through the ops table given at init
 * (retain when a leaf is made, release when the last version holding the leaf goes away).
 *
 * THREAD SAFETY: a map handle (edge_hamt_t) is used by one thread at a time. Different handles that
 * share nodes may be used and released concurrently; lookups on a handle nobody changes are safe
 * from any number of threads.
 */

/** How the map holds its values. Both may be NULL (values not owned). */
typedef struct edge_hamt_ops {
    void (*retain)(void *value);
    void (*release)(void *value);
} edge_hamt_ops_t;

typedef struct edge_hamt_node edge_hamt_node_t;

/** One version of a map; a small value type (copy it only with edge_hamt_copy). */
typedef struct edge_hamt {
    edge_hamt_node_t *root; /* NULL when empty */
    size_t count;
    const edge_hamt_ops_t *ops;
} edge_hamt_t;

/** Makes `h` an empty map whose values are held through `ops` (static storage, may be NULL). */
void edge_hamt_init(edge_hamt_t *h, const edge_hamt_ops_t *ops);

/** Makes `dst` (uninitialised) a copy of `src` in O(1): they share every node. */
void edge_hamt_copy(edge_hamt_t *dst, const edge_hamt_t *src);

/** Releases `h`'s reference on its nodes (freeing those no other version holds) and empties it. */
void edge_hamt_dispose(edge_hamt_t *h);

/** The value stored under `key`, or NULL. Borrowed: valid while `h` (or a copy) lives. */
void *edge_hamt_get(const edge_hamt_t *h, const char *key);

/** Stores `value` under `key` (replacing any previous value) in `h` only; copies of `h` made before
 *  are unchanged. The map retains `value` and copies `key`. Out of memory aborts. */
void edge_hamt_set(edge_hamt_t *h, const char *key, void *value);

/** Removes `key` from `h` only. Returns 1 when it was there, 0 otherwise (then `h` is unchanged).
 */
int edge_hamt_remove(edge_hamt_t *h, const char *key);

/** Calls cb(key, value, arg) for every entry, in no particular order. cb must not change `h`. */
void edge_hamt_foreach(const edge_hamt_t *h, void (*cb)(const char *key, void *value, void *arg),
                       void *arg);

/** Number of nodes `a` and `b` share (test and diagnostics aid; walks both tries). */
size_t edge_hamt_shared_nodes(const edge_hamt_t *a, const edge_hamt_t *b);

/** Number of nodes in `h` (test and diagnostics aid). */
size_t edge_hamt_node_count(const edge_hamt_t *h);

#endif
