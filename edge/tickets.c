/* SPDX-License-Identifier: Apache-2.0 */
/* tickets.c - TLS session-ticket keys (tickets.h) */
#include "edge/tickets.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include "shared/mem.h"

struct edge_tickets {
    int refs;
    size_t n;
    edge_ticket_key_t keys[];
};

int edge_tickets_new(const edge_ticket_key_t *keys, size_t n, edge_tickets_t **out, cp_err_t *err)
{
    *out = NULL;
    if (n < 1 || n > EDGE_TICKETS_MAX)
        return cp_err_set(err, CP_EINVAL, "ticket keys: %zu keys (1..%d)", n, EDGE_TICKETS_MAX);
    edge_tickets_t *t = cp_xcalloc(1, sizeof *t + n * sizeof *keys);
    t->refs = 1;
    t->n = n;
    memcpy(t->keys, keys, n * sizeof *keys);
    *out = t;
    return 0;
}

int edge_tickets_new_random(edge_tickets_t **out, cp_err_t *err)
{
    edge_ticket_key_t k;
    if (RAND_bytes(k.name, sizeof k.name) != 1 || RAND_bytes(k.secret, sizeof k.secret) != 1)
        return cp_err_set(err, CP_ECRYPTO, "ticket keys: no random bytes");
    int rc = edge_tickets_new(&k, 1, out, err);
    explicit_bzero(&k, sizeof k);
    return rc;
}

edge_tickets_t *edge_tickets_retain(edge_tickets_t *t)
{
    if (t != NULL)
        __atomic_fetch_add(&t->refs, 1, __ATOMIC_RELAXED);
    return t;
}

void edge_tickets_release(edge_tickets_t *t)
{
    if (t == NULL || __atomic_fetch_sub(&t->refs, 1, __ATOMIC_ACQ_REL) != 1)
        return;
    cp_secure_free(t, sizeof *t + t->n * sizeof t->keys[0]);
}

/* HMAC-SHA256 keyed with the first half of k's secret, AES-256-CBC with the second. */
static int setup(const edge_ticket_key_t *k, unsigned char *iv, EVP_CIPHER_CTX *ctx,
                 EVP_MAC_CTX *hctx, int enc)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->secret, 32),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end()};
    int ok = enc ? EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->secret + 32, iv)
                 : EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->secret + 32, iv);
    return ok == 1 && EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

int edge_tickets_crypt(const edge_tickets_t *t, unsigned char name[EDGE_TICKET_NAME_LEN],
                       unsigned char *iv, EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx, int enc)
{
    if (enc) {
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH < 16 ? EVP_MAX_IV_LENGTH : 16) != 1)
            return -1;
        memcpy(name, t->keys[0].name, EDGE_TICKET_NAME_LEN);
        return setup(&t->keys[0], iv, ctx, hctx, 1) == 0 ? 1 : -1;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (memcmp(name, t->keys[i].name, EDGE_TICKET_NAME_LEN) != 0)
            continue;
        if (setup(&t->keys[i], iv, ctx, hctx, 0) != 0)
            return -1;
        return i == 0 ? 1 : 2;
    }
    return 0;
}
