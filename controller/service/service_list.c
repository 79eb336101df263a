/* SPDX-License-Identifier: Apache-2.0 */
/* service_list.c - ListCertificates: pages by name over the `certs` index, opaque page tokens */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/service/service_list.h"
#include "controller/service/service_util.h"
#include "controller/service/validate.h"
#include "shared/base64.h"
#include "shared/log.h"
#include "shared/mem.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
/* Names examined per call at most: a state filter that matches little ends a page early (with a
 * token) rather than reading every record in one request. */
#define EXAMINE_MAX 5000

/* The page token is the last name of the page in base64url without padding: opaque to clients, and
 * the next page starts strictly after it, so names created or deleted meanwhile never shift a page.
 */
static char *token_encode(const char *name)
{
    return cp_base64_encode(name, strlen(name), CP_BASE64_URL);
}

static int token_decode(const char *tok, char *out, size_t size, cp_err_t *err)
{
    size_t n = strlen(tok), len = 0;
    if (n == 0 || CP_BASE64_DECODED_MAX(n) >= size ||
        cp_base64_decode_to(tok, n, 0, (uint8_t *)out, &len) != 0)
        goto bad;
    out[len] = '\0';
    /* One spelling per token (the canonical encoding: URL alphabet, no padding, zero trailing
     * bits), and the text a certificate name. */
    char *again = cp_base64_encode(out, len, CP_BASE64_URL);
    bool same = strcmp(again, tok) == 0;
    free(again);
    if (!same || strlen(out) != len || ctl_validate_cert_name(out, NULL) != 0)
        goto bad;
    return 0;
bad:
    return cp_err_set(err, CP_EINVAL, "invalid page_token");
}

static int check_list(const Certplane__V1__ListCertificatesRequest *r, char *after, size_t size,
                      size_t *page, cp_err_t *err)
{
    if (r->page_size < 0 || r->page_size > PAGE_MAX)
        return cp_err_set(err, CP_EINVAL, "page_size: must be 0-%d (0 means %d)", PAGE_MAX,
                          PAGE_DEFAULT);
    if ((int)r->state < 0 || r->state > CERTPLANE__V1__STATE__REVOKED)
        return cp_err_set(err, CP_EINVAL, "state: unknown value %d", (int)r->state);
    *page = r->page_size == 0 ? PAGE_DEFAULT : (size_t)r->page_size;
    after[0] = '\0';
    if (r->page_token != NULL && r->page_token[0] != '\0')
        return token_decode(r->page_token, after, size, err);
    return 0;
}

/* Adds the records that match to out, up to page, taking them from certs (the rest stay there for
 * the caller to free); *more is set when a further match exists. */
static void take(Certplane__V1__ListCertificatesResponse *out, char **names,
                 Certplane__V1__Certificate **certs, size_t n, Certplane__V1__State state,
                 size_t page, char *last, size_t last_size, bool *more)
{
    for (size_t i = 0; i < n && !*more; i++) {
        Certplane__V1__Certificate *c = certs[i];
        /* NULL: deleted between the index read and the MGET, or unreadable (counted by the caller).
         */
        if (c != NULL && (state == 0 || c->state == state)) {
            if (out->n_certificates == page) {
                *more = true; /* the page is full and another one matches: stop before it */
                return;
            }
            ctl_service__strip_key(c);
            out->certificates[out->n_certificates++] = c;
            certs[i] = NULL;
        }
        snprintf(last, last_size, "%s", names[i]);
    }
}

int ctl_service__list(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                      const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__ListCertificatesRequest *r = (const void *)req;
    char after[CTL_VALIDATE_CERT_NAME_MAX + 2];
    size_t page = 0, examined = 0;
    bool more = false, exhausted = false;
    (void)svc;
    (void)caller;
    int rc = check_list(r, after, sizeof after, &page, err);
    if (rc != 0)
        return rc;
    Certplane__V1__ListCertificatesResponse *out = cp_xcalloc(1, sizeof *out);
    certplane__v1__list_certificates_response__init(out);
    out->certificates = cp_xcalloc(page, sizeof *out->certificates);
    *resp = &out->base; /* freed by ctl_service_invoke() on failure */
    while (!more && !exhausted && examined < EXAMINE_MAX) {
        char **names = NULL;
        size_t n = 0, want = page + 1;
        rc = ctl_store_cert_list(t->store, after, want, &names, &n, err);
        if (rc != 0)
            return ctl_service__store_fail(rc, err);
        Certplane__V1__Certificate **certs = cp_xcalloc(n > 0 ? n : 1, sizeof *certs);
        size_t bad = 0;
        rc = ctl_certrepo_load_many(&t->repo, (const char *const *)names, n, certs, &bad, err);
        if (bad > 0)
            CP_LOG(CP_LOG_WARN, "service", "listing skips %zu unreadable record(s)", bad);
        if (rc == 0)
            take(out, names, certs, n, r->state, page, after, sizeof after, &more);
        for (size_t i = 0; i < n; i++)
            ctl_certrepo_cert_free(certs[i]);
        free(certs);
        ctl_store_strv_free(names, n);
        if (rc != 0)
            return ctl_service__store_fail(rc, err);
        exhausted = n < want;
        examined += n;
    }
    /* A page ends with a token unless the index is exhausted; the token is the last name looked at
     * (with a filter, past the last one returned: those in between did not match). */
    if (more && out->n_certificates > 0)
        snprintf(after, sizeof after, "%s", out->certificates[out->n_certificates - 1]->name);
    if (!exhausted || more)
        out->next_page_token = token_encode(after);
    return 0;
}
