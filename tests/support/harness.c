/* SPDX-License-Identifier: Apache-2.0 */
/* harness.c - the shared test harness: free ports, temporary directories, child processes,
 * redis-server */
#include "tests/support/harness.h"
#include "tests/support/redis_acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shared/err.h"

extern char **environ;

#define FAIL(code, ...) (fprintf(stderr, "harness: " __VA_ARGS__), fputc('\n', stderr), (code))

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int cp_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FAIL(CP_EIO, "socket: %s", strerror(errno));
    struct sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    int rc = bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                     getsockname(fd, (struct sockaddr *)&a, &len) == 0
                 ? ntohs(a.sin_port)
                 : FAIL(CP_EIO, "bind 127.0.0.1:0: %s", strerror(errno));
    close(fd);
    return rc;
}

int cp_test_tmpdir(const char *prefix, char *out, size_t size)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    if ((size_t)snprintf(out, size, "%s/%sXXXXXX", base, prefix ? prefix : "cp-") >= size)
        return FAIL(CP_ETOOBIG, "tmpdir: path too long");
    if (mkdtemp(out) == NULL)
        return FAIL(CP_EIO, "mkdtemp %s: %s", out, strerror(errno));
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    if (remove(path) != 0 && errno != ENOENT)
        fprintf(stderr, "harness: remove %s: %s\n", path, strerror(errno));
    return 0;
}

int cp_test_rmrf(const char *dir)
{
    if (dir == NULL || dir[0] != '/' || strspn(dir, "/") == strlen(dir))
        return FAIL(CP_EINVAL, "rmrf: refusing \"%s\"", dir ? dir : "(null)");
    const char *keep = getenv("CP_KEEP_TMP");
    if (keep != NULL && strcmp(keep, "1") == 0) {
        fprintf(stderr, "harness: CP_KEEP_TMP=1, keeping %s\n", dir);
        return 0;
    }
    if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return FAIL(CP_EIO, "rmrf %s: %s", dir, strerror(errno));
    return 0;
}

static bool env_overridden(const char *var, char *const extra[])
{
    size_t klen = strcspn(var, "=");
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        if (strncmp(extra[i], var, klen) == 0 && extra[i][klen] == '=')
            return true;
    return false;
}

/* environ minus the variables env_extra replaces, plus env_extra. The strings are borrowed. */
static char **build_env(char *const extra[])
{
    size_t n = 0, m = 0, o = 0;
    while (environ[n] != NULL)
        n++;
    while (extra != NULL && extra[m] != NULL)
        m++;
    char **env = calloc(n + m + 1, sizeof *env);
    if (env == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!env_overridden(environ[i], extra))
            env[o++] = environ[i];
    for (size_t i = 0; i < m; i++)
        env[o++] = extra[i];
    return env;
}

/* Runs in the child between fork and exec: only async-signal-safe calls. On failure the errno goes
 * back through the close-on-exec pipe, whose silent closing tells the parent that exec succeeded.
 */
static void child_exec(char *const argv[], char **env, int log_fd, int report_fd, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the parent died before prctl took effect */
        _exit(127);
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0)
        dup2(null_fd, 0);
    dup2(log_fd >= 0 ? log_fd : null_fd, 1);
    dup2(log_fd >= 0 ? log_fd : null_fd, 2);
    execvpe(argv[0], argv, env);
    int e = errno;
    if (write(report_fd, &e, sizeof e) < 0)
        _exit(127);
    _exit(127);
}

static int open_log(const char *log_path)
{
    if (log_path == NULL)
        return -1;
    return open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

int cp_test_spawn(cp_test_proc_t *p, const char *name, char *const argv[], char *const env_extra[],
                  const char *log_path)
{
    memset(p, 0, sizeof *p);
    if (argv == NULL || argv[0] == NULL)
        return FAIL(CP_EINVAL, "spawn: no program");
    snprintf(p->name, sizeof p->name, "%s", name ? name : argv[0]);
    snprintf(p->log_path, sizeof p->log_path, "%s", log_path ? log_path : "");
    int log_fd = open_log(log_path), pipefd[2];
    if (log_path != NULL && log_fd < 0)
        return FAIL(CP_EIO, "spawn %s: open %s: %s", p->name, log_path, strerror(errno));
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        if (log_fd >= 0)
            close(log_fd);
        return FAIL(CP_EIO, "spawn %s: pipe: %s", p->name, strerror(errno));
    }
    char **env = build_env(env_extra);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        child_exec(argv, env, log_fd, pipefd[1], parent);
    int fork_errno = errno;
    free(env);
    close(pipefd[1]);
    if (log_fd >= 0)
        close(log_fd);
    if (pid < 0) {
        close(pipefd[0]);
        return FAIL(CP_EIO, "spawn %s: fork: %s", p->name, strerror(fork_errno));
    }
    setpgid(pid, pid); /* also here, so the group exists whichever process runs first */
    int child_errno = 0;
    ssize_t n;
    while ((n = read(pipefd[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
        ;
    close(pipefd[0]);
    if (n > 0) {
        waitpid(pid, NULL, 0);
        return FAIL(CP_ENOTFOUND, "spawn %s: exec %s: %s", p->name, argv[0], strerror(child_errno));
    }
    p->pid = pid;
    return 0;
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = loopback(port);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

int cp_test_wait_port(int port, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (port_open(port))
            return 0;
        if (now_ms() >= deadline)
            return FAIL(CP_ETIMEDOUT, "port %d: nothing listens after %d ms", port, timeout_ms);
        sleep_ms(10);
    }
}

int cp_test_wait_exit(cp_test_proc_t *p, int timeout_ms, int *status)
{
    if (p->pid <= 0)
        return FAIL(CP_EINVAL, "wait %s: no process", p->name);
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        int st = 0;
        pid_t w = waitpid(p->pid, &st, WNOHANG);
        if (w == p->pid) {
            if (status != NULL)
                *status = st;
            p->pid = 0;
            return 0;
        }
        if (w < 0 && errno != EINTR)
            return FAIL(CP_EIO, "waitpid %s (%d): %s", p->name, (int)p->pid, strerror(errno));
        if (now_ms() >= deadline)
            return CP_ETIMEDOUT;
        sleep_ms(5);
    }
}

int cp_test_stop(cp_test_proc_t *p, int sig, int timeout_ms)
{
    if (p->pid <= 0)
        return 0;
    kill(p->pid, sig);
    int rc = cp_test_wait_exit(p, timeout_ms, NULL);
    if (rc == CP_ETIMEDOUT) {
        fprintf(stderr, "harness: %s (%d) ignored signal %d for %d ms: SIGKILL\n", p->name,
                (int)p->pid, sig, timeout_ms);
        kill(p->pid, SIGKILL);
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        rc = 0;
    }
    p->pid = 0;
    return rc;
}

/* ---- redis-server -------------------------------------------------------------------------------
 */

/* Appends a RESP array of argv to buf. */
static size_t resp(char *buf, size_t size, size_t off, int argc, const char *const argv[])
{
    off += (size_t)snprintf(buf + off, size - off, "*%d\r\n", argc);
    for (int i = 0; i < argc && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    return off < size ? off : size;
}

/* Sends [AUTH pw] PING and reads the replies. True when the last one is +PONG: the server accepts
 * commands (a server that is still loading its AOF answers -LOADING). */
static bool redis_pong(int port, const char *password)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct timeval tv = {0, 500000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = loopback(port);
    char buf[512];
    size_t len = 0;
    int want = 1;
    if (password[0] != '\0') {
        len = resp(buf, sizeof buf, len, 2, (const char *const[]){"AUTH", password});
        want = 2;
    }
    len = resp(buf, sizeof buf, len, 1, (const char *const[]){"PING"});
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
    size_t got = 0;
    int lines = 0;
    while (ok && lines < want && got < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            ok = false;
        for (ssize_t i = 0; i < n; i++)
            lines += buf[got + (size_t)i] == '\n';
        got += n > 0 ? (size_t)n : 0;
    }
    close(fd);
    buf[got] = '\0';
    return ok && lines == want && strstr(buf, "+PONG\r\n") != NULL && strchr(buf, '-') == NULL;
}

static int redis_spawn(cp_test_redis_t *r)
{
    char port[16], log[512];
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    char *argv[320] = {
        "redis-server", "--bind",        "127.0.0.1", "--port",        port,        "--appendonly",
        "yes",          "--appendfsync", "everysec",  "--save",        "",          "--dir",
        r->dir,         "--daemonize",   "no",        "--requirepass", r->password, NULL};
    size_t n = r->password[0] == '\0' ? 15 : 17;
    argv[n] = NULL;
    int rc = cp_test_redis_acl_args(argv, &n, sizeof argv / sizeof argv[0]);
    return rc != 0 ? rc : cp_test_spawn(&r->proc, "redis-server", argv, NULL, log);
}

static bool log_says_in_use(const cp_test_redis_t *r)
{
    char buf[8192];
    FILE *f = fopen(r->proc.log_path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, "Address already in use") != NULL;
}

/* Waits until the server answers PING. CP_EBUSY: it exited because the port was taken. */
static int redis_ready(cp_test_redis_t *r, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        int status = 0;
        if (cp_test_wait_exit(&r->proc, 0, &status) == 0) {
            if (log_says_in_use(r))
                return CP_EBUSY;
            return FAIL(CP_EUNAVAIL, "redis-server on port %d exited (status %d), see %s", r->port,
                        status, r->proc.log_path);
        }
        if (redis_pong(r->port, r->password))
            return 0;
        if (now_ms() >= deadline) {
            cp_test_stop(&r->proc, SIGKILL, 1000);
            return FAIL(CP_EUNAVAIL, "redis-server on port %d: no PONG after %d ms, see %s",
                        r->port, timeout_ms, r->proc.log_path);
        }
        sleep_ms(10);
    }
}

static void set_url(cp_test_redis_t *r)
{
    char enc[3 * sizeof r->password + 1];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)r->password; *p; p++) {
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~", *p))
            enc[o++] = (char)*p;
        else
            o += (size_t)sprintf(enc + o, "%%%02X", *p);
    }
    enc[o] = '\0';
    snprintf(r->url, sizeof r->url, "redis://%s%s%s127.0.0.1:%d", o ? ":" : "", enc, o ? "@" : "",
             r->port);
}

/* Copies the end of a failed server's log to stderr, since its directory is removed. */
static void dump_log(const char *path)
{
    FILE *f = path[0] ? fopen(path, "r") : NULL;
    if (f == NULL)
        return;
    char buf[2048];
    fseek(f, -(long)(sizeof buf - 1), SEEK_END); /* fails on a short file: then read it whole */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    fprintf(stderr, "harness: end of %s:\n%s\n", path, buf);
}

int cp_test_redis_start(cp_test_redis_t *r, const char *password)
{
    memset(r, 0, sizeof *r);
    if (password != NULL && strlen(password) >= sizeof r->password)
        return FAIL(CP_EINVAL, "redis: password too long");
    snprintf(r->password, sizeof r->password, "%s", password ? password : "");
    int rc = cp_test_tmpdir("cp-redis-", r->dir, sizeof r->dir);
    /* The free port may be taken between our probe and redis' bind: then try another one. */
    for (int attempt = 0; rc == 0 && attempt < 5; attempt++) {
        rc = r->port = cp_test_free_port();
        if (rc > 0)
            rc = redis_spawn(r);
        if (rc == 0)
            rc = redis_ready(r, 15000);
        if (rc != CP_EBUSY)
            break;
        fprintf(stderr, "harness: port %d was taken, trying another\n", r->port);
        rc = attempt < 4 ? 0 : FAIL(CP_EUNAVAIL, "redis: every port tried was taken");
    }
    if (rc != 0) {
        dump_log(r->proc.log_path);
        cp_test_redis_stop(r);
        return rc;
    }
    set_url(r);
    return 0;
}

int cp_test_redis_restart(cp_test_redis_t *r)
{
    return cp_test_redis_crash_restart(r, SIGTERM, 0);
}

int cp_test_redis_crash_restart(cp_test_redis_t *r, int sig, int down_ms)
{
    if (r->proc.pid > 0) /* ACL LOG lives in memory: read it before the server goes */
        cp_test_redis_acl_dump(r->port, r->password);
    int rc = cp_test_stop(&r->proc, sig, 10000);
    if (rc == 0 && down_ms > 0)
        usleep((useconds_t)down_ms * 1000);
    if (rc == 0)
        rc = redis_spawn(r);
    if (rc == 0)
        rc = redis_ready(r, 15000);
    if (rc == CP_EBUSY)
        rc = FAIL(CP_EUNAVAIL, "redis restart: port %d was taken meanwhile", r->port);
    return rc;
}

void cp_test_redis_stop(cp_test_redis_t *r)
{
    if (r->proc.pid > 0)
        cp_test_redis_acl_dump(r->port, r->password);
    cp_test_stop(&r->proc, SIGTERM, 10000);
    if (r->dir[0] != '\0')
        cp_test_rmrf(r->dir);
    r->dir[0] = '\0';
}
