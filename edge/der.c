/* SPDX-License-Identifier: Apache-2.0 */
/* der.c - a minimal DER reader (see der.h) */
#include "edge/der.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>

int edge_der_get(edge_der_t *r, unsigned tag, edge_der_t *v)
{
    if (r->end - r->p < 2 || r->p[0] != tag)
        return -1;
    const unsigned char *p = r->p + 1;
    size_t len = *p++;
    if (len & 0x80) {
        size_t nb = len & 0x7f;
        if (nb == 0 || nb > 4 || (size_t)(r->end - p) < nb)
            return -1;
        len = 0;
        for (size_t i = 0; i < nb; i++)
            len = (len << 8) | *p++;
    }
    if ((size_t)(r->end - p) < len)
        return -1;
    v->p = p;
    v->end = p + len;
    r->p = p + len;
    return 0;
}

int edge_der_peek(const edge_der_t *r, unsigned tag)
{
    return r->p < r->end && r->p[0] == tag;
}

int edge_der_oid_nid(edge_der_t *r)
{
    const unsigned char *start = r->p;
    edge_der_t v;
    if (edge_der_get(r, 0x06, &v) != 0)
        return NID_undef;
    const unsigned char *p = start;
    ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, r->p - start);
    int nid = o != NULL ? OBJ_obj2nid(o) : NID_undef;
    ASN1_OBJECT_free(o);
    return nid;
}
