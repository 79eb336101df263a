/* SPDX-License-Identifier: Apache-2.0 */
/* test_cfg.c - unit tests of flag/environment configuration and the generated --help */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/cfg.h"

typedef struct conf {
    char *redis_url;
    char *token;
    int workers;
    bool insecure;
    int64_t renew_interval_ms;
    cp_cfg_list_t routes;
} conf_t;

static const cp_cfg_opt_t opts[] = {
    {"redis-url", "CERTPLANE_REDIS_URL", CP_CFG_STRING, offsetof(conf_t, redis_url),
     "redis://127.0.0.1:6379", "Redis to store everything in.", 0, 0, 0},
    {"token", "CERTPLANE_TEST_TOKEN", CP_CFG_STRING, offsetof(conf_t, token), "hunter2",
     "A secret.", CP_CFG_SECRET, 0, 0},
    {"workers", "CERTPLANE_WORKERS", CP_CFG_INT, offsetof(conf_t, workers), "4", "ACME workers.", 0,
     1, 64},
    {"insecure-no-auth", "CERTPLANE_INSECURE_NO_AUTH", CP_CFG_BOOL, offsetof(conf_t, insecure),
     "false", "Run without tokens.", 0, 0, 0},
    {"renew-interval", "CERTPLANE_RENEW_INTERVAL", CP_CFG_DURATION,
     offsetof(conf_t, renew_interval_ms), "12h", "Longest sleep of the scheduler.", 0, 0, 0},
    {"route", "CERTPLANE_ROUTES", CP_CFG_LIST, offsetof(conf_t, routes), NULL,
     "host=upstream, repeatable.", 0, 0, 0},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OPTS; i++)
        unsetenv(opts[i].env);
    return 0;
}

static int parse(conf_t *c, cp_err_t *err, int argc, char **argv)
{
    memset(c, 0, sizeof *c);
    return cp_cfg_parse(opts, N_OPTS, c, argc, argv, err);
}

static void test_defaults_apply_without_flags_or_env(void **state)
{
    (void)state;
    conf_t c;
    cp_err_t err;
    char *argv[] = {"prog", NULL};
    assert_int_equal(parse(&c, &err, 1, argv), 0);
    assert_string_equal(c.redis_url, "redis://127.0.0.1:6379");
    assert_int_equal(c.workers, 4);
    assert_false(c.insecure);
    assert_int_equal(c.renew_interval_ms, 12LL * 3600 * 1000);
    assert_int_equal(c.routes.n, 0);
    cp_cfg_dispose(opts, N_OPTS, &c);
    assert_null(c.redis_url);
}

static void test_environment_overrides_default_and_flag_overrides_environment(void **state)
{
    (void)state;
    setenv("CERTPLANE_WORKERS", "8", 1);
    setenv("CERTPLANE_ROUTES", "a.test=http://1,b.test=http://2", 1);
    conf_t c;
    cp_err_t err;
    char *argv1[] = {"prog", NULL};
    assert_int_equal(parse(&c, &err, 1, argv1), 0);
    assert_int_equal(c.workers, 8);
    assert_int_equal(c.routes.n, 2);
    assert_string_equal(c.routes.v[1], "b.test=http://2");
    cp_cfg_dispose(opts, N_OPTS, &c);

    char *argv2[] = {"prog",
                     "--workers=16",
                     "--route",
                     "c.test=http://3",
                     "--route=d=http://4",
                     "--insecure-no-auth",
                     "--renew-interval",
                     "250ms",
                     NULL};
    assert_int_equal(parse(&c, &err, 8, argv2), 0);
    assert_int_equal(c.workers, 16);
    assert_int_equal(c.routes.n, 2); /* flags replace the environment's list, then accumulate */
    assert_string_equal(c.routes.v[0], "c.test=http://3");
    assert_string_equal(c.routes.v[1], "d=http://4");
    assert_true(c.insecure);
    assert_int_equal(c.renew_interval_ms, 250);
    cp_cfg_dispose(opts, N_OPTS, &c);
}

static void test_bad_values_name_the_flag_or_variable(void **state)
{
    (void)state;
    static const struct {
        const char *arg;
        const char *msg;
    } cases[] = {
        {"--workers=x", "--workers: expected an integer from 1 to 64, got \"x\""},
        {"--workers=65", "--workers: expected an integer from 1 to 64, got \"65\""},
        {"--workers=0", "--workers: expected an integer from 1 to 64, got \"0\""},
        {"--insecure-no-auth=maybe", "--insecure-no-auth: expected true or false, got \"maybe\""},
        {"--renew-interval=5y",
         "--renew-interval: expected a duration such as 250ms, 30s, 5m, 12h or 7d, got \"5y\""},
        {"--renew-interval=-5s",
         "--renew-interval: expected a duration such as 250ms, 30s, 5m, 12h or 7d, got \"-5s\""},
        {"--nope=1", "unknown option --nope (see --help)"},
        {"positional", "unexpected argument \"positional\" (options start with --)"},
        {"--redis-url", "--redis-url needs a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conf_t c;
        cp_err_t err;
        char *argv[] = {"prog", (char *)cases[i].arg, NULL};
        assert_int_equal(parse(&c, &err, 2, argv), CP_EINVAL);
        assert_string_equal(err.msg, cases[i].msg);
        cp_cfg_dispose(opts, N_OPTS, &c);
    }
    setenv("CERTPLANE_WORKERS", "many", 1);
    conf_t c;
    cp_err_t err;
    char *argv[] = {"prog", NULL};
    assert_int_equal(parse(&c, &err, 1, argv), CP_EINVAL);
    assert_string_equal(err.msg,
                        "CERTPLANE_WORKERS: expected an integer from 1 to 64, got \"many\"");
    cp_cfg_dispose(opts, N_OPTS, &c);
}

static void test_help_and_version_are_reported(void **state)
{
    (void)state;
    conf_t c;
    cp_err_t err;
    char *argv[] = {"prog", "--help", NULL};
    assert_int_equal(parse(&c, &err, 2, argv), CP_CFG_HELP);
    cp_cfg_dispose(opts, N_OPTS, &c);
    char *argv2[] = {"prog", "--version", NULL};
    assert_int_equal(parse(&c, &err, 2, argv2), CP_CFG_VERSION);
    cp_cfg_dispose(opts, N_OPTS, &c);
}

static void test_help_lists_every_flag_and_variable_but_no_secret(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cp_cfg_help(opts, N_OPTS, "certplane-controller", "Runs the controller.", f);
    fclose(f);
    for (size_t i = 0; i < N_OPTS; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s ", opts[i].flag);
        assert_non_null(strstr(text, flag));
        assert_non_null(strstr(text, opts[i].env));
        assert_non_null(strstr(text, opts[i].help));
    }
    assert_non_null(strstr(text, "(default: redis://127.0.0.1:6379)"));
    assert_null(strstr(text, "hunter2"));
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);
        assert_true(n <= 100);
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(text);
}

static void test_durations_parse(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(cp_cfg_parse_duration("90", &ms), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(cp_cfg_parse_duration("7d", &ms), 0);
    assert_int_equal(ms, 7LL * 86400000);
    assert_int_equal(cp_cfg_parse_duration("5m", &ms), 0);
    assert_int_equal(ms, 300000);
    assert_int_equal(cp_cfg_parse_duration("", &ms), CP_EINVAL);
    assert_int_equal(cp_cfg_parse_duration("s", &ms), CP_EINVAL);
    assert_int_equal(cp_cfg_parse_duration("1.5h", &ms), CP_EINVAL);
    assert_int_equal(cp_cfg_parse_duration("99999999999999999999d", &ms), CP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults_apply_without_flags_or_env, clear_env),
        cmocka_unit_test_setup(test_environment_overrides_default_and_flag_overrides_environment,
                               clear_env),
        cmocka_unit_test_setup(test_bad_values_name_the_flag_or_variable, clear_env),
        cmocka_unit_test_setup(test_help_and_version_are_reported, clear_env),
        cmocka_unit_test_setup(test_help_lists_every_flag_and_variable_but_no_secret, clear_env),
        cmocka_unit_test(test_durations_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
