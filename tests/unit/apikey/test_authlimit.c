/*
 * test_authlimit.c — the local fallback of the failed-attempt limit (lib/apikey/ea_authlimit):
 * reservations count per address and per key id, the limit refuses with the time left in the
 * window, a release takes one back, a new window starts from zero. The Redis path is covered
 * end to end by tests/integration/ingest_auth.test.mjs.
 */
#include "ea_authlimit.h"
#include "../ea_test.h"

static void test_limits_per_address_and_key(void)
{
    ea_authlimit *l = ea_authlimit_new(NULL, 3, 5, 60);
    EA_CHECK(l != NULL);
    ea_authlimit_verdict v;
    int64_t t0 = 1000000;
    for (int i = 0; i < 3; i++) {
        ea_authlimit_local_reserve(l, "10.0.0.1", "aaaaaaaaaaaa", t0 + i, &v);
        EA_CHECK(v.allowed && v.local && v.count_addr == i + 1);
    }
    ea_authlimit_local_reserve(l, "10.0.0.1", "bbbbbbbbbbbb", t0 + 10, &v);
    EA_CHECK(!v.allowed); /* the address is at 3 */
    EA_CHECK(v.retry_ms == 60000 - 10);
    /* another address, same key id: the key id has 3 of 5 */
    ea_authlimit_local_reserve(l, "10.0.0.2", "aaaaaaaaaaaa", t0 + 20, &v);
    EA_CHECK(v.allowed && v.count_key == 4);
    ea_authlimit_local_reserve(l, "10.0.0.3", "aaaaaaaaaaaa", t0 + 30, &v);
    EA_CHECK(v.allowed && v.count_key == 5);
    ea_authlimit_local_reserve(l, "10.0.0.4", "aaaaaaaaaaaa", t0 + 40, &v);
    EA_CHECK(!v.allowed && v.count_key == 5 && v.count_addr == 0);
    /* a success takes its reservation back */
    ea_authlimit_local_release(l, "10.0.0.3", "aaaaaaaaaaaa", t0 + 50);
    ea_authlimit_local_reserve(l, "10.0.0.4", "aaaaaaaaaaaa", t0 + 60, &v);
    EA_CHECK(v.allowed);
    /* the window ends: counting starts again */
    ea_authlimit_local_reserve(l, "10.0.0.1", "cccccccccccc", t0 + 60001, &v);
    EA_CHECK(v.allowed && v.count_addr == 1);
    ea_authlimit_free(l);
}

static void test_release_never_below_zero(void)
{
    ea_authlimit *l = ea_authlimit_new(NULL, 2, 2, 10);
    ea_authlimit_verdict v;
    ea_authlimit_local_release(l, "10.0.0.9", "dddddddddddd", 5);
    ea_authlimit_local_reserve(l, "10.0.0.9", "dddddddddddd", 6, &v);
    EA_CHECK(v.allowed && v.count_addr == 1 && v.count_key == 1);
    ea_authlimit_free(l);
}

static void test_many_subjects(void)
{
    /* more addresses than slots: the table degrades (forgets) without misattributing counts */
    ea_authlimit *l = ea_authlimit_new(NULL, 1, 1000000, 60);
    ea_authlimit_verdict v;
    char addr[32];
    int refused = 0;
    for (int i = 0; i < 10000; i++) {
        snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 256, i % 256);
        ea_authlimit_local_reserve(l, addr, "eeeeeeeeeeee", 100, &v);
        refused += !v.allowed;
    }
    EA_CHECK(refused == 0); /* each address tried once: none is over its limit of 1 */
    ea_authlimit_local_reserve(l, "10.1.39.15", "eeeeeeeeeeee", 101, &v); /* the last one */
    EA_CHECK(!v.allowed);
    ea_authlimit_free(l);
}

EA_TEST_MAIN(EA_TEST(test_limits_per_address_and_key), EA_TEST(test_release_never_below_zero),
             EA_TEST(test_many_subjects))
