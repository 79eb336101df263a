/* SPDX-License-Identifier: Apache-2.0 */
/* clock.c - the clocks (wall and monotonic), RFC 3339 text and google.protobuf.Timestamp <-> ms */
#include "shared/clock.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "shared/mem.h"

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since the epoch. */
#define TS_MIN_SECONDS INT64_C(-62135596800)
#define TS_MAX_SECONDS INT64_C(253402300799)

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cp_clock_wall_ms(void)
{
    return clock_ns(CLOCK_REALTIME) / 1000000;
}

int64_t cp_clock_mono_ms(void)
{
    return clock_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t cp_clock_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

struct timespec cp_clock_after(clockid_t clock, int64_t ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    if (ms < 0)
        ms = 0;
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int cp_clock_rfc3339_format(int64_t seconds, int32_t nanos, char *buf, size_t size)
{
    if (seconds < TS_MIN_SECONDS || seconds > TS_MAX_SECONDS || nanos < 0 || nanos > 999999999 ||
        size < CP_CLOCK_RFC3339_MAX)
        return -1;
    int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    int64_t sod = seconds - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d, (int)(sod / 3600),
                     (int)(sod / 60 % 60), (int)(sod % 60));
    if (nanos % 1000000 == 0 && nanos != 0)
        n += snprintf(buf + n, size - (size_t)n, ".%03" PRId32, nanos / 1000000);
    else if (nanos % 1000 == 0 && nanos != 0)
        n += snprintf(buf + n, size - (size_t)n, ".%06" PRId32, nanos / 1000);
    else if (nanos != 0)
        n += snprintf(buf + n, size - (size_t)n, ".%09" PRId32, nanos);
    snprintf(buf + n, size - (size_t)n, "Z");
    return 0;
}

/* Reads exactly n digits at *p; returns the number or -1. */
static int ts_digits(const char **p, const char *end, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || **p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

static int ts_expect(const char **p, const char *end, const char *one_of)
{
    if (*p >= end || **p == '\0' || strchr(one_of, **p) == NULL)
        return -1;
    (*p)++;
    return 0;
}

/* Parses the zone at p ("Z" or "+hh:mm"/"-hh:mm", which must end the text) into seconds east of
 * UTC. */
static int ts_zone(const char *p, const char *end, int64_t *east)
{
    if (end - p == 1 && (*p == 'Z' || *p == 'z')) {
        *east = 0;
        return 0;
    }
    if (end - p != 6 || (*p != '+' && *p != '-'))
        return -1;
    int sign = *p++ == '-' ? -1 : 1;
    int hh = ts_digits(&p, end, 2);
    if (hh < 0 || hh > 23 || ts_expect(&p, end, ":") != 0)
        return -1;
    int mm = ts_digits(&p, end, 2);
    if (mm < 0 || mm > 59)
        return -1;
    *east = sign * (hh * 3600 + mm * 60);
    return 0;
}

/* The optional ".digits" at *p as nanoseconds; -1 when malformed. */
static int32_t ts_fraction(const char **p, const char *end)
{
    int32_t ns = 0;
    if (*p >= end || **p != '.')
        return 0;
    int digits = 0;
    for ((*p)++; *p < end && **p >= '0' && **p <= '9'; (*p)++, digits++) {
        if (digits == 9)
            return -1;
        ns = ns * 10 + (**p - '0');
    }
    if (digits == 0)
        return -1;
    for (; digits < 9; digits++)
        ns *= 10;
    return ns;
}

int cp_clock_rfc3339_parse(const char *s, size_t len, int64_t *seconds, int32_t *nanos)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s, *end = s + len;
    int y = ts_digits(&p, end, 4);
    int mo = ts_expect(&p, end, "-") == 0 ? ts_digits(&p, end, 2) : -1;
    int d = ts_expect(&p, end, "-") == 0 ? ts_digits(&p, end, 2) : -1;
    int h = ts_expect(&p, end, "Tt") == 0 ? ts_digits(&p, end, 2) : -1;
    int mi = ts_expect(&p, end, ":") == 0 ? ts_digits(&p, end, 2) : -1;
    int sec = ts_expect(&p, end, ":") == 0 ? ts_digits(&p, end, 2) : -1;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
        sec > 59)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap))
        return -1;
    int32_t ns = ts_fraction(&p, end);
    int64_t east;
    if (ns < 0 || ts_zone(p, end, &east) != 0)
        return -1;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - east;
    if (t < TS_MIN_SECONDS || t > TS_MAX_SECONDS)
        return -1;
    *seconds = t;
    *nanos = ns;
    return 0;
}

void cp_clock_ts_set(Google__Protobuf__Timestamp *ts, int64_t ms)
{
    google__protobuf__timestamp__init(ts);
    int64_t sec = ms / 1000, rem = ms % 1000;
    if (rem < 0) { /* C division truncates towards zero; Timestamp wants nanos in 0..999999999 */
        sec--;
        rem += 1000;
    }
    ts->seconds = sec;
    ts->nanos = (int32_t)(rem * 1000000);
}

Google__Protobuf__Timestamp *cp_clock_ts_new(int64_t ms)
{
    Google__Protobuf__Timestamp *ts = cp_xmalloc(sizeof *ts);
    cp_clock_ts_set(ts, ms);
    return ts;
}

int64_t cp_clock_ts_ms(const Google__Protobuf__Timestamp *ts, int64_t if_null)
{
    if (ts == NULL)
        return if_null;
    int64_t ns = ts->nanos; /* a valid Timestamp has 0..999999999; floor anything else too */
    int64_t ms = ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000);
    return ts->seconds * 1000 + ms;
}
