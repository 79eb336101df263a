/* SPDX-License-Identifier: Apache-2.0 */
/* certrec.h - certificate records: certplane.v1.Certificate <-> the seed-compatible cert:{name}
 * JSON */
#ifndef CTL_CERTREC_H
#define CTL_CERTREC_H

#include <stddef.h>

#include "certplane/v1/certplane.pb-c.h"
#include "shared/err.h"

/*
 * A record is the Certificate in proto3 JSON with the proto field names (snake_case: the seed's
 * `domains`, `email`, `fullchain_pem`, `private_key_pem`, plus ours), enums as names, Timestamps as
 * RFC 3339. The store (shared/store.h) owns the `revision` field: encode leaves it out, decode
 * reads it back.
 *
 * Seed records (written by the Python seed: no `state`, no `revision`, possibly fields we do not
 * know such as `created_at` or `expires_at`) decode as is: unknown fields are skipped, the name
 * comes from the key, and a record with a fullchain_pem but no state is VALID with not_before,
 * not_after, serial and issuer read from its leaf certificate.
 *
 * THREAD SAFETY: every function may be called from any thread.
 */

/** Encodes `c` as a record without `revision` into *json (malloc'd, NUL-terminated; *len may be
 * NULL). Errors: CP_EINVAL. */
int ctl_certrec_encode(const Certplane__V1__Certificate *c, char **json, size_t *len,
                       cp_err_t *err);

/** Decodes the record stored under cert:{name} into *out (free with
 *  protobuf_c_message_free_unpacked(&(*out)->base, NULL)). Errors: CP_EINVAL ("cert:<name>: ...")
 * when the text is not a certificate record. */
int ctl_certrec_decode(const char *name, const char *json, size_t len,
                       Certplane__V1__Certificate **out, cp_err_t *err);

#endif
