/* SPDX-License-Identifier: Apache-2.0 */
/* test_file.c - unit tests of the whole-file reader */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/err.h"
#include "shared/file.h"
#include "shared/mem.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/cp_test_file.XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static const char *write_file(const char *name, const char *data, size_t len)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    return path;
}

static void test_reads_whole_file_nul_terminated(void **state)
{
    (void)state;
    const char *p = write_file("a.pem", "hello\0world", 11);
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(cp_file_read(p, 1024, &out, &n, NULL), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(out, "hello\0world", 12);
    cp_secure_free(out, n);
    p = write_file("empty", "", 0);
    assert_int_equal(cp_file_read(p, 1024, &out, NULL, NULL), 0);
    assert_string_equal(out, "");
    free(out);
}

static void test_reads_more_than_one_buffer_from_a_pipe(void **state)
{
    (void)state;
    /* /dev/stdin-like files have no size: the reader must grow its buffer. */
    size_t big = 100000;
    char *data = malloc(big);
    memset(data, 'x', big);
    const char *p = write_file("big", data, big);
    char cmd[256], fifo[128];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(cmd, sizeof cmd, "cat '%s' > '%s' &", p, fifo);
    assert_int_equal(system(cmd), 0);
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(cp_file_read(fifo, big, &out, &n, NULL), 0);
    assert_int_equal(n, big);
    assert_memory_equal(out, data, big);
    free(out);
    free(data);
}

static void test_size_cap_and_errors_name_the_path(void **state)
{
    (void)state;
    const char *p = write_file("four", "1234", 4);
    char *out = (char *)"x";
    cp_err_t err;
    assert_int_equal(cp_file_read(p, 4, &out, NULL, &err), 0);
    free(out);
    assert_int_equal(cp_file_read(p, 3, &out, NULL, &err), CP_ETOOBIG);
    assert_null(out);
    assert_non_null(strstr(err.msg, "four"));
    char missing[128];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    assert_int_equal(cp_file_read(missing, 10, &out, NULL, &err), CP_ENOTFOUND);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(cp_file_read(dir, 10, &out, NULL, &err), CP_EIO); /* a directory */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_whole_file_nul_terminated),
        cmocka_unit_test(test_reads_more_than_one_buffer_from_a_pipe),
        cmocka_unit_test(test_size_cap_and_errors_name_the_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
