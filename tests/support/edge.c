/* SPDX-License-Identifier: Apache-2.0 */
/* edge.c - test harness part: a real certplane-edge process on free loopback ports */
#include "tests/support/edge.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *cp_test_edge_bin(void)
{
    static char path[1024];
    const char *bin = getenv("CP_EDGE_BIN");
    if (bin != NULL)
        return bin;
    const char *dir = getenv("CP_BINARY_DIR");
    snprintf(path, sizeof path, "%s/bin/certplane-edge", dir != NULL ? dir : ".");
    return path;
}

int cp_test_edge_start(cp_test_edge_t *e, const char *log_dir, const char *const *args,
                       const char *const *env)
{
    return cp_test_edge_start_http(e, log_dir, 0, args, env);
}

int cp_test_edge_start_http(cp_test_edge_t *e, const char *log_dir, int http_port,
                            const char *const *args, const char *const *env)
{
    memset(e, 0, sizeof *e);
    e->https_port = cp_test_free_port();
    e->http_port = http_port > 0 ? http_port : cp_test_free_port();
    e->admin_port = cp_test_free_port();
    char https[64], http[64], admin[64];
    snprintf(https, sizeof https, "--listen=127.0.0.1:%d", e->https_port);
    snprintf(http, sizeof http, "--http-listen=127.0.0.1:%d", e->http_port);
    snprintf(admin, sizeof admin, "--admin-listen=127.0.0.1:%d", e->admin_port);
    const char *argv[64] = {cp_test_edge_bin(), https, http, admin};
    size_t n = 4;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    static int seq;
    snprintf(e->log_path, sizeof e->log_path, "%s/edge-%d-%d.log", log_dir, (int)getpid(), ++seq);
    if (cp_test_spawn(&e->proc, "edge", (char *const *)argv, (char *const *)env, e->log_path) != 0)
        return -1;
    if (cp_test_wait_port(e->admin_port, 20000) != 0 ||
        cp_test_wait_port(e->https_port, 5000) != 0) {
        fprintf(stderr, "edge did not open its ports\n");
        cp_test_edge_dump_log(e, 40);
        cp_test_stop(&e->proc, SIGKILL, 2000);
        return -1;
    }
    return 0;
}

int cp_test_edge_stop(cp_test_edge_t *e)
{
    if (e->proc.pid <= 0)
        return 0;
    int status = 0;
    kill(e->proc.pid, SIGTERM);
    if (cp_test_wait_exit(&e->proc, 20000, &status) != 0) {
        cp_test_stop(&e->proc, SIGKILL, 2000);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void cp_test_edge_dump_log(const cp_test_edge_t *e, int lines)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "tail -n %d '%s' >&2", lines, e->log_path);
    if (system(cmd) != 0)
        fprintf(stderr, "(no edge log at %s)\n", e->log_path);
}

const char *cp_test_sh(const char *fmt, ...)
{
    static char out[65536];
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    size_t n = 0, r;
    while (p != NULL && n < sizeof out - 1 && (r = fread(out + n, 1, sizeof out - 1 - n, p)) > 0)
        n += r;
    out[n] = '\0';
    if (p != NULL)
        pclose(p);
    return out;
}
