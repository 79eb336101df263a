/* SPDX-License-Identifier: Apache-2.0 */
/* redis_tls.c - TLS connections to Redis: the context, the blocking connect and verified
 * handshake, the hand-off to the relay thread */
#include "controller/store/redis_tls.h"
#include "controller/store/redis_tls_pump.h"
#include "shared/clock.h"
#include "shared/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define KEEPALIVE_IDLE_S 15 /* as hiredis' redisEnableKeepAlive */
#define KEEPALIVE_INTVL_S 5
#define KEEPALIVE_CNT 3

struct ctl_redis_tls {
    SSL_CTX *ctx;
    char *server_name; /* NULL: the URL's host */
    ctl_redis_tls_pump_t *pump;
};

/* The first OpenSSL error of this thread as text ("" when none), then the queue is cleared. */
static const char *ssl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_peek_error();
    buf[0] = '\0';
    if (e != 0)
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return buf;
}

static int load_files(SSL_CTX *ctx, const ctl_redis_tls_opts_t *o, cp_err_t *err)
{
    char why[256];
    if (o->ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1
                           : SSL_CTX_set_default_verify_paths(ctx) != 1)
        return cp_err_set(err, CP_EINVAL, "redis TLS: cannot load the CA file %s: %s",
                          o->ca_file ? o->ca_file : "(system store)", ssl_reason(why, sizeof why));
    if ((o->cert_file == NULL) != (o->key_file == NULL))
        return cp_err_set(err, CP_EINVAL, "redis TLS: a client certificate needs its key");
    if (o->cert_file == NULL)
        return 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1)
        return cp_err_set(err, CP_EINVAL, "redis TLS: cannot load the certificate %s: %s",
                          o->cert_file, ssl_reason(why, sizeof why));
    if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error(); /* OpenSSL's reason could quote the file; the file name is enough */
        return cp_err_set(err, CP_EINVAL,
                          "redis TLS: cannot load the key %s, or it does not match %s", o->key_file,
                          o->cert_file);
    }
    return 0;
}

int ctl_redis_tls_new(const ctl_redis_tls_opts_t *o, ctl_redis_tls_t **out, cp_err_t *err)
{
    *out = NULL;
    ctl_redis_tls_t *t = cp_xcalloc(1, sizeof *t);
    int rc = 0;
    ERR_clear_error();
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL) {
        rc = cp_err_set(err, CP_EINTERNAL, "redis TLS: SSL_CTX_new failed");
        goto out;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    rc = load_files(t->ctx, o, err);
    if (rc == 0 && o->server_name != NULL && o->server_name[0] != '\0')
        t->server_name = cp_xstrdup(o->server_name);
    if (rc == 0)
        rc = ctl_redis_tls_pump_new(&t->pump, err);
out:
    if (rc != 0) {
        ctl_redis_tls_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void ctl_redis_tls_free(ctl_redis_tls_t *t)
{
    if (t == NULL)
        return;
    ctl_redis_tls_pump_free(t->pump);
    SSL_CTX_free(t->ctx);
    free(t->server_name);
    free(t);
}

/* Waits until fd is readable (or writable) or the deadline passes. Returns 0 or CP_ETIMEDOUT. */
static int wait_fd(int fd, bool for_write, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - cp_clock_mono_ms();
        if (left <= 0)
            return CP_ETIMEDOUT;
        struct pollfd pfd = {.fd = fd, .events = for_write ? POLLOUT : POLLIN};
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return CP_ETIMEDOUT;
    }
}

/* Keepalive probes for an idle connection, TCP_USER_TIMEOUT for one with data in flight: either
 * way a Redis that vanished without a FIN is noticed, and the relay closes hiredis' end. */
static void tune_socket(int fd, int io_timeout_ms)
{
    int one = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S, cnt = KEEPALIVE_CNT;
    unsigned int user_timeout = (unsigned int)(io_timeout_ms > 0 ? io_timeout_ms : 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

/* One non-blocking connect to ai within the deadline: the socket, or a negative errno-style
 * failure (-errno, or -ETIMEDOUT). */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    int e = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        e = errno;
        if (e == EINPROGRESS) {
            socklen_t len = sizeof e;
            if (wait_fd(fd, true, deadline) != 0)
                e = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
                e = errno;
        }
    }
    if (e != 0) {
        close(fd);
        return -e;
    }
    return fd;
}

/* Resolves host and connects to its addresses in turn until one answers. */
static int tcp_connect(const char *host, int port, const char *where, int64_t deadline, int *out,
                       cp_err_t *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int g = getaddrinfo(host, service, &hints, &res);
    if (g != 0)
        return cp_err_set(err, CP_EUNAVAIL, "redis %s: %s", where, gai_strerror(g));
    int fd = -ECONNREFUSED;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = connect_one(ai, deadline);
    freeaddrinfo(res);
    if (fd < 0)
        return cp_err_set(err, CP_EUNAVAIL, "redis %s: %s", where,
                          fd == -ETIMEDOUT ? "Connection timed out" : strerror(-fd));
    *out = fd;
    return 0;
}

/* What to check: an IP address against the IP SANs, a name against the DNS SANs (and SNI). */
static int set_peer_name(SSL *ssl, const char *name)
{
    unsigned char ip[16];
    if (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 ? 0 : -1;
    if (SSL_set_tlsext_host_name(ssl, name) != 1 || SSL_set1_host(ssl, name) != 1)
        return -1;
    return 0;
}

static int handshake_failed(SSL *ssl, const char *where, int code, cp_err_t *err)
{
    char why[256];
    long v = SSL_get_verify_result(ssl);
    if (code == CP_ETIMEDOUT) {
        ERR_clear_error();
        return cp_err_set(err, CP_EUNAVAIL, "redis %s: TLS handshake timed out", where);
    }
    if (v != X509_V_OK) {
        ERR_clear_error();
        return cp_err_set(err, CP_EUNAVAIL, "redis %s: TLS certificate verification failed: %s",
                          where, X509_verify_cert_error_string(v));
    }
    ssl_reason(why, sizeof why);
    return cp_err_set(err, CP_EUNAVAIL, "redis %s: TLS handshake failed: %s", where,
                      why[0] ? why : "connection closed");
}

/* The TLS handshake on the connected socket fd, within the deadline. */
static int tls_handshake(ctl_redis_tls_t *t, int fd, const char *host, const char *where,
                         int64_t deadline, SSL **out, cp_err_t *err)
{
    ERR_clear_error();
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
        set_peer_name(ssl, t->server_name ? t->server_name : host) != 0) {
        SSL_free(ssl);
        ERR_clear_error();
        return cp_err_set(err, CP_EINVAL, "redis %s: TLS: bad server name", where);
    }
    SSL_set_connect_state(ssl);
    for (;;) {
        int r = SSL_do_handshake(ssl), rc = 0;
        if (r == 1)
            break;
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            rc = wait_fd(fd, e == SSL_ERROR_WANT_WRITE, deadline);
        else
            rc = CP_EUNAVAIL;
        if (rc != 0) {
            rc = handshake_failed(ssl, where, rc, err);
            SSL_free(ssl);
            return rc;
        }
    }
    *out = ssl;
    return 0;
}

int ctl_redis_tls_connect(ctl_redis_tls_t *t, const char *host, int port, const char *where,
                          int timeout_ms, int io_timeout_ms, int *fd, cp_err_t *err)
{
    int64_t deadline = cp_clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 2000);
    int sock = -1;
    SSL *ssl = NULL;
    int rc = tcp_connect(host, port, where, deadline, &sock, err);
    if (rc == 0) {
        tune_socket(sock, io_timeout_ms);
        rc = tls_handshake(t, sock, host, where, deadline, &ssl, err);
    }
    if (rc == 0)
        rc = ctl_redis_tls_pump_add(t->pump, ssl, sock, fd, err);
    if (rc != 0) {
        SSL_free(ssl);
        if (sock >= 0)
            close(sock);
    }
    return rc;
}
