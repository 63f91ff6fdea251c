/*
 * test_bcache.c — graphql-api's bucket-level series cache (bcache.c): what a lookup answers and
 * which gaps it asks for, how a change message cuts segments (a bucket it overlaps, an empty run
 * it falls into, nothing else), which keys follow which granularity, that a change arriving while
 * a fetch ran is never cached over (the ticket), the open/closed lifetimes, the feed being down,
 * and the size bound — counted in real heap bytes (mallinfo2), not a guess per point.
 */
#include "../ea_test.h"
#include "bcache.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

/* ASan's allocator bypasses glibc's: mallinfo2 sees nothing there, so the heap checks run in the
 * normal build only (the accounting itself is checked in both). */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_MEASURED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_MEASURED 0
#endif
#endif
#ifndef HEAP_MEASURED
#define HEAP_MEASURED 1
#endif

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

/* The ticket a fetch carries: what a lookup says before anything is read, as resolvers.c takes
 * it (the lookup of an uncached key touches nothing). */
static uint64_t ticket_of(gql_bcache *c)
{
    gql_bc_key none = key("not cached", false);
    gql_bc_view v;
    gql_bcache_lookup(c, &none, 0, H - 1, 0, &v);
    uint64_t t = v.ticket;
    gql_bc_view_free(&v);
    return t;
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
    gql_bcache_insert(c, &hour, ticket_of(c), &f, 60, 0);
    gql_bcache_insert(c, &utcday, ticket_of(c), &f, 60, 0);
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
    uint64_t ticket = ticket_of(c);
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
    ticket = ticket_of(c);
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
    gql_bcache_insert(c, &k, ticket_of(c), &f, 60, 0);
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
    uint64_t gen = ticket_of(c);
    gql_bcache_insert(c, &k, gen, &f, 60, 0);
    EA_CHECK(gql_bcache_unchanged(c, "t", "m", gen));
    gql_bcache_set_live(c, false);
    EA_CHECK(!gql_bcache_unchanged(c, "t", "m", gen));
    gql_bcache_insert(c, &k, ticket_of(c), &f, 60, 0);
    gql_bcache_lookup(c, &k, 0, 10 * H - 1, 0, &v);
    EA_CHECK(v.ngaps == 1 && !v.any_cached);
    gql_bc_view_free(&v);
    gql_bcache_set_live(c, true);
    gql_bcache_insert(c, &k, ticket_of(c), &f, 60, 0);
    gen = ticket_of(c);
    EA_CHECK(gql_bcache_unchanged(c, "t", "m", gen));
    gql_bcache_invalidate(c, "t", "m", false, false, 0, H);
    EA_CHECK(!gql_bcache_unchanged(c, "t", "m", gen));
    fill_free(&f);
    gql_bcache_free(c);
}

static void test_size_bound(void)
{
    gql_bcache *c = cache(4000); /* one key's 4 small points (~2.4 KB), not two */
    int hours[] = {1, 2, 3, 4};
    gql_bc_fill f = fill(0, 10 * H, 10 * H, hours, 4);
    gql_bc_key a = key("a", false), b = key("b", false);
    gql_bcache_insert(c, &a, ticket_of(c), &f, 60, 0);
    gql_bcache_insert(c, &b, ticket_of(c), &f, 60, 0);
    gql_bcache_stats st;
    gql_bcache_stats_get(c, &st);
    EA_CHECK(st.bytes <= 4000);
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
        gql_bcache_insert(c, &bk, ticket_of(c), &f, 60, 0);
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

static size_t heap_used(void)
{
    return mallinfo2().uordblks;
}

/* A fill of nb hourly buckets from hour h0, each with np points as series.c builds them
 * (timestamp, value, dimensions {"page": ...} or {}, revision, final). */
static gql_bc_fill series_fill(int h0, int nb, int np, bool dim)
{
    gql_bc_fill f = {.lo = h0 * H, .hi = (h0 + nb) * H, .closed_until = (h0 + nb) * H};
    f.parts = calloc((size_t)nb, sizeof(*f.parts));
    f.nparts = (size_t)nb;
    for (int b = 0; b < nb; b++) {
        json_t *a = json_array();
        for (int i = 0; i < np; i++) {
            char page[32];
            snprintf(page, sizeof(page), "/pages/%d", i);
            json_t *d = dim ? json_pack("{s:s}", "page", page) : json_object();
            json_array_append_new(a, json_pack("{s:s,s:f,s:o,s:i,s:b}", "timestamp",
                                               "2026-12-06T21:00:00.000Z", "value", 12345.0 + i,
                                               "dimensions", d, "revision", 3, "final", 1));
        }
        f.parts[b] = (gql_bc_part){
            .start = (h0 + b) * H, .end = (h0 + b + 1) * H, .points = a, .closed = true};
    }
    return f;
}

/* The bound is in real bytes: what the cache counts for 24,000 points is what the heap grew by
 * (within 10 %), with and without a dimension; before, 200 bytes a point counted ~1/5 of it. */
static void test_bytes_are_heap_bytes(void)
{
    for (int dim = 0; dim <= 1; dim++) {
        gql_bcache *c = cache((size_t)1 << 30);
        size_t before = heap_used();
        gql_bc_fill f = series_fill(0, 120, 200, dim);
        gql_bc_key k = key(dim ? "dim" : "nodim", false);
        gql_bcache_insert(c, &k, ticket_of(c), &f, 60, 0);
        fill_free(&f); /* the cache holds the only references now */
        size_t grown = heap_used() - before;
        gql_bcache_stats st;
        gql_bcache_stats_get(c, &st);
        printf("# %s: counted %zu bytes, heap grew %zu (%.0f / %.0f bytes a point)\n",
               dim ? "one dimension" : "no dimension", st.bytes, grown, st.bytes / 24000.0,
               grown / 24000.0);
        gql_bc_view v;
        gql_bcache_lookup(c, &k, 0, 120 * H - 1, 0, &v);
        EA_CHECK(v.nparts == 120 && v.ngaps == 0);
        gql_bc_view_free(&v);
        EA_CHECK(st.bytes >= 24000u * (dim ? 1100u : 950u)); /* the model, in any build */
        if (HEAP_MEASURED) {
            EA_CHECK(st.bytes * 10 >= grown * 9);
            EA_CHECK(st.bytes * 10 <= grown * 11);
        }
        gql_bcache_free(c);
    }
}

/* Many series under an 8 MB bound: the heap grows by at most the bound (+10 %), however many
 * series arrive (40 keys of ~2.3 MB each; before, the cache kept all of them: ~90 MB). */
static void test_bound_is_heap_bound(void)
{
    size_t bound = (size_t)8 << 20;
    size_t before = heap_used();
    gql_bcache *c = cache(bound);
    for (int i = 0; i < 40; i++) {
        gql_bc_fill f = series_fill(0, 10, 200, true);
        char name[32];
        snprintf(name, sizeof(name), "series-%d", i);
        gql_bc_key k = key(name, false);
        gql_bcache_insert(c, &k, ticket_of(c), &f, 60, 0);
        fill_free(&f);
    }
    size_t grown = heap_used() - before;
    gql_bcache_stats st;
    gql_bcache_stats_get(c, &st);
    printf("# bound %zu: counted %zu, heap grew %zu, %zu keys kept\n", bound, st.bytes, grown,
           st.keys);
    EA_CHECK(st.bytes <= bound);
    EA_CHECK(st.keys >= 1 && st.keys < 40 && st.evictions > 0);
    if (HEAP_MEASURED)
        EA_CHECK(grown <= bound + bound / 10);
    gql_bcache_free(c);
}

EA_TEST_MAIN(EA_TEST(test_lookup_insert_cut), EA_TEST(test_follows_granularity),
             EA_TEST(test_ticket), EA_TEST(test_lifetimes_and_feed), EA_TEST(test_size_bound),
             EA_TEST(test_key_bytes_bound), EA_TEST(test_bytes_are_heap_bytes),
             EA_TEST(test_bound_is_heap_bound))
