/* SPDX-License-Identifier: Apache-2.0 */
/* certrepo.c - the certificate repository: load, revision-checked put and delete of cert:{name} */
#include "controller/store/certrepo.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "controller/store/certrec.h"
#include "controller/store/keywrap.h"
#include "shared/mem.h"

void ctl_certrepo_cert_free(Certplane__V1__Certificate *c)
{
    if (c == NULL)
        return;
    if (c->private_key_pem != NULL && c->private_key_pem != protobuf_c_empty_string)
        OPENSSL_cleanse(c->private_key_pem, strlen(c->private_key_pem)); /* protobuf-c frees it */
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

/* Opens the sealed private key of a decoded record in place (a plaintext one stays). */
static int key_open(const ctl_certrepo_t *r, Certplane__V1__Certificate *c, cp_err_t *err)
{
    if (!ctl_keywrap_sealed(c->private_key_pem))
        return 0;
    char *record = cp_xasprintf("cert:%s", c->name), *plain = NULL;
    int rc = ctl_keywrap_open(ctl_store_keyring(r->store), record, c->private_key_pem, &plain, NULL,
                              err);
    free(record);
    if (rc != 0)
        return rc;
    free(c->private_key_pem); /* sealed: nothing to wipe */
    c->private_key_pem = plain;
    return 0;
}

int ctl_certrepo_load(const ctl_certrepo_t *r, const char *name, Certplane__V1__Certificate **out,
                      cp_err_t *err)
{
    char *json = NULL;
    size_t len = 0;
    *out = NULL;
    int rc = ctl_store_cert_get(r->store, name, &json, &len, err);
    if (rc == CP_ENOTFOUND)
        return cp_err_set(err, CP_ENOTFOUND, "certificate \"%s\" not found", name);
    if (rc == 0)
        rc = ctl_certrec_decode(name, json, len, out, err);
    cp_secure_free(json, len);
    if (rc == 0 && (rc = key_open(r, *out, err)) != 0) {
        ctl_certrepo_cert_free(*out);
        *out = NULL;
    }
    return rc;
}

/* A cached certificate with its key opened into *out; 0 on a miss (or a key that no longer
 * opens, which the MGET path then reports). */
static int load_cached(const ctl_certrepo_t *r, const char *name, Certplane__V1__Certificate **out)
{
    char *sealed = NULL;
    if (!ctl_certcache_get_sealed(r->cache, name, out, &sealed))
        return 0;
    if ((*out)->private_key_pem != protobuf_c_empty_string)
        free((*out)->private_key_pem);
    (*out)->private_key_pem = sealed;
    if (key_open(r, *out, NULL) != 0) {
        ctl_certrepo_cert_free(*out);
        *out = NULL;
        return 0;
    }
    return 1;
}

/* Decodes one MGET answer into *out with its key opened, offering it (with the key as stored) to
 * the cache under `gen`. 0, or -1 when it does not decode or its key does not open. */
static int decode_one(const ctl_certrepo_t *r, const char *name, const char *json, uint64_t gen,
                      Certplane__V1__Certificate **out)
{
    if (ctl_certrec_decode(name, json, strlen(json), out, NULL) != 0)
        return -1;
    if (r->cache != NULL) {
        /* The key as stored when it is sealed, "" when there is none; a plaintext key (no
         * keyring, or a record from before sealing) is never cached: NULL, not known. */
        const char *key = (*out)->private_key_pem;
        const char *sealed = key == NULL || key[0] == '\0' ? ""
                             : ctl_keywrap_sealed(key)     ? key
                                                           : NULL;
        ctl_certcache_fill_sealed(r->cache, *out, sealed, gen);
    }
    if (key_open(r, *out, NULL) != 0) {
        ctl_certrepo_cert_free(*out); /* a key that does not open: unreadable, kept */
        *out = NULL;
        return -1;
    }
    return 0;
}

int ctl_certrepo_load_many(const ctl_certrepo_t *r, const char *const *names, size_t n,
                           Certplane__V1__Certificate **out, size_t *unreadable, cp_err_t *err)
{
    /* Cached certificates (with their sealed key) first; one MGET for the rest. The generation is
     * taken before that read, so a fill never puts back a value older than a change it raced. */
    const char **miss = cp_xcalloc(n > 0 ? n : 1, sizeof *miss);
    size_t *at = cp_xcalloc(n > 0 ? n : 1, sizeof *at), m = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        if (r->cache == NULL || !load_cached(r, names[i], &out[i])) {
            miss[m] = names[i];
            at[m++] = i;
        }
    }
    char **jsons = cp_xcalloc(m > 0 ? m : 1, sizeof *jsons);
    uint64_t gen = ctl_certcache_gen(r->cache);
    int rc = m > 0 ? ctl_store_cert_mget(r->store, miss, m, jsons, err) : 0;
    for (size_t j = 0; j < m; j++) {
        /* A record that is missing was deleted since it was listed; one that does not decode is
         * counted, so the caller can say that it skipped it. */
        if (rc == 0 && jsons[j] != NULL && decode_one(r, miss[j], jsons[j], gen, &out[at[j]]) != 0)
            bad++;
        cp_secure_free_str(jsons[j]);
    }
    if (rc != 0)
        for (size_t i = 0; i < n; i++) {
            ctl_certrepo_cert_free(out[i]);
            out[i] = NULL;
        }
    free(jsons);
    free(miss);
    free(at);
    if (unreadable != NULL)
        *unreadable = bad;
    return rc;
}

/* Encodes c with its private key sealed for cert:{name} (a shallow copy carries the sealed key);
 * *sealed receives the key as stored ("" for none, NULL when it is stored in the clear: no
 * keyring), freed by the caller. */
static int encode_sealed(const ctl_certrepo_t *r, const Certplane__V1__Certificate *c, char **json,
                         size_t *len, char **sealed, cp_err_t *err)
{
    const char *key = c->private_key_pem;
    *sealed = NULL;
    if (key == NULL || key[0] == '\0') {
        *sealed = cp_xstrdup("");
        return ctl_certrec_encode(c, json, len, err);
    }
    char *record = cp_xasprintf("cert:%s", c->name);
    int rc = ctl_keywrap_seal(ctl_store_keyring(r->store), record, key, strlen(key), sealed, err);
    free(record);
    if (rc != 0)
        return rc;
    Certplane__V1__Certificate copy = *c;
    copy.private_key_pem = *sealed;
    rc = ctl_certrec_encode(&copy, json, len, err);
    if (!ctl_keywrap_sealed(*sealed)) { /* plaintext when there is no keyring: never cached */
        cp_secure_free_str(*sealed);
        *sealed = NULL;
    }
    return rc;
}

/* After a write of c at revision rev (the cache generation taken before it): the cache holds the
 * new revision with its sealed key, so this controller's next read or snapshot need not read it
 * back (a bulk import leaves a warm cache for the edges that connect next); when that fill is
 * refused (something changed meanwhile) or the write failed, the entry goes. */
static void cache_after_write(const ctl_certrepo_t *r, const char *name, const char *json,
                              size_t len, const char *sealed, int ok, int64_t rev, uint64_t gen)
{
    Certplane__V1__Certificate *d = NULL;
    /* What a read would decode from the record just written (the JSON, revision prepended). */
    if (ok && sealed != NULL && r->cache != NULL &&
        ctl_certrec_decode(name, json, len, &d, NULL) == 0) {
        d->revision = rev;
        bool filled = ctl_certcache_fill_sealed(r->cache, d, sealed, gen);
        protobuf_c_message_free_unpacked(&d->base, NULL); /* its key field is the sealed one */
        if (filled)
            return;
    }
    ctl_certcache_invalidate(r->cache, name);
}

int ctl_certrepo_put(const ctl_certrepo_t *r, const Certplane__V1__Certificate *c,
                     const ctl_certrepo_write_t *w, int64_t *new_revision, cp_err_t *err)
{
    char *json = NULL, *sealed = NULL;
    size_t len = 0;
    int64_t rev = 0;
    if (c == NULL || w == NULL || c->name == NULL)
        return cp_err_set(err, CP_EINVAL, "certificate record: NULL argument");
    int rc = encode_sealed(r, c, &json, &len, &sealed, err);
    if (rc != 0) {
        cp_secure_free_str(sealed);
        return rc; /* CP_EINVAL: a string that is not UTF-8, named by the codec */
    }
    ctl_store_cert_write_t sw = {
        .name = c->name,
        .json = json,
        .json_len = len,
        .mode = w->mode,
        .expected_revision = w->expected_revision,
        .renew_at = w->renew_at_ms < 0 ? -1.0 : (double)w->renew_at_ms / 1000.0,
        .job_kind = w->job_kind,
    };
    uint64_t gen = ctl_certcache_gen(r->cache);
    rc = ctl_store_cert_put(r->store, &sw, &rev, err);
    /* Read-your-writes on this controller: the old value leaves the cache before the caller hears
     * back (also on failure: the write may have happened before a connection broke). */
    cache_after_write(r, c->name, json, len, sealed, rc == 0, rev, gen);
    cp_secure_free(json, len);
    cp_secure_free_str(sealed);
    if (new_revision != NULL && rc == 0)
        *new_revision = rev;
    if (rc == CP_EEXIST)
        return cp_err_set(err, CP_EEXIST, "certificate \"%s\" already exists", c->name);
    if (rc == CP_ENOTFOUND)
        return cp_err_set(err, CP_ENOTFOUND, "certificate \"%s\" not found", c->name);
    return rc;
}

int ctl_certrepo_delete(const ctl_certrepo_t *r, const char *name, int64_t expected_revision,
                        int64_t *new_revision, cp_err_t *err)
{
    int rc = ctl_store_cert_delete(r->store, name, expected_revision, new_revision, err);
    ctl_certcache_invalidate(r->cache, name); /* read-your-writes, as in ctl_certrepo_put() */
    if (rc == CP_ENOTFOUND)
        return cp_err_set(err, CP_ENOTFOUND, "certificate \"%s\" not found", name);
    return rc;
}
