/* SPDX-License-Identifier: Apache-2.0 */
/* keypool.h - a small pool of fresh certificate keys, refilled by a low-priority thread */
#ifndef CTL_KEYPOOL_H
#define CTL_KEYPOOL_H

#include <stddef.h>

#include <openssl/evp.h>

#include "shared/err.h"
#include "shared/x509.h"

/*
 * RSA key generation costs 0.1-0.3 s of CPU, longer than the rest of an issuance against a fast CA.
 * The pool takes it off the issuance's path: a background thread (nice 10) keeps up to `per_type`
 * keys of each type that has been asked for at least once, so the next issuance of that type finds
 * one ready. A type nobody asked for costs nothing.
 *
 * Every key is still fresh: generated in this process for one issuance, handed out once (it leaves
 * the pool when taken), never written anywhere and never logged. Keys left at shutdown are freed
 * (OpenSSL clears the private components when it frees them). The pool helps latency, not
 * throughput: a burst that uses keys faster than one thread makes them generates the rest inline.
 *
 * Ownership: ctl_keypool_new() gives a pool freed with ctl_keypool_free(); ctl_keypool_take() gives
 * a key the caller frees with EVP_PKEY_free().
 * THREAD SAFETY: every function but ctl_keypool_free() may be called from any thread at once.
 */

typedef struct ctl_keypool ctl_keypool_t;

/** Largest per_type ctl_keypool_new() accepts. */
#define CTL_KEYPOOL_MAX_PER_TYPE 16

/** Creates a pool keeping up to `per_type` (1..CTL_KEYPOOL_MAX_PER_TYPE) keys per key type and
 *  starts its thread. The pool starts empty. Errors: CP_EINVAL (per_type out of range), CP_EIO (no
 * thread). THREAD SAFETY: any thread. */
int ctl_keypool_new(size_t per_type, ctl_keypool_t **out, cp_err_t *err);

/** A fresh key of `type` (CP_KEY_DEFAULT: RSA 2048) into *out: one from the pool when there is one,
 *  else one generated now on the calling thread. Either way the pool's thread then makes sure the
 *  type is topped up. With pool NULL it is cp_x509_key_generate(). Errors: those of
 *  cp_x509_key_generate() (CP_EINVAL unknown type, CP_ECRYPTO); *out is untouched on error. */
int ctl_keypool_take(ctl_keypool_t *pool, cp_key_type_t type, EVP_PKEY **out, cp_err_t *err);

/** Keys of `type` ready in the pool now (for metrics and tests). */
size_t ctl_keypool_count(ctl_keypool_t *pool, cp_key_type_t type);

/** Keys handed out from the pool, and keys the takers had to generate themselves, since creation.
 */
void ctl_keypool_stats(ctl_keypool_t *pool, unsigned long *hits, unsigned long *misses);

/** Stops the thread (waiting for a key it is generating), frees the keys still pooled and the pool.
 *  NULL is a no-op. THREAD SAFETY: one thread, once no other thread uses the pool. */
void ctl_keypool_free(ctl_keypool_t *pool);

#endif
