/* SPDX-License-Identifier: Apache-2.0 */
/* test_table.c - certplanectl's tables and cell formats */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/cli/table.h"

/* Prints t into a string the caller frees. */
static char *render(const ctl_cli_table_t *t)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    ctl_cli_table_print(t, f);
    long len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    char *text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return text;
}

static void test_columns_align_to_the_widest_cell_and_lines_end_without_spaces(void **state)
{
    (void)state;
    static const char *const headers[] = {"NAME", "STATE", "NOTE"};
    ctl_cli_table_t *t = ctl_cli_table_new(3, headers);
    const char *r1[] = {"a-long-name", "VALID", "x"};
    const char *r2[] = {"b", NULL, ""};
    ctl_cli_table_add(t, r1);
    ctl_cli_table_add(t, r2);
    assert_int_equal(ctl_cli_table_rows(t), 2);
    char *text = render(t);
    assert_string_equal(text, "NAME         STATE  NOTE\n"
                              "a-long-name  VALID  x\n"
                              "b            -      -\n");
    free(text);
    ctl_cli_table_free(t);
    ctl_cli_table_free(NULL);
}

static void test_utf8_cells_are_aligned_by_characters(void **state)
{
    (void)state;
    static const char *const headers[] = {"A", "B"};
    ctl_cli_table_t *t = ctl_cli_table_new(2, headers);
    const char *r1[] = {"\xc3\xa9t\xc3\xa9", "1"}; /* "été": 3 characters, 5 bytes */
    ctl_cli_table_add(t, r1);
    char *text = render(t);
    assert_string_equal(text, "A    B\n\xc3\xa9t\xc3\xa9  1\n");
    free(text);
    ctl_cli_table_free(t);
}

static void test_names_show_the_first_and_how_many_more(void **state)
{
    (void)state;
    char buf[64];
    char *domains[] = {"www.example.com", "example.com"};
    char *ips[] = {"192.0.2.1"};
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    ctl_cli_fmt_names(&c, buf, sizeof buf);
    assert_string_equal(buf, "-");
    c.n_ip_addresses = 1;
    c.ip_addresses = ips;
    ctl_cli_fmt_names(&c, buf, sizeof buf);
    assert_string_equal(buf, "192.0.2.1");
    c.n_domains = 2;
    c.domains = domains;
    ctl_cli_fmt_names(&c, buf, sizeof buf);
    assert_string_equal(buf, "www.example.com +2");
}

static void test_times_print_in_utc_and_absent_ones_as_dash(void **state)
{
    (void)state;
    char buf[32];
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = 1738324800; /* 2025-01-31T12:00:00Z */
    ctl_cli_fmt_time(&ts, buf, sizeof buf);
    assert_string_equal(buf, "2025-01-31 12:00:00Z");
    ctl_cli_fmt_time(NULL, buf, sizeof buf);
    assert_string_equal(buf, "-");
}

static void test_truncation_keeps_whole_characters_and_one_line(void **state)
{
    (void)state;
    char buf[64];
    ctl_cli_fmt_trunc("short", 10, buf, sizeof buf);
    assert_string_equal(buf, "short");
    ctl_cli_fmt_trunc("exactly10!", 10, buf, sizeof buf);
    assert_string_equal(buf, "exactly10!");
    ctl_cli_fmt_trunc("this is far too long", 10, buf, sizeof buf);
    assert_string_equal(buf, "this is...");
    ctl_cli_fmt_trunc("line\nbreak\ttab", 20, buf, sizeof buf);
    assert_string_equal(buf, "line break tab");
    /* Seven two-byte characters cut to 6: five characters and "...", no half character. */
    ctl_cli_fmt_trunc("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 6, buf,
                      sizeof buf);
    assert_string_equal(buf, "\xc3\xa9\xc3\xa9\xc3\xa9...");
    ctl_cli_fmt_trunc("", 10, buf, sizeof buf);
    assert_string_equal(buf, "-");
    ctl_cli_fmt_trunc(NULL, 10, buf, sizeof buf);
    assert_string_equal(buf, "-");
    /* A small buffer never overflows and stays valid UTF-8. */
    char small[6];
    ctl_cli_fmt_trunc("\xc3\xa9\xc3\xa9\xc3\xa9", 10, small, sizeof small);
    assert_string_equal(small, "\xc3\xa9\xc3\xa9");
}

static void test_certificate_row_has_every_column(void **state)
{
    (void)state;
    char *domains[] = {"a.example", "b.example", "c.example"};
    Google__Protobuf__Timestamp na = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    na.seconds = 1738324800;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    c.name = "web";
    c.state = CERTPLANE__V1__STATE__FAILED;
    c.n_domains = 3;
    c.domains = domains;
    c.not_after = &na;
    c.last_error = "urn:ietf:params:acme:error:connection: Connection refused by 192.0.2.1:80 "
                   "while fetching the HTTP-01 challenge";
    ctl_cli_table_t *t = ctl_cli_cert_table_new();
    ctl_cli_table_add_cert(t, &c);
    char *text = render(t);
    char *row = strchr(text, '\n') + 1;
    assert_true(strncmp(text,
                        "NAME  STATE   DOMAINS         NOT AFTER             RENEW AFTER  "
                        "LAST ERROR\n",
                        strlen("NAME  STATE")) == 0);
    assert_string_equal(row, "web   FAILED  a.example +2  2025-01-31 12:00:00Z  -            "
                             "urn:ietf:params:acme:error:connection: Connection refused...\n");
    free(text);
    ctl_cli_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns_align_to_the_widest_cell_and_lines_end_without_spaces),
        cmocka_unit_test(test_utf8_cells_are_aligned_by_characters),
        cmocka_unit_test(test_names_show_the_first_and_how_many_more),
        cmocka_unit_test(test_times_print_in_utc_and_absent_ones_as_dash),
        cmocka_unit_test(test_truncation_keeps_whole_characters_and_one_line),
        cmocka_unit_test(test_certificate_row_has_every_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
