/* SPDX-License-Identifier: Apache-2.0 */
/* ocsp.h - what the controller and the edge both read from an OCSP response (issue 14) */
#ifndef CP_OCSP_H
#define CP_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>

/** Unix ms of an ASN.1 time (GeneralizedTime or UTCTime); 0 for NULL or unparsable. */
int64_t cp_ocsp_time_ms(const ASN1_TIME *t);

/** Reads thisUpdate and nextUpdate (Unix ms; 0 when absent) of the first single response of a
 * DER OCSPResponse whose status is successful, without verifying it. Returns 0, or -1 when it does
 * not parse, is not successful or holds no single response. THREAD SAFETY: any thread. */
int cp_ocsp_times(const unsigned char *der, size_t len, int64_t *this_ms, int64_t *next_ms);

#endif
