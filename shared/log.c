/* SPDX-License-Identifier: Apache-2.0 */
/* log.c - JSON-lines logging on stderr, with levels and a guard against secrets */
#include "shared/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "shared/clock.h"
#include "shared/err.h"

int cp_log__level = CP_LOG_INFO;
static int log_fd = 2;

/* A log line is built in one fixed buffer and written with one write(2); longer lines are cut. */
#define LOG_LINE_MAX 8192

/* Bytes kept free at the end of a line for the characters that close it. */
#define LOG_TAIL_ROOM 16

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void cp_log_set_level(cp_log_level_t level)
{
    __atomic_store_n(&cp_log__level, (int)level, __ATOMIC_RELAXED);
}

int cp_log_level_parse(const char *text, cp_log_level_t *out)
{
    static const struct {
        const char *name;
        cp_log_level_t level;
    } names[] = {{"debug", CP_LOG_DEBUG},
                 {"info", CP_LOG_INFO},
                 {"warn", CP_LOG_WARN},
                 {"warning", CP_LOG_WARN},
                 {"error", CP_LOG_ERROR}};
    for (size_t i = 0; text != NULL && i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(text, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return CP_EINVAL;
}

void cp_log_set_fd(int fd)
{
    log_fd = fd;
}

const char *cp_log_secret_prefix(const char *secret, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    if (secret == NULL || secret[0] == '\0') {
        snprintf(buf, size, "-");
        return buf;
    }
    snprintf(buf, size, "%.4s\xe2\x80\xa6", secret);
    return buf;
}

/* Whether text carries something that must never be logged: PEM private keys (any kind), or an HTTP
 * Authorization value. This is a last line of defence; callers are expected not to pass secrets. */
static bool looks_secret(const char *text)
{
    return strstr(text, "PRIVATE KEY-----") != NULL || strcasestr(text, "Bearer ") != NULL;
}

typedef struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
} line_t;

static void put_raw(line_t *l, const char *s, size_t n)
{
    if (l->len + n > sizeof l->buf - 2)
        n = sizeof l->buf - 2 - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Appends s as a JSON string (quoted, escaped). Control characters become \u00XX. */
static void put_string(line_t *l, const char *s)
{
    put_raw(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char esc[8];
        /* Keep room for the closing quote, brace and newline, so a cut line is still valid JSON. */
        if (l->len + LOG_TAIL_ROOM > sizeof l->buf) {
            put_raw(l, "...", 3);
            break;
        }
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put_raw(l, esc, 2);
        } else if (*p == '\n') {
            put_raw(l, "\\n", 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            put_raw(l, esc, 6);
        } else {
            put_raw(l, (const char *)p, 1);
        }
    }
    put_raw(l, "\"", 1);
}

static void put_field(line_t *l, const char *key, const char *value)
{
    if (l->len + 2 * LOG_TAIL_ROOM > sizeof l->buf)
        return;
    put_raw(l, ",", 1);
    put_string(l, key);
    put_raw(l, ":", 1);
    put_string(l, looks_secret(value) ? "[redacted]" : value);
}

void cp_log__write(cp_log_level_t level, const char *module, const char *const *kv, const char *fmt,
                   ...)
{
    char msg[LOG_LINE_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    int64_t now_ms = cp_clock_wall_ms();
    time_t now_s = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&now_s, &tm);
    char when[80];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now_ms % 1000));

    line_t l;
    l.len = 0;
    put_raw(&l, "{\"ts\":", 6);
    put_string(&l, when);
    put_field(&l, "level", level_names[(unsigned)level < 4 ? (unsigned)level : 3]);
    put_field(&l, "module", module != NULL ? module : "-");
    put_field(&l, "msg", msg);
    for (size_t i = 0; kv != NULL && kv[i] != NULL && kv[i + 1] != NULL; i += 2)
        put_field(&l, kv[i], kv[i + 1]);
    l.buf[l.len++] = '}';
    l.buf[l.len++] = '\n';
    /* One write keeps concurrent lines whole; a short write to a pipe is not retried (logs are
     * lossy). */
    ssize_t rc = write(log_fd, l.buf, l.len);
    (void)rc;
}
