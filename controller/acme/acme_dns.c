/* SPDX-License-Identifier: Apache-2.0 */
/* acme_dns.c - DNS-01 provider interface and the `exec` provider (program present|cleanup fqdn
 * value) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/acme/acme_internal.h"
#include "shared/clock.h"
#include "shared/mem.h"

extern char **environ;

typedef struct exec_dns {
    ctl_acme_dns_t base; /* first, so the provider pointer is the object */
    char *program;
    long timeout_ms;
} exec_dns_t;

void ctl_acme_dns_free(ctl_acme_dns_t *dns)
{
    if (dns != NULL && dns->ops->free != NULL)
        dns->ops->free(dns);
}

/* Reads the child's output until EOF or the deadline; keeps the first line for error messages. */
static int drain(int fd, int64_t deadline, char *first, size_t size)
{
    size_t n = 0;
    int line_done = 0;
    char buf[512];
    for (;;) {
        long left = (long)(deadline - cp_clock_mono_ms());
        if (left <= 0)
            return CP_ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (pr < 0 && errno != EINTR)
            return CP_EIO;
        if (pr <= 0)
            continue;
        ssize_t got = read(fd, buf, sizeof(buf));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        for (ssize_t i = 0; i < got && !line_done; i++) {
            if (buf[i] == '\n')
                line_done = n > 0;
            else if (n + 1 < size)
                first[n++] = (buf[i] >= 32 && buf[i] < 127) ? buf[i] : ' ';
        }
        first[n] = '\0';
    }
}

/* Waits for the child; kills it when the deadline has passed. Returns its wait status or -1. */
static int reap(pid_t pid, int64_t deadline)
{
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return status;
        if (w < 0 && errno != EINTR)
            return -1;
        if (cp_clock_mono_ms() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        usleep(5000);
    }
}

static int exec_run(ctl_acme_dns_t *dns, const char *verb, const char *fqdn, const char *value,
                    cp_err_t *err)
{
    exec_dns_t *e = (exec_dns_t *)dns;
    int fds[2];
    pid_t pid;
    char first[200] = "";
    posix_spawn_file_actions_t fa;
    char *argv[] = {e->program, (char *)verb, (char *)fqdn, (char *)value, NULL};
    if (pipe2(fds, O_CLOEXEC) != 0)
        return cp_err_set(err, CP_EIO, "dns exec: pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    int sp = posix_spawn(&pid, e->program, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (sp != 0) {
        close(fds[0]);
        return cp_err_set(err, CP_EIO, "dns exec %s %s: %s", verb, fqdn, strerror(sp));
    }
    int64_t deadline = cp_clock_mono_ms() + e->timeout_ms;
    int drc = drain(fds[0], deadline, first, sizeof(first));
    close(fds[0]);
    int status = reap(pid, drc == 0 ? deadline : 0);
    if (drc == CP_ETIMEDOUT || status < 0)
        return cp_err_set(err, CP_ETIMEDOUT, "dns exec %s %s: no exit within %ld ms", verb, fqdn,
                          e->timeout_ms);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return cp_err_set(err, CP_EIO, "dns exec %s %s: exit status %d%s%s", verb, fqdn,
                          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                          first[0] ? ": " : "", first);
    return 0;
}

static int exec_present(ctl_acme_dns_t *dns, const char *fqdn, const char *value, cp_err_t *err)
{
    return exec_run(dns, "present", fqdn, value, err);
}

static int exec_cleanup(ctl_acme_dns_t *dns, const char *fqdn, const char *value, cp_err_t *err)
{
    return exec_run(dns, "cleanup", fqdn, value, err);
}

static void exec_free(ctl_acme_dns_t *dns)
{
    exec_dns_t *e = (exec_dns_t *)dns;
    free(e->program);
    free(e);
}

static const ctl_acme_dns_ops_t EXEC_OPS = {
    .present = exec_present,
    .cleanup = exec_cleanup,
    .free = exec_free,
};

int ctl_acme_dns_exec_new(const char *program, long timeout_ms, ctl_acme_dns_t **out, cp_err_t *err)
{
    if (program == NULL || program[0] != '/')
        return cp_err_set(err, CP_EINVAL, "dns exec: program must be an absolute path");
    if (access(program, X_OK) != 0)
        return cp_err_set(err, CP_EINVAL, "dns exec: %s is not executable: %s", program,
                          strerror(errno));
    exec_dns_t *e = cp_xcalloc(1, sizeof(*e));
    e->base.ops = &EXEC_OPS;
    e->program = ctl_acme__strdup(program);
    e->timeout_ms = timeout_ms > 0 ? timeout_ms : 60000;
    *out = &e->base;
    return 0;
}
