/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_guard_h2.c - HTTP/2 frame accounting for the gRPC guard (frame headers only) */
#include "controller/grpc/grpc_guard_h2.h"

#include <string.h>

#define PREFACE_LEN 24u
#define T_DATA 0x0u
#define T_HEADERS 0x1u
#define T_RST_STREAM 0x3u
#define T_GOAWAY 0x7u
#define F_END_STREAM 0x1u

void ctl_h2_acct_init(ctl_h2_acct_t *a, int64_t now_ms)
{
    memset(a, 0, sizeof *a);
    a->in.skip = PREFACE_LEN;
    a->window_start_ms = now_ms;
}

/* Feeds bytes to one direction; calls on_header for every complete frame header. Returns the
 * bytes consumed (all of n unless on_header asked to stop by returning nonzero). */
static size_t feed(ctl_h2_dir_t *d, const uint8_t *p, size_t n,
                   int (*on_header)(ctl_h2_acct_t *a, const uint8_t *h, void *ctx),
                   ctl_h2_acct_t *a, void *ctx)
{
    size_t i = 0;
    while (i < n) {
        if (d->skip > 0) {
            size_t k = n - i < d->skip ? n - i : d->skip;
            d->skip -= (uint32_t)k;
            d->partial = d->skip > 0 ? d->partial + (uint32_t)k : 0;
            i += k;
            continue;
        }
        d->hdr[d->have++] = p[i++];
        d->partial++;
        if (d->have < 9)
            continue;
        d->have = 0;
        d->skip = ((uint32_t)d->hdr[0] << 16) | ((uint32_t)d->hdr[1] << 8) | d->hdr[2];
        if (d->skip == 0)
            d->partial = 0;
        if (on_header(a, d->hdr, ctx) != 0)
            return i;
    }
    return i;
}

static uint32_t stream_id(const uint8_t *h)
{
    return (((uint32_t)h[5] & 0x7f) << 24) | ((uint32_t)h[6] << 16) | ((uint32_t)h[7] << 8) | h[8];
}

typedef struct client_ctx {
    int64_t now_ms;
    const ctl_h2_limits_t *lim;
    int abusive;
} client_ctx_t;

static int on_client_header(ctl_h2_acct_t *a, const uint8_t *h, void *ctx)
{
    client_ctx_t *c = ctx;
    uint32_t sid = stream_id(h);
    if (c->now_ms - a->window_start_ms >= c->lim->window_ms) {
        a->window_start_ms = c->now_ms;
        a->w_resets = a->w_completed = 0;
    }
    if (h[3] == T_HEADERS && sid > a->last_client_sid) {
        a->last_client_sid = sid;
        a->opened++;
        /* Streams both reset and ended count twice here, which only makes this lenient. */
        if (a->opened > a->resets + a->completed + c->lim->max_open) {
            c->abusive = 1;
            return 1;
        }
    } else if (h[3] == T_RST_STREAM) {
        a->resets++;
        a->w_resets++;
        if (a->w_resets > c->lim->max_resets && a->w_resets > a->w_completed) {
            c->abusive = 1;
            return 1;
        }
    }
    return 0;
}

int ctl_h2_acct_client(ctl_h2_acct_t *a, const uint8_t *p, size_t n, int64_t now_ms,
                       const ctl_h2_limits_t *lim)
{
    client_ctx_t c = {.now_ms = now_ms, .lim = lim, .abusive = 0};
    feed(&a->in, p, n, on_client_header, a, &c);
    return c.abusive;
}

static int on_server_header(ctl_h2_acct_t *a, const uint8_t *h, void *ctx)
{
    (void)ctx;
    /* A call ends when the server closes its side (END_STREAM on trailers or data) or resets it. */
    if (stream_id(h) != 0 && (((h[3] == T_HEADERS || h[3] == T_DATA) && (h[4] & F_END_STREAM)) ||
                              h[3] == T_RST_STREAM)) {
        a->completed++;
        a->w_completed++;
    }
    return 0;
}

size_t ctl_h2_acct_server(ctl_h2_acct_t *a, const uint8_t *p, size_t n)
{
    feed(&a->out, p, n, on_server_header, a, NULL);
    return a->out.partial;
}

void ctl_h2_goaway(uint8_t out[17], uint32_t last_sid, uint32_t code)
{
    const uint8_t hdr[9] = {0, 0, 8, T_GOAWAY, 0, 0, 0, 0, 0};
    memcpy(out, hdr, sizeof hdr);
    for (int i = 0; i < 4; i++) {
        out[9 + i] = (uint8_t)((last_sid & 0x7fffffffu) >> (24 - 8 * i));
        out[13 + i] = (uint8_t)(code >> (24 - 8 * i));
    }
}
