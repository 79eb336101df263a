/* SPDX-License-Identifier: Apache-2.0 */
/* store_keys.h - the functions of store_keys.c: raw access to sealed values for key rotation */
#ifndef CTL_STORE_KEYS_H
#define CTL_STORE_KEYS_H

#include "controller/store/store.h"

/** One SCAN step over the account key records (`account:*` without the `:url` entries): *keys
 * receives full Redis keys (ctl_store_strv_free()), *next the cursor (0: done). Errors:
 * CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. THREAD SAFETY: one thread at a time per s. */
int ctl_store_account_scan(ctl_store_t *s, uint64_t cursor, uint64_t *next, char ***keys, size_t *n,
                           cp_err_t *err);

/** Reads the raw (sealed or plaintext) value of the record `key` into *value (malloc'd; wipe it
 * with cp_secure_free_str()). Errors: CP_ENOTFOUND, CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. */
int ctl_store_value_get(ctl_store_t *s, const char *key, char **value, cp_err_t *err);

/** Replaces the value of `key` with `value` only if it is still `expected`. Errors: CP_ECONFLICT
 * (changed since it was read), CP_ENOTFOUND (deleted), CP_EUNAVAIL, CP_EAUTH. */
int ctl_store_value_cas(ctl_store_t *s, const char *key, const char *expected, const char *value,
                        cp_err_t *err);

/** The certs:by_expiry score of `name` (Unix seconds) into *renew_at; -1 when it has none.
 *  Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH, CP_EPROTO. */
int ctl_store_cert_renew_at(ctl_store_t *s, const char *name, double *renew_at, cp_err_t *err);

#endif
