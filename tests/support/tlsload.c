/* SPDX-License-Identifier: Apache-2.0 */
/* tlsload.c - test support: TLS probes of an edge and a bounded load of new TLS connections */
#include "tests/support/tlsload.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "shared/x509.h"

double cp_test_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double cp_test_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One HTTP/1.1 GET on an established connection; 0 when it answered 200. */
static int probe_request(SSL *ssl, const char *sni, const char *path)
{
    char req[512], buf[4096];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     path, sni);
    size_t got = 0;
    int r;
    if (SSL_write(ssl, req, n) != n)
        return CP_TEST_TLS_EREQUEST;
    while (got < sizeof buf - 1 && (r = SSL_read(ssl, buf + got, (int)(sizeof buf - 1 - got))) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : CP_TEST_TLS_EREQUEST;
}

int cp_test_tls_probe(SSL_CTX *ctx, int port, const char *sni, const char *request_path,
                      char *serial, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc = CP_TEST_TLS_ECONNECT;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    SSL *ssl = SSL_new(ctx);
    X509 *peer = NULL;
    cp_x509_info_t info = {0};
    SSL_set_tlsext_host_name(ssl, sni);
    SSL_set_fd(ssl, fd);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto out;
    rc = CP_TEST_TLS_EHANDSHAKE;
    if (SSL_connect(ssl) != 1 || (peer = SSL_get1_peer_certificate(ssl)) == NULL ||
        cp_x509_info_get(peer, &info, NULL) != 0)
        goto out;
    snprintf(serial, size, "%s", info.serial);
    rc = request_path != NULL ? probe_request(ssl, sni, request_path) : 0;
out:
    cp_x509_info_dispose(&info);
    X509_free(peer);
    ERR_clear_error();
    SSL_free(ssl);
    close(fd);
    return rc;
}

double cp_test_tls_wait_serial(SSL_CTX *ctx, int port, const char *sni, const char *serial,
                               double timeout_s)
{
    double t0 = cp_test_now_s();
    char got[128];
    while (cp_test_now_s() - t0 < timeout_s) {
        if (cp_test_tls_probe(ctx, port, sni, NULL, got, sizeof got) == 0 &&
            strcmp(got, serial) == 0)
            return cp_test_now_s() - t0;
        usleep(10000);
    }
    return -1;
}

/* Sorts one successful probe, started at wall-clock `start` and ended at `end`, by its serial. */
static void tally(cp_test_tlsload_t *l, const char *serial, double start, double end)
{
    pthread_mutex_lock(&l->lock);
    if (strcmp(serial, l->old) == 0) {
        atomic_fetch_add(&l->served_old, 1);
        if (l->first_new > 0 && start > l->first_new)
            l->fresh_then_old++;
        if (end > l->last_old)
            l->last_old = end;
    } else if (l->fresh[0] == '\0' || strcmp(serial, l->fresh) == 0) {
        if (l->fresh[0] == '\0')
            snprintf(l->fresh, sizeof l->fresh, "%s", serial);
        atomic_fetch_add(&l->served_new, 1);
        if (l->first_new == 0 || end < l->first_new)
            l->first_new = end;
    } else {
        atomic_fetch_add(&l->served_other, 1);
    }
    pthread_mutex_unlock(&l->lock);
}

static void *load_main(void *arg)
{
    cp_test_tlsload_t *l = arg;
    char serial[128];
    while (!atomic_load(&l->stop) && atomic_fetch_add(&l->probes, 1) < l->o.max_probes &&
           cp_test_now_s() - l->t0 < l->o.max_seconds) {
        double start = cp_test_wall_s();
        int rc = cp_test_tls_probe(l->o.ctx, l->o.port, l->o.sni, l->o.request_path, serial,
                                   sizeof serial);
        if (rc == CP_TEST_TLS_ECONNECT)
            atomic_fetch_add(&l->failed_connect, 1);
        else if (rc == CP_TEST_TLS_EHANDSHAKE)
            atomic_fetch_add(&l->failed_handshake, 1);
        else if (rc == CP_TEST_TLS_EREQUEST)
            atomic_fetch_add(&l->failed_request, 1);
        else
            atomic_fetch_add(&l->ok, 1);
        if (rc == 0 || rc == CP_TEST_TLS_EREQUEST)
            tally(l, serial, start, cp_test_wall_s());
        if (l->o.pause_ms > 0)
            usleep((useconds_t)l->o.pause_ms * 1000);
    }
    return NULL;
}

int cp_test_tlsload_start(cp_test_tlsload_t *l, const cp_test_tlsload_opts_t *opts)
{
    memset(l, 0, sizeof *l);
    l->o = *opts;
    if (l->o.clients < 1)
        l->o.clients = 1;
    if (l->o.clients > 16)
        l->o.clients = 16;
    int rc = cp_test_tls_probe(l->o.ctx, l->o.port, l->o.sni, NULL, l->old, sizeof l->old);
    if (rc != 0)
        return rc;
    pthread_mutex_init(&l->lock, NULL);
    l->t0 = cp_test_now_s();
    for (int i = 0; i < l->o.clients; i++)
        if (pthread_create(&l->tids[i], NULL, load_main, l) == 0)
            l->started++;
    return 0;
}

void cp_test_tlsload_stop(cp_test_tlsload_t *l)
{
    atomic_store(&l->stop, 1);
    for (int i = 0; i < l->started; i++)
        pthread_join(l->tids[i], NULL);
    if (l->started > 0)
        pthread_mutex_destroy(&l->lock);
    l->started = 0;
}

long cp_test_tlsload_failures(cp_test_tlsload_t *l)
{
    return atomic_load(&l->failed_connect) + atomic_load(&l->failed_handshake) +
           atomic_load(&l->failed_request);
}
