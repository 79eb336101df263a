/* SPDX-License-Identifier: Apache-2.0 */
/* acme_problem.c - RFC 7807 / RFC 8555 problem documents as readable errors; Retry-After */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/acme/acme_internal.h"

#define ACME_ERR_PREFIX "urn:ietf:params:acme:error:"

/* Appends s to buf at *off, never past size (truncation is silent). */
static void append(char *buf, size_t size, size_t *off, const char *s)
{
    size_t n = strlen(s);
    if (*off + 1 >= size)
        return;
    if (n > size - *off - 1)
        n = size - *off - 1;
    memcpy(buf + *off, s, n);
    *off += n;
    buf[*off] = '\0';
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

void ctl_acme__problem_format(const json_t *problem, char *buf, size_t size)
{
    size_t off = 0;
    if (size == 0)
        return;
    buf[0] = '\0';
    const char *type = jstr(problem, "type");
    const char *detail = jstr(problem, "detail");
    append(buf, size, &off, type[0] ? type : "about:blank");
    if (detail[0]) {
        append(buf, size, &off, ": ");
        append(buf, size, &off, detail);
    }
    const json_t *subs = json_object_get(problem, "subproblems");
    if (!json_is_array(subs) || json_array_size(subs) == 0)
        return;
    append(buf, size, &off, " (");
    for (size_t i = 0; i < json_array_size(subs); i++) {
        const json_t *sp = json_array_get(subs, i);
        const json_t *id = json_object_get(sp, "identifier");
        const char *st = jstr(sp, "type"), *sd = jstr(sp, "detail");
        if (i > 0)
            append(buf, size, &off, "; ");
        if (json_is_object(id)) {
            append(buf, size, &off, jstr(id, "type"));
            append(buf, size, &off, " ");
            append(buf, size, &off, jstr(id, "value"));
            append(buf, size, &off, ": ");
        }
        append(buf, size, &off, st);
        if (st[0] && sd[0])
            append(buf, size, &off, ": ");
        append(buf, size, &off, sd);
    }
    append(buf, size, &off, ")");
}

int ctl_acme__problem_err(const ctl_acme__resp_t *r, const char *what, cp_err_t *err)
{
    char msg[CP_ERR_MSG_MAX];
    json_error_t je;
    json_t *j = r->body ? json_loadb(r->body, r->len, 0, &je) : NULL;
    if (json_is_object(j) && json_is_string(json_object_get(j, "type"))) {
        ctl_acme__problem_format(j, msg, sizeof(msg));
    } else {
        /* Not a problem document: quote a short, printable excerpt of the body. */
        char excerpt[120];
        size_t n = 0;
        for (size_t i = 0; r->body && i < r->len && n + 1 < sizeof(excerpt); i++)
            excerpt[n++] = isprint((unsigned char)r->body[i]) ? r->body[i] : ' ';
        excerpt[n] = '\0';
        snprintf(msg, sizeof(msg), "HTTP %ld%s%s", r->status, n ? ": " : "", excerpt);
    }
    json_decref(j);
    return cp_err_set(err, CP_EACME, "%s: %s", what, msg);
}

int ctl_acme__problem_is(const ctl_acme__resp_t *r, const char *short_type)
{
    if (r->body == NULL || r->content_type == NULL ||
        strstr(r->content_type, "problem+json") == NULL)
        return 0;
    json_error_t je;
    json_t *j = json_loadb(r->body, r->len, 0, &je);
    const char *type = json_string_value(json_object_get(j, "type"));
    int is = type != NULL && strncmp(type, ACME_ERR_PREFIX, strlen(ACME_ERR_PREFIX)) == 0 &&
             strcmp(type + strlen(ACME_ERR_PREFIX), short_type) == 0;
    json_decref(j);
    return is;
}

static int month_index(const char *m)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        if (strncmp(m, months[i], 3) == 0)
            return i;
    return -1;
}

/* IMF-fixdate (RFC 9110 section 5.6.7), "Sun, 06 Nov 1994 08:49:37 GMT", parsed without locale. */
static long parse_http_date(const char *v, time_t now)
{
    char wday[4], mon[4], zone[4];
    int day, year, hh, mm, ss;
    if (sscanf(v, "%3s, %d %3s %d %d:%d:%d %3s", wday, &day, mon, &year, &hh, &mm, &ss, zone) != 8)
        return -1;
    int m = month_index(mon);
    if (m < 0 || strcmp(zone, "GMT") != 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = m,
                    .tm_mday = day,
                    .tm_hour = hh,
                    .tm_min = mm,
                    .tm_sec = ss};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return t > now ? (long)(t - now) : 0;
}

long ctl_acme__retry_after_parse(const char *value, time_t now)
{
    if (value == NULL)
        return -1;
    while (*value == ' ')
        value++;
    if (isdigit((unsigned char)*value)) {
        char *end;
        unsigned long long s = strtoull(value, &end, 10);
        while (*end == ' ')
            ++end;
        if (*end != '\0')
            return -1;
        return s > 86400ULL * 365 ? 86400L * 365 : (long)s;
    }
    return parse_http_date(value, now);
}
