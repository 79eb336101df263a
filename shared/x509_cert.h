/* SPDX-License-Identifier: Apache-2.0 */
/* x509_cert.h - the functions of x509_cert.c (split from x509.h) */
#ifndef CP_X509_CERT_H
#define CP_X509_CERT_H

#include "shared/x509.h"

/** Parses every CERTIFICATE block of `pem` (len bytes) into *out (caller frees with
 *  cp_x509_chain_free). Text between blocks is ignored; any other PEM block, a malformed block, PEM
 *  headers, bytes after the DER certificate, or no certificate at all is CP_EINVAL ("certificate 2:
 *  ..." names the block, counted from 1). More than CP_X509_CHAIN_MAX blocks is CP_EINVAL too. On
 *  failure *out is unchanged and nothing is allocated. THREAD SAFETY: any thread. */
int cp_x509_chain_parse(const char *pem, size_t len, cp_x509_chain_t **out, cp_err_t *err);

/** Frees a chain and its certificates; NULL is a no-op. THREAD SAFETY: any thread, on its own
 *  chain. */
void cp_x509_chain_free(cp_x509_chain_t *chain);

/** Fills *info from `cert`. SAN entries of other kinds (email, URI) are skipped. Errors:
 *  CP_ECRYPTO, CP_EINVAL (unreadable validity dates, an unreadable or repeated SAN extension, a NUL
 *  byte inside the CN or a dNSName, an iPAddress of neither 4 nor 16 bytes). *info is overwritten,
 *  not disposed; on failure it is zeroed and holds nothing to free. THREAD SAFETY: any thread. */
int cp_x509_info_get(X509 *cert, cp_x509_info_t *info, cp_err_t *err);

/** Frees the strings of *info and zeroes it; a zeroed info and NULL are no-ops. THREAD SAFETY: any
 *  thread, on its own info. */
void cp_x509_info_dispose(cp_x509_info_t *info);

/** PEM text of one certificate, malloc'd NUL-terminated (caller frees). Errors: CP_EINVAL (NULL
 *  argument), CP_ECRYPTO. THREAD SAFETY: any thread. */
int cp_x509_cert_to_pem(X509 *cert, char **pem, cp_err_t *err);

#endif
