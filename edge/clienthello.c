/* SPDX-License-Identifier: Apache-2.0 */
/* clienthello.c - reading the SNI of a TLS ClientHello (clienthello.h) */
#include "edge/clienthello.h"

#include <string.h>

enum {
    REC_HANDSHAKE = 22,
    HS_CLIENT_HELLO = 1,
    EXT_SERVER_NAME = 0,
    EXT_ALPN = 16,
    LABEL_MAX = 63,
    NAME_MAX_LEN = 253,
};

/* A bounded reader: every take fails once past the end, and so does everything after. */
typedef struct rd {
    const uint8_t *p;
    size_t n;
    bool bad;
} rd_t;

static uint32_t take(rd_t *r, size_t bytes)
{
    uint32_t v = 0;
    if (r->bad || r->n < bytes) {
        r->bad = true;
        return 0;
    }
    for (size_t i = 0; i < bytes; i++)
        v = v << 8 | r->p[i];
    r->p += bytes;
    r->n -= bytes;
    return v;
}

/* A sub-reader over the next len bytes (consumed from r). */
static rd_t sub(rd_t *r, size_t len)
{
    rd_t s = {r->p, len, r->bad || r->n < len};
    if (s.bad) {
        r->bad = true;
        s.n = 0;
        return s;
    }
    r->p += len;
    r->n -= len;
    return s;
}

/* Lower-cases and checks a host name into out (see clienthello.h). */
static bool name_ok(const uint8_t *p, size_t len, char *out)
{
    if (len > 0 && p[len - 1] == '.')
        len--;
    if (len == 0 || len > NAME_MAX_LEN)
        return false;
    size_t labels = 0, start = 0;
    bool alpha = false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '.') {
            uint8_t c = p[i];
            if (c >= 'A' && c <= 'Z')
                c = (uint8_t)(c - 'A' + 'a');
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                return false;
            out[i] = (char)c;
            continue;
        }
        size_t n = i - start;
        if (n == 0 || n > LABEL_MAX || out[start] == '-' || out[i - 1] == '-')
            return false;
        if (i < len)
            out[i] = '.';
        alpha = false;
        for (size_t k = start; k < i; k++)
            alpha = alpha || (out[k] >= 'a' && out[k] <= 'z');
        labels++;
        start = i + 1;
    }
    out[len] = '\0';
    return labels >= 2 && alpha;
}

static void server_name(rd_t e, edge_clienthello_t *out)
{
    rd_t list = sub(&e, take(&e, 2));
    while (!list.bad && list.n > 0) {
        uint32_t type = take(&list, 1);
        rd_t name = sub(&list, take(&list, 2));
        if (list.bad || type != 0)
            continue;
        out->has_sni = true;
        char tmp[EDGE_CLIENTHELLO_NAME_BUF + 1];
        out->eligible = name.n <= NAME_MAX_LEN + 1 && name_ok(name.p, name.n, tmp);
        if (out->eligible)
            memcpy(out->name, tmp, strlen(tmp) + 1);
        return; /* RFC 6066: one name per type */
    }
}

static void alpn(rd_t e, edge_clienthello_t *out)
{
    rd_t list = sub(&e, take(&e, 2));
    while (!list.bad && list.n > 0) {
        rd_t proto = sub(&list, take(&list, 1));
        if (!proto.bad && proto.n == 10 && memcmp(proto.p, "acme-tls/1", 10) == 0)
            out->acme_alpn = true;
    }
}

edge_clienthello_rc_t edge_clienthello_parse(const uint8_t *buf, size_t len,
                                             edge_clienthello_t *out)
{
    memset(out, 0, sizeof *out);
    rd_t r = {buf, len, false};
    if (len >= 1 && buf[0] != REC_HANDSHAKE)
        return EDGE_CLIENTHELLO_OTHER;
    if (len < 5)
        return EDGE_CLIENTHELLO_MORE;
    take(&r, 3); /* type, legacy record version */
    uint32_t rec_len = take(&r, 2);
    if (rec_len < 4 || rec_len > 16384)
        return EDGE_CLIENTHELLO_OTHER;
    if (r.n < rec_len)
        return EDGE_CLIENTHELLO_MORE;
    rd_t rec = sub(&r, rec_len);
    if (take(&rec, 1) != HS_CLIENT_HELLO)
        return EDGE_CLIENTHELLO_OTHER;
    uint32_t hs_len = take(&rec, 3);
    if (hs_len > rec.n) /* continued in a next record: rare; TLS reads it, no on-demand */
        return EDGE_CLIENTHELLO_OTHER;
    rd_t ch = sub(&rec, hs_len);
    take(&ch, 2 + 32);      /* legacy_version, random */
    sub(&ch, take(&ch, 1)); /* legacy_session_id */
    sub(&ch, take(&ch, 2)); /* cipher_suites */
    sub(&ch, take(&ch, 1)); /* legacy_compression_methods */
    if (ch.bad)
        return EDGE_CLIENTHELLO_OTHER;
    if (ch.n == 0)
        return EDGE_CLIENTHELLO_DONE; /* no extensions at all */
    rd_t exts = sub(&ch, take(&ch, 2));
    while (!exts.bad && exts.n > 0) {
        uint32_t type = take(&exts, 2);
        rd_t e = sub(&exts, take(&exts, 2));
        if (exts.bad)
            break;
        if (type == EXT_SERVER_NAME)
            server_name(e, out);
        else if (type == EXT_ALPN)
            alpn(e, out);
    }
    if (exts.bad) {
        memset(out, 0, sizeof *out);
        return EDGE_CLIENTHELLO_OTHER;
    }
    return EDGE_CLIENTHELLO_DONE;
}
