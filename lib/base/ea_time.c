/*
 * ea_time.c — timestamp parsing and bucketing without libc's time-zone state (timegm and
 * friends read TZ and are slow); the civil-date arithmetic is exact for the proleptic Gregorian
 * calendar and does not depend on the process time zone.
 */
#include "ea_time.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <time.h>

int64_t ea_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ea_time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ea_time_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}, rem;
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
        ts = rem;
}

int64_t ea_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, size_t len, size_t pos, size_t n, unsigned *out)
{
    unsigned v = 0;
    if (pos + n > len)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[pos + i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *out = v;
    return true;
}

static bool is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool ea_time_parse_iso8601(const char *s, size_t len, int64_t *out_ms)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h, mi, sec, ms = 0;
    size_t p = 0;
    if (!digits(s, len, 0, 4, &y) || len < 19 || s[4] != '-' || !digits(s, len, 5, 2, &mo) ||
        s[7] != '-' || !digits(s, len, 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, len, 11, 2, &h) ||
        s[13] != ':' || !digits(s, len, 14, 2, &mi) || s[16] != ':' || !digits(s, len, 17, 2, &sec))
        return false;
    p = 19;
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
        return false;
    unsigned dim = mdays[mo - 1] + (mo == 2 && is_leap(y) ? 1 : 0);
    if (d > dim)
        return false;
    if (sec == 60)
        sec = 59; /* leap second: clamp, as POSIX time has no room for it */
    if (p < len && (s[p] == '.' || s[p] == ',')) {
        p++;
        size_t start = p;
        unsigned scale = 100;
        while (p < len && s[p] >= '0' && s[p] <= '9') {
            ms += (unsigned)(s[p] - '0') * scale;
            scale /= 10;
            p++;
        }
        if (p == start || p - start > 9)
            return false;
    }
    int64_t offset_min = 0;
    if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
        p++;
    } else if (p < len && (s[p] == '+' || s[p] == '-')) {
        int sign = s[p] == '-' ? -1 : 1;
        unsigned oh, om;
        if (!digits(s, len, p + 1, 2, &oh))
            return false;
        p += 3;
        if (p < len && s[p] == ':')
            p++;
        if (!digits(s, len, p, 2, &om))
            return false;
        p += 2;
        if (oh > 23 || om > 59)
            return false;
        offset_min = sign * (int64_t)(oh * 60 + om);
    }
    if (p != len)
        return false;
    int64_t days = ea_time_days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec - offset_min * 60;
    *out_ms = secs * 1000 + ms;
    return true;
}

bool ea_time_from_epoch_number(double v, int64_t *out_ms)
{
    if (!isfinite(v))
        return false;
    double ms = fabs(v) < 1e11 ? v * 1000.0 : v;
    /* ±(year 275760) is JavaScript's Date range; anything past it is garbage, not a time */
    if (ms > 8.64e15 || ms < -8.64e15)
        return false;
    *out_ms = (int64_t)floor(ms);
    return true;
}

int64_t ea_time_floor_hour(int64_t ms)
{
    int64_t r = ms % EA_MS_PER_HOUR;
    return ms - (r < 0 ? r + EA_MS_PER_HOUR : r);
}

int64_t ea_time_floor_day(int64_t ms)
{
    int64_t r = ms % EA_MS_PER_DAY;
    return ms - (r < 0 ? r + EA_MS_PER_DAY : r);
}

char *ea_time_format_iso8601(int64_t ms, char buf[48])
{
    int64_t day = ea_time_floor_day(ms) / EA_MS_PER_DAY;
    int64_t rem = ms - day * EA_MS_PER_DAY;
    int64_t y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(buf, 48, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m % 100, d % 100,
             (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000));
    return buf;
}
