/* SPDX-License-Identifier: Apache-2.0 */
/* x509_csr.h - the functions of x509_csr.c (split from x509.h) */
#ifndef CP_X509_CSR_H
#define CP_X509_CSR_H

#include "shared/x509.h"

/** Builds a DER CSR signed by `key` (SHA-256) with every DNS name and IP address in a
 *  subjectAltName extension and the first DNS name as CN when it fits in 64 bytes (never an IP
 *  address in the CN). The SAN entries are DNS names then IP addresses, each in the given order;
 *  without a CN the subject is empty and the extension critical (RFC 5280 4.2.1.6). DNS names must
 *  be 1-253 bytes of printable ASCII without spaces (full syntax is ctl_validate's); IP addresses
 *  are IPv4 dotted quads or IPv6 text without a zone. *der is malloc'd (caller frees). Errors:
 *  CP_EINVAL (no names, a bad DNS name, an unparsable IP; the message names the index), CP_ECRYPTO.
 *  THREAD SAFETY: any thread. */
int cp_x509_csr_build(EVP_PKEY *key, const char *const *dns_names, size_t n_dns,
                      const char *const *ip_addresses, size_t n_ip, unsigned char **der,
                      size_t *der_len, cp_err_t *err);

/** Makes a self-signed X.509 v3 certificate for `key` with the given DNS names (CN = the first,
 *  SANs = all, issuer = subject), signed with SHA-256: notBefore is one hour ago, notAfter `days`
 *  days after notBefore, the serial 16 random bytes. Caller frees *out with X509_free. DNS names
 *  are checked as for cp_x509_csr_build. Used for the edge's fallback certificate and in tests.
 *  Errors: CP_EINVAL (no names, a bad name, a first name over 64 bytes, days outside
 *  1..CP_X509_SELF_SIGNED_MAX_DAYS), CP_ECRYPTO. THREAD SAFETY: any thread. */
int cp_x509_self_signed(EVP_PKEY *key, const char *const *dns_names, size_t n_dns, int days,
                        X509 **out, cp_err_t *err);

#endif
