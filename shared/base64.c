/* SPDX-License-Identifier: Apache-2.0 */
/* base64.c - base64 (RFC 4648): the standard and the URL-safe alphabet, encode and decode */
#include "shared/base64.h"

#include <stdlib.h>

#include "shared/err.h"
#include "shared/mem.h"

static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *cp_base64_encode(const void *data, size_t len, int flags)
{
    const uint8_t *in = data;
    const char *abc = (flags & CP_BASE64_URL) ? URL : STD;
    int pad = !(flags & CP_BASE64_URL);
    char *out = cp_xmalloc((len + 2) / 3 * 4 + 1);
    char *o = out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        *o++ = abc[v >> 18 & 63];
        *o++ = abc[v >> 12 & 63];
        if (i + 1 < len || pad)
            *o++ = i + 1 < len ? abc[v >> 6 & 63] : '=';
        if (i + 2 < len || pad)
            *o++ = i + 2 < len ? abc[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Value of one digit of either alphabet, -2 for '=', -3 for whitespace, -1 for anything else. */
static const signed char DIGIT[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -3, -3, -1, -1, -3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -3, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, 62, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -2, -1, -1, -1, 0,  1,  2,  3,  4,  5,  6,
    7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
    49, 50, 51, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int digit(char ch)
{
    return DIGIT[(unsigned char)ch];
}

int cp_base64_decode_to(const char *s, size_t len, int flags, uint8_t *out, size_t *out_len)
{
    uint32_t acc = 0;
    int bits = 0, pad = 0, pem = (flags & CP_BASE64_PEM) != 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        /* Four plain digits on a group boundary: three bytes at once (the common case). */
        if (bits == 0 && pad == 0 && i + 4 <= len) {
            int a = digit(s[i]), b = digit(s[i + 1]), c = digit(s[i + 2]), d = digit(s[i + 3]);
            if ((a | b | c | d) >= 0) {
                uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
                out[n++] = (uint8_t)(v >> 16);
                out[n++] = (uint8_t)(v >> 8);
                out[n++] = (uint8_t)v;
                acc = v;
                i += 3;
                continue;
            }
        }
        int v = digit(s[i]);
        if (v == -3 && pem)
            continue;
        if (v == -2) {
            pad++;
            continue;
        }
        if (v < 0 || pad > 0) /* not base64, or a digit after the padding */
            return CP_EINVAL;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* What is left is 0, 2 or 4 bits; 6 means one digit too many. Padding, when present (always
     * for PEM), must be what the leftover bits call for. */
    int want = bits == 4 ? 2 : bits == 2 ? 1 : 0;
    if (bits == 6 || pad > 2 || ((pad > 0 || pem) && pad != want))
        return CP_EINVAL;
    if (pem && bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return CP_EINVAL;
    *out_len = n;
    return 0;
}

int cp_base64_decode(const char *s, size_t len, int flags, uint8_t **out, size_t *out_len)
{
    uint8_t *buf = cp_xmalloc(CP_BASE64_DECODED_MAX(len) + 1);
    size_t n = 0;
    int rc = cp_base64_decode_to(s, len, flags, buf, &n);
    if (rc != 0) {
        cp_secure_free(buf, CP_BASE64_DECODED_MAX(len) + 1); /* the text may be a key */
        return rc;
    }
    buf[n] = '\0';
    if (n == 0) {
        free(buf);
        buf = NULL;
    }
    *out = buf;
    *out_len = n;
    return 0;
}
