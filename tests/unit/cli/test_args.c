/* SPDX-License-Identifier: Apache-2.0 */
/* test_args.c - certplanectl's command line: commands, options, environment, usage errors */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "certplane/v1/certplane.pb-c.h"
#include "controller/cli/args.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof(v)[0]))

static int parse(ctl_cli_args_t *a, int argc, char **argv, cp_err_t *err)
{
    cp_err_clear(err);
    return ctl_cli_args_parse(a, argc, argv, err);
}

static void test_create_collects_repeated_domains_and_converts_enums(void **state)
{
    (void)state;
    char *argv[] = {"certplanectl", "create",
                    "web",          "--domain",
                    "a.example",    "--domain",
                    "b.example",    "--ip",
                    "192.0.2.1",    "--key-type",
                    "ec-p256",      "--challenge",
                    "DNS_01",       "--email=ops@example.com",
                    "--wait",       "--timeout",
                    "90s"};
    ctl_cli_args_t a;
    cp_err_t err;
    assert_int_equal(parse(&a, ARGC(argv), argv, &err), 0);
    assert_int_equal(a.cmd->id, CTL_CLI_CREATE);
    assert_int_equal(a.n_pos, 1);
    assert_string_equal(a.pos[0], "web");
    assert_int_equal(a.o.domains.n, 2);
    assert_string_equal(a.o.domains.v[1], "b.example");
    assert_int_equal(a.o.ips.n, 1);
    assert_int_equal(a.key_type, CERTPLANE__V1__KEY_TYPE__EC_P256);
    assert_int_equal(a.challenge, CERTPLANE__V1__CHALLENGE_TYPE__DNS_01);
    assert_string_equal(a.o.email, "ops@example.com");
    assert_true(a.o.wait);
    assert_int_equal(a.o.timeout_ms, 90000);
    assert_string_equal(a.o.addr, "http://127.0.0.1:8080");
    ctl_cli_args_dispose(&a);
}

static void test_global_options_may_precede_the_command(void **state)
{
    (void)state;
    char *argv[] = {
        "certplanectl", "--addr", "http://10.0.0.1:9000", "--json", "--token=secret", "list",
        "--state",      "valid",  "--page-size",          "7"};
    ctl_cli_args_t a;
    cp_err_t err;
    assert_int_equal(parse(&a, ARGC(argv), argv, &err), 0);
    assert_int_equal(a.cmd->id, CTL_CLI_LIST);
    assert_string_equal(a.o.addr, "http://10.0.0.1:9000");
    assert_string_equal(a.o.token, "secret");
    assert_true(a.o.json);
    assert_int_equal(a.state, CERTPLANE__V1__STATE__VALID);
    assert_int_equal(a.o.page_size, 7);
    ctl_cli_args_dispose(&a);
}

static void test_environment_supplies_addr_and_token_and_flags_win(void **state)
{
    (void)state;
    setenv("CERTPLANE_ADDR", "http://env:1", 1);
    setenv("CERTPLANE_TOKEN", "envtok", 1);
    char *argv1[] = {"certplanectl", "get", "web"};
    ctl_cli_args_t a;
    cp_err_t err;
    assert_int_equal(parse(&a, ARGC(argv1), argv1, &err), 0);
    assert_string_equal(a.o.addr, "http://env:1");
    assert_string_equal(a.o.token, "envtok");
    ctl_cli_args_dispose(&a);
    char *argv2[] = {"certplanectl", "get", "web", "--token", "flagtok", "--private-key"};
    assert_int_equal(parse(&a, ARGC(argv2), argv2, &err), 0);
    assert_string_equal(a.o.token, "flagtok");
    assert_true(a.o.private_key);
    ctl_cli_args_dispose(&a);
    unsetenv("CERTPLANE_ADDR");
    unsetenv("CERTPLANE_TOKEN");
}

/* Parses argv and expects a usage error whose message contains `want`. */
static void expect_usage(int argc, char **argv, const char *want)
{
    ctl_cli_args_t a;
    cp_err_t err;
    assert_int_equal(parse(&a, argc, argv, &err), CP_EINVAL);
    if (strstr(err.msg, want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
    ctl_cli_args_dispose(&a);
}

static void test_bad_command_lines_are_usage_errors_naming_the_problem(void **state)
{
    (void)state;
    char *none[] = {"certplanectl", "--json"};
    expect_usage(ARGC(none), none, "no command");
    char *unknown[] = {"certplanectl", "frob"};
    expect_usage(ARGC(unknown), unknown, "unknown command \"frob\"");
    char *opt[] = {"certplanectl", "get", "web", "--bogus"};
    expect_usage(ARGC(opt), opt, "--bogus");
    char *wrong_cmd_opt[] = {"certplanectl", "delete", "web", "--wait"};
    expect_usage(ARGC(wrong_cmd_opt), wrong_cmd_opt, "--wait");
    char *no_name[] = {"certplanectl", "get"};
    expect_usage(ARGC(no_name), no_name, "missing NAME");
    char *extra[] = {"certplanectl", "get", "a", "b"};
    expect_usage(ARGC(extra), extra, "unexpected argument \"b\"");
    char *no_domain[] = {"certplanectl", "create", "web", "--email", "e@example.com"};
    expect_usage(ARGC(no_domain), no_domain, "--domain");
    char *key[] = {"certplanectl", "create", "web", "--domain", "a.example", "--key-type", "dsa"};
    expect_usage(ARGC(key), key, "--key-type");
    char *bogus[] = {"certplanectl", "import", "x", "--bogus", "f.pem"};
    expect_usage(ARGC(bogus), bogus, "unknown option --bogus");
    char *bogus_eq[] = {"certplanectl", "get", "x", "--bogus=secret"};
    expect_usage(ARGC(bogus_eq), bogus_eq, "unknown option --bogus (");
    char *chal[] = {"certplanectl", "create", "web", "--ip", "::1", "--challenge", "tls-sni-01"};
    expect_usage(ARGC(chal), chal, "--challenge");
    char *page[] = {"certplanectl", "list", "--page-size", "0"};
    expect_usage(ARGC(page), page, "--page-size");
    char *st[] = {"certplanectl", "list", "--state", "shiny"};
    expect_usage(ARGC(st), st, "--state");
    char *imp[] = {"certplanectl", "import", "x", "--cert", "c.pem"};
    expect_usage(ARGC(imp), imp, "--key FILE");
    char *auto_renew[] = {"certplanectl", "import", "x",           "--cert", "c",
                          "--key",        "k",      "--auto-renew"};
    expect_usage(ARGC(auto_renew), auto_renew, "--email");
    char *reason[] = {"certplanectl", "revoke", "x", "--reason", "7"};
    expect_usage(ARGC(reason), reason, "--reason");
    char *rev[] = {"certplanectl", "watch", "--from-revision", "-3"};
    expect_usage(ARGC(rev), rev, "--from-revision");
    char *dur[] = {"certplanectl", "renew", "x", "--wait", "--timeout", "soon"};
    expect_usage(ARGC(dur), dur, "--timeout");
    char *help[] = {"certplanectl", "help", "frob"};
    expect_usage(ARGC(help), help, "unknown command");
    char *value[] = {"certplanectl", "get", "web", "--addr"};
    expect_usage(ARGC(value), value, "needs a value");
}

static void test_help_and_version_flags(void **state)
{
    (void)state;
    ctl_cli_args_t a;
    cp_err_t err;
    char *h1[] = {"certplanectl", "--help"};
    assert_int_equal(parse(&a, ARGC(h1), h1, &err), CP_CFG_HELP);
    assert_null(a.cmd);
    ctl_cli_args_dispose(&a);
    char *h2[] = {"certplanectl", "create", "-h"};
    assert_int_equal(parse(&a, ARGC(h2), h2, &err), CP_CFG_HELP);
    assert_int_equal(a.cmd->id, CTL_CLI_CREATE);
    ctl_cli_args_dispose(&a);
    char *v[] = {"certplanectl", "--version"};
    assert_int_equal(parse(&a, ARGC(v), v, &err), CP_CFG_VERSION);
    ctl_cli_args_dispose(&a);
    char *h3[] = {"certplanectl", "help", "watch"};
    assert_int_equal(parse(&a, ARGC(h3), h3, &err), 0);
    assert_int_equal(a.cmd->id, CTL_CLI_HELP);
    assert_string_equal(a.pos[0], "watch");
    ctl_cli_args_dispose(&a);
}

static void test_double_dash_ends_options(void **state)
{
    (void)state;
    char *argv[] = {"certplanectl", "get", "--json", "--", "--odd"};
    ctl_cli_args_t a;
    cp_err_t err;
    assert_int_equal(parse(&a, ARGC(argv), argv, &err), 0);
    assert_true(a.o.json);
    assert_string_equal(a.pos[0], "--odd");
    ctl_cli_args_dispose(&a);
}

static void test_revocation_reasons_by_name_or_number(void **state)
{
    (void)state;
    int r = -1;
    assert_int_equal(ctl_cli_parse_reason("keyCompromise", &r), 0);
    assert_int_equal(r, 1);
    assert_int_equal(ctl_cli_parse_reason("SUPERSEDED", &r), 0);
    assert_int_equal(r, 4);
    assert_int_equal(ctl_cli_parse_reason("aACompromise", &r), 0);
    assert_int_equal(r, 10);
    assert_int_equal(ctl_cli_parse_reason("5", &r), 0);
    assert_int_equal(r, 5);
    assert_int_equal(ctl_cli_parse_reason("7", &r), CP_EINVAL);
    assert_int_equal(ctl_cli_parse_reason("11", &r), CP_EINVAL);
    assert_int_equal(ctl_cli_parse_reason("4x", &r), CP_EINVAL);
    assert_int_equal(ctl_cli_parse_reason("nope", &r), CP_EINVAL);
}

static void test_enum_spellings(void **state)
{
    (void)state;
    int v = -1;
    assert_int_equal(ctl_cli_parse_key_type("rsa-4096", &v), 0);
    assert_int_equal(v, CERTPLANE__V1__KEY_TYPE__RSA_4096);
    assert_int_equal(ctl_cli_parse_key_type("key-type-unspecified", &v), CP_EINVAL);
    assert_int_equal(ctl_cli_parse_challenge("http-01", &v), 0);
    assert_int_equal(v, CERTPLANE__V1__CHALLENGE_TYPE__HTTP_01);
    assert_int_equal(ctl_cli_parse_state("Renewing", &v), 0);
    assert_int_equal(v, CERTPLANE__V1__STATE__RENEWING);
    assert_int_equal(ctl_cli_parse_state("", &v), CP_EINVAL);
}

int main(void)
{
    unsetenv("CERTPLANE_ADDR");
    unsetenv("CERTPLANE_TOKEN");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_collects_repeated_domains_and_converts_enums),
        cmocka_unit_test(test_global_options_may_precede_the_command),
        cmocka_unit_test(test_environment_supplies_addr_and_token_and_flags_win),
        cmocka_unit_test(test_bad_command_lines_are_usage_errors_naming_the_problem),
        cmocka_unit_test(test_help_and_version_flags),
        cmocka_unit_test(test_double_dash_ends_options),
        cmocka_unit_test(test_revocation_reasons_by_name_or_number),
        cmocka_unit_test(test_enum_spellings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
