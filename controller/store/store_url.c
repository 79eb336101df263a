/* SPDX-License-Identifier: Apache-2.0 */
/* store_url.c - parsing of redis:// and rediss:// URLs */
#include "controller/store/store_url.h"
#include "controller/store/store.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes [p, p+n) into out. The field name is reported, never the (secret) content. */
static int url_decode(const char *p, size_t n, char *out, size_t size, const char *field,
                      cp_err_t *err)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c == '%') {
            /* Both hex digits must lie inside the field. */
            int hi = i + 2 < n ? hexval(p[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(p[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return cp_err_set(err, CP_EINVAL, "redis URL: bad percent escape in the %s", field);
            c = hi * 16 + lo;
            if (c == 0)
                return cp_err_set(err, CP_EINVAL, "redis URL: NUL byte in the %s", field);
            i += 2;
        }
        if (o + 1 >= size)
            return cp_err_set(err, CP_EINVAL, "redis URL: %s too long", field);
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int parse_userinfo(const char *p, size_t n, ctl_store_url_t *u, cp_err_t *err)
{
    const char *colon = memchr(p, ':', n);
    int rc;
    if (colon == NULL) /* redis-cli reads `redis://secret@host` as a password alone */
        return url_decode(p, n, u->password, sizeof u->password, "password", err);
    rc = url_decode(p, (size_t)(colon - p), u->user, sizeof u->user, "user", err);
    if (rc == 0)
        rc = url_decode(colon + 1, n - (size_t)(colon - p) - 1, u->password, sizeof u->password,
                        "password", err);
    if (rc == 0 && u->user[0] != '\0' && u->password[0] == '\0')
        rc = cp_err_set(err, CP_EINVAL, "redis URL: user \"%s\" without a password", u->user);
    return rc;
}

/* Parses a decimal number in [min, max] from [p, p+n). */
static bool parse_int(const char *p, size_t n, long min, long max, int *out)
{
    if (n == 0 || n > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return false;
        v = v * 10 + (p[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

static int parse_hostport(const char *p, size_t n, ctl_store_url_t *u, cp_err_t *err)
{
    const char *host = p, *port = NULL;
    size_t hlen;
    if (n > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (close == NULL)
            return cp_err_set(err, CP_EINVAL, "redis URL: unterminated IPv6 address");
        host = p + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < p + n) {
            if (close[1] != ':')
                return cp_err_set(err, CP_EINVAL, "redis URL: junk after the IPv6 address");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', n);
        hlen = colon ? (size_t)(colon - p) : n;
        port = colon ? colon + 1 : NULL;
    }
    if (hlen == 0)
        return cp_err_set(err, CP_EINVAL, "redis URL: empty host");
    if (hlen >= sizeof u->host)
        return cp_err_set(err, CP_EINVAL, "redis URL: host too long");
    for (size_t i = 0; i < hlen; i++)
        if (strchr("%@[]/?# ", host[i]) != NULL || iscntrl((unsigned char)host[i]))
            return cp_err_set(err, CP_EINVAL, "redis URL: bad character in the host");
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    if (port != NULL && !parse_int(port, (size_t)(p + n - port), 1, 65535, &u->port))
        return cp_err_set(err, CP_EINVAL, "redis URL: bad port \"%.*s\" (1-65535)",
                          (int)(p + n - port), port);
    return 0;
}

/* The comma-separated sentinels of [p, p+n), each host[:port] (default 26379). */
static int parse_sentinels(const char *p, size_t n, ctl_store_url_t *u, cp_err_t *err)
{
    const char *end = p + n;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;
        if (u->n_sentinels == CTL_STORE_MAX_SENTINELS)
            return cp_err_set(err, CP_EINVAL, "redis URL: more than %d sentinels",
                              CTL_STORE_MAX_SENTINELS);
        ctl_store_url_t one = {.port = 26379};
        int rc = parse_hostport(p, (size_t)(stop - p), &one, err);
        if (rc != 0)
            return rc;
        ctl_store_hostport_t *h = &u->sentinels[u->n_sentinels++];
        memcpy(h->host, one.host, sizeof h->host);
        h->port = one.port;
        p = stop + 1;
    }
    return 0;
}

/* The path of a sentinel URL: /master[/db]. */
static int parse_master(const char *path, ctl_store_url_t *u, cp_err_t *err)
{
    const char *name = path != NULL ? path + 1 : "";
    const char *slash = strchr(name, '/');
    size_t n = slash != NULL ? (size_t)(slash - name) : strlen(name);
    if (n == 0)
        return cp_err_set(err, CP_EINVAL,
                          "redis URL: the master's name is missing "
                          "(redis+sentinel://host:26379/mymaster)");
    if (n >= sizeof u->master)
        return cp_err_set(err, CP_EINVAL, "redis URL: master name too long");
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && strchr("._-", name[i]) == NULL)
            return cp_err_set(err, CP_EINVAL, "redis URL: bad character in the master name");
    memcpy(u->master, name, n);
    u->master[n] = '\0';
    if (slash != NULL && slash[1] != '\0' &&
        !parse_int(slash + 1, strlen(slash + 1), 0, CTL_STORE_MAX_DB, &u->db))
        return cp_err_set(err, CP_EINVAL, "redis URL: database \"%s\" is not in 0-%d", slash + 1,
                          CTL_STORE_MAX_DB);
    return 0;
}

static int parse_url(const char *url, ctl_store_url_t *u, cp_err_t *err)
{
    static const char scheme[] = "redis://", tls_scheme[] = "rediss://",
                      sentinel[] = "redis+sentinel://";
    if (url == NULL)
        return cp_err_set(err, CP_EINVAL, "redis URL: missing");
    /* rediss:// is Redis over TLS (redis_tls.h), as redis-cli and the other clients spell it. */
    u->tls = strncasecmp(url, tls_scheme, sizeof tls_scheme - 1) == 0;
    bool is_sentinel = strncasecmp(url, sentinel, sizeof sentinel - 1) == 0;
    if (!u->tls && !is_sentinel && strncasecmp(url, scheme, sizeof scheme - 1) != 0)
        return cp_err_set(err, CP_EINVAL,
                          "redis URL: must start with redis://, rediss:// or redis+sentinel://");
    const char *p = url +
                    (u->tls        ? sizeof tls_scheme
                     : is_sentinel ? sizeof sentinel
                                   : sizeof scheme) -
                    1;
    if (strpbrk(p, "?#") != NULL)
        return cp_err_set(err, CP_EINVAL,
                          "redis URL: query strings and fragments are not supported");
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *at = memrchr(p, '@', (size_t)(end - p));
    int rc = 0;
    if (at != NULL) {
        rc = parse_userinfo(p, (size_t)(at - p), u, err);
        p = at + 1;
    }
    if (rc == 0 && is_sentinel) {
        rc = parse_sentinels(p, (size_t)(end - p), u, err);
        if (rc == 0)
            rc = parse_master(slash, u, err);
        u->port = 0;
        return rc;
    }
    if (rc == 0)
        rc = parse_hostport(p, (size_t)(end - p), u, err);
    if (rc == 0 && slash != NULL && slash[1] != '\0' &&
        !parse_int(slash + 1, strlen(slash + 1), 0, CTL_STORE_MAX_DB, &u->db))
        rc = cp_err_set(err, CP_EINVAL, "redis URL: database \"%s\" is not in 0-%d", slash + 1,
                        CTL_STORE_MAX_DB);
    return rc;
}

int ctl_store_url_parse(const char *url, ctl_store_url_t *out, cp_err_t *err)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    int rc = parse_url(url, out, err);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}
