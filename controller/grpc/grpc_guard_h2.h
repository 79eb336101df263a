/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_guard_h2.h - HTTP/2 frame accounting for the gRPC guard: reads only the 9-byte frame
 * headers of both directions of one connection and tells when the client resets far more streams
 * than the server completes (the "rapid reset" flood, CVE-2023-44487) */
#ifndef CTL_GRPC_GUARD_H2_H
#define CTL_GRPC_GUARD_H2_H

#include <stddef.h>
#include <stdint.h>

/* One direction of the byte stream: where the next frame header starts. */
typedef struct ctl_h2_dir {
    uint32_t skip;    /* bytes still to pass before the next frame header (preface or payload) */
    uint8_t hdr[9];   /* a frame header being collected */
    uint8_t have;     /* its bytes so far */
    uint32_t partial; /* bytes of the current, incomplete frame seen so far */
} ctl_h2_dir_t;

/** Budget of one connection: within any window of window_ms, more than max_resets client
 *  RST_STREAMs AND more of them than calls the server completed make the client abusive; so do
 *  more than max_open streams open at once (opened, neither reset by the client nor ended by the
 *  server: a client may ignore SETTINGS_MAX_CONCURRENT_STREAMS until it acknowledges them). */
typedef struct ctl_h2_limits {
    uint32_t max_resets; /* default 100 */
    int64_t window_ms;   /* default 10000 */
    uint32_t max_open;   /* default 1000 */
} ctl_h2_limits_t;

typedef struct ctl_h2_acct {
    ctl_h2_dir_t in, out;
    uint32_t last_client_sid;           /* highest stream id the client opened */
    uint64_t opened, resets, completed; /* since the connection began */
    int64_t window_start_ms;
    uint32_t w_resets, w_completed; /* within the current window */
} ctl_h2_acct_t;

/** Starts the accounting of a new connection (the client's 24-byte preface comes first).
 *  THREAD SAFETY: one connection is accounted by one thread. */
void ctl_h2_acct_init(ctl_h2_acct_t *a, int64_t now_ms);

/** Accounts `n` bytes the client sent. Returns 1 when the client is now abusive (the caller must
 *  not forward these bytes), else 0. */
int ctl_h2_acct_client(ctl_h2_acct_t *a, const uint8_t *p, size_t n, int64_t now_ms,
                       const ctl_h2_limits_t *lim);

/** Accounts `n` bytes the server sent. Returns how many bytes at the end of `p` belong to a frame
 *  not yet complete (0 when p ends at a frame boundary); a result larger than n means the frame
 *  began before p. */
size_t ctl_h2_acct_server(ctl_h2_acct_t *a, const uint8_t *p, size_t n);

/** Writes a GOAWAY frame (17 bytes) with the given last stream id and error code into out. */
void ctl_h2_goaway(uint8_t out[17], uint32_t last_sid, uint32_t code);

#define CTL_H2_ENHANCE_YOUR_CALM 0xbu

#endif
