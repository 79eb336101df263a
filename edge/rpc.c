/* SPDX-License-Identifier: Apache-2.0 */
/* rpc.c - a blocking unary call to the controller (rpc.h) */
#include "edge/rpc.h"
#include "edge/ctlchan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"

struct edge_rpc {
    edge_rpc_opts_t o;
    grpc_channel_credentials *creds; /* NULL: insecure */
    char *auth;                      /* "Bearer <token>" or NULL */
    grpc_channel *ch;
    size_t target; /* index in o.targets */
};

int edge_rpc_new(const edge_rpc_opts_t *o, edge_rpc_t **out, cp_err_t *err)
{
    edge_rpc_t *c = cp_xcalloc(1, sizeof *c);
    c->o = *o;
    if (o->token != NULL && o->token[0] != '\0') {
        size_t len = strlen(o->token) + 8;
        c->auth = cp_xmalloc(len);
        snprintf(c->auth, len, "Bearer %s", o->token);
    }
    int rc = edge_ctlchan_creds(o->ca_file, o->cert_file, o->key_file, &c->creds, err);
    if (rc != 0) {
        edge_rpc_free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

static grpc_channel *channel(edge_rpc_t *c)
{
    if (c->ch == NULL)
        c->ch = edge_ctlchan_open(c->o.targets[c->target], c->creds, c->o.server_name);
    return c->ch;
}

grpc_status_code edge_rpc_call(edge_rpc_t *c, const char *method, const ProtobufCMessage *req,
                               const ProtobufCMessageDescriptor *resp_desc, int deadline_ms,
                               ProtobufCMessage **resp)
{
    *resp = NULL;
    grpc_status_code status =
        edge_ctlchan_unary(channel(c), c->auth, method, req, resp_desc, deadline_ms, resp);
    if (status == GRPC_STATUS_UNAVAILABLE || status == GRPC_STATUS_DEADLINE_EXCEEDED) {
        grpc_channel_destroy(c->ch); /* the next call tries the next controller */
        c->ch = NULL;
        c->target = (c->target + 1) % c->o.n_targets;
    }
    return status;
}

void edge_rpc_free(edge_rpc_t *c)
{
    if (c == NULL)
        return;
    if (c->ch != NULL)
        grpc_channel_destroy(c->ch);
    if (c->creds != NULL)
        grpc_channel_credentials_release(c->creds);
    cp_secure_free_str(c->auth);
    free(c);
}
