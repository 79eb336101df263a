/* SPDX-License-Identifier: Apache-2.0 */
/* relay_ocsp.c - OCSP_RESPONSE events for the Watch stream (relay_ocsp.h) */
#include "controller/service/relay_ocsp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/service/service_util.h"
#include "controller/store/store_ocsp.h"
#include "shared/clock.h"
#include "shared/mem.h"

#define BATCH 500

static Google__Protobuf__Timestamp *ts(int64_t ms)
{
    Google__Protobuf__Timestamp *t = cp_xcalloc(1, sizeof *t);
    google__protobuf__timestamp__init(t);
    cp_clock_ts_set(t, ms);
    return t;
}

static int unhex32(const char *hex, unsigned char out[32])
{
    if (strlen(hex) != 64)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        unsigned v = 0;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

int ctl_relay_ocsp_event(ctl_store_t *s, const char *name, int64_t now_ms,
                         Certplane__V1__CertificateEvent *ev, bool *skip, cp_err_t *err)
{
    ctl_store_ocsp_t o;
    unsigned char leaf[32];
    *skip = true;
    int rc = ctl_store_ocsp_get(s, name, &o, err);
    if (rc != 0 || o.der == NULL || o.next_update_ms <= now_ms || unhex32(o.leaf, leaf) != 0) {
        ctl_store_ocsp_dispose(&o);
        return rc;
    }
    Certplane__V1__OcspResponse *r = cp_xcalloc(1, sizeof *r);
    certplane__v1__ocsp_response__init(r);
    r->der.data = o.der; /* handed over */
    r->der.len = o.der_len;
    o.der = NULL;
    r->leaf_sha256.data = cp_xmalloc(sizeof leaf);
    memcpy(r->leaf_sha256.data, leaf, r->leaf_sha256.len = sizeof leaf);
    r->this_update = ts(o.this_update_ms);
    r->next_update = ts(o.next_update_ms);
    ev->type = CERTPLANE__V1__EVENT_TYPE__OCSP_RESPONSE;
    if (ev->name == NULL || ev->name == protobuf_c_empty_string)
        ev->name = cp_xstrdup(name);
    ev->ocsp_response = r;
    *skip = false;
    ctl_store_ocsp_dispose(&o);
    return 0;
}

/* One page of the schedule's names: their events. */
static int send_page(ctl_store_t *s, int64_t rev, char **names, size_t n,
                     ctl_relay_ocsp_send_fn send, void *u, cp_err_t *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        Certplane__V1__CertificateEvent *ev = cp_xcalloc(1, sizeof *ev);
        certplane__v1__certificate_event__init(ev);
        ev->revision = rev;
        bool skip = true;
        rc = ctl_service__store_fail(
            ctl_relay_ocsp_event(s, names[i], cp_clock_wall_ms(), ev, &skip, err), err);
        if (rc == 0 && !skip)
            rc = send(u, ev, err);
        protobuf_c_message_free_unpacked(&ev->base, NULL);
    }
    return rc;
}

int ctl_relay_ocsp_snapshot(ctl_store_t *s, int64_t rev, ctl_relay_ocsp_send_fn send, void *u,
                            cp_err_t *err)
{
    size_t n = BATCH;
    int rc = 0;
    for (size_t off = 0; rc == 0 && n == BATCH; off += BATCH) {
        char **names = NULL;
        rc = ctl_service__store_fail(ctl_store_ocsp_names(s, off, BATCH, &names, &n, err), err);
        if (rc == 0)
            rc = send_page(s, rev, names, n, send, u, err);
        ctl_store_strv_free(names, n);
    }
    return rc;
}
