/* SPDX-License-Identifier: Apache-2.0 */
/* ctlchan.c - the edge's gRPC connection to a controller (ctlchan.h) */
#include "edge/ctlchan.h"

#include <stdlib.h>
#include <string.h>

#include "shared/file.h"
#include "shared/mem.h"

#define MAX_PEM_FILE (1 << 20)

int edge_ctlchan_creds(const char *ca_file, const char *cert_file, const char *key_file,
                       grpc_channel_credentials **out, cp_err_t *err)
{
    char *ca = NULL, *cert = NULL, *key = NULL;
    int rc = 0;
    *out = NULL;
    if (ca_file == NULL)
        return 0;
    if ((rc = cp_file_read(ca_file, MAX_PEM_FILE, &ca, NULL, err)) != 0)
        return CP_EINVAL;
    if (cert_file != NULL && ((rc = cp_file_read(cert_file, MAX_PEM_FILE, &cert, NULL, err)) != 0 ||
                              (rc = cp_file_read(key_file, MAX_PEM_FILE, &key, NULL, err)) != 0)) {
        rc = CP_EINVAL;
        goto out;
    }
    grpc_ssl_pem_key_cert_pair pair = {key, cert};
    *out = grpc_ssl_credentials_create(ca, cert != NULL ? &pair : NULL, NULL, NULL);
    if (*out == NULL)
        rc = cp_err_set(err, CP_EINVAL, "controller TLS credentials rejected");
out:
    free(ca);
    free(cert);
    cp_secure_free_str(key); /* gRPC copied the PEM text */
    return rc;
}

static grpc_arg int_arg(const char *key, int value)
{
    grpc_arg a;
    memset(&a, 0, sizeof a);
    a.type = GRPC_ARG_INTEGER;
    a.key = (char *)key;
    a.value.integer = value;
    return a;
}

grpc_channel *edge_ctlchan_open(const char *target, grpc_channel_credentials *creds,
                                const char *server_name)
{
    grpc_arg args[5];
    int n = 0;
    args[n++] = int_arg(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
    args[n++] = int_arg(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    args[n++] = int_arg(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args[n++] = int_arg(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
    if (server_name != NULL) {
        memset(&args[n], 0, sizeof args[n]);
        args[n].type = GRPC_ARG_STRING;
        args[n].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        args[n++].value.string = (char *)server_name;
    }
    grpc_channel_args ca = {(size_t)n, args};
    grpc_channel_credentials *c = creds != NULL ? creds : grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, c, &ca);
    if (creds == NULL)
        grpc_channel_credentials_release(c);
    return ch;
}

grpc_byte_buffer *edge_ctlchan_pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}
