/* SPDX-License-Identifier: Apache-2.0 */
/* certder.h - what the edge needs of a leaf certificate, read from its DER without d2i_X509 */
#ifndef EDGE_CERTDER_H
#define EDGE_CERTDER_H

#include <stddef.h>
#include <stdint.h>

#include "edge/certparse.h"
#include "edge/der.h"

/*
 * d2i_X509 costs ~95 us in OpenSSL 3.0, ~86 us of it decoding the public key through the provider
 * decoders. Becoming ready with 100,000 certificates needs only each leaf's names, IP addresses,
 * expiry and public key bytes: this walks the DER for them (~2 us). It reads untrusted bytes and
 * is fuzzed (tests/fuzz/fuzz_certder.c). Whatever it does not handle plainly (more names than
 * EDGE_LEAF_NAMES_MAX, a NUL in a name, a CN that is no ASCII string type, two SAN extensions, an
 * odd time) makes it answer "not mine", and the caller takes OpenSSL's parser, which also gives
 * the error messages. The certificate's signature and most of its fields are not looked at: the
 * leaf is parsed by d2i_X509 before it is ever served.
 * THREAD SAFETY: pure function; any thread.
 */

/** Most DNS names, and most IP addresses, edge_leaf_read takes (the controller allows 100). */
#define EDGE_LEAF_NAMES_MAX 128

/** A leaf's facts; the slices borrow from the DER passed in. */
typedef struct edge_leaf {
    edge_der_t dns[EDGE_LEAF_NAMES_MAX]; /* SAN dNSNames, as written */
    size_t n_dns;
    edge_der_t ip[EDGE_LEAF_NAMES_MAX]; /* SAN iPAddresses: 4 or 16 bytes each */
    size_t n_ip;
    edge_der_t cn; /* the subject's CN; cn.p NULL when it has none */
    int64_t not_after;
    edge_spki_t spki;
} edge_leaf_t;

/** Reads `der` (one whole Certificate) into *out. Returns 0, or 1 when it is not a certificate
 *  this reader handles (the caller falls back to OpenSSL). */
int edge_leaf_read(const unsigned char *der, size_t len, edge_leaf_t *out);

#endif
