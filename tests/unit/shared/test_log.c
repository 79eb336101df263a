/* SPDX-License-Identifier: Apache-2.0 */
/* test_log.c - unit tests of JSON-lines logging: format, levels, escaping, secret redaction */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/err.h"
#include "shared/log.h"

/* Captures log output through a temporary file. */
static FILE *capture;

static int setup(void **state)
{
    (void)state;
    capture = tmpfile();
    cp_log_set_fd(fileno(capture));
    cp_log_set_level(CP_LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cp_log_set_fd(2);
    fclose(capture);
    return 0;
}

/* Returns every line logged since the last call, as one string (caller frees). */
static char *captured(void)
{
    int fd = fileno(capture);
    off_t end = lseek(fd, 0, SEEK_END);
    assert_true(end >= 0);
    char *buf = calloc(1, (size_t)end + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)end, 0), end);
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return buf;
}

static json_t *parse_line(const char *line)
{
    json_error_t jerr;
    json_t *j = json_loads(line, 0, &jerr);
    if (j == NULL)
        fail_msg("not JSON: %s (%s)", line, jerr.text);
    return j;
}

static void test_line_is_one_json_object_with_fields(void **state)
{
    (void)state;
    const char *kv[] = {"cert", "shop", "order", "https://ca/order/1", NULL};
    CP_LOGKV(CP_LOG_INFO, "acme", kv, "issued %d names", 3);
    char *out = captured();
    assert_non_null(strchr(out, '\n'));
    assert_null(strchr(out, '\n') + 1 == NULL ? NULL : strchr(strchr(out, '\n') + 1, '\n'));
    json_t *j = parse_line(out);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(j, "module")), "acme");
    assert_string_equal(json_string_value(json_object_get(j, "msg")), "issued 3 names");
    assert_string_equal(json_string_value(json_object_get(j, "cert")), "shop");
    assert_string_equal(json_string_value(json_object_get(j, "order")), "https://ca/order/1");
    const char *ts = json_string_value(json_object_get(j, "ts"));
    assert_non_null(ts);
    assert_int_equal(strlen(ts), 24); /* 2026-11-27T12:00:00.000Z */
    assert_int_equal(ts[23], 'Z');
    json_decref(j);
    free(out);
}

static void test_level_below_threshold_is_not_formatted(void **state)
{
    (void)state;
    int calls = 0;
    CP_LOG(CP_LOG_DEBUG, "x", "%d", ++calls); /* the argument must not even be evaluated */
    assert_int_equal(calls, 0);
    char *out = captured();
    assert_string_equal(out, "");
    free(out);
    cp_log_set_level(CP_LOG_DEBUG);
    CP_LOG(CP_LOG_DEBUG, "x", "%d", ++calls);
    assert_int_equal(calls, 1);
    out = captured();
    assert_non_null(strstr(out, "\"level\":\"debug\""));
    free(out);
}

static void test_control_characters_and_quotes_are_escaped(void **state)
{
    (void)state;
    CP_LOG(CP_LOG_WARN, "m", "a \"quoted\"\nline\twith \\ and \x01");
    char *out = captured();
    json_t *j = parse_line(out);
    assert_string_equal(json_string_value(json_object_get(j, "msg")),
                        "a \"quoted\"\nline\twith \\ and \x01");
    json_decref(j);
    free(out);
}

static void test_private_keys_and_tokens_are_redacted(void **state)
{
    (void)state;
    CP_LOG(CP_LOG_ERROR, "m", "oops %s",
           "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----");
    const char *kv[] = {"auth", "Bearer s3cr3t-token", NULL};
    CP_LOGKV(CP_LOG_ERROR, "m", kv, "header");
    CP_LOG(CP_LOG_ERROR, "m", "-----BEGIN EC PRIVATE KEY----- x");
    char *out = captured();
    assert_null(strstr(out, "MIIEvQIBADANBg"));
    assert_null(strstr(out, "s3cr3t"));
    assert_null(strstr(out, "BEGIN EC"));
    assert_non_null(strstr(out, "[redacted]"));
    free(out);
    char buf[16];
    assert_string_equal(cp_log_secret_prefix("abcdefgh", buf, sizeof buf), "abcd\xe2\x80\xa6");
    assert_string_equal(cp_log_secret_prefix(NULL, buf, sizeof buf), "-");
}

static void test_long_message_is_cut_but_stays_valid_json(void **state)
{
    (void)state;
    char *big = malloc(20000);
    memset(big, '"', 19999);
    big[19999] = '\0';
    const char *kv[] = {"k", big, NULL};
    CP_LOGKV(CP_LOG_INFO, "m", kv, "%s", big);
    char *out = captured();
    assert_true(strlen(out) <= 8192);
    json_decref(parse_line(out));
    free(out);
    free(big);
}

static void test_level_names_parse(void **state)
{
    (void)state;
    cp_log_level_t l;
    assert_int_equal(cp_log_level_parse("DEBUG", &l), 0);
    assert_int_equal(l, CP_LOG_DEBUG);
    assert_int_equal(cp_log_level_parse("warning", &l), 0);
    assert_int_equal(l, CP_LOG_WARN);
    assert_int_equal(cp_log_level_parse("error", &l), 0);
    assert_int_equal(l, CP_LOG_ERROR);
    assert_int_equal(cp_log_level_parse("loud", &l), CP_EINVAL);
    assert_int_equal(cp_log_level_parse(NULL, &l), CP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_is_one_json_object_with_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_below_threshold_is_not_formatted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_control_characters_and_quotes_are_escaped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_private_keys_and_tokens_are_redacted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_message_is_cut_but_stays_valid_json, setup,
                                        teardown),
        cmocka_unit_test(test_level_names_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
