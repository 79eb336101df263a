/* SPDX-License-Identifier: Apache-2.0 */
/* mem.c - allocation that aborts with a message when memory runs out */
#include "shared/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t size)
{
    fprintf(stderr, "certplane: out of memory (%zu bytes)\n", size);
    abort();
}

void *cp_xmalloc(size_t size)
{
    void *p = malloc(size != 0 ? size : 1);
    if (p == NULL)
        out_of_memory(size);
    return p;
}

void *cp_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);
    if (p == NULL)
        out_of_memory(n * size);
    return p;
}

void *cp_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size != 0 ? size : 1);
    if (q == NULL)
        out_of_memory(size);
    return q;
}

char *cp_xstrdup(const char *s)
{
    return cp_xstrndup(s, strlen(s));
}

char *cp_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n); /* reads at most n bytes: s need not be NUL-terminated */
    char *p = cp_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *cp_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = cp_xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

char *cp_xvasprintf(const char *fmt, va_list ap)
{
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0)
        out_of_memory(0);
    return p;
}

void *cp_xcheck(void *p, const char *what)
{
    if (p == NULL) {
        fprintf(stderr, "certplane: out of memory (%s)\n", what);
        abort();
    }
    return p;
}

void cp_secure_free(void *p, size_t len)
{
    if (p == NULL)
        return;
    explicit_bzero(p, len);
    free(p);
}

void cp_secure_free_str(char *s)
{
    if (s != NULL)
        cp_secure_free(s, strlen(s));
}
