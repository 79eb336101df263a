/* SPDX-License-Identifier: Apache-2.0 */
/* hash.h - FNV-1a, the one non-cryptographic hash (cache slots, stable per-name jitter) */
#ifndef CP_HASH_H
#define CP_HASH_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a is stable across processes, machines and versions, so a value derived from it (a renewal
 * jitter) agrees between controllers. Not for anything an attacker may choose to collide where
 * that matters. THREAD SAFETY: any thread. */

/** 32-bit FNV-1a of len bytes at data. */
uint32_t cp_hash_fnv1a32(const void *data, size_t len);

/** 32-bit FNV-1a of the NUL-terminated s (NULL hashes as ""). */
uint32_t cp_hash_fnv1a32_str(const char *s);

/** 64-bit FNV-1a of the NUL-terminated s (NULL hashes as ""). */
uint64_t cp_hash_fnv1a64_str(const char *s);

#endif
