/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_certparse.c - libFuzzer target: the edge's PEM/DER reader (edge/certparse.h) and
 * edge_cert_new, which parses a full chain and a private key as the controller sends them */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "edge/cert.h"
#include "edge/certparse.h"
#include "fuzz_split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every PEM block of text; the first CERTIFICATE is the leaf every key block is checked against. */
static void blocks(const char *text, size_t len)
{
    const char *pos = text, *end = text + len;
    X509 *leaf = NULL;
    char label[EDGE_PEM_LABEL_MAX];
    unsigned char *der;
    size_t der_len;
    for (int i = 0; i < 16 && edge_pem_next(&pos, end, label, &der, &der_len) == 0; i++) {
        if (strcmp(label, "CERTIFICATE") == 0 && leaf == NULL) {
            const unsigned char *p = der;
            leaf = d2i_X509(NULL, &p, (long)der_len);
        } else if (leaf != NULL) {
            EVP_PKEY *key = NULL;
            edge_spki_t spki;
            if (edge_spki_from_x509(leaf, &spki) == 0 &&
                edge_key_from_der(label, der, der_len, &spki, &key) == 0)
                EVP_PKEY_free(key);
            if (edge_spki_from_x509(leaf, &spki) == 0) /* the check alone */
                (void)edge_key_from_der(label, der, der_len, &spki, NULL);
        }
        free(der);
    }
    X509_free(leaf);
}

/* Input: the full chain PEM, a CP_FUZZ_SEP line, the key PEM. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    const uint8_t *part[2];
    size_t len[2];
    size_t n = cp_fuzz_split(data, size, part, len, 2);
    /* NUL-terminated copies: the parsers take lengths, but OpenSSL's fallbacks may not. */
    char *chain = calloc(1, len[0] + 1), *key = calloc(1, n > 1 ? len[1] + 1 : 1);
    memcpy(chain, part[0], len[0]);
    if (n > 1)
        memcpy(key, part[1], len[1]);
    blocks(chain, len[0]);
    blocks((const char *)data, size);
    edge_cert_t *c = NULL;
    cp_err_t err;
    if (edge_cert_new("fuzz", chain, len[0], key, n > 1 ? len[1] : 0, 1, &c, &err) == 0) {
        X509 *leaf = NULL;
        EVP_PKEY *pkey = NULL;
        if (edge_cert_materialize(c, &leaf, &pkey, &err) == 0) { /* what a handshake does */
            X509_free(leaf);
            EVP_PKEY_free(pkey);
        }
        edge_cert_release(c);
    }
    free(chain);
    free(key);
    return 0;
}
