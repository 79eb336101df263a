/* SPDX-License-Identifier: Apache-2.0 */
/* certparse.h - internal to edge/cert.c: PEM and private keys without OpenSSL 3's decoder search */
#ifndef EDGE_CERTPARSE_H
#define EDGE_CERTPARSE_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * OpenSSL 3.0's PEM_read_bio_PrivateKey and d2i_AutoPrivateKey try every decoder it has for every
 * key (~340 us each here); these functions read the few formats a certificate authority hands out
 * (PKCS#8, SEC1 and PKCS#1 keys for EC and RSA; "CERTIFICATE" blocks) directly and say "not mine"
 * for anything else, so the caller falls back to OpenSSL's readers (which also give the errors).
 * THREAD SAFETY: every function may run on any number of threads at once.
 */

/** Longest PEM label kept (longer ones are not ours). */
#define EDGE_PEM_LABEL_MAX 32

/** Reads the next PEM block at or after *pos (text before it is skipped, as OpenSSL does) into
 *  label and malloc'd DER (*der, *der_len), moving *pos past it. Returns 0 for a block, 1 when no
 *  block is left, -1 for anything else (PEM headers, bad base64, a missing END line, a long label).
 */
int edge_pem_next(const char **pos, const char *end, char label[EDGE_PEM_LABEL_MAX],
                  unsigned char **der, size_t *der_len);

/** A certificate's SubjectPublicKeyInfo: algorithm and curve NIDs (curve NID_undef unless EC) and
 *  the public key bytes (the BIT STRING's contents: an EC point, or an RSAPublicKey), borrowed. */
typedef struct edge_spki {
    int alg, curve;
    const unsigned char *pub;
    size_t pub_len;
} edge_spki_t;

/** Fills *out from a parsed leaf (borrowing from it). Returns 0, or -1 when it has no usable
 *  public key. */
int edge_spki_from_x509(X509 *leaf, edge_spki_t *out);

/** Makes the private key of PEM label `label` (DER `der`) for the certificate whose public key is
 *  `spki`, checking that it is the key of that public key: for EC, that the private scalar times
 * the generator is the certificate's point on the certificate's curve; for RSA, that n and e are
 * the certificate's, p*q = n and d, dP, dQ and qInv agree with p, q and e. Returns 0 with *out (the
 * caller's), 1 when the key is not one this reader handles (other algorithms or curves, malformed
 * DER: the caller falls back), -1 when it is well formed but not the certificate's key. `out` NULL:
 * the quick check only, no EVP_PKEY is built: an EC key that carries its public point (ECPrivateKey
 * [1], as OpenSSL and ACME clients write it) is taken when that point is the certificate's, byte
 * for byte (~0.2 us; the scalar is multiplied, ~10 us for P-256, only when the key carries no point
 * or another encoding of it). The full check runs whenever the key is built (`out` set), so a key
 * whose scalar and carried point disagree is still never served (the caller's first use fails). */
int edge_key_from_der(const char *label, const unsigned char *der, size_t len,
                      const edge_spki_t *spki, EVP_PKEY **out);

#endif
