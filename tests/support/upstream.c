/* SPDX-License-Identifier: Apache-2.0 */
/* upstream.c - test support: the tiny echoing HTTP upstream (see upstream.h) */
#include "tests/support/upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *upstream_main(void *arg)
{
    cp_test_upstream_t *u = arg;
    for (;;) {
        int c = accept(u->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        atomic_fetch_add(&u->requests, 1);
        char req[8192];
        size_t len = 0;
        ssize_t n;
        while (len < sizeof req - 1 && (n = read(c, req + len, sizeof req - 1 - len)) > 0) {
            len += (size_t)n;
            req[len] = '\0';
            if (strstr(req, "\r\n\r\n") != NULL)
                break;
        }
        char head[256];
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n"
                          "Content-Type: text/plain\r\n\r\n",
                          len);
        if (write(c, head, (size_t)hl) < 0 || write(c, req, len) < 0)
            fprintf(stderr, "upstream: write failed\n");
        close(c);
    }
}

int cp_test_upstream_start(cp_test_upstream_t *u)
{
    memset(u, 0, sizeof *u);
    atomic_init(&u->requests, 0);
    u->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (u->fd < 0 || bind(u->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(u->fd, 128) != 0 ||
        getsockname(u->fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    u->port = ntohs(a.sin_port);
    return pthread_create(&u->tid, NULL, upstream_main, u) == 0 ? 0 : -1;
}

void cp_test_upstream_stop(cp_test_upstream_t *u)
{
    if (u->fd < 0)
        return;
    shutdown(u->fd, SHUT_RDWR);
    close(u->fd);
    pthread_join(u->tid, NULL);
    u->fd = -1;
}
