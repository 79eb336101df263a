/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_guard_tls.c - the gRPC guard's TLS on OpenSSL 3 (memory PEM, nonblocking sockets) */
#include "controller/grpc/grpc_guard_tls.h"
#include "shared/mem.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct ctl_gtls_ctx {
    SSL_CTX *ssl;
};

struct ctl_gtls_conn {
    SSL *ssl;
    bool ready;
    uint32_t wants; /* EPOLLIN / EPOLLOUT the last operation waits for */
};

/* Only h2: gRPC clients insist on it. A client that offers no ALPN is served anyway. */
static int select_alpn(SSL *s, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)s;
    (void)arg;
    static const unsigned char h2[] = {2, 'h', '2'};
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, h2, sizeof h2, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int load_chain(SSL_CTX *ctx, const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    int ok = x != NULL && SSL_CTX_use_certificate(ctx, x) == 1;
    X509_free(x);
    while (ok && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
        ok = SSL_CTX_add0_chain_cert(ctx, x) == 1;
    BIO_free(b);
    ERR_clear_error(); /* the end of the PEM text */
    return ok;
}

static int load_key(SSL_CTX *ctx, const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    int ok = k != NULL && SSL_CTX_use_PrivateKey(ctx, k) == 1 && SSL_CTX_check_private_key(ctx);
    EVP_PKEY_free(k);
    BIO_free(b);
    return ok;
}

static int load_client_ca(SSL_CTX *ctx, const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    int n = 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, x) == 1 &&
            sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(x))) > 0)
            n++;
        X509_free(x);
    }
    BIO_free(b);
    ERR_clear_error();
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return n > 0;
}

int ctl_gtls_ctx_new(const char *cert_pem, const char *key_pem, const char *client_ca_pem,
                     ctl_gtls_ctx_t **out, cp_err_t *err)
{
    SSL_CTX *s = SSL_CTX_new(TLS_server_method());
    if (s == NULL)
        return cp_err_set(err, CP_EINVAL, "gRPC TLS: no OpenSSL context");
    SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(s, "ECDHE+AESGCM:ECDHE+CHACHA20");
    SSL_CTX_set_options(s, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(s, select_alpn, NULL);
    int rc = 0;
    if (key_pem == NULL)
        rc = cp_err_set(err, CP_EINVAL, "gRPC TLS: a certificate needs its key");
    else if (!load_chain(s, cert_pem) || !load_key(s, key_pem))
        rc = cp_err_set(err, CP_EINVAL, "gRPC TLS: unusable certificate or key");
    else if (client_ca_pem != NULL && !load_client_ca(s, client_ca_pem))
        rc = cp_err_set(err, CP_EINVAL, "gRPC TLS: no certificate in the client CA file");
    ERR_clear_error();
    if (rc != 0) {
        SSL_CTX_free(s);
        return rc;
    }
    *out = cp_xcalloc(1, sizeof **out);
    (*out)->ssl = s;
    return 0;
}

void ctl_gtls_ctx_free(ctl_gtls_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

ctl_gtls_conn_t *ctl_gtls_conn_new(ctl_gtls_ctx_t *ctx, int fd)
{
    ctl_gtls_conn_t *c = cp_xcalloc(1, sizeof *c);
    c->ssl = SSL_new(ctx->ssl);
    SSL_set_fd(c->ssl, fd);
    SSL_set_accept_state(c->ssl);
    c->wants = EPOLLIN;
    return c;
}

void ctl_gtls_conn_free(ctl_gtls_conn_t *c)
{
    if (c == NULL)
        return;
    SSL_free(c->ssl);
    free(c);
}

int ctl_gtls_conn_ready(const ctl_gtls_conn_t *c)
{
    return c->ready;
}

/* Maps an OpenSSL result: -EAGAIN (and records what it waits for), 0 at a clean end, -EIO. */
static int ssl_result(ctl_gtls_conn_t *c, int r)
{
    int e = SSL_get_error(c->ssl, r);
    ERR_clear_error();
    c->wants = 0;
    if (e == SSL_ERROR_WANT_READ) {
        c->wants = EPOLLIN;
        return -EAGAIN;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        c->wants = EPOLLOUT;
        return -EAGAIN;
    }
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -EIO;
}

int ctl_gtls_conn_handshake(ctl_gtls_conn_t *c)
{
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->ready = true;
        c->wants = 0;
        return 1;
    }
    return ssl_result(c, r) == -EAGAIN ? 0 : -1;
}

ssize_t ctl_gtls_conn_read(ctl_gtls_conn_t *c, int fd, uint8_t *p, size_t n)
{
    if (c == NULL) {
        ssize_t r = read(fd, p, n);
        return r >= 0 ? r : (errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno);
    }
    size_t got = 0;
    int r = SSL_read_ex(c->ssl, p, n, &got);
    if (r == 1) {
        c->wants = 0;
        return (ssize_t)got;
    }
    return ssl_result(c, r);
}

ssize_t ctl_gtls_conn_write(ctl_gtls_conn_t *c, int fd, const uint8_t *p, size_t n)
{
    if (c == NULL) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        return r >= 0 ? r : (errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno);
    }
    size_t put = 0;
    int r = SSL_write_ex(c->ssl, p, n, &put);
    if (r == 1) {
        c->wants = 0;
        return (ssize_t)put;
    }
    int rc = ssl_result(c, r);
    return rc == 0 ? -EIO : rc;
}

int ctl_gtls_conn_wants(const ctl_gtls_conn_t *c, uint32_t events)
{
    return c != NULL && (c->wants & events) != 0;
}
