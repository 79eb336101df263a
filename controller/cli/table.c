/* SPDX-License-Identifier: Apache-2.0 */
/* table.c - certplanectl's human output: aligned tables and the cell formats they use */
#include "controller/cli/table.h"
#include "shared/mem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ctl_cli_table {
    size_t ncols;
    size_t nrows; /* including the header */
    char **cells; /* nrows * ncols strings */
};

ctl_cli_table_t *ctl_cli_table_new(size_t ncols, const char *const *headers)
{
    ctl_cli_table_t *t = cp_xcalloc(1, sizeof *t);
    t->ncols = ncols;
    ctl_cli_table_add(t, headers);
    return t;
}

void ctl_cli_table_free(ctl_cli_table_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

void ctl_cli_table_add(ctl_cli_table_t *t, const char *const *cells)
{
    char **p = cp_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *p);
    t->cells = p;
    for (size_t c = 0; c < t->ncols; c++)
        /* An empty or missing cell shows as "-", so columns never collapse. */
        t->cells[t->nrows * t->ncols + c] =
            cp_xstrdup(cells[c] != NULL && cells[c][0] != '\0' ? cells[c] : "-");
    t->nrows++;
}

size_t ctl_cli_table_rows(const ctl_cli_table_t *t)
{
    return t->nrows - 1;
}

/* Characters in a UTF-8 string: bytes that do not continue a sequence. */
static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

void ctl_cli_table_print(const ctl_cli_table_t *t, FILE *out)
{
    size_t *width = cp_xcalloc(t->ncols, sizeof *width);
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = utf8_len(t->cells[r * t->ncols + c]);
            width[c] = w > width[c] ? w : width[c];
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            fputs(cell, out);
            if (c + 1 < t->ncols)
                fprintf(out, "%*s", (int)(width[c] - utf8_len(cell) + 2), "");
        }
        fputc('\n', out);
    }
    free(width);
}

ctl_cli_table_t *ctl_cli_cert_table_new(void)
{
    static const char *const headers[] = {"NAME",      "STATE",       "DOMAINS",
                                          "NOT AFTER", "RENEW AFTER", "LAST ERROR"};
    return ctl_cli_table_new(6, headers);
}

void ctl_cli_table_add_cert(ctl_cli_table_t *t, const Certplane__V1__Certificate *c)
{
    char names[300], not_after[32], renew_after[32], error[CTL_CLI_ERROR_WIDTH * 4 + 1];
    ctl_cli_fmt_names(c, names, sizeof names);
    ctl_cli_fmt_time(c->not_after, not_after, sizeof not_after);
    ctl_cli_fmt_time(c->renew_after, renew_after, sizeof renew_after);
    ctl_cli_fmt_trunc(c->last_error, CTL_CLI_ERROR_WIDTH, error, sizeof error);
    const char *cells[] = {c->name, ctl_cli_state_name(c->state), names, not_after, renew_after,
                           error};
    ctl_cli_table_add(t, cells);
}

void ctl_cli_fmt_names(const Certplane__V1__Certificate *c, char *buf, size_t size)
{
    size_t total = c->n_domains + c->n_ip_addresses;
    const char *first = c->n_domains > 0        ? c->domains[0]
                        : c->n_ip_addresses > 0 ? c->ip_addresses[0]
                                                : NULL;
    if (first == NULL)
        snprintf(buf, size, "-");
    else if (total > 1)
        snprintf(buf, size, "%s +%zu", first, total - 1);
    else
        snprintf(buf, size, "%s", first);
}

void ctl_cli_fmt_time(const Google__Protobuf__Timestamp *ts, char *buf, size_t size)
{
    struct tm tm;
    time_t t = ts != NULL ? (time_t)ts->seconds : 0;
    if (ts == NULL || gmtime_r(&t, &tm) == NULL ||
        strftime(buf, size, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "-");
}

void ctl_cli_fmt_trunc(const char *s, size_t max, char *buf, size_t size)
{
    if (s == NULL || s[0] == '\0' || size < 2) {
        snprintf(buf, size, "-");
        return;
    }
    bool cut = utf8_len(s) > max;
    size_t keep = cut ? max - 3 : max, chars = 0, o = 0;
    for (const char *p = s; *p != '\0'; p++) {
        bool starts = ((unsigned char)*p & 0xC0) != 0x80;
        if (starts && chars++ == keep)
            break;
        /* Stop before a character that would not fit whole (with room for "..." and NUL). */
        size_t clen = 1;
        while (starts && ((unsigned char)p[clen] & 0xC0) == 0x80)
            clen++;
        if (starts && o + clen + (cut ? 3 : 0) + 1 > size)
            break;
        buf[o++] = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;
    }
    if (cut)
        for (int i = 0; i < 3; i++)
            buf[o++] = '.';
    buf[o] = '\0';
}

const char *ctl_cli_enum_name(const ProtobufCEnumDescriptor *d, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v != NULL ? v->name : "UNKNOWN";
}

const char *ctl_cli_state_name(int state)
{
    return ctl_cli_enum_name(&certplane__v1__state__descriptor, state);
}
