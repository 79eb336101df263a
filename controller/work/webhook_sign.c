/* SPDX-License-Identifier: Apache-2.0 */
/* webhook_sign.c - Standard Webhooks signatures, secrets and the retry back-off (webhook_sign.h) */
#include "controller/work/webhook_sign.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "shared/base64.h"

#define PREFIX "whsec_"

int ctl_webhook_secret_new(char out[CTL_WEBHOOK_SECRET_SIZE], cp_err_t *err)
{
    unsigned char raw[32];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return cp_err_set(err, CP_EIO, "webhook secret: getrandom: %s", strerror(errno));
    char *b = cp_base64_encode(raw, sizeof raw, 0);
    OPENSSL_cleanse(raw, sizeof raw);
    snprintf(out, CTL_WEBHOOK_SECRET_SIZE, PREFIX "%s", b);
    OPENSSL_cleanse(b, strlen(b));
    free(b);
    return 0;
}

int ctl_webhook_sign(const char *secret, const char *id, int64_t timestamp, const char *body,
                     size_t body_len, char out[CTL_WEBHOOK_SIG_SIZE], cp_err_t *err)
{
    uint8_t key[CP_BASE64_DECODED_MAX(88)];
    size_t key_len = 0;
    out[0] = '\0';
    if (secret == NULL || strncmp(secret, PREFIX, strlen(PREFIX)) != 0)
        return cp_err_set(err, CP_EINVAL, "webhook secret: not a whsec_ secret");
    const char *k = secret + strlen(PREFIX);
    if (strlen(k) > 88 || cp_base64_decode_to(k, strlen(k), 0, key, &key_len) != 0 ||
        key_len < 16 || key_len > 64)
        return cp_err_set(err, CP_EINVAL, "webhook secret: not base64 of 16 to 64 bytes");
    char head[128];
    int hn = snprintf(head, sizeof head, "%s.%" PRId64 ".", id, timestamp);
    unsigned char mac[32];
    unsigned int mac_len = 0;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = m != NULL ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    size_t ml = 0;
    int ok = c != NULL && hn > 0 && (size_t)hn < sizeof head &&
             EVP_MAC_init(c, key, key_len, params) == 1 &&
             EVP_MAC_update(c, (const unsigned char *)head, (size_t)hn) == 1 &&
             EVP_MAC_update(c, (const unsigned char *)body, body_len) == 1 &&
             EVP_MAC_final(c, mac, &ml, sizeof mac) == 1 && ml == sizeof mac;
    mac_len = (unsigned int)ml;
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
    OPENSSL_cleanse(key, sizeof key);
    if (!ok)
        return cp_err_set(err, CP_ECRYPTO, "webhook signature: HMAC failed");
    char *b = cp_base64_encode(mac, mac_len, 0);
    snprintf(out, CTL_WEBHOOK_SIG_SIZE, "v1,%s", b);
    free(b);
    return 0;
}

int64_t ctl_webhook_backoff_ms(int attempt, int64_t base_ms, int64_t max_ms, uint32_t rnd)
{
    int64_t d = base_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    int64_t half = d / 2;
    return half + (int64_t)(rnd % (uint64_t)(d - half + 1));
}
