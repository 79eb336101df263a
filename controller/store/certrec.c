/* SPDX-License-Identifier: Apache-2.0 */
/* certrec.c - certificate records: certplane.v1.Certificate <-> the seed-compatible cert:{name}
 * JSON */
#include "controller/store/certrec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/clock.h"
#include "shared/json.h"
#include "shared/mem.h"
#include "shared/x509.h"

/* Replaces a string field of a message that protobuf_c_message_free_unpacked() will free. */
static void set_string(char **field, const char *value)
{
    if (*field != NULL && *field != protobuf_c_empty_string)
        free(*field);
    *field = cp_xstrdup(value);
}

int ctl_certrec_encode(const Certplane__V1__Certificate *c, char **json, size_t *len, cp_err_t *err)
{
    if (c == NULL || json == NULL)
        return cp_err_set(err, CP_EINVAL, "certificate record: NULL argument");
    /* The store owns "revision": a shallow copy with revision 0 leaves it out (zero scalars are not
     * emitted), without touching the caller's message. */
    Certplane__V1__Certificate copy = *c;
    copy.revision = 0;
    return cp_json_encode(&copy.base, CP_JSON_ORIG_NAMES, json, len, err);
}

/* A seed record (no state) that carries a certificate is being served: VALID, with the facts of its
 * leaf filled in where the record has none. A seed record without a certificate has never been
 * issued. */
static int normalize_seed(const char *name, Certplane__V1__Certificate *c, cp_err_t *err)
{
    cp_x509_chain_t *chain = NULL;
    cp_x509_info_t info = {0};
    int rc = 0;

    if (c->state != CERTPLANE__V1__STATE__STATE_UNSPECIFIED)
        return 0;
    if (c->fullchain_pem == NULL || c->fullchain_pem[0] == '\0') {
        c->state = CERTPLANE__V1__STATE__PENDING;
        return 0;
    }
    rc = cp_x509_chain_parse(c->fullchain_pem, strlen(c->fullchain_pem), &chain, err);
    if (rc != 0)
        goto out;
    rc = cp_x509_info_get(chain->certs[0], &info, err);
    if (rc != 0)
        goto out;
    c->state = CERTPLANE__V1__STATE__VALID;
    if (c->not_before == NULL)
        c->not_before = cp_clock_ts_new(info.not_before * 1000);
    if (c->not_after == NULL)
        c->not_after = cp_clock_ts_new(info.not_after * 1000);
    if (c->serial == NULL || c->serial[0] == '\0')
        set_string(&c->serial, info.serial != NULL ? info.serial : "");
    if (c->issuer == NULL || c->issuer[0] == '\0')
        set_string(&c->issuer, info.issuer != NULL ? info.issuer : "");
out:
    if (rc != 0)
        cp_err_prefix(err, "cert:%s: fullchain_pem", name);
    cp_x509_info_dispose(&info);
    cp_x509_chain_free(chain);
    return rc;
}

int ctl_certrec_decode(const char *name, const char *json, size_t len,
                       Certplane__V1__Certificate **out, cp_err_t *err)
{
    ProtobufCMessage *m = NULL;
    Certplane__V1__Certificate *c = NULL;
    int rc;

    if (name == NULL || json == NULL || out == NULL)
        return cp_err_set(err, CP_EINVAL, "certificate record: NULL argument");
    rc = cp_json_decode(&certplane__v1__certificate__descriptor, json, len, CP_JSON_IGNORE_UNKNOWN,
                        &m, err);
    if (rc != 0) {
        /* Whatever failed (syntax, a field of the wrong type, too large), the record is not ours.
         */
        cp_err_prefix(err, "cert:%s", name);
        rc = CP_EINVAL;
        if (err != NULL)
            err->code = CP_EINVAL;
        goto out;
    }
    c = (Certplane__V1__Certificate *)m;
    /* The key is the truth: the seed stores no name, and a record copied under another key is that
     * key's certificate. */
    set_string(&c->name, name);
    rc = normalize_seed(name, c, err);
    /* KEY_TYPE_UNSPECIFIED means RSA_2048 (the seed's default): every reader - gRPC, REST, Watch,
     * certplanectl - is told the type the key really has. */
    if (rc == 0 && c->key_type == CERTPLANE__V1__KEY_TYPE__KEY_TYPE_UNSPECIFIED)
        c->key_type = CERTPLANE__V1__KEY_TYPE__RSA_2048;
out:
    if (rc != 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        c = NULL;
    }
    *out = c;
    return rc;
}
