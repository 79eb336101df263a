/* SPDX-License-Identifier: Apache-2.0 */
/* keyrotate.h - re-wraps every sealed private key in Redis for the keyring's active KEK, online */
#ifndef CTL_KEYROTATE_H
#define CTL_KEYROTATE_H

#include <stddef.h>

#include "controller/store/store.h"

/*
 * Rotation (`certplane-controller --rotate-keys`): every cert:{name} and account:{provider}:{email}
 * whose key is not sealed under the active KEK of the store's keyring is rewritten: a sealed key
 * gets its data key re-wrapped (ctl_keywrap_rewrap()), a plaintext one (old records, the seed's) is
 * sealed. Certificates are written with the revision-checked put (CTL_STORE_MATCH on the revision
 * read, the certs:by_expiry score kept), so a concurrent API or worker write is never overwritten:
 * the record is read again and retried. Accounts use a compare-and-set on the value read. A record
 * that cannot be read (unknown KEK, not a certificate) is counted as failed and left as it is.
 *
 * THREAD SAFETY: one thread at a time per store, as the store.
 */

typedef struct ctl_keyrotate_stats {
    size_t certs;           /* certificate records seen */
    size_t certs_rewrapped; /* ... rewritten for the active KEK */
    size_t accounts;        /* account key records seen */
    size_t accounts_rewrapped;
    size_t conflicts; /* tries repeated because a concurrent write changed the record */
    size_t failed;    /* records left as they were (unreadable, or still conflicting) */
} ctl_keyrotate_stats_t;

/** Rotates every record through s (whose options carry the keyring). *st is filled also on
 *  failure. Errors: CP_ESTATE (no keyring), the store's CP_EUNAVAIL, CP_EAUTH, CP_EPROTO (the scan
 *  stops); records that fail one by one only count in st->failed (the first message in err). */
int ctl_keyrotate_run(ctl_store_t *s, ctl_keyrotate_stats_t *st, cp_err_t *err);

#endif
