/* SPDX-License-Identifier: Apache-2.0 */
/* test_config_redis.c - the Redis credentials of the controller's configuration: --redis-user with
 * --redis-password-file go into the URL (redis:// and redis+sentinel://), percent-encoded */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/config/config.h"
#include "controller/store/store_url.h"

static char pwfile[] = "/tmp/cp-config-redis-XXXXXX";

static int setup(void **state)
{
    (void)state;
    int fd = mkstemp(pwfile);
    if (fd < 0)
        return -1;
    static const char pw[] = "p@ss:w/rd\n";
    int ok = write(fd, pw, sizeof pw - 1) == (ssize_t)(sizeof pw - 1);
    close(fd);
    return ok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unlink(pwfile);
    return 0;
}

/* Parses the flags (plus the ones every parse needs) into *cfg. */
static int parse(ctl_config_t *cfg, cp_err_t *err, const char *const *flags)
{
    char *argv[16] = {"certplane-controller", "--insecure-no-auth", "--insecure-plaintext-keys"};
    int argc = 3;
    for (size_t i = 0; flags[i] != NULL; i++)
        argv[argc++] = (char *)flags[i];
    argv[argc] = NULL;
    return ctl_config_parse(cfg, argc, argv, err);
}

static void test_user_and_password_file_reach_the_store_url(void **state)
{
    (void)state;
    ctl_config_t cfg;
    cp_err_t err = {0};
    const char *flags[] = {"--redis-url", "redis://redis.internal:6380/2", "--redis-user",
                           "certplane",   "--redis-password-file",         pwfile,
                           NULL};
    assert_int_equal(parse(&cfg, &err, flags), 0);
    ctl_store_url_t u;
    assert_int_equal(ctl_store_url_parse(cfg.redis_url, &u, &err), 0);
    assert_string_equal(u.user, "certplane");
    assert_string_equal(u.password, "p@ss:w/rd");
    assert_string_equal(u.host, "redis.internal");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    ctl_config_dispose(&cfg);
}

static void test_sentinel_urls_take_the_credentials_too(void **state)
{
    (void)state;
    ctl_config_t cfg;
    cp_err_t err = {0};
    const char *flags[] = {"--redis-url",
                           "redis+sentinel://s1:26379,s2:26379/mymaster/1",
                           "--redis-user",
                           "cp",
                           "--redis-password-file",
                           pwfile,
                           NULL};
    assert_int_equal(parse(&cfg, &err, flags), 0);
    assert_string_equal(cfg.redis_url,
                        "redis+sentinel://%63%70:%70%40%73%73%3A%77%2F%72%64@s1:26379,s2:26379/"
                        "mymaster/1");
    ctl_config_dispose(&cfg);
}

static void test_user_needs_a_password_file_and_a_url_without_credentials(void **state)
{
    (void)state;
    ctl_config_t cfg;
    cp_err_t err = {0};
    const char *alone[] = {"--redis-user", "certplane", NULL};
    assert_int_equal(parse(&cfg, &err, alone), CP_EINVAL);
    assert_non_null(strstr(err.msg, "--redis-user needs --redis-password-file"));
    ctl_config_dispose(&cfg);
    const char *both[] = {"--redis-url", "redis://u:p@h:1",       "--redis-user",
                          "certplane",   "--redis-password-file", pwfile,
                          NULL};
    assert_int_equal(parse(&cfg, &err, both), CP_EINVAL);
    assert_non_null(strstr(err.msg, "already carries a user or password"));
    ctl_config_dispose(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_and_password_file_reach_the_store_url),
        cmocka_unit_test(test_sentinel_urls_take_the_credentials_too),
        cmocka_unit_test(test_user_needs_a_password_file_and_a_url_without_credentials),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
