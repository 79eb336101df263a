/* SPDX-License-Identifier: Apache-2.0 */
/* log.h - JSON-lines logging on stderr, with levels and a guard against secrets */
#ifndef CP_LOG_H
#define CP_LOG_H

#include <stdio.h>

typedef enum cp_log_level {
    CP_LOG_DEBUG = 0,
    CP_LOG_INFO = 1,
    CP_LOG_WARN = 2,
    CP_LOG_ERROR = 3,
} cp_log_level_t;

/* The current level; read by CP_LOG before it formats anything. Use cp_log_set_level to change it.
 */
extern int cp_log__level;

/** Logs one JSON object on one line: {"ts","level","module","msg", then the key/value fields}.
 * Checks the level before formatting. A message that contains PEM key material or a bearer token is
 * replaced by a fixed "[redacted]" text: secrets never reach the log even by mistake. THREAD
 * SAFETY: any thread; a line is written with one write(2), so lines never interleave. */
#define CP_LOG(level, module, ...)                                                                 \
    do {                                                                                           \
        if ((int)(level) >= cp_log__level)                                                         \
            cp_log__write((level), (module), NULL, __VA_ARGS__);                                   \
    } while (0)

/** Like CP_LOG with extra string fields: `kv` is a NULL-terminated array {"cert", name, "order",
 * url, NULL}. Values are escaped; a value that looks like a secret is redacted like the message. */
#define CP_LOGKV(level, module, kv, ...)                                                           \
    do {                                                                                           \
        if ((int)(level) >= cp_log__level)                                                         \
            cp_log__write((level), (module), (kv), __VA_ARGS__);                                   \
    } while (0)

void cp_log__write(cp_log_level_t level, const char *module, const char *const *kv, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/** Sets the level below which nothing is logged. THREAD SAFETY: any thread (an atomic store). */
void cp_log_set_level(cp_log_level_t level);

/** Parses "debug", "info", "warn"/"warning" or "error" (any case). Returns 0 or CP_EINVAL. */
int cp_log_level_parse(const char *text, cp_log_level_t *out);

/** Sends log lines to the file descriptor `fd` instead of 2 (stderr); used by tests.
 *  THREAD SAFETY: call before other threads log. */
void cp_log_set_fd(int fd);

/** Writes a loggable stand-in for a secret into buf: its first 4 characters and "…" ("abcd…"), or
 * "-" for NULL/empty. Returns buf. THREAD SAFETY: any thread. */
const char *cp_log_secret_prefix(const char *secret, char *buf, size_t size);

#endif
