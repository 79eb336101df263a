/* SPDX-License-Identifier: Apache-2.0 */
/* hash.c - FNV-1a, the one non-cryptographic hash (cache slots, stable per-name jitter) */
#include "shared/hash.h"

#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME 16777619u
#define FNV64_OFFSET 14695981039346656037ULL
#define FNV64_PRIME 1099511628211ULL

uint32_t cp_hash_fnv1a32(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t h = FNV32_OFFSET;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * FNV32_PRIME;
    return h;
}

uint32_t cp_hash_fnv1a32_str(const char *s)
{
    uint32_t h = FNV32_OFFSET;
    for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p != '\0'; p++)
        h = (h ^ *p) * FNV32_PRIME;
    return h;
}

uint64_t cp_hash_fnv1a64_str(const char *s)
{
    uint64_t h = FNV64_OFFSET;
    for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p != '\0'; p++)
        h = (h ^ *p) * FNV64_PRIME;
    return h;
}
