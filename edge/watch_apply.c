/* SPDX-License-Identifier: Apache-2.0 */
/* watch_apply.c - applying Watch stream events to an unpublished table version */
#include <string.h>

#include "edge/watch_internal.h"

void edge_watch__batch_init(edge_watch__batch_t *b)
{
    memset(b, 0, sizeof *b);
    edge_hamt_init(&b->seen_names, NULL);
    edge_hamt_init(&b->seen_tokens, NULL);
}

void edge_watch__batch_dispose(edge_watch__batch_t *b)
{
    edge_certmap_release(b->builder);
    edge_hamt_dispose(&b->seen_names);
    edge_hamt_dispose(&b->seen_tokens);
    memset(b, 0, sizeof *b);
}

static int upsert(edge_watch__batch_t *b, const char *name, const Certplane__V1__Certificate *c,
                  int64_t revision, cp_err_t *err)
{
    edge_hamt_set(&b->seen_names, name, (void *)1);
    const char *chain = c->fullchain_pem, *key = c->private_key_pem;
    /* Nothing to serve (not issued yet, revoked, or sent without its key): stop serving it. */
    if (c->state == CERTPLANE__V1__STATE__REVOKED || chain == NULL || chain[0] == '\0' ||
        key == NULL || key[0] == '\0') {
        edge_certmap_delete(b->builder, name);
        return 0;
    }
    unsigned char digest[32];
    edge_cert_pem_digest(chain, strlen(chain), key, strlen(key), digest);
    edge_cert_t *have = edge_certmap_get0_by_name(b->builder, name);
    if (have != NULL && memcmp(have->pem_digest, digest, sizeof digest) == 0)
        return 0; /* the same certificate again (a snapshot after a reconnect): keep the parsed one
                   */
    edge_cert_t *cert = NULL;
    int rc = edge_cert_new(name, chain, strlen(chain), key, strlen(key), revision, &cert, err);
    if (rc != 0)
        return rc;
    edge_certmap_put(b->builder, cert);
    edge_cert_release(cert);
    return 0;
}

int edge_watch__apply(edge_watch__batch_t *b, const edge_certmap_t *current,
                      const Certplane__V1__CertificateEvent *ev, cp_err_t *err)
{
    if (b->builder == NULL)
        b->builder = edge_certmap_clone(current, 0);
    /* In a snapshot, UPSERTs carry their certificates' revisions (any order, some beyond the
     * snapshot's): only SNAPSHOT_END says where the table stands. */
    if (!b->in_snapshot && ev->type != CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN &&
        ev->revision > b->max_rev)
        b->max_rev = ev->revision;
    b->n++;
    const char *name = ev->name != NULL && ev->name[0] != '\0' ? ev->name
                       : ev->certificate != NULL               ? ev->certificate->name
                                                               : NULL;
    const Certplane__V1__Challenge *ch = ev->challenge;
    switch (ev->type) {
    case CERTPLANE__V1__EVENT_TYPE__UPSERT:
        if (name == NULL || name[0] == '\0' || ev->certificate == NULL)
            return cp_err_set(err, CP_EPROTO, "UPSERT without a certificate");
        return upsert(b, name, ev->certificate, ev->revision, err);
    case CERTPLANE__V1__EVENT_TYPE__DELETE:
        if (name == NULL)
            return cp_err_set(err, CP_EPROTO, "DELETE without a name");
        edge_hamt_remove(&b->seen_names, name);
        edge_certmap_delete(b->builder, name);
        return 0;
    case CERTPLANE__V1__EVENT_TYPE__CHALLENGE_SET:
        if (ch == NULL || ch->token == NULL || ch->key_authorization == NULL)
            return cp_err_set(err, CP_EPROTO, "CHALLENGE_SET without a challenge");
        edge_hamt_set(&b->seen_tokens, ch->token, (void *)1);
        edge_certmap_challenge_set(b->builder, ch->token, ch->key_authorization);
        return 0;
    case CERTPLANE__V1__EVENT_TYPE__CHALLENGE_CLEAR:
        if (ch == NULL || ch->token == NULL)
            return cp_err_set(err, CP_EPROTO, "CHALLENGE_CLEAR without a token");
        edge_hamt_remove(&b->seen_tokens, ch->token);
        edge_certmap_challenge_clear(b->builder, ch->token);
        return 0;
    case CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN:
        /* What the snapshot names from here on is what the table will hold at SNAPSHOT_END. */
        edge_hamt_dispose(&b->seen_names);
        edge_hamt_dispose(&b->seen_tokens);
        edge_hamt_init(&b->seen_names, NULL);
        edge_hamt_init(&b->seen_tokens, NULL);
        b->in_snapshot = true;
        return 0;
    case CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END:
        /* The snapshot replaces the table: what it did not name is gone. */
        edge_certmap_prune(b->builder, &b->seen_names, &b->seen_tokens);
        b->in_snapshot = false;
        b->saw_end = true;
        b->end_rev = ev->revision;
        b->max_rev = ev->revision;
        return 0;
    default:
        return 0; /* a newer controller's event type: ignored */
    }
}
