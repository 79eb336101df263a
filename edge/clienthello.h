/* SPDX-License-Identifier: Apache-2.0 */
/* clienthello.h - reading the SNI of a TLS ClientHello before the handshake starts (on-demand TLS)
 */
#ifndef EDGE_CLIENTHELLO_H
#define EDGE_CLIENTHELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most bytes worth peeking: one TLS record of at most 2^14 bytes and its 5-byte header. */
#define EDGE_CLIENTHELLO_MAX (16384 + 5)

/** Buffer for a name (253 bytes and a NUL). */
#define EDGE_CLIENTHELLO_NAME_BUF 254

typedef enum edge_clienthello_rc {
    EDGE_CLIENTHELLO_MORE = 0,  /* a ClientHello so far: its record is not complete yet */
    EDGE_CLIENTHELLO_DONE = 1,  /* parsed: see the result */
    EDGE_CLIENTHELLO_OTHER = 2, /* not a ClientHello in one record (malformed, or another
                                   protocol, or split over records): let TLS deal with it */
} edge_clienthello_rc_t;

/** What a ClientHello says that on-demand TLS needs. */
typedef struct edge_clienthello {
    bool has_sni;   /* a host_name server_name was sent */
    bool eligible;  /* and it is a DNS name a certificate could be issued for (below) */
    bool acme_alpn; /* ALPN offers acme-tls/1 (a TLS-ALPN-01 validation) */
    char name[EDGE_CLIENTHELLO_NAME_BUF]; /* eligible names only: lower case, no trailing dot */
} edge_clienthello_t;

/** Parses the first len bytes of a connection. Eligible names: letters, digits, inner hyphens
 *  and dots only, labels 1..63 bytes, at most 253 bytes, two or more labels, a top-level label
 *  with a letter (no IP literal), no wildcard. Reads nothing outside [buf, buf+len); any input is
 *  safe (fuzzed). THREAD SAFETY: pure. */
edge_clienthello_rc_t edge_clienthello_parse(const uint8_t *buf, size_t len,
                                             edge_clienthello_t *out);

#endif
