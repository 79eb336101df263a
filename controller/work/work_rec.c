/* SPDX-License-Identifier: Apache-2.0 */
/* work_rec.c - certificate records for the work machinery: load, write, timestamps, comparisons */
#include <stdlib.h>
#include <string.h>

#include "controller/store/certrec.h"
#include "controller/work/renew.h"
#include "controller/work/work_internal.h"

int ctl_work__cert_load(ctl_store_t *s, const char *name, Certplane__V1__Certificate **out,
                        cp_err_t *err)
{
    char *json = NULL;
    size_t len = 0;
    int rc = ctl_store_cert_get(s, name, &json, &len, err);
    if (rc != 0)
        goto out;
    rc = ctl_certrec_decode(name, json, len, out, err);
out:
    free(json);
    return rc;
}

void ctl_work__cert_free(Certplane__V1__Certificate *c)
{
    if (c != NULL)
        protobuf_c_message_free_unpacked(&c->base, NULL);
}

int ctl_work__cert_put(ctl_store_t *s, const Certplane__V1__Certificate *c, int64_t expected,
                       int64_t renew_at_ms, const char *job_kind, int64_t *new_rev, cp_err_t *err)
{
    char *json = NULL;
    size_t len = 0;
    int rc = ctl_certrec_encode(c, &json, &len, err);
    if (rc != 0)
        goto out;
    ctl_store_cert_write_t w = {
        .name = c->name,
        .json = json,
        .json_len = len,
        .mode = CTL_STORE_MATCH,
        .expected_revision = expected,
        .renew_at = renew_at_ms < 0 ? -1.0 : (double)renew_at_ms / 1000.0,
        .job_kind = job_kind,
    };
    rc = ctl_store_cert_put(s, &w, new_rev, err);
out:
    if (json != NULL) {
        /* The record may hold a private key. */
        memset(json, 0, len);
        free(json);
    }
    return rc;
}

void ctl_work__ts_set(Google__Protobuf__Timestamp *ts, int64_t ms)
{
    google__protobuf__timestamp__init(ts);
    int64_t sec = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        sec--;
        rem += 1000;
    }
    ts->seconds = sec;
    ts->nanos = (int32_t)(rem * 1000000);
}

int64_t ctl_work__ts_ms(const Google__Protobuf__Timestamp *ts)
{
    if (ts == NULL)
        return -1;
    return ts->seconds * 1000 + ts->nanos / 1000000;
}

int ctl_work__has_cert(const Certplane__V1__Certificate *c)
{
    return c->fullchain_pem != NULL && c->fullchain_pem[0] != '\0';
}

static int same_strv(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

int ctl_work__same_request(const Certplane__V1__Certificate *a, const Certplane__V1__Certificate *b)
{
    /* KEY_TYPE_UNSPECIFIED means RSA 2048 (the seed's default), so the two compare equal. */
    int ka = a->key_type == 0 ? 1 : (int)a->key_type;
    int kb = b->key_type == 0 ? 1 : (int)b->key_type;
    return ka == kb && same_strv(a->domains, a->n_domains, b->domains, b->n_domains) &&
           same_strv(a->ip_addresses, a->n_ip_addresses, b->ip_addresses, b->n_ip_addresses);
}

int64_t ctl_work__policy_renew_at(const ctl_work_t *w, const Certplane__V1__Certificate *c)
{
    int64_t nb = ctl_work__ts_ms(c->not_before), na = ctl_work__ts_ms(c->not_after);
    if (!ctl_work__has_cert(c) || nb < 0 || na < 0)
        return ctl_work__now_ms();
    return ctl_renew_at_ms(c->name, nb, na, w->cfg->renew_before_ms, ctl_renew_random());
}

const char *ctl_work__state_name(int state)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&certplane__v1__state__descriptor, state);
    return v != NULL ? v->name : "?";
}
