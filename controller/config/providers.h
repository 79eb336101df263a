/* SPDX-License-Identifier: Apache-2.0 */
/* providers.h - named ACME providers (--providers-file and the --acme-* flags) and the default
 * issuer list (--issuers) */
#ifndef CTL_PROVIDERS_H
#define CTL_PROVIDERS_H

#include <stddef.h>

#include "controller/config/config.h"
#include "shared/err.h"
#include "shared/x509.h"

/*
 * A provider is a CA as the operator configured it, under a name: its directory (a built-in alias
 * such as letsencrypt, or an https:// URL), the trust bundle for its HTTPS, the external account
 * binding it issued (key id and MAC key), the profile its orders ask for when a certificate names
 * none, and the key type of new accounts there. The --acme-* flags make the provider "default";
 * --providers-file adds more (JSON):
 *
 *   {"providers": {"myca": {"directory": "https://ca.example/dir", "ca_file": "/etc/ca.pem",
 *                           "eab_kid": "kid-1", "eab_hmac_key_file": "/run/secrets/myca",
 *                           "profile": "tlsserver", "account_key_type": "RSA_2048"}}}
 *
 * The MAC key is read from a file ("eab_hmac_key_file", first line) or an environment variable
 * ("eab_hmac_key_env"), never from the providers file itself, and never logged. Whether an alias
 * is known is checked one floor up (ctl_work_check_config), where the aliases live.
 */

/** One configured provider. Strings are malloc'd; eab_hmac_key is a secret. */
typedef struct ctl_provider {
    char *name;
    char *directory;                /* alias or https:// URL */
    char *ca_file;                  /* or NULL: the system store */
    char *eab_kid;                  /* or NULL */
    char *eab_hmac_key;             /* base64url, or NULL (secret) */
    char *profile;                  /* or NULL */
    cp_key_type_t account_key_type; /* CP_KEY_EC_P256 or CP_KEY_RSA_2048 */
} ctl_provider_t;

/** Builds c->providers (the "default" provider from the --acme-* flags, then those of
 * --providers-file in file order) and c->issuers (--issuers, default "default"), checking them:
 * names [a-z0-9][a-z0-9_-]{0,62} and unique, a directory, readable files, both or neither EAB
 * halves, a known key type, issuers that name providers. Errors: CP_EINVAL with err naming the
 * file, provider and field. THREAD SAFETY: main thread, before others start. */
int ctl_providers_load(ctl_config_t *c, cp_err_t *err);

/** Frees what ctl_providers_load stored (the MAC keys wiped). */
void ctl_providers_dispose(ctl_config_t *c);

/** The provider called `name`, or NULL. THREAD SAFETY: any thread (read-only). */
const ctl_provider_t *ctl_providers_find(const ctl_config_t *c, const char *name);

/** Writes the configured names, comma-separated, into buf (for error messages). */
void ctl_providers_names(const ctl_config_t *c, char *buf, size_t size);

#endif
