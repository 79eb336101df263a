/* SPDX-License-Identifier: Apache-2.0 */
/* controller.c - test harness part: a real certplane-controller process on free loopback ports */
#include "tests/support/controller.h"
#include "tests/support/redis_acl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *cp_test_controller_bin(void)
{
    static char path[1024];
    const char *bin = getenv("CP_CONTROLLER_BIN");
    if (bin != NULL)
        return bin;
    const char *dir = getenv("CP_BINARY_DIR");
    snprintf(path, sizeof path, "%s/bin/certplane-controller", dir != NULL ? dir : ".");
    return path;
}

const char *cp_test_kek_env(const char *dir)
{
    static char env[700];
    char path[600];
    snprintf(path, sizeof path, "%s/test-kek", dir);
    if (access(path, R_OK) != 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 && errno != EEXIST)
            return NULL;
        static const char line[] = "test-kek-1 Y2VydHBsYW5lIHRlc3Qga2V5LWVuY3J5cHRpb24gMzI=\n";
        if (fd >= 0) {
            ssize_t n = write(fd, line, sizeof line - 1);
            close(fd);
            if (n != (ssize_t)(sizeof line - 1))
                return NULL;
        }
    }
    snprintf(env, sizeof env, "CERTPLANE_KEK_FILE=%s", path);
    return env;
}

/* Whether the caller chose the keys-at-rest mode itself. */
static bool names_kek(const char *const *v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        if (strstr(v[i], "kek-file") != NULL || strstr(v[i], "KEK_FILE") != NULL ||
            strstr(v[i], "plaintext-keys") != NULL || strstr(v[i], "PLAINTEXT_KEYS") != NULL)
            return true;
    return false;
}

int cp_test_controller_start(cp_test_controller_t *c, const char *redis_url, const char *log_dir,
                             const char *const *args, const char *const *env)
{
    return cp_test_controller_start_on(c, 0, 0, redis_url, log_dir, args, env);
}

int cp_test_controller_start_on(cp_test_controller_t *c, int grpc_port, int http_port,
                                const char *redis_url, const char *log_dir, const char *const *args,
                                const char *const *env)
{
    memset(c, 0, sizeof *c);
    c->grpc_port = grpc_port > 0 ? grpc_port : cp_test_free_port();
    c->http_port = http_port > 0 ? http_port : cp_test_free_port();
    char grpc[64], http[64], redis[600];
    snprintf(grpc, sizeof grpc, "--grpc-listen=127.0.0.1:%d", c->grpc_port);
    snprintf(http, sizeof http, "--http-listen=127.0.0.1:%d", c->http_port);
    char acl_url[600];
    snprintf(redis, sizeof redis, "CERTPLANE_REDIS_URL=%s",
             cp_test_redis_acl_url(redis_url, acl_url, sizeof acl_url));
    const char *argv[64] = {cp_test_controller_bin(), grpc, http};
    size_t n = 3;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    const char *envp[32] = {redis};
    size_t m = 1;
    if (!names_kek(args) && !names_kek(env) && (envp[m] = cp_test_kek_env(log_dir)) != NULL)
        m++;
    for (size_t i = 0; env != NULL && env[i] != NULL && m < 30; i++)
        envp[m++] = env[i];
    envp[m] = NULL;
    static int seq;
    snprintf(c->log_path, sizeof c->log_path, "%s/controller-%d-%d.log", log_dir, (int)getpid(),
             ++seq);
    if (cp_test_spawn(&c->proc, "controller", (char *const *)argv, (char *const *)envp,
                      c->log_path) != 0)
        return -1;
    if (cp_test_wait_port(c->grpc_port, 20000) != 0 ||
        cp_test_wait_port(c->http_port, 20000) != 0) {
        fprintf(stderr, "controller did not open its ports\n");
        cp_test_controller_dump_log(c, 40);
        cp_test_stop(&c->proc, SIGKILL, 2000);
        return -1;
    }
    return 0;
}

int cp_test_controller_stop(cp_test_controller_t *c)
{
    if (c->proc.pid <= 0)
        return 0;
    int status = 0;
    kill(c->proc.pid, SIGTERM);
    if (cp_test_wait_exit(&c->proc, 20000, &status) != 0) {
        cp_test_stop(&c->proc, SIGKILL, 2000);
        return -1;
    }
    c->proc.pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void cp_test_controller_dump_log(const cp_test_controller_t *c, int lines)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "tail -n %d '%s' >&2", lines, c->log_path);
    if (system(cmd) != 0)
        fprintf(stderr, "(no controller log at %s)\n", c->log_path);
}
