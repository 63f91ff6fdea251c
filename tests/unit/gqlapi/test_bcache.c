/*
 * test_bcache.c — graphql-api's bucket-level series cache (bcache.c): what a lookup answers and
 * which gaps it asks for, how a change message cuts segments (a bucket it overlaps, an empty run
 * it falls into, nothing else), which keys follow which granularity, that a change arriving while
 * a fetch ran is never cached over (the ticket), the open/closed lifetimes, the feed being down,
 * and the size bound.
 */
#include "../ea_test.h"
#include "bcache.h"

#include <stdlib.h>

#define H 3600000LL
#define D (24 * H)

static gql_bc_key key(const char *k, bool utc_day)
{
    return (gql_bc_key){
        .tenant = "t", .metric = "m", .key = k, .klen = strlen(k), .utc_day = utc_day};
}

/* A fill of [lo, hi) with one point in each bucket starting at the given hours. */
static gql_bc_fill fill(int64_t lo, int64_t hi, int64_t closed_until, const int *hours, size_t n)
{
    gql_bc_fill f = {.lo = lo, .hi = hi, .closed_until = closed_until, .nparts = n};
    f.parts = calloc(n + 1, sizeof(*f.parts));
    for (size_t i = 0; i < n; i++) {
        f.parts[i].start = hours[i] * H;
        f.parts[i].end = hours[i] * H + H;
        f.parts[i].points = json_pack("[{s:i}]", "hour", hours[i]);
        f.parts[i].closed = f.parts[i].end <= closed_until;
    }
    return f;
}

static void fill_free(gql_bc_fill *f)
{
    for (size_t i = 0; i < f->nparts; i++)
        json_decref(f->parts[i].points);
    free(f->parts);
}

static gql_bcache *cache(size_t max_bytes)
{
    gql_bcache_config cfg = {.max_bytes = max_bytes, .closed_ttl_s = 3600, .log_entries = 16};
    gql_bcache *c = gql_bcache_new(&cfg);
    EA_CHECK(c != NULL);
    gql_bcache_set_live(c, true);
    return c;
}

static void test_lookup_insert_cut(void)
{
    gql_bcache *c = cache(1 << 20);
    gql_bc_key k = key("k1", false);
    gql_bc_view v;
    gql_bcache_lookup(c, &k, 0, 10 * H - 1, 0, &v);
    EA_CHECK(v.ngaps == 1 && v.gaps[0].from == 0 && v.gaps[0].to == 10 * H - 1);
    EA_CHECK(!v.any_cached);
    uint64_t ticket = v.ticket;
    gql_bc_view_free(&v);

    int hours[] = {2, 5};
    gql_bc_fill f = fill(0, 10 * H, 8 * H, hours, 2);
    gql_bcache_insert(c, &k, ticket, &f, 60, 0);
    fill_free(&f);
    gql_bcache_lookup(c, &k, 0, 10 * H - 1, 1000, &v);
    EA_CHECK(v.ngaps == 0);
    EA_CHECK(v.any_cached);
    EA_CHECK(v.nparts == 2 && v.parts[0].start == 2 * H && v.parts[1].start == 5 * H);
    gql_bc_view_free(&v);
    /* a range inside the segment answers only its overlapping buckets */
    gql_bcache_lookup(c, &k, 4 * H + 30, 6 * H, 1000, &v);
    EA_CHECK(v.ngaps == 0 && v.nparts == 1 && v.parts[0].start == 5 * H);
    gql_bc_view_free(&v);

    /* a change in the bucket at 5h drops that bucket only */
    gql_bcache_invalidate(c, "t", "m", false, false, 5 * H, 6 * H);
    gql_bcache_lookup(c, &k, 0, 10 * H - 1, 1000, &v);
    EA_CHECK(v.ngaps == 1 && v.gaps[0].from == 5 * H && v.gaps[0].to == 6 * H - 1);
    EA_CHECK(v.nparts == 1 && v.parts[0].start == 2 * H);
    gql_bc_view_free(&v);

    /* a change in an empty run drops the whole run (its inner bounds are unknown): [6h, 10h) */
    gql_bcache_invalidate(c, "t", "m", false, false, 7 * H, 8 * H);
    gql_bcache_lookup(c, &k, 0, 10 * H - 1, 1000, &v);
    EA_CHECK(v.ngaps == 1 && v.gaps[0].from == 5 * H && v.gaps[0].to == 10 * H - 1);
    EA_CHECK(v.nparts == 1);
    gql_bc_view_free(&v);
    /* ... and one between buckets drops the run between them: [3h, 5h) */
    gql_bcache_invalidate(c, "t", "m", false, false, 4 * H, 5 * H);
    gql_bcache_lookup(c, &k, 0, 10 * H - 1, 1000, &v);
    EA_CHECK(v.ngaps == 1 && v.gaps[0].from == 3 * H && v.gaps[0].to == 10 * H - 1);
    EA_CHECK(v.nparts == 1 && v.parts[0].start == 2 * H);
    gql_bc_view_free(&v);

    /* another metric, and a whole-metric change */
    gql_bcache_invalidate(c, "t", "other", true, false, 0, 0);
    gql_bcache_lookup(c, &k, 0, 3 * H - 1, 1000, &v);
    EA_CHECK(v.ngaps == 0 && v.nparts == 1);
    gql_bc_view_free(&v);
    gql_bcache_invalidate(c, "t", "m", true, false, 0, 0);
    gql_bcache_lookup(c, &k, 0, 3 * H - 1, 1000, &v);
    EA_CHECK(v.ngaps == 1 && v.nparts == 0 && !v.any_cached);
    gql_bc_view_free(&v);
    gql_bcache_free(c);
}

static void test_follows_granularity(void)
{
    gql_bcache *c = cache(1 << 20);
    gql_bc_key hour = key("hour", false), utcday = key("utcday", true);
    int none[] = {0};
    gql_bc_fill f = fill(0, 4 * D, 4 * D, none, 0);
    gql_bcache_insert(c, &hour, gql_bcache_generation(c), &f, 60, 0);
    gql_bcache_insert(c, &utcday, gql_bcache_generation(c), &f, 60, 0);
    fill_free(&f);
    /* a DAY change leaves HOUR-following keys alone (every event writes an HOUR change too) */
    gql_bcache_invalidate(c, "t", "m", false, true, D, 2 * D);
    gql_bc_view v;
    gql_bcache_lookup(c, &hour, 0, 4 * D - 1, 0, &v);
    EA_CHECK(v.ngaps == 0);
    gql_bc_view_free(&v);
    gql_bcache_lookup(c, &utcday, 0, 4 * D - 1, 0, &v);
    EA_CHECK(v.ngaps == 1 && v.gaps[0].from == 0);
    gql_bc_view_free(&v);
    gql_bcache_free(c);
}

static void test_ticket(void)
{
    gql_bcache *c = cache(1 << 20);
    gql_bc_key k = key("k", false);
    uint64_t ticket = gql_bcache_generation(c);
    /* the change arrives while the fetch runs: what it names is not stored */
    gql_bcache_invalidate(c, "t", "m", false, false, 2 * H, 3 * H);
    int hours[] = {2, 5};
    gql_bc_fill f = fill(0, 10 * H, 10 * H, hours, 2);
    gql_bcache_insert(c, &k, ticket, &f, 60, 0);
    gql_bc_view v;
    gql_bcache_lookup(c, &k, 0, 10 * H - 1, 0, &v);
    EA_CHECK(v.ngaps == 1 && v.gaps[0].from == 2 * H && v.gaps[0].to == 3 * H - 1);
    EA_CHECK(v.nparts == 1 && v.parts[0].start == 5 * H);
    gql_bc_view_free(&v);
    /* a ticket older than the log ring (16 entries) stores nothing */
    gql_bc_key k2 = key("k2", false);
    ticket = gql_bcache_generation(c);
    for (int i = 0; i < 20; i++)
        gql_bcache_invalidate(c, "t", "x", true, false, 0, 0);
    gql_bcache_insert(c, &k2, ticket, &f, 60, 0);
    gql_bcache_lookup(c, &k2, 0, 10 * H - 1, 0, &v);
    EA_CHECK(v.ngaps == 1 && !v.any_cached);
    gql_bc_view_free(&v);
    fill_free(&f);
    gql_bcache_free(c);
}

static void test_lifetimes_and_feed(void)
{
    gql_bcache *c = cache(1 << 20);
    gql_bc_key k = key("k", false);
    int hours[] = {1, 9};
    gql_bc_fill f = fill(0, 10 * H, 8 * H, hours, 2);
    gql_bcache_insert(c, &k, gql_bcache_generation(c), &f, 60, 0);
    gql_bc_view v;
    /* past the open TTL only the closed part [0, 8h) answers */
    gql_bcache_lookup(c, &k, 0, 10 * H - 1, 61 * 1000, &v);
    EA_CHECK(v.ngaps == 1 && v.gaps[0].from == 8 * H);
    EA_CHECK(v.nparts == 1 && v.parts[0].start == H);
    gql_bc_view_free(&v);
    /* past the closed TTL nothing does */
    gql_bcache_lookup(c, &k, 0, 10 * H - 1, 3601 * 1000, &v);
    EA_CHECK(v.ngaps == 1 && v.gaps[0].from == 0 && v.nparts == 0);
    gql_bc_view_free(&v);

    /* the change feed down: nothing served, nothing stored, and responses are stale */
    uint64_t gen = gql_bcache_generation(c);
    gql_bcache_insert(c, &k, gen, &f, 60, 0);
    EA_CHECK(gql_bcache_unchanged(c, "t", "m", gen));
    gql_bcache_set_live(c, false);
    EA_CHECK(!gql_bcache_unchanged(c, "t", "m", gen));
    gql_bcache_insert(c, &k, gql_bcache_generation(c), &f, 60, 0);
    gql_bcache_lookup(c, &k, 0, 10 * H - 1, 0, &v);
    EA_CHECK(v.ngaps == 1 && !v.any_cached);
    gql_bc_view_free(&v);
    gql_bcache_set_live(c, true);
    gql_bcache_insert(c, &k, gql_bcache_generation(c), &f, 60, 0);
    gen = gql_bcache_generation(c);
    EA_CHECK(gql_bcache_unchanged(c, "t", "m", gen));
    gql_bcache_invalidate(c, "t", "m", false, false, 0, H);
    EA_CHECK(!gql_bcache_unchanged(c, "t", "m", gen));
    fill_free(&f);
    gql_bcache_free(c);
}

static void test_size_bound(void)
{
    gql_bcache *c = cache(2000); /* a few hundred points' worth */
    int hours[] = {1, 2, 3, 4};
    gql_bc_fill f = fill(0, 10 * H, 10 * H, hours, 4);
    gql_bc_key a = key("a", false), b = key("b", false);
    gql_bcache_insert(c, &a, gql_bcache_generation(c), &f, 60, 0);
    gql_bcache_insert(c, &b, gql_bcache_generation(c), &f, 60, 0);
    gql_bcache_stats st;
    gql_bcache_stats_get(c, &st);
    EA_CHECK(st.bytes <= 2000);
    EA_CHECK(st.keys == 1 && st.evictions == 1); /* "a", the least recently used, went */
    gql_bc_view v;
    gql_bcache_lookup(c, &b, 0, 10 * H - 1, 0, &v);
    EA_CHECK(v.ngaps == 0);
    gql_bc_view_free(&v);
    fill_free(&f);
    gql_bcache_free(c);
}

/* keys count: a long filter with an empty answer is not free (a 100 KB key per series) */
static void test_key_bytes_bound(void)
{
    gql_bcache *c = cache(1000000);
    gql_bc_fill f = fill(0, 10 * H, 10 * H, NULL, 0); /* an empty range: one empty run */
    size_t klen = 100000;
    char *k = malloc(klen + 1);
    memset(k, 'f', klen);
    k[klen] = '\0';
    for (int i = 0; i < 100; i++) {
        snprintf(k, 16, "%08d", i); /* distinct keys */
        k[8] = 'f';
        gql_bc_key bk = key(k, false);
        gql_bcache_insert(c, &bk, gql_bcache_generation(c), &f, 60, 0);
    }
    gql_bcache_stats st;
    gql_bcache_stats_get(c, &st);
    EA_CHECK(st.bytes <= 1000000);
    EA_CHECK(st.keys >= 1 && st.keys <= 10);
    EA_CHECK(st.evictions >= 90);
    free(k);
    fill_free(&f);
    gql_bcache_free(c);
}

EA_TEST_MAIN(EA_TEST(test_lookup_insert_cut), EA_TEST(test_follows_granularity),
             EA_TEST(test_ticket), EA_TEST(test_lifetimes_and_feed), EA_TEST(test_size_bound),
             EA_TEST(test_key_bytes_bound))
