/* SPDX-License-Identifier: Apache-2.0 */
/* base64.h - base64 (RFC 4648): the standard and the URL-safe alphabet, encode and decode */
#ifndef CP_BASE64_H
#define CP_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* THREAD SAFETY: every function is safe from any thread (no shared state). */

/** Encode flag: the URL-safe alphabet ('-', '_') without padding (JWS, ACME). Default: the
 *  standard alphabet ('+', '/') with '=' padding. */
#define CP_BASE64_URL 1
/** Decode flag: skip whitespace (PEM bodies) and require the padding and zero trailing bits of a
 *  canonical encoding. Default: no whitespace, padding optional (when present it must complete the
 *  last group of four). Both alphabets are accepted either way. */
#define CP_BASE64_PEM 2

/** Bytes cp_base64_decode_to may write for len bytes of text. */
#define CP_BASE64_DECODED_MAX(len) ((len) / 4 * 3 + 3)

/** The base64 text of len bytes at data, NUL-terminated; cp_xmalloc'd, the caller frees. */
char *cp_base64_encode(const void *data, size_t len, int flags);

/** Decodes the len bytes of text at s into out (at least CP_BASE64_DECODED_MAX(len) bytes) and
 *  sets *out_len. Returns 0, or CP_EINVAL when s is not base64 (out's content then undefined). */
int cp_base64_decode_to(const char *s, size_t len, int flags, uint8_t *out, size_t *out_len);

/** As cp_base64_decode_to, into a new buffer (*out, cp_xmalloc'd and NUL-terminated for
 *  convenience; NULL when *out_len is 0). On failure *out and *out_len are unchanged. */
int cp_base64_decode(const char *s, size_t len, int flags, uint8_t **out, size_t *out_len);

#endif
