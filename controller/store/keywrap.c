/* SPDX-License-Identifier: Apache-2.0 */
/* keywrap.c - envelope encryption of private keys at rest: the KEK keyring and sealed values */
#include "controller/store/keywrap.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "shared/base64.h"
#include "shared/file.h"
#include "shared/mem.h"

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define WRAP_LEN (NONCE_LEN + KEY_LEN + TAG_LEN)
#define MAX_KEYS 64
#define MAX_FILE (64 * 1024)
#define MAX_PLAIN (1024 * 1024)

typedef struct kek {
    char id[CTL_KEYWRAP_ID_MAX + 1];
    uint8_t key[KEY_LEN];
} kek_t;

struct ctl_keyring {
    pthread_rwlock_t lock; /* guards keys and n (reload) */
    char *path;            /* NULL when made from text */
    kek_t *keys;           /* keys[0] is the active one */
    size_t n;
};

/* ---- keyring ----------------------------------------------------------------------------------
 */

static bool id_ok(const char *s, size_t n)
{
    if (n == 0 || n > CTL_KEYWRAP_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

static void keys_free(kek_t *keys, size_t n)
{
    if (keys != NULL)
        cp_secure_free(keys, n * sizeof *keys);
}

/* Parses one non-comment line `ID BASE64` into k. */
static int parse_line(char *line, const char *where, int lineno, kek_t *k, cp_err_t *err)
{
    char *p = line;
    while (*p != '\0' && !isspace((unsigned char)*p))
        p++;
    size_t idn = (size_t)(p - line);
    while (*p != '\0' && isspace((unsigned char)*p))
        p++;
    char *b64 = p;
    while (*p != '\0' && !isspace((unsigned char)*p))
        p++;
    size_t bn = (size_t)(p - b64);
    while (*p != '\0' && isspace((unsigned char)*p))
        p++;
    if (!id_ok(line, idn))
        return cp_err_set(err, CP_EINVAL, "%s:%d: the key id must be 1-%d of [A-Za-z0-9._-]", where,
                          lineno, CTL_KEYWRAP_ID_MAX);
    uint8_t buf[CP_BASE64_DECODED_MAX(64)];
    size_t got = 0;
    if (bn == 0 || *p != '\0' || bn > 64 || cp_base64_decode_to(b64, bn, 0, buf, &got) != 0 ||
        got != KEY_LEN) {
        OPENSSL_cleanse(buf, sizeof buf);
        return cp_err_set(err, CP_EINVAL,
                          "%s:%d: expected \"ID BASE64\" with 32 bytes of key in base64", where,
                          lineno);
    }
    memcpy(k->id, line, idn);
    k->id[idn] = '\0';
    memcpy(k->key, buf, KEY_LEN);
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

/* Parses text into a new key array; the text is modified (lines are cut). */
static int parse_keys(char *text, const char *where, kek_t **out, size_t *n_out, cp_err_t *err)
{
    kek_t *keys = cp_xcalloc(MAX_KEYS, sizeof *keys);
    size_t n = 0;
    int rc = 0, lineno = 0;
    for (char *line = text, *next; rc == 0 && line != NULL; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        while (isspace((unsigned char)*line))
            line++;
        if (*line == '\0' || *line == '#')
            continue;
        if (n == MAX_KEYS)
            rc = cp_err_set(err, CP_EINVAL, "%s: more than %d keys", where, MAX_KEYS);
        else
            rc = parse_line(line, where, lineno, &keys[n], err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (strcmp(keys[i].id, keys[n].id) == 0)
                rc = cp_err_set(err, CP_EINVAL, "%s:%d: duplicate key id \"%s\"", where, lineno,
                                keys[n].id);
        if (rc == 0)
            n++;
    }
    if (rc == 0 && n == 0)
        rc = cp_err_set(err, CP_EINVAL, "%s: no key (expected lines \"ID BASE64\")", where);
    if (rc != 0) {
        keys_free(keys, MAX_KEYS);
        return rc;
    }
    *out = keys;
    *n_out = n;
    return 0;
}

/* Reads and parses the keyring file, refusing one that others may read or change. */
static int read_keys(const char *path, kek_t **keys, size_t *n, cp_err_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cp_err_set(err, errno == ENOENT ? CP_ENOTFOUND : CP_EPERM, "%s: %s", path,
                          strerror(errno));
    if (!S_ISREG(st.st_mode))
        return cp_err_set(err, CP_EINVAL, "%s: not a regular file", path);
    /* Group read is the one exception: a Kubernetes Secret mounted with fsGroup (= the pod's own
     * runAsGroup) is always mode 0440, group-owned by that group. */
    bool own_group_read = (st.st_mode & S_IRWXG) == S_IRGRP && st.st_gid == getegid();
    if ((st.st_mode & S_IRWXO) != 0 || ((st.st_mode & S_IRWXG) != 0 && !own_group_read))
        return cp_err_set(err, CP_EPERM,
                          "%s: mode %03o lets group or others access the key-encryption keys; "
                          "chmod 600 it",
                          path, (unsigned)(st.st_mode & 0777));
    char *text = NULL;
    size_t len = 0;
    int rc = cp_file_read(path, MAX_FILE, &text, &len, err);
    if (rc == 0)
        rc = parse_keys(text, path, keys, n, err);
    if (text != NULL)
        cp_secure_free(text, len);
    return rc;
}

static ctl_keyring_t *keyring_new(kek_t *keys, size_t n, const char *path)
{
    ctl_keyring_t *kr = cp_xcalloc(1, sizeof *kr);
    pthread_rwlock_init(&kr->lock, NULL);
    kr->keys = keys;
    kr->n = n;
    kr->path = path != NULL ? cp_xstrdup(path) : NULL;
    return kr;
}

int ctl_keyring_load(const char *path, ctl_keyring_t **out, cp_err_t *err)
{
    kek_t *keys = NULL;
    size_t n = 0;
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "keyring: no file");
    int rc = read_keys(path, &keys, &n, err);
    if (rc == 0)
        *out = keyring_new(keys, n, path);
    return rc;
}

int ctl_keyring_parse(const char *text, const char *where, ctl_keyring_t **out, cp_err_t *err)
{
    kek_t *keys = NULL;
    size_t n = 0;
    *out = NULL;
    char *copy = cp_xstrdup(text != NULL ? text : "");
    int rc = parse_keys(copy, where, &keys, &n, err);
    cp_secure_free_str(copy);
    if (rc == 0)
        *out = keyring_new(keys, n, NULL);
    return rc;
}

int ctl_keyring_parse_list(const char *list, const char *where, ctl_keyring_t **out, cp_err_t *err)
{
    /* Neither ids nor base64 contain ':' or ',': the list maps onto lines "ID BASE64". */
    char *text = cp_xstrdup(list != NULL ? list : "");
    for (char *p = text; *p != '\0'; p++)
        *p = *p == ',' ? '\n' : *p == ':' ? ' ' : *p;
    int rc = ctl_keyring_parse(text, where, out, err);
    cp_secure_free_str(text);
    return rc;
}

bool ctl_keyring_from_file(const ctl_keyring_t *kr)
{
    return kr != NULL && kr->path != NULL;
}

int ctl_keyring_reload(ctl_keyring_t *kr, cp_err_t *err)
{
    if (kr == NULL || kr->path == NULL)
        return cp_err_set(err, CP_EINVAL, "keyring: not loaded from a file");
    kek_t *keys = NULL, *old;
    size_t n = 0, old_n;
    int rc = read_keys(kr->path, &keys, &n, err);
    if (rc != 0)
        return rc;
    pthread_rwlock_wrlock(&kr->lock);
    old = kr->keys, old_n = kr->n;
    kr->keys = keys, kr->n = n;
    pthread_rwlock_unlock(&kr->lock);
    (void)old_n;
    keys_free(old, MAX_KEYS);
    return 0;
}

void ctl_keyring_free(ctl_keyring_t *kr)
{
    if (kr == NULL)
        return;
    keys_free(kr->keys, MAX_KEYS);
    pthread_rwlock_destroy(&kr->lock);
    free(kr->path);
    free(kr);
}

void ctl_keyring_active(const ctl_keyring_t *kr, char *id)
{
    id[0] = '\0';
    if (kr == NULL)
        return;
    ctl_keyring_t *m = (ctl_keyring_t *)kr; /* the lock is not part of the value */
    pthread_rwlock_rdlock(&m->lock);
    memcpy(id, kr->keys[0].id, sizeof kr->keys[0].id);
    pthread_rwlock_unlock(&m->lock);
}

size_t ctl_keyring_size(const ctl_keyring_t *kr)
{
    if (kr == NULL)
        return 0;
    ctl_keyring_t *m = (ctl_keyring_t *)kr;
    pthread_rwlock_rdlock(&m->lock);
    size_t n = kr->n;
    pthread_rwlock_unlock(&m->lock);
    return n;
}

/* Copies the key `id` (NULL: the active one) into k under the read lock; false when unknown. */
static bool key_get(const ctl_keyring_t *kr, const char *id, kek_t *k)
{
    ctl_keyring_t *m = (ctl_keyring_t *)kr;
    bool found = false;
    pthread_rwlock_rdlock(&m->lock);
    for (size_t i = 0; i < kr->n && !found; i++)
        if (id == NULL || strcmp(kr->keys[i].id, id) == 0) {
            *k = kr->keys[i];
            found = true;
        }
    pthread_rwlock_unlock(&m->lock);
    return found;
}

/* ---- AES-256-GCM ------------------------------------------------------------------------------
 */

/* Encrypts (enc) or decrypts n bytes of in into out with key, nonce, aad; tag is written or
 * checked. */
static int gcm(int enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad, size_t aadn,
               const uint8_t *in, size_t n, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok = ctx != NULL;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadn) == 1;
    ok = ok && (n == 0 || EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    uint8_t last[16];
    ok = ok && EVP_CipherFinal_ex(ctx, last, &len) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : CP_ECRYPTO;
}

/* AAD of the data: binds the record; of the wrap: binds the record and the KEK id. */
static char *aad_data(const char *record, size_t *n)
{
    char *a = cp_xasprintf("certplane-key-v1%c%s", 0, record);
    *n = 17 + strlen(record);
    return a;
}

static char *aad_wrap(const char *kid, const char *record, size_t *n)
{
    char *a = cp_xasprintf("certplane-dek-v1%c%s%c%s", 0, kid, 0, record);
    *n = 17 + strlen(kid) + 1 + strlen(record);
    return a;
}

/* Wraps (enc) dek into w[WRAP_LEN] or unwraps w into dek with k. */
static int wrap_dek(int enc, const kek_t *k, const char *record, uint8_t *dek, uint8_t *w)
{
    size_t an = 0;
    char *aad = aad_wrap(k->id, record, &an);
    int rc = 0;
    if (enc && RAND_bytes(w, NONCE_LEN) != 1)
        rc = CP_ECRYPTO;
    if (rc == 0)
        rc = enc ? gcm(1, k->key, w, (uint8_t *)aad, an, dek, KEY_LEN, w + NONCE_LEN,
                       w + NONCE_LEN + KEY_LEN)
                 : gcm(0, k->key, w, (uint8_t *)aad, an, w + NONCE_LEN, KEY_LEN, dek,
                       w + NONCE_LEN + KEY_LEN);
    free(aad);
    return rc;
}

/* ---- sealed values ----------------------------------------------------------------------------
 */

bool ctl_keywrap_sealed(const char *v)
{
    return v != NULL && strncmp(v, CTL_KEYWRAP_PREFIX, strlen(CTL_KEYWRAP_PREFIX)) == 0;
}

/* A sealed value split: the KEK id, the wrapped DEK and the data (nonce | ciphertext | tag). */
typedef struct sealed {
    char kid[CTL_KEYWRAP_ID_MAX + 1];
    uint8_t wrap[WRAP_LEN];
    uint8_t *body; /* cp_xmalloc'd */
    size_t body_len;
} sealed_t;

static int sealed_parse(const char *record, const char *v, sealed_t *s, cp_err_t *err)
{
    memset(s, 0, sizeof *s);
    const char *kid = v + strlen(CTL_KEYWRAP_PREFIX);
    const char *c1 = strchr(kid, ':');
    const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    size_t wn = 0, bn = 0;
    uint8_t wbuf[CP_BASE64_DECODED_MAX(WRAP_LEN * 2)];
    if (c2 == NULL || !id_ok(kid, (size_t)(c1 - kid)) || (size_t)(c2 - c1 - 1) > WRAP_LEN * 2 ||
        cp_base64_decode_to(c1 + 1, (size_t)(c2 - c1 - 1), 0, wbuf, &wn) != 0 || wn != WRAP_LEN ||
        cp_base64_decode(c2 + 1, strlen(c2 + 1), 0, &s->body, &bn) != 0 ||
        bn < NONCE_LEN + TAG_LEN) {
        free(s->body);
        s->body = NULL;
        return cp_err_set(err, CP_EINVAL, "%s: malformed sealed key", record);
    }
    memcpy(s->kid, kid, (size_t)(c1 - kid));
    memcpy(s->wrap, wbuf, WRAP_LEN);
    s->body_len = bn;
    return 0;
}

static char *sealed_format(const sealed_t *s)
{
    char *w = cp_base64_encode(s->wrap, WRAP_LEN, 0);
    char *b = cp_base64_encode(s->body, s->body_len, 0);
    char *out = cp_xasprintf("%s%s:%s:%s", CTL_KEYWRAP_PREFIX, s->kid, w, b);
    free(w);
    free(b);
    return out;
}

int ctl_keywrap_kek_id(const char *v, char *id, cp_err_t *err)
{
    id[0] = '\0';
    if (!ctl_keywrap_sealed(v))
        return 0;
    sealed_t s;
    int rc = sealed_parse("value", v, &s, err);
    if (rc == 0)
        memcpy(id, s.kid, sizeof s.kid);
    free(s.body);
    return rc;
}

/* Finds the KEK of s and unwraps its DEK. */
static int unwrap(const ctl_keyring_t *kr, const char *record, sealed_t *s, uint8_t *dek,
                  cp_err_t *err)
{
    kek_t k;
    if (kr == NULL || !key_get(kr, s->kid, &k))
        return cp_err_set(err, CP_ESTATE,
                          "%s: private key sealed with KEK \"%s\", which is not in the keyring%s",
                          record, s->kid, kr == NULL ? " (no --kek-file)" : "");
    int rc = wrap_dek(0, &k, record, dek, s->wrap);
    OPENSSL_cleanse(&k, sizeof k);
    if (rc != 0)
        return cp_err_set(err, CP_ECRYPTO, "%s: sealed private key does not open under KEK \"%s\"",
                          record, s->kid);
    return 0;
}

int ctl_keywrap_seal(const ctl_keyring_t *kr, const char *record, const char *plain, size_t n,
                     char **out, cp_err_t *err)
{
    *out = NULL;
    if (kr == NULL) {
        *out = cp_xstrndup(plain, n);
        return 0;
    }
    if (n > MAX_PLAIN)
        return cp_err_set(err, CP_ETOOBIG, "%s: private key too large", record);
    kek_t k;
    uint8_t dek[KEY_LEN];
    sealed_t s = {.body_len = NONCE_LEN + n + TAG_LEN};
    s.body = cp_xmalloc(s.body_len);
    size_t an = 0;
    char *aad = aad_data(record, &an);
    int rc = key_get(kr, NULL, &k) ? 0 : CP_ECRYPTO;
    if (rc == 0 && (RAND_bytes(dek, KEY_LEN) != 1 || RAND_bytes(s.body, NONCE_LEN) != 1))
        rc = CP_ECRYPTO;
    if (rc == 0)
        rc = gcm(1, dek, s.body, (uint8_t *)aad, an, (const uint8_t *)plain, n, s.body + NONCE_LEN,
                 s.body + NONCE_LEN + n);
    if (rc == 0)
        rc = wrap_dek(1, &k, record, dek, s.wrap);
    if (rc == 0) {
        memcpy(s.kid, k.id, sizeof s.kid);
        *out = sealed_format(&s);
    } else {
        cp_err_set(err, CP_ECRYPTO, "%s: cannot seal the private key", record);
    }
    OPENSSL_cleanse(&k, sizeof k);
    OPENSSL_cleanse(dek, sizeof dek);
    free(aad);
    free(s.body);
    return rc;
}

int ctl_keywrap_open(const ctl_keyring_t *kr, const char *record, const char *v, char **out,
                     size_t *out_len, cp_err_t *err)
{
    *out = NULL;
    if (!ctl_keywrap_sealed(v)) {
        *out = cp_xstrdup(v);
        if (out_len != NULL)
            *out_len = strlen(v);
        return 0;
    }
    sealed_t s;
    uint8_t dek[KEY_LEN];
    int rc = sealed_parse(record, v, &s, err);
    if (rc == 0)
        rc = unwrap(kr, record, &s, dek, err);
    if (rc == 0) {
        size_t n = s.body_len - NONCE_LEN - TAG_LEN, an = 0;
        char *aad = aad_data(record, &an);
        char *p = cp_xmalloc(n + 1);
        rc = gcm(0, dek, s.body, (uint8_t *)aad, an, s.body + NONCE_LEN, n, (uint8_t *)p,
                 s.body + NONCE_LEN + n);
        free(aad);
        p[n] = '\0';
        if (rc != 0 || memchr(p, '\0', n) != NULL) {
            cp_secure_free(p, n + 1);
            rc = cp_err_set(err, CP_ECRYPTO, "%s: sealed private key does not open", record);
        } else {
            *out = p;
            if (out_len != NULL)
                *out_len = n;
        }
    }
    OPENSSL_cleanse(dek, sizeof dek);
    free(s.body);
    return rc;
}

int ctl_keywrap_rewrap(const ctl_keyring_t *kr, const char *record, const char *v, char **out,
                       bool *changed, cp_err_t *err)
{
    char active[CTL_KEYWRAP_ID_MAX + 1];
    *out = NULL;
    if (changed != NULL)
        *changed = false;
    if (kr == NULL)
        return cp_err_set(err, CP_ESTATE, "%s: no keyring to seal with", record);
    if (!ctl_keywrap_sealed(v)) {
        int rc = ctl_keywrap_seal(kr, record, v, strlen(v), out, err);
        if (rc == 0 && changed != NULL)
            *changed = true;
        return rc;
    }
    sealed_t s;
    uint8_t dek[KEY_LEN];
    kek_t k;
    int rc = sealed_parse(record, v, &s, err);
    ctl_keyring_active(kr, active);
    if (rc == 0 && strcmp(s.kid, active) == 0) {
        *out = cp_xstrdup(v);
        free(s.body);
        return 0;
    }
    if (rc == 0)
        rc = unwrap(kr, record, &s, dek, err);
    if (rc == 0 && (!key_get(kr, NULL, &k) || wrap_dek(1, &k, record, dek, s.wrap) != 0))
        rc = cp_err_set(err, CP_ECRYPTO, "%s: cannot re-wrap the data key", record);
    if (rc == 0) {
        memcpy(s.kid, k.id, sizeof s.kid);
        *out = sealed_format(&s);
        if (changed != NULL)
            *changed = true;
    }
    OPENSSL_cleanse(&k, sizeof k);
    OPENSSL_cleanse(dek, sizeof dek);
    free(s.body);
    return rc;
}
