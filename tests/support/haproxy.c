/* SPDX-License-Identifier: Apache-2.0 */
/* haproxy.c - test support: haproxy in TCP mode (haproxy.h) */
#include "tests/support/haproxy.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "shared/err.h"

static int write_cfg(const char *path, const cp_test_haproxy_frontend_t *fe, int n)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return CP_EIO;
    fprintf(f, "global\n    maxconn 4000\n\n"
               "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 60s\n"
               "    timeout server 60s\n\n");
    for (int i = 0; i < n; i++) {
        fprintf(f, "frontend fe%d\n    bind 127.0.0.1:%d\n    default_backend be%d\n\n", i,
                fe[i].port, i);
        fprintf(f, "backend be%d\n    balance roundrobin\n", i);
        for (int b = 0; b < fe[i].n_backends; b++)
            fprintf(f, "    server s%d 127.0.0.1:%d\n", b, fe[i].backends[b]);
        fprintf(f, "\n");
    }
    return fclose(f) == 0 ? 0 : CP_EIO;
}

int cp_test_haproxy_start(cp_test_haproxy_t *h, const char *dir, cp_test_haproxy_frontend_t *fe,
                          int n)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i < n; i++)
        if (fe[i].port == 0)
            fe[i].port = cp_test_free_port();
    snprintf(h->cfg_path, sizeof h->cfg_path, "%s/haproxy.cfg", dir);
    char log[600];
    snprintf(log, sizeof log, "%s/haproxy.log", dir);
    int rc = write_cfg(h->cfg_path, fe, n);
    if (rc != 0)
        return rc;
    char *argv[] = {"haproxy", "-db", "-f", h->cfg_path, NULL};
    if ((rc = cp_test_spawn(&h->proc, "haproxy", argv, NULL, log)) != 0) {
        fprintf(stderr, "haproxy: cannot start (%d): install it (scripts/deps.sh)\n", rc);
        return rc;
    }
    for (int i = 0; i < n; i++)
        if ((rc = cp_test_wait_port(fe[i].port, 10000)) != 0) {
            fprintf(stderr, "haproxy: port %d not listening (log %s)\n", fe[i].port, log);
            cp_test_haproxy_stop(h);
            return rc;
        }
    return 0;
}

void cp_test_haproxy_stop(cp_test_haproxy_t *h)
{
    cp_test_stop(&h->proc, SIGTERM, 5000);
}
