/* SPDX-License-Identifier: Apache-2.0 */
/* store_orders.h - where an issuance stands: the ACME order being worked on for a certificate
 * (design decision 3: orders are resumable) */
#ifndef CTL_STORE_ORDERS_H
#define CTL_STORE_ORDERS_H

/*
 * order:{name}  hash: url (the ACME order), request (what was asked: CA, account, key type, names;
 *               the worker's canonical text), replaces (serial of the certificate it will replace,
 *               "" for a first issuance), key (the PEM key the CSR certifies, present from finalize
 *               on; sealed with the store's keyring like every private key, keywrap.h). TTL 7 days,
 * as long as a CA keeps an order.
 *
 * Written by the worker that holds lock:cert:{name}, deleted when the certificate is deleted. A
 * record whose request or replaces does not match the certificate any more is stale and ignored.
 */

#include "shared/err.h"

typedef struct ctl_store ctl_store_t;

/** A recorded order; strings malloc'd (ctl_store_order_dispose), key NULL when not recorded. */
typedef struct ctl_store_order {
    char *url;
    char *request;
    char *replaces;
    char *key_pem;
} ctl_store_order_t;

/** How long an order record lives (seconds). */
#define CTL_STORE_ORDER_TTL_S (7 * 24 * 3600)

/** Reads order:{name}. Errors: CP_ENOTFOUND, CP_EINVAL, CP_EUNAVAIL, CP_EAUTH, CP_EPROTO (a record
 * without url or request). THREAD SAFETY: one thread at a time per s. */
int ctl_store_order_get(ctl_store_t *s, const char *name, ctl_store_order_t *out, cp_err_t *err);

/** Replaces order:{name} with o (key_pem NULL: no key) and its TTL, in one MULTI/EXEC. Errors:
 * CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. */
int ctl_store_order_put(ctl_store_t *s, const char *name, const ctl_store_order_t *o,
                        cp_err_t *err);

/** Deletes order:{name} (none is fine). Errors: CP_EINVAL, CP_EUNAVAIL, CP_EAUTH. */
int ctl_store_order_del(ctl_store_t *s, const char *name, cp_err_t *err);

/** Frees the strings of o (the key wiped) and zeroes it. NULL is a no-op. */
void ctl_store_order_dispose(ctl_store_order_t *o);

#endif
