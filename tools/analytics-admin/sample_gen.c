/*
 * sample_gen.c — the demo tenant's sample traffic, one UTC day at a time (see sample_gen.h).
 * Everything is drawn from one splitmix64 stream seeded by (tenant, day), consumed the same way
 * whatever until_ms is, so a day's events and ids are stable: a partial "today" loaded in the
 * morning and again in the evening shares its morning events (and the worker counts them once).
 */
#include "sample_gen.h"
#include "ea_time.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define HOUR_MS 3600000LL
#define BASE_VIEWS_PER_DAY 2600.0
#define MAX_PER_HOUR 4096 /* far above the busiest hour (about 450 events) */

typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct {
    const char *value;
    double weight;
} choice;

static const char *pick(rng *r, const choice *c, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += c[i].weight;
    double x = rng_unit(r) * total;
    for (size_t i = 0; i < n; i++) {
        if (x < c[i].weight)
            return c[i].value;
        x -= c[i].weight;
    }
    return c[n - 1].value;
}

#define PICK(r, table) pick((r), (table), sizeof(table) / sizeof((table)[0]))

/* about Zipf: the home page, pricing and the docs take most views */
static const choice pages[] = {
    {"/", 220},
    {"/pricing", 120},
    {"/docs", 95},
    {"/docs/getting-started", 70},
    {"/docs/api", 52},
    {"/blog", 44},
    {"/blog/exactly-once-counting", 38},
    {"/blog/launch-week", 30},
    {"/features", 34},
    {"/features/dashboards", 24},
    {"/features/alerts", 20},
    {"/integrations", 22},
    {"/customers", 18},
    {"/changelog", 16},
    {"/signup", 26},
    {"/login", 30},
    {"/about", 10},
    {"/careers", 7},
    {"/contact", 8},
    {"/security", 6},
};

static const choice countries[] = {
    {"US", 34}, {"DE", 12}, {"GB", 11}, {"IN", 10}, {"BR", 7},
    {"FR", 7},  {"JP", 6},  {"CA", 7},  {"AU", 6},
};

static const choice devices[] = {{"desktop", 62}, {"mobile", 33}, {"tablet", 5}};

static const choice referrers[] = {{"google", 38}, {"direct", 30},    {"github", 9},
                                   {"twitter", 8}, {"newsletter", 7}, {"hackernews", 8}};

static const choice signup_plans[] = {{"free", 70}, {"pro", 22}, {"team", 8}};
static const choice paid_plans[] = {{"pro", 72}, {"team", 28}};

static const adm_sample_metric metrics[] = {
    {"page_views_by_country", "page_view", "count", NULL, "{country,device}",
     "page views by country and device"},
    {"visitors", "page_view", "unique", "visitor_id", "{}", "distinct visitors"},
    {"signups", "signup", "count", NULL, "{plan,country}", "signups by plan and country"},
    {"revenue", "purchase", "sum", "amount", "{currency,plan}",
     "purchase amounts by currency and plan"},
    {"order_value", "purchase", "avg", "amount", "{currency}", "average purchase by currency"},
};

const adm_sample_metric *adm_sample_metrics(size_t *n)
{
    *n = sizeof(metrics) / sizeof(metrics[0]);
    return metrics;
}

void adm_sample_id_prefix(const char *tenant, char out[96])
{
    snprintf(out, 96, "smp-%.63s-", tenant);
}

/* The currency of a purchase follows the buyer's country. */
static const char *currency_of(const char *country)
{
    if (strcmp(country, "DE") == 0 || strcmp(country, "FR") == 0)
        return "EUR";
    if (strcmp(country, "GB") == 0)
        return "GBP";
    return "USD";
}

/* Monthly list prices, in whole units of the currency; annual billing is ten months. */
static int price_of(const char *plan, const char *currency)
{
    bool team = strcmp(plan, "team") == 0;
    if (strcmp(currency, "EUR") == 0)
        return team ? 92 : 27;
    if (strcmp(currency, "GBP") == 0)
        return team ? 79 : 23;
    return team ? 99 : 29;
}

/* Relative traffic of hour h (UTC): a European/US afternoon peak and a US evening shoulder. */
static double hour_weight(int h)
{
    double a = (h - 14.5) / 3.8, b = (h - 20.0) / 2.5;
    return 0.16 + exp(-0.5 * a * a) + 0.35 * exp(-0.5 * b * b);
}

/* Sunday .. Saturday */
static const double weekday_factor[7] = {0.55, 1.0, 1.06, 1.04, 1.0, 0.9, 0.6};

static uint64_t seed_of(const char *tenant, int64_t day)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)tenant; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h ^ ((uint64_t)day * 0x9E3779B97F4A7C15ULL);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int adm_sample_day(const char *tenant, int64_t day_ms, int64_t until_ms, adm_sample_fn fn,
                   void *ctx)
{
    int64_t day = day_ms / DAY_MS;
    rng r = {seed_of(tenant, day)};
    int weekday = (int)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    /* a slow wave over the weeks and a little noise per day */
    double views = BASE_VIEWS_PER_DAY * weekday_factor[weekday] *
                   (1.0 + 0.12 * sin((double)day / 23.0)) * (0.92 + 0.16 * rng_unit(&r));
    double wsum = 0;
    for (int h = 0; h < 24; h++)
        wsum += hour_weight(h);
    char ymd[16], stamp[48], prefix[96];
    ea_time_format_iso8601(day_ms, stamp);
    snprintf(ymd, sizeof(ymd), "%.4s%.2s%.2s", stamp, stamp + 5, stamp + 8);
    adm_sample_id_prefix(tenant, prefix);
    int64_t offs[MAX_PER_HOUR];
    unsigned seq = 0;
    for (int h = 0; h < 24; h++) {
        int n = (int)lround(views * hour_weight(h) / wsum * (0.9 + 0.2 * rng_unit(&r)));
        if (n > MAX_PER_HOUR)
            n = MAX_PER_HOUR;
        for (int i = 0; i < n; i++)
            offs[i] = (int64_t)(rng_unit(&r) * (double)HOUR_MS);
        qsort(offs, (size_t)n, sizeof(offs[0]), cmp_i64);
        for (int i = 0; i < n; i++) {
            adm_sample_event ev;
            ev.ts_ms = day_ms + h * HOUR_MS + offs[i];
            /* every draw below happens whether or not the event is passed on */
            double kind = rng_unit(&r);
            const char *country = PICK(&r, countries), *device = PICK(&r, devices);
            const char *ref = PICK(&r, referrers);
            unsigned visitor = (unsigned)(pow(rng_unit(&r), 1.6) * 6000.0);
            const char *page = PICK(&r, pages), *plan_s = PICK(&r, signup_plans);
            const char *plan_p = PICK(&r, paid_plans);
            bool annual = rng_unit(&r) < 0.2;
            char ts[48], head[200];
            ea_time_format_iso8601(ev.ts_ms, ts);
            seq++;
            if (ev.ts_ms >= until_ms)
                continue;
            snprintf(head, sizeof(head), "\"event_id\":\"%s%s-%06u\",\"timestamp\":\"%s\"", prefix,
                     ymd, seq, ts);
            if (kind < 0.984)
                snprintf(ev.json, sizeof(ev.json),
                         "{\"event\":\"page_view\",%s,\"page\":\"%s\",\"country\":\"%s\","
                         "\"device\":\"%s\",\"referrer\":\"%s\",\"visitor_id\":\"v%05u\"}",
                         head, page, country, device, ref, visitor);
            else if (kind < 0.9955)
                snprintf(ev.json, sizeof(ev.json),
                         "{\"event\":\"signup\",%s,\"plan\":\"%s\",\"country\":\"%s\","
                         "\"device\":\"%s\",\"source\":\"%s\",\"visitor_id\":\"v%05u\"}",
                         head, plan_s, country, device, ref, visitor);
            else {
                const char *cur = currency_of(country);
                int price = price_of(plan_p, cur) * (annual ? 10 : 1);
                snprintf(ev.json, sizeof(ev.json),
                         "{\"event\":\"purchase\",%s,\"plan\":\"%s\",\"billing\":\"%s\","
                         "\"amount\":%d.00,\"currency\":\"%s\",\"country\":\"%s\","
                         "\"visitor_id\":\"v%05u\"}",
                         head, plan_p, annual ? "annual" : "monthly", price, cur, country, visitor);
            }
            int rc = fn(ctx, &ev);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static int count_one(void *ctx, const adm_sample_event *ev)
{
    (void)ev;
    ++*(size_t *)ctx;
    return 0;
}

size_t adm_sample_day_count(const char *tenant, int64_t day_ms, int64_t until_ms)
{
    size_t n = 0;
    (void)adm_sample_day(tenant, day_ms, until_ms, count_one, &n);
    return n;
}
