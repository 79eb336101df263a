/* SPDX-License-Identifier: Apache-2.0 */
/* keyrotate.c - re-wraps every sealed private key in Redis for the keyring's active KEK, online */
#include "controller/store/keyrotate.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "controller/store/certrec.h"
#include "controller/store/keywrap.h"
#include "shared/mem.h"

#define TRIES 20

/* Frees a decoded record whose private_key_pem may hold a plaintext key. */
static void cert_free(Certplane__V1__Certificate *c)
{
    if (c == NULL)
        return;
    if (c->private_key_pem != NULL && c->private_key_pem != protobuf_c_empty_string)
        cp_secure_free_str(c->private_key_pem);
    c->private_key_pem = (char *)protobuf_c_empty_string;
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

/* Writes c with its re-wrapped key `sealed` if the record still has the revision it was read at. */
static int cert_write(ctl_store_t *s, Certplane__V1__Certificate *c, char *sealed, cp_err_t *err)
{
    double renew_at = -1;
    char *json = NULL;
    size_t len = 0;
    int rc = ctl_store_cert_renew_at(s, c->name, &renew_at, err);
    char *plain = c->private_key_pem;
    c->private_key_pem = sealed;
    if (rc == 0)
        rc = ctl_certrec_encode(c, &json, &len, err);
    c->private_key_pem = plain;
    if (rc != 0)
        return rc;
    ctl_store_cert_write_t w = {.name = c->name,
                                .json = json,
                                .json_len = len,
                                .mode = CTL_STORE_MATCH,
                                .expected_revision = c->revision,
                                .renew_at = renew_at};
    rc = ctl_store_cert_put(s, &w, NULL, err);
    cp_secure_free(json, len);
    return rc;
}

/* One try on cert:{name}: 1 rewritten, 0 already current or gone, < 0 an error. */
static int cert_try(ctl_store_t *s, const char *name, cp_err_t *err)
{
    char *json = NULL, *sealed = NULL, *record = cp_xasprintf("cert:%s", name);
    size_t len = 0;
    bool changed = false;
    Certplane__V1__Certificate *c = NULL;
    int rc = ctl_store_cert_get(s, name, &json, &len, err);
    if (rc == CP_ENOTFOUND) {
        rc = 0; /* deleted meanwhile */
        goto out;
    }
    if (rc == 0)
        rc = ctl_certrec_decode(name, json, len, &c, err);
    if (rc != 0 || c->private_key_pem == NULL || c->private_key_pem[0] == '\0')
        goto out;
    rc = ctl_keywrap_rewrap(ctl_store_keyring(s), record, c->private_key_pem, &sealed, &changed,
                            err);
    if (rc == 0 && changed)
        rc = cert_write(s, c, sealed, err);
    if (rc == 0 && changed)
        rc = 1;
out:
    cp_secure_free(json, len);
    cp_secure_free_str(sealed);
    cert_free(c);
    free(record);
    return rc;
}

/* One try on an account key record; as cert_try(). */
static int account_try(ctl_store_t *s, const char *key, cp_err_t *err)
{
    char *value = NULL, *sealed = NULL;
    bool changed = false;
    int rc = ctl_store_value_get(s, key, &value, err);
    if (rc == CP_ENOTFOUND)
        return 0;
    if (rc == 0)
        rc = ctl_keywrap_rewrap(ctl_store_keyring(s), key, value, &sealed, &changed, err);
    if (rc == 0 && changed)
        rc = ctl_store_value_cas(s, key, value, sealed, err);
    if (rc == CP_ENOTFOUND)
        rc = 0;
    else if (rc == 0 && changed)
        rc = 1;
    cp_secure_free_str(value);
    cp_secure_free_str(sealed);
    return rc;
}

/* Retries a record while concurrent writes change it; counts the outcome. A store outage stops the
 * run (returned); a record that fails otherwise is counted and skipped. */
static int rotate_one(ctl_store_t *s, const char *what, bool cert, size_t *done,
                      ctl_keyrotate_stats_t *st, cp_err_t *err)
{
    cp_err_t e = {0};
    int rc = CP_ECONFLICT;
    for (int i = 0; i < TRIES && rc == CP_ECONFLICT; i++) {
        if (i > 0)
            st->conflicts++;
        rc = cert ? cert_try(s, what, &e) : account_try(s, what, &e);
    }
    if (rc == 1)
        (*done)++;
    if (rc >= 0)
        return 0;
    if (rc == CP_EUNAVAIL || rc == CP_EAUTH) {
        if (err != NULL)
            *err = e;
        return rc;
    }
    if (st->failed++ == 0 && err != NULL)
        *err = e;
    return 0;
}

typedef int (*scan_fn)(ctl_store_t *, uint64_t, uint64_t *, char ***, size_t *, cp_err_t *);

static int rotate_all(ctl_store_t *s, scan_fn scan, bool cert, size_t *seen, size_t *done,
                      ctl_keyrotate_stats_t *st, cp_err_t *err)
{
    uint64_t cursor = 0;
    do {
        char **names = NULL;
        size_t n = 0;
        int rc = scan(s, cursor, &cursor, &names, &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            (*seen)++;
            rc = rotate_one(s, names[i], cert, done, st, err);
        }
        ctl_store_strv_free(names, n);
        if (rc != 0)
            return rc;
    } while (cursor != 0);
    return 0;
}

int ctl_keyrotate_run(ctl_store_t *s, ctl_keyrotate_stats_t *st, cp_err_t *err)
{
    memset(st, 0, sizeof *st);
    if (ctl_store_keyring(s) == NULL)
        return cp_err_set(err, CP_ESTATE, "key rotation needs a keyring (--kek-file)");
    int rc = rotate_all(s, ctl_store_cert_scan, true, &st->certs, &st->certs_rewrapped, st, err);
    if (rc == 0)
        rc = rotate_all(s, ctl_store_account_scan, false, &st->accounts, &st->accounts_rewrapped,
                        st, err);
    return rc;
}
