/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_split.h - splits a fuzz input into parts at a separator line (fuzz targets only) */
#ifndef CP_FUZZ_SPLIT_H
#define CP_FUZZ_SPLIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The separator between the parts of one input: a line of its own, easy to write in a seed. */
#define CP_FUZZ_SEP "\n%%%%\n"
#define CP_FUZZ_SEP_LEN (sizeof(CP_FUZZ_SEP) - 1)

/** Splits data[0..size) into at most `max` parts at CP_FUZZ_SEP; the last part takes the rest.
 *  Parts point into data (not NUL-terminated). Returns the number of parts (>= 1).
 *  THREAD SAFETY: reentrant. */
static inline size_t cp_fuzz_split(const uint8_t *data, size_t size, const uint8_t **part,
                                   size_t *len, size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; n + 1 < max && i + CP_FUZZ_SEP_LEN <= size; i++) {
        if (memcmp(data + i, CP_FUZZ_SEP, CP_FUZZ_SEP_LEN) != 0)
            continue;
        part[n] = data + start;
        len[n++] = i - start;
        start = i + CP_FUZZ_SEP_LEN;
        i = start - 1;
    }
    part[n] = data + start;
    len[n++] = size - start;
    return n;
}

#endif
