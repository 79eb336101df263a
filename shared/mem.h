/* SPDX-License-Identifier: Apache-2.0 */
/* mem.h - allocation that aborts with a message when memory runs out */
#ifndef CP_MEM_H
#define CP_MEM_H

#include <stdarg.h>
#include <stddef.h>

/* Out of memory is not an error callers handle (STYLE: "out of memory aborts with a message, as h2o
 * does"): these wrappers never return NULL. Zero sizes allocate one byte, so the result is always a
 * unique pointer that free() accepts. THREAD SAFETY: any thread. */

/** malloc(size) or abort. */
void *cp_xmalloc(size_t size);

/** calloc(n, size) or abort (also when n * size overflows). */
void *cp_xcalloc(size_t n, size_t size);

/** realloc(p, size) or abort. */
void *cp_xrealloc(void *p, size_t size);

/** A malloc'd copy of the NUL-terminated s, or abort. */
char *cp_xstrdup(const char *s);

/** A malloc'd copy of at most n bytes of s, NUL-terminated, or abort. */
char *cp_xstrndup(const char *s, size_t n);

/** A new string formatted as printf does (vasprintf), or abort. */
char *cp_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** cp_xasprintf with a va_list. */
char *cp_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/** Returns p, or aborts with a message naming `what` when p is NULL: for memory a library allocated
 *  (json_dumps, curl_easy_escape, protobuf-c's unpack of a message we packed), where NULL can only
 *  mean that memory ran out. */
void *cp_xcheck(void *p, const char *what);

/** Wipes len bytes at p (explicit_bzero, which the compiler may not drop as it may a memset before
 *  free) and frees p. For every buffer that held a secret: a private key PEM, a token, a record
 *  holding a key. No-op for NULL. */
void cp_secure_free(void *p, size_t len);

/** cp_secure_free(s, strlen(s)): for a NUL-terminated secret. No-op for NULL. */
void cp_secure_free_str(char *s);

#endif
