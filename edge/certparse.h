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

/** Makes the private key of PEM label `label` (DER `der`) for `leaf`, checking that it is the key
 *  of leaf's public key: for EC, that the private scalar times the generator is the certificate's
 *  point on the certificate's curve; for RSA, that n and e are the certificate's, p*q = n and d,
 * dP, dQ and qInv agree with p, q and e. Returns 0 with *out (the caller's), 1 when the key is not
 *  one this reader handles (other algorithms or curves, malformed DER: the caller falls back),
 *  -1 when it is well formed but not the certificate's key. */
int edge_key_from_der(const char *label, const unsigned char *der, size_t len, X509 *leaf,
                      EVP_PKEY **out);

#endif
