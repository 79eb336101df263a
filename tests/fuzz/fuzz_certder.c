/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_certder.c - libFuzzer target: the edge's leaf DER reader (edge/certder.h), checked against
 * OpenSSL: whatever it accepts that d2i_X509 also accepts must give OpenSSL's names, addresses,
 * expiry and public key */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/x509.h>

#include "edge/certder.h"
#include "shared/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int slice_is(edge_der_t s, const char *text)
{
    size_t n = (size_t)(s.end - s.p);
    return strlen(text) == n && memcmp(s.p, text, n) == 0;
}

/* Input: one DER certificate. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    edge_leaf_t *l = malloc(sizeof *l);
    const unsigned char *p = data;
    if (edge_leaf_read(data, size, l) != 0) {
        free(l);
        return 0;
    }
    X509 *x = d2i_X509(NULL, &p, (long)size);
    cp_x509_info_t info;
    edge_spki_t spki;
    if (x != NULL && p == data + size && cp_x509_info_get(x, &info, NULL) == 0) {
        if (info.n_dns_names != l->n_dns || info.n_ip_addresses != l->n_ip ||
            info.not_after != l->not_after || (info.common_name == NULL) != (l->cn.p == NULL) ||
            (info.common_name != NULL && !slice_is(l->cn, info.common_name)))
            abort();
        for (size_t i = 0; i < l->n_dns; i++)
            if (!slice_is(l->dns[i], info.dns_names[i]))
                abort();
        for (size_t i = 0; i < l->n_ip; i++) {
            char text[64];
            size_t n = (size_t)(l->ip[i].end - l->ip[i].p);
            inet_ntop(n == 4 ? AF_INET : AF_INET6, l->ip[i].p, text, sizeof text);
            if (strcmp(text, info.ip_addresses[i]) != 0)
                abort();
        }
        if (edge_spki_from_x509(x, &spki) == 0 &&
            (spki.alg != l->spki.alg || spki.curve != l->spki.curve ||
             spki.pub_len != l->spki.pub_len || memcmp(spki.pub, l->spki.pub, spki.pub_len) != 0))
            abort();
        cp_x509_info_dispose(&info);
    }
    X509_free(x);
    free(l);
    return 0;
}
