/* SPDX-License-Identifier: Apache-2.0 */
/* keywrap.h - envelope encryption of private keys at rest: the KEK keyring and sealed values */
#ifndef CTL_KEYWRAP_H
#define CTL_KEYWRAP_H

#include <stdbool.h>
#include <stddef.h>

#include "shared/err.h"

/*
 * Private keys (the private_key_pem of cert:{name}, the value of account:{provider}:{email}) are
 * stored sealed (design.md, second-wave decision 4):
 *
 *   cpenc1:<kek-id>:<base64(wnonce[12] | wrapped DEK[32] | wtag[16])>:<base64(nonce[12] | ct |
 * tag[16])>
 *
 * A random 256-bit data key (DEK) per value encrypts the key with AES-256-GCM; the DEK is wrapped
 * with AES-256-GCM under the key-encryption key (KEK) named <kek-id>. The data's AAD is
 * "certplane-key-v1\0" + the Redis key of the record (cert:NAME, account:P:E), so a value copied
 * into another record does not open; the wrap's AAD adds the KEK id. Rotation re-wraps the DEK only
 * (ctl_keywrap_rewrap()). A value without the `cpenc1:` prefix is a plaintext key (old records, the
 * Python seed's) and opens as is.
 *
 * Keyring file (--kek-file): one key per line, `ID BASE64`, where ID is 1-64 of [A-Za-z0-9._-] and
 * BASE64 encodes exactly 32 random bytes (`openssl rand -base64 32`); blank lines and lines
 * starting with # are skipped; the FIRST key is the active one (new values are sealed with it), the
 * others only open older values. The file must not be accessible to others, nor to its group (mode
 * 0600 or 0400), with one exception: group read (0440) when the group is the process's own
 * effective group, as a Kubernetes Secret mounted with fsGroup = runAsGroup always is. It must be a
 * regular file (a symlink to one is followed, as in a Secret mount).
 *
 * A NULL keyring is the insecure plaintext mode (--insecure-plaintext-keys): seal returns the value
 * as is, open reads plaintext and refuses sealed values.
 *
 * THREAD SAFETY: a keyring is shared by every thread; ctl_keyring_reload() swaps its keys under a
 * lock while other threads seal and open.
 */

typedef struct ctl_keyring ctl_keyring_t;

/** Longest KEK id. */
#define CTL_KEYWRAP_ID_MAX 64

/** Prefix of a sealed value. */
#define CTL_KEYWRAP_PREFIX "cpenc1:"

/** Loads the keyring file at path into *out (ctl_keyring_free()). Errors: CP_EPERM (group/world
 * may read or write it, or it cannot be read), CP_ENOTFOUND, CP_EINVAL (a bad line: "PATH:LINE:
 * ..."; no key; a duplicate id). The messages never contain key material. */
int ctl_keyring_load(const char *path, ctl_keyring_t **out, cp_err_t *err);

/** Loads the keyring from text (tests and ctl_keyring_load()); `where` names it in messages. */
int ctl_keyring_parse(const char *text, const char *where, ctl_keyring_t **out, cp_err_t *err);

/** Loads the keyring from the list form `ID:BASE64[,ID:BASE64...]` (--kek, an environment
 *  variable); the first entry is active. Errors: as ctl_keyring_parse(). */
int ctl_keyring_parse_list(const char *list, const char *where, ctl_keyring_t **out, cp_err_t *err);

/** Reads the file again (SIGHUP) and replaces the keys; on failure the keys in use stay.
 *  Errors: as ctl_keyring_load(); CP_EINVAL for a keyring made by ctl_keyring_parse(). */
int ctl_keyring_reload(ctl_keyring_t *kr, cp_err_t *err);

/** Wipes the keys and frees kr. NULL is a no-op. */
void ctl_keyring_free(ctl_keyring_t *kr);

/** Copies the active KEK id into id (CTL_KEYWRAP_ID_MAX + 1 bytes); "" for a NULL keyring. */
void ctl_keyring_active(const ctl_keyring_t *kr, char *id);

/** True when kr was loaded from a file (ctl_keyring_reload() can re-read it). */
bool ctl_keyring_from_file(const ctl_keyring_t *kr);

/** Number of keys. */
size_t ctl_keyring_size(const ctl_keyring_t *kr);

/** True when v is a sealed value (starts with CTL_KEYWRAP_PREFIX). */
bool ctl_keywrap_sealed(const char *v);

/** Copies the KEK id of the sealed value v into id (CTL_KEYWRAP_ID_MAX + 1 bytes); "" for a
 * plaintext value. Errors: CP_EINVAL (a malformed sealed value). */
int ctl_keywrap_kek_id(const char *v, char *id, cp_err_t *err);

/** Seals the n bytes of plain for the record `record` (its Redis key) under the active KEK into
 * *out (NUL-terminated, free()). With a NULL keyring *out is a copy of plain. Errors: CP_ECRYPTO.
 */
int ctl_keywrap_seal(const ctl_keyring_t *kr, const char *record, const char *plain, size_t n,
                     char **out, cp_err_t *err);

/** Opens the value v of the record `record`: a sealed value is decrypted, a plaintext one copied.
 * *out is NUL-terminated (free it with cp_secure_free(*out, *out_len)); *out_len may be NULL.
 * Errors: CP_ESTATE ("RECORD: sealed with KEK \"ID\", which is not in the keyring"; also a sealed
 * value without a keyring), CP_ECRYPTO ("RECORD: sealed key does not open": tampered, another
 * record's value, the wrong key bytes), CP_EINVAL (malformed). Never names key material. */
int ctl_keywrap_open(const ctl_keyring_t *kr, const char *record, const char *v, char **out,
                     size_t *out_len, cp_err_t *err);

/** Rewrites the value v of `record` for the active KEK into *out (free()): a sealed value under
 * another KEK gets its DEK re-wrapped (the ciphertext is kept), a plaintext value is sealed, a
 * value already under the active KEK is copied. *changed (may be NULL) tells whether *out differs.
 * Errors: those of ctl_keywrap_open(); CP_ESTATE with a NULL keyring. */
int ctl_keywrap_rewrap(const ctl_keyring_t *kr, const char *record, const char *v, char **out,
                       bool *changed, cp_err_t *err);

#endif
