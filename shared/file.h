/* SPDX-License-Identifier: Apache-2.0 */
/* file.h - read a whole (small) file: certificates, keys, token lists */
#ifndef CP_FILE_H
#define CP_FILE_H

#include <stddef.h>

#include "shared/err.h"

/** Reads the whole file at path into *out (cp_xmalloc'd, NUL-terminated; free it with
 *  cp_secure_free_str when it may hold a secret) and *out_len (may be NULL). Fails with
 * CP_ENOTFOUND when the file does not exist, CP_EPERM when it may not be read, CP_ETOOBIG when it
 * is larger than max bytes and CP_EIO otherwise; err's message names the path. Every buffer that
 * held part of the file and is not returned is wiped before it is freed. On failure *out is NULL.
 *  THREAD SAFETY: any thread. */
int cp_file_read(const char *path, size_t max, char **out, size_t *out_len, cp_err_t *err);

#endif
