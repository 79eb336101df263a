/* SPDX-License-Identifier: Apache-2.0 */
/* redis_acl.c - the harness's ACL mode (see redis_acl.h) */
#include "tests/support/redis_acl.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/err.h"

#define ACL_USER "certplane"
#define ACL_PASSWORD "cp-acl-test-password"
#define MAX_TOKENS 256

static char rules[16384];
static char *tokens[MAX_TOKENS];
static size_t n_tokens;
static bool loaded;

/* Reads the rules once: every word of every line that is not a comment. */
static int load_rules(const char *path)
{
    if (loaded)
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "harness: cannot read the ACL rules %s\n", path);
        return CP_EIO;
    }
    size_t len = fread(rules, 1, sizeof rules - 1, f);
    fclose(f);
    rules[len] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(rules, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        line += strspn(line, " \t");
        if (*line == '#')
            continue;
        char *wsave = NULL;
        for (char *w = strtok_r(line, " \t", &wsave); w != NULL;
             w = strtok_r(NULL, " \t", &wsave)) {
            if (n_tokens == MAX_TOKENS) {
                fprintf(stderr, "harness: more than %d ACL rules in %s\n", MAX_TOKENS, path);
                return CP_ETOOBIG;
            }
            tokens[n_tokens++] = w;
        }
    }
    loaded = true;
    return 0;
}

int cp_test_redis_acl_args(char **argv, size_t *n, size_t max)
{
    static char user[] = "--user", name[] = ACL_USER, reset[] = "reset", on[] = "on",
                pass[] = ">" ACL_PASSWORD;
    const char *path = getenv("CP_TEST_REDIS_ACL_RULES");
    if (path == NULL || *path == '\0')
        return 0;
    int rc = load_rules(path);
    if (rc != 0)
        return rc;
    if (*n + 5 + n_tokens + 1 > max) {
        fprintf(stderr, "harness: no room for %zu ACL arguments\n", n_tokens + 5);
        return CP_ETOOBIG;
    }
    char *head[] = {user, name, reset, on, pass};
    for (size_t i = 0; i < 5; i++)
        argv[(*n)++] = head[i];
    for (size_t i = 0; i < n_tokens; i++)
        argv[(*n)++] = tokens[i];
    argv[*n] = NULL;
    return 0;
}

const char *cp_test_redis_acl_url(const char *url, char *out, size_t size)
{
    const char *rules_path = getenv("CP_TEST_REDIS_ACL_RULES");
    const char *sep = strstr(url, "://");
    if (rules_path == NULL || *rules_path == '\0' || sep == NULL)
        return url;
    const char *host = sep + 3, *slash = strchr(host, '/'), *at = strchr(host, '@');
    if (at != NULL && (slash == NULL || at < slash))
        host = at + 1;
    snprintf(out, size, "%.*s" ACL_USER ":" ACL_PASSWORD "@%s", (int)(sep + 3 - url), url, host);
    return out;
}

void cp_test_redis_acl_dump(int port, const char *password)
{
    static int seq;
    const char *dir = getenv("CP_TEST_ACL_LOG_DIR");
    if (dir == NULL || *dir == '\0' || port <= 0)
        return;
    char path[512], portstr[16];
    snprintf(path, sizeof path, "%s/acl-log-%d-%d-%d.txt", dir, (int)getpid(), port, ++seq);
    snprintf(portstr, sizeof portstr, "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        if (password != NULL && *password != '\0')
            setenv("REDISCLI_AUTH", password, 1);
        execlp("redis-cli", "redis-cli", "-p", portstr, "ACL", "LOG", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        fprintf(stderr, "harness: redis-cli ACL LOG on port %d failed (see %s)\n", port, path);
}
