/*
 * test_base.c — lib/base: ISO-8601 and epoch parsing, bucket flooring, formatting, arena.
 */
#include "../ea_test.h"
#include "ea_arena.h"
#include "ea_err.h"
#include "ea_time.h"

#include <stdint.h>

static int64_t iso(const char *s)
{
    int64_t ms = INT64_MIN;
    if (!ea_time_parse_iso8601(s, strlen(s), &ms))
        return INT64_MIN;
    return ms;
}

static void test_iso_parse(void)
{
    EA_CHECK(iso("1970-01-01T00:00:00Z") == 0);
    EA_CHECK(iso("2024-01-22T17:36:40Z") == INT64_C(1705945000000));
    EA_CHECK(iso("2024-01-22T17:36:40.123Z") == INT64_C(1705945000123));
    EA_CHECK(iso("2024-01-22T23:06:40+05:30") == INT64_C(1705945000000));
    EA_CHECK(iso("2024-01-22T12:36:40-0500") == INT64_C(1705945000000));
    EA_CHECK(iso("2024-01-22 17:36:40") == INT64_C(1705945000000));
    EA_CHECK(iso("2024-02-29T00:00:00Z") != INT64_MIN); /* leap year */
    EA_CHECK(iso("2023-02-29T00:00:00Z") == INT64_MIN);
    EA_CHECK(iso("2024-13-01T00:00:00Z") == INT64_MIN);
    EA_CHECK(iso("2024-01-01T24:00:00Z") == INT64_MIN);
    EA_CHECK(iso("2024-01-01T00:00:00Zjunk") == INT64_MIN);
    EA_CHECK(iso("2024-01-01") == INT64_MIN);
    EA_CHECK(iso("") == INT64_MIN);
    EA_CHECK(iso("9999-12-31T23:59:59Z") > 0);
    EA_CHECK(iso("1969-12-31T23:59:59Z") == -1000);
}

static void test_epoch(void)
{
    int64_t ms;
    EA_CHECK(ea_time_from_epoch_number(1705945000, &ms) && ms == INT64_C(1705945000000));
    EA_CHECK(ea_time_from_epoch_number(1705945000123.0, &ms) && ms == INT64_C(1705945000123));
    EA_CHECK(ea_time_from_epoch_number(1705945000.5, &ms) && ms == INT64_C(1705945000500));
    EA_CHECK(!ea_time_from_epoch_number(1e300, &ms));
    EA_CHECK(!ea_time_from_epoch_number(0.0 / 0.0, &ms));
}

static void test_floor_format(void)
{
    char buf[48];
    int64_t t = iso("2026-11-26T10:59:59.999Z");
    EA_CHECK_STR(ea_time_format_iso8601(ea_time_floor_hour(t), buf), "2026-11-26T10:00:00.000Z");
    EA_CHECK_STR(ea_time_format_iso8601(ea_time_floor_day(t), buf), "2026-11-26T00:00:00.000Z");
    EA_CHECK(ea_time_floor_hour(-1) == -EA_MS_PER_HOUR);
    EA_CHECK_STR(ea_time_format_iso8601(-1, buf), "1969-12-31T23:59:59.999Z");
}

/* The shared back-off sleep waits at least what it was asked (a lower bound only: a loaded
 * machine may wait longer); zero and negative return at once. */
static void test_sleep(void)
{
    int64_t t0 = ea_time_mono_ns();
    ea_time_sleep_ms(20);
    EA_CHECK(ea_time_mono_ns() - t0 >= INT64_C(20000000));
    ea_time_sleep_ms(0);
    ea_time_sleep_ms(-5);
}

static void test_arena(void)
{
    ea_arena *a = ea_arena_new(1024);
    EA_CHECK(a != NULL);
    char *p = ea_arena_alloc(a, 10);
    EA_CHECK(p != NULL && ((uintptr_t)p & 15) == 0);
    char *big = ea_arena_alloc(a, 100000); /* larger than a chunk */
    EA_CHECK(big != NULL);
    memset(big, 1, 100000);
    char *s = ea_arena_strndup(a, "hello world", 5);
    EA_CHECK_STR(s, "hello");
    EA_CHECK(ea_arena_used(a) >= 100000);
    ea_arena_reset(a);
    EA_CHECK(ea_arena_used(a) == 0);
    for (int i = 0; i < 1000; i++)
        EA_CHECK(ea_arena_calloc(a, 100) != NULL);
    ea_arena_free(a);
}

static void test_err(void)
{
    struct ea_err e;
    EA_CHECK(ea_err_set(&e, EA_ERR_IO, "could not open %s", "x") == EA_ERR_IO);
    EA_CHECK_STR(e.message, "could not open x");
    EA_CHECK_STR(ea_rc_name(EA_ERR_DB), "db");
    EA_CHECK(ea_err_set(NULL, EA_ERR_IO, "x") == EA_ERR_IO);
}

EA_TEST_MAIN(EA_TEST(test_iso_parse), EA_TEST(test_epoch), EA_TEST(test_floor_format),
             EA_TEST(test_sleep), EA_TEST(test_arena), EA_TEST(test_err))
