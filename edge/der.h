/* SPDX-License-Identifier: Apache-2.0 */
/* der.h - a minimal DER reader (definite lengths, one-octet tags) for the edge's certificate code
 */
#ifndef EDGE_DER_H
#define EDGE_DER_H

#include <stddef.h>

/*
 * Reads untrusted bytes: every function checks its bounds and never reads outside [p, end).
 * THREAD SAFETY: pure functions on caller-owned cursors; any thread.
 */

/** A cursor over DER bytes [p, end). */
typedef struct edge_der {
    const unsigned char *p, *end;
} edge_der_t;

/** Reads one element with identifier octet `tag` (definite length of at most 4 length octets)
 *  into *v (its contents) and moves r past it. Returns 0, or -1 when the next element is not
 *  `tag` or does not fit in r. */
int edge_der_get(edge_der_t *r, unsigned tag, edge_der_t *v);

/** 1 when the next element of r has identifier octet `tag`, else 0. */
int edge_der_peek(const edge_der_t *r, unsigned tag);

/** Reads an OBJECT IDENTIFIER and returns its OpenSSL NID (NID_undef when unknown or malformed;
 *  r is moved past it when it was an OBJECT IDENTIFIER). */
int edge_der_oid_nid(edge_der_t *r);

#endif
