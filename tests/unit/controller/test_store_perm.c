/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_perm.c - ctl_store_check_permissions against real ACL users: the rule file's user
 * passes, a user lacking one command or one key pattern is refused naming it, and the probe
 * changes nothing in Redis */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controller/store/store_perm.h"
#include "tests/unit/controller/store_fixture.h"

/* Creates ACL user `name` (password "pw") with the rules of helm/certplane/files/redis-acl.rules,
 * minus `drop` (one rule token, or NULL). */
static void make_user(const char *name, const char *drop)
{
    char path[512];
    const char *src = getenv("CP_SOURCE_DIR");
    assert_non_null(src);
    snprintf(path, sizeof path, "%s/helm/certplane/files/redis-acl.rules", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024], cmd[4096];
    size_t o = (size_t)snprintf(cmd, sizeof cmd, "ACL SETUSER %s reset on >pw", name);
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#')
            continue;
        for (char *tok = strtok(line, " \t\r\n"); tok != NULL; tok = strtok(NULL, " \t\r\n"))
            if ((drop == NULL || strcmp(tok, drop) != 0) && o + strlen(tok) + 2 < sizeof cmd)
                o += (size_t)snprintf(cmd + o, sizeof cmd - o, " %s", tok);
    }
    fclose(f);
    redisReply *r = st_raw(cmd); /* the rules hold no '%' */
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static long long dbsize(void)
{
    redisReply *r = st_raw("DBSIZE");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static int check_as(const char *user, cp_err_t *err)
{
    char url[256];
    snprintf(url, sizeof url, "redis://%s:pw@127.0.0.1:%d", user, g_redis.port);
    ctl_store_t *s = st_open(url, 3000, 0);
    int rc = ctl_store_check_permissions(s, err);
    ctl_store_free(s);
    return rc;
}

static void test_the_rule_files_user_passes_and_nothing_changes(void **state)
{
    (void)state;
    cp_err_t err = {0};
    make_user("full", NULL);
    long long before = dbsize();
    assert_int_equal(check_as("full", &err), 0);
    assert_int_equal(ctl_store_check_permissions(g_store, &err), 0); /* the default user too */
    assert_int_equal(dbsize(), before);
}

static void test_a_missing_command_is_named(void **state)
{
    (void)state;
    cp_err_t err = {0};
    make_user("nolex", "+zrangebylex");
    assert_int_equal(check_as("nolex", &err), CP_EPERM);
    print_message("[ perm ] %s\n", err.msg);
    assert_non_null(strstr(err.msg, "ZRANGEBYLEX"));
}

static void test_a_missing_key_pattern_is_named(void **state)
{
    (void)state;
    cp_err_t err = {0};
    make_user("noticket", "~tls:ticket_keys");
    assert_int_equal(check_as("noticket", &err), CP_EPERM);
    print_message("[ perm ] %s\n", err.msg);
    assert_non_null(strstr(err.msg, "tls:ticket_keys"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        T(test_the_rule_files_user_passes_and_nothing_changes),
        T(test_a_missing_command_is_named),
        T(test_a_missing_key_pattern_is_named),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
