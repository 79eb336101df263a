/* SPDX-License-Identifier: Apache-2.0 */
/* file.c - read a whole (small) file: certificates, keys, token lists */
#include "shared/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/mem.h"

static int open_error(const char *path, int e, cp_err_t *err)
{
    int code = e == ENOENT ? CP_ENOTFOUND : (e == EACCES || e == EPERM) ? CP_EPERM : CP_EIO;
    return cp_err_set(err, code, "%s: %s", path, strerror(e));
}

/* Grows *buf (of *cap bytes, len used) without realloc, so no copy of a secret is left behind. */
static void grow(char **buf, size_t *cap, size_t len, size_t max)
{
    size_t ncap = *cap * 2 > max + 2 ? max + 2 : *cap * 2;
    char *nbuf = cp_xmalloc(ncap);
    memcpy(nbuf, *buf, len);
    cp_secure_free(*buf, *cap);
    *buf = nbuf;
    *cap = ncap;
}

int cp_file_read(const char *path, size_t max, char **out, size_t *out_len, cp_err_t *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return open_error(path, errno, err);
    struct stat st;
    size_t cap = 4096, len = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        cap = (size_t)st.st_size < max ? (size_t)st.st_size + 2 : max + 2;
    char *buf = cp_xmalloc(cap);
    int rc = 0;
    for (;;) {
        if (len + 1 == cap && cap < max + 2)
            grow(&buf, &cap, len, max);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = cp_err_set(err, CP_EIO, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            rc = cp_err_set(err, CP_ETOOBIG, "%s: larger than %zu bytes", path, max);
            break;
        }
    }
    close(fd);
    if (rc != 0) {
        cp_secure_free(buf, cap);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    if (out_len != NULL)
        *out_len = len;
    return 0;
}
