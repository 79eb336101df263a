/* SPDX-License-Identifier: Apache-2.0 */
/* work_ocsp.c - the OCSP thread: one fetch per certificate for the fleet (work_ocsp.h) */
#include "controller/work/work_ocsp.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "controller/acme/ocsp.h"
#include "controller/acme/ocsp_fetch.h"
#include "controller/metrics/metrics.h"
#include "controller/store/store_ocsp.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

#define POLL_MS 1000
#define DUE_BATCH 50

/* One certificate's leaf, issuer and the facts about them. */
typedef struct subject {
    X509 *leaf, *issuer;
    char *url;
    char leaf_hex[65];
} subject_t;

static void subject_dispose(subject_t *s)
{
    X509_free(s->leaf);
    X509_free(s->issuer);
    free(s->url);
}

/* Reads name's record into *s. Returns 0 with s->url NULL when there is nothing to fetch. */
static int subject_load(ctl_work_thread_t *t, const char *name, subject_t *s, cp_err_t *err)
{
    memset(s, 0, sizeof *s);
    Certplane__V1__Certificate *c = NULL;
    int rc = ctl_certrepo_load(&t->repo, name, &c, err);
    if (rc == 0 && ctl_work__has_cert(c) && c->state != CERTPLANE__V1__STATE__REVOKED &&
        ctl_ocsp_chain(c->fullchain_pem, &s->leaf, &s->issuer, err) == 0)
        s->url = ctl_ocsp_url(s->leaf);
    ctl_certrepo_cert_free(c);
    unsigned char md[32];
    unsigned int n = 0;
    if (s->url != NULL && X509_digest(s->leaf, EVP_sha256(), md, &n) == 1 && n == 32)
        for (unsigned i = 0; i < n; i++)
            snprintf(s->leaf_hex + 2 * i, 3, "%02x", md[i]);
    return rc;
}

/* Fetches and verifies a response for s: *out holds it (der malloc'd) on success. */
static int fetch_verified(const subject_t *s, int64_t now, ctl_store_ocsp_t *out, cp_err_t *err)
{
    unsigned char *req = NULL;
    size_t req_len = 0;
    ctl_ocsp_info_t info = {0};
    memset(out, 0, sizeof *out);
    int rc = ctl_ocsp_request(s->leaf, s->issuer, &req, &req_len, err);
    if (rc == 0)
        rc = ctl_ocsp_fetch(s->url, req, req_len, &out->der, &out->der_len, err);
    if (rc == 0)
        rc = ctl_ocsp_verify(out->der, out->der_len, s->leaf, s->issuer, now, &info, err);
    free(req);
    if (rc != 0) {
        ctl_store_ocsp_dispose(out);
        return rc;
    }
    memcpy(out->leaf, s->leaf_hex, sizeof out->leaf);
    out->this_update_ms = info.this_update_ms;
    out->next_update_ms = info.next_update_ms;
    return 0;
}

/* Fetches for a claimed certificate whose stored response (`have`) is missing or due. */
static void refresh(ctl_work_thread_t *t, const char *name, const subject_t *s,
                    const ctl_store_ocsp_t *have, int64_t lease)
{
    cp_err_t err = {0};
    int64_t now = cp_clock_wall_ms();
    ctl_store_ocsp_t got;
    int same_leaf = have->der != NULL && strcmp(have->leaf, s->leaf_hex) == 0;
    int rc = fetch_verified(s, now, &got, &err);
    ctl_metrics_ocsp_fetch(rc == 0);
    if (rc != 0) {
        int fails = (same_leaf || have->der == NULL ? have->fails : 0) + 1;
        int64_t at = ctl_ocsp_retry_at(fails, same_leaf ? have->next_update_ms : 0, now);
        ctl_work__log_cert(CP_LOG_WARN, "ocsp", name,
                           "OCSP fetch from %s failed (%d in a row), "
                           "retry in %lld s: %s",
                           s->url, fails, (long long)(at - now) / 1000, err.msg);
        ctl_store_ocsp_reschedule(t->store, name, at, lease, fails, NULL);
        return;
    }
    ctl_ocsp_info_t info = {got.this_update_ms, got.next_update_ms};
    int64_t at = ctl_ocsp_refresh_at(&info, now), rev = 0;
    int stored = 0;
    rc = ctl_store_ocsp_put(t->store, name, &got, at, lease, &stored, &rev, &err);
    if (rc != 0)
        ctl_work__log_cert(CP_LOG_WARN, "ocsp", name, "OCSP response not stored: %s", err.msg);
    else if (stored) {
        ctl_metrics_ocsp_stored(got.this_update_ms);
        ctl_work__log_cert(CP_LOG_INFO, "ocsp", name,
                           "OCSP response good until %lld stored "
                           "(revision %lld), refresh at %lld",
                           (long long)got.next_update_ms / 1000, (long long)rev,
                           (long long)at / 1000);
    }
    ctl_store_ocsp_dispose(&got);
}

/* One due certificate: claim it, then look at what it needs. */
static void handle_one(ctl_work_thread_t *t, const char *name)
{
    cp_err_t err = {0};
    int64_t now = cp_clock_wall_ms(), lease = now + CTL_WORK_OCSP_LEASE_MS;
    int won = 0;
    if (ctl_store_ocsp_claim(t->store, name, now, lease, &won, &err) != 0 || !won)
        return;
    subject_t s;
    ctl_store_ocsp_t have = {0};
    int rc = subject_load(t, name, &s, &err);
    if ((rc == 0 && s.url == NULL) || rc == CP_EINVAL) { /* nothing to fetch, or unreadable */
        ctl_store_ocsp_reschedule(t->store, name, now + CTL_WORK_OCSP_IDLE_MS, lease, -1, NULL);
    } else if (rc == 0 && (rc = ctl_store_ocsp_get(t->store, name, &have, &err)) == 0) {
        ctl_ocsp_info_t info = {have.this_update_ms, have.next_update_ms};
        if (have.der != NULL && strcmp(have.leaf, s.leaf_hex) == 0 &&
            !ctl_ocsp_refresh_due(&info, now))
            ctl_store_ocsp_reschedule(t->store, name, ctl_ocsp_refresh_at(&info, now), lease, -1,
                                      NULL);
        else
            refresh(t, name, &s, &have, lease);
    }
    if (rc != 0 && rc != CP_ENOTFOUND)
        ctl_work__log_cert(CP_LOG_WARN, "ocsp", name, "OCSP: cannot look at the certificate: %s",
                           err.msg);
    ctl_store_ocsp_dispose(&have);
    subject_dispose(&s);
}

static int run_due(ctl_work_thread_t *t, cp_err_t *err)
{
    char **names = NULL;
    size_t n = 0;
    int rc = ctl_store_ocsp_due(t->store, cp_clock_wall_ms(), DUE_BATCH, &names, &n, err);
    for (size_t i = 0; rc == 0 && i < n && !ctl_work__stopping(t->w); i++)
        handle_one(t, names[i]);
    ctl_store_strv_free(names, n);
    return rc;
}

void *ctl_work__ocsp_main(void *arg)
{
    ctl_work_thread_t *t = arg;
    int discovered = 0;
    while (!ctl_work__stopping(t->w)) {
        cp_err_t err = {0};
        int rc = 0;
        if (atomic_load(&t->w->present)) {
            if (!discovered && (rc = ctl_store_ocsp_discover(t->store, &err)) == 0)
                discovered = 1;
            if (rc == 0)
                rc = run_due(t, &err);
            if (rc != 0)
                CP_LOG(CP_LOG_WARN, "ocsp", "OCSP schedule: %s", err.msg);
        }
        ctl_work__sleep(t->w, POLL_MS, 0);
    }
    return NULL;
}
