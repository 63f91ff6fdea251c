/*
 * test_sample_gen.c — unit tests of tools/analytics-admin/sample_gen.c, the demo tenant's sample
 * traffic: every event is valid JSON with the fields the dashboard's metrics need, in time order,
 * inside its day, with unique ids that do not depend on when the sample is loaded (idempotent
 * loading), and the volumes have the promised daily and weekly rhythm.
 */
#include "../ea_test.h"
#include "sample_gen.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
/* 2026-05-13, a Wednesday; 2026-05-16 a Saturday */
#define WED (20586LL * DAY_MS)
#define SAT (20589LL * DAY_MS)

struct collect {
    int64_t day, last_ts;
    size_t n, views, signups, purchases, bad;
    size_t per_hour[24];
    char (*ids)[96];
    size_t cap;
};

static int collect(void *ctx, const adm_sample_event *ev)
{
    struct collect *c = ctx;
    json_error_t je;
    json_t *o = json_loads(ev->json, 0, &je);
    const char *name = json_string_value(json_object_get(o, "event"));
    const char *id = json_string_value(json_object_get(o, "event_id"));
    const char *ts = json_string_value(json_object_get(o, "timestamp"));
    if (o == NULL || name == NULL || id == NULL || ts == NULL || ev->ts_ms < c->last_ts ||
        ev->ts_ms < c->day || ev->ts_ms >= c->day + DAY_MS ||
        !json_is_string(json_object_get(o, "country")) ||
        !json_is_string(json_object_get(o, "visitor_id")))
        c->bad++;
    c->last_ts = ev->ts_ms;
    if (name != NULL && strcmp(name, "page_view") == 0) {
        c->views++;
        if (!json_is_string(json_object_get(o, "page")) ||
            !json_is_string(json_object_get(o, "device")))
            c->bad++;
    } else if (name != NULL && strcmp(name, "signup") == 0) {
        c->signups++;
        const char *plan = json_string_value(json_object_get(o, "plan"));
        if (plan == NULL || (strcmp(plan, "free") && strcmp(plan, "pro") && strcmp(plan, "team")))
            c->bad++;
    } else if (name != NULL && strcmp(name, "purchase") == 0) {
        c->purchases++;
        const char *cur = json_string_value(json_object_get(o, "currency"));
        const char *country = json_string_value(json_object_get(o, "country"));
        json_t *amount = json_object_get(o, "amount");
        if (!json_is_number(amount) || json_number_value(amount) <= 0 || cur == NULL ||
            country == NULL)
            c->bad++;
        /* the currency follows the country */
        else if ((strcmp(country, "GB") == 0) != (strcmp(cur, "GBP") == 0) ||
                 ((strcmp(country, "DE") == 0 || strcmp(country, "FR") == 0) !=
                  (strcmp(cur, "EUR") == 0)))
            c->bad++;
    } else {
        c->bad++;
    }
    if (c->n < c->cap && id != NULL)
        snprintf(c->ids[c->n], 96, "%s", id);
    c->per_hour[(ev->ts_ms - c->day) / HOUR_MS]++;
    c->n++;
    json_decref(o);
    return 0;
}

static struct collect run(int64_t day, int64_t until, size_t cap)
{
    struct collect c = {0};
    c.day = day;
    c.cap = cap;
    c.ids = calloc(cap, sizeof(*c.ids));
    EA_CHECK(adm_sample_day("acme-corp", day, until, collect, &c) == 0);
    return c;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_day_is_valid_and_realistic(void)
{
    struct collect c = run(WED, WED + DAY_MS, 10000);
    EA_CHECK(c.bad == 0);
    EA_CHECK(c.n > 1500 && c.n < 5000);
    EA_CHECK(c.signups > 5 && c.signups < 100);
    EA_CHECK(c.purchases > 1 && c.purchases < 50);
    EA_CHECK(c.views > 20 * c.signups);
    /* daily rhythm: the afternoon (UTC) is far busier than the night */
    EA_CHECK(c.per_hour[15] > 3 * c.per_hour[3]);
    /* every id unique, with the documented prefix and the day */
    qsort(c.ids, c.n, sizeof(*c.ids), cmp_id);
    size_t dup = 0;
    for (size_t i = 1; i < c.n; i++)
        dup += strcmp(c.ids[i - 1], c.ids[i]) == 0;
    EA_CHECK(dup == 0);
    EA_CHECK(strncmp(c.ids[0], "smp-acme-corp-20260513-", 23) == 0);
    EA_CHECK(adm_sample_day_count("acme-corp", WED, WED + DAY_MS) == c.n);
    free(c.ids);
}

static void test_weekly_rhythm(void)
{
    size_t wed = adm_sample_day_count("acme-corp", WED, WED + DAY_MS);
    size_t sat = adm_sample_day_count("acme-corp", SAT, SAT + DAY_MS);
    EA_CHECK(sat * 10 < wed * 8); /* weekends are quieter */
}

static void test_stable_ids_whatever_the_load_time(void)
{
    /* loading at noon gives a prefix of the whole day, with the same ids */
    struct collect whole = run(WED, WED + DAY_MS, 10000);
    struct collect noon = run(WED, WED + 12 * HOUR_MS, 10000);
    EA_CHECK(noon.n > 0 && noon.n < whole.n);
    size_t same = 0;
    for (size_t i = 0; i < noon.n; i++)
        same += strcmp(noon.ids[i], whole.ids[i]) == 0;
    EA_CHECK(same == noon.n);
    EA_CHECK(noon.last_ts < WED + 12 * HOUR_MS);
    /* deterministic: a second run is identical; another day or tenant differs */
    struct collect again = run(WED, WED + DAY_MS, 10000);
    EA_CHECK(again.n == whole.n && strcmp(again.ids[whole.n - 1], whole.ids[whole.n - 1]) == 0);
    EA_CHECK(adm_sample_day_count("acme-corp", WED + DAY_MS, WED + 2 * DAY_MS) != whole.n ||
             adm_sample_day_count("globex", WED, WED + DAY_MS) != whole.n);
    EA_CHECK(adm_sample_day_count("acme-corp", WED, WED) == 0);
    free(whole.ids);
    free(noon.ids);
    free(again.ids);
}

static int stop_at_3(void *ctx, const adm_sample_event *ev)
{
    (void)ev;
    return ++*(int *)ctx == 3 ? 7 : 0;
}

static void test_callback_stops(void)
{
    int n = 0;
    EA_CHECK(adm_sample_day("acme-corp", WED, WED + DAY_MS, stop_at_3, &n) == 7 && n == 3);
}

static void test_metrics(void)
{
    size_t n;
    const adm_sample_metric *m = adm_sample_metrics(&n);
    EA_CHECK(n >= 3);
    for (size_t i = 0; i < n; i++)
        EA_CHECK((strcmp(m[i].aggregation, "count") == 0) == (m[i].property == NULL));
    char p[96];
    adm_sample_id_prefix("acme-corp", p);
    EA_CHECK_STR(p, "smp-acme-corp-");
}

EA_TEST_MAIN({"day_is_valid_and_realistic", test_day_is_valid_and_realistic},
             {"weekly_rhythm", test_weekly_rhythm},
             {"stable_ids_whatever_the_load_time", test_stable_ids_whatever_the_load_time},
             {"callback_stops", test_callback_stops}, {"metrics", test_metrics})
