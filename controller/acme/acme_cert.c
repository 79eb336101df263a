/* SPDX-License-Identifier: Apache-2.0 */
/* acme_cert.c - certificate download (POST-as-GET) and preferred chain among alternates */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "controller/acme/acme_internal.h"
#include "shared/mem.h"

static int name_cn_equals(X509_NAME *name, const char *want)
{
    char cn[256];
    if (name == NULL || X509_NAME_get_text_by_NID(name, NID_commonName, cn, sizeof(cn)) < 0)
        return 0;
    return strcmp(cn, want) == 0;
}

int ctl_acme__chain_matches(const char *pem, const char *name)
{
    cp_x509_chain_t *chain = NULL;
    if (cp_x509_chain_parse(pem, strlen(pem), &chain, NULL) != 0)
        return 0;
    X509 *top = chain->certs[chain->n - 1];
    int m = name_cn_equals(X509_get_issuer_name(top), name) ||
            name_cn_equals(X509_get_subject_name(top), name);
    cp_x509_chain_free(chain);
    return m;
}

/* POST-as-GET of one certificate URL; the body must parse as a PEM chain. */
static int fetch_chain(ctl_acme_t *c, const char *url, char **pem, ctl_acme__resp_t *r,
                       cp_err_t *err)
{
    cp_x509_chain_t *chain = NULL;
    int rc = ctl_acme__post(c, url, NULL, NULL, "certificate", r, err);
    if (rc != 0)
        return rc;
    rc = cp_x509_chain_parse(r->body, r->len, &chain, err);
    cp_x509_chain_free(chain);
    if (rc != 0) {
        cp_err_prefix(err, "certificate download");
        return rc; /* not cp_err_prefix's value: err may be NULL, which it answers with 0 */
    }
    *pem = r->body;
    r->body = NULL;
    return 0;
}

int ctl_acme__download(ctl_acme_t *c, const char *url, const char *preferred, char **pem,
                       cp_err_t *err)
{
    ctl_acme__resp_t r = {0};
    char *chain = NULL;
    if (url == NULL)
        return cp_err_set(err, CP_EPROTO, "valid order without a certificate URL");
    int rc = fetch_chain(c, url, &chain, &r, err);
    if (rc != 0)
        goto out;
    if (preferred != NULL && preferred[0] != '\0' && !ctl_acme__chain_matches(chain, preferred)) {
        /* Try the alternates in order; the default chain stays when none matches. */
        for (size_t i = 0; i < r.n_alternates; i++) {
            ctl_acme__resp_t ar = {0};
            char *alt = NULL;
            cp_err_t ignored; /* an alternate that fails to load is skipped */
            int match = fetch_chain(c, r.alternates[i], &alt, &ar, &ignored) == 0 &&
                        ctl_acme__chain_matches(alt, preferred);
            if (match) {
                free(chain);
                chain = alt;
                alt = NULL;
            }
            free(alt);
            ctl_acme__resp_dispose(&ar);
            if (match)
                break;
        }
    }
    *pem = chain;
    chain = NULL;
out:
    free(chain);
    ctl_acme__resp_dispose(&r);
    return rc;
}
