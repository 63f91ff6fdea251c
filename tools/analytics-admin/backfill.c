/*
 * backfill.c — `analytics-admin backfill --tenant T --metric M --from X --to Y` (SPEC §9): the
 * command-line adapter over lib/rollup's recomputation (ea_rollup_backfill.h, where the
 * invariants are written): parses the range into whole UTC days, recomputes them one by one
 * with a progress line per day, and after each day's COMMIT announces the hour and day rows it
 * inserted, updated or deleted on the worker's change feed (REDIS_URL, CHANGES_CHANNEL,
 * format ea_rollup_feed.h) so graphql-api stops serving cached answers of the metric and live
 * subscriptions re-read those buckets. Publishing is best effort like the worker's: a failure
 * is reported at the end, with what it means. Not for: how a row is computed or written.
 */
#include "admin.h"

#include "ea_catalog.h"
#include "ea_pg.h"
#include "ea_redis.h"
#include "ea_rollup_backfill.h"
#include "ea_rollup_feed.h"
#include "ea_time.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: analytics-admin backfill --tenant T --metric M --from TIME --to TIME\n"
    "\n"
    "Recomputes the 15-minute, hourly and daily rollups of metric M of tenant T from raw events\n"
    "in the whole UTC days covering [from, to) (TIME: 2026-11-01 or 2026-11-01T06:00:00Z).\n"
    "A metric without a definition is the automatic count of the events named M. Exact and\n"
    "idempotent: running it twice changes nothing. Refuses ranges older than raw-event\n"
    "retention (partition_classes). Prints one progress line per day.\n";

#define FEED_TIMEOUT_MS 500

static bool parse_time(const char *s, int64_t *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n == 10) { /* a bare date means its UTC midnight */
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
        s = buf;
        n = strlen(buf);
    }
    return ea_time_parse_iso8601(s, n, out);
}

/* The change feed: one Redis connection (lib/redis: reconnect-once on publish), publish
 * failures counted. */
struct feed {
    const struct adm_cfg *cfg;
    ea_redis_url url;
    bool url_ok;
    ea_redis *rc;
    unsigned long long failed;
    char why[sizeof(((struct ea_err *)0)->message)];
};

static bool publish_one(void *ctx, const char *tenant, const char *msg, size_t len)
{
    struct feed *f = ctx;
    (void)tenant;
    struct ea_err err = {0};
    if (ea_redis_publish(&f->rc, &f->url, FEED_TIMEOUT_MS, f->cfg->changes_channel, msg, len, NULL,
                         &err) == EA_OK)
        return true;
    f->failed++;
    snprintf(f->why, sizeof(f->why), "%s", err.message);
    return f->rc != NULL && !ea_redis_broken(f->rc); /* connection lost: the rest would fail */
}

static void publish(struct feed *f, const ea_rollup_changes *ch)
{
    if (ch->n == 0)
        return;
    if (!f->url_ok) {
        f->failed++;
        return;
    }
    if (f->rc == NULL || ea_redis_broken(f->rc)) {
        ea_redis_free(f->rc);
        struct ea_err err = {0};
        f->rc = ea_redis_connect(&f->url, FEED_TIMEOUT_MS, &err);
        if (f->rc == NULL) {
            f->failed++;
            snprintf(f->why, sizeof(f->why), "%s", err.message);
            return;
        }
    }
    f->failed += ea_rollup_feed_each(ch->v, ch->n, (size_t)f->cfg->changes_max, publish_one, f);
}

int adm_cmd_backfill(const struct adm_cfg *cfg, int argc, char **argv)
{
    const char *tenant = NULL, *metric = NULL, *from = NULL, *to = NULL;
    size_t npos;
    struct adm_opt opts[] = {
        {"tenant", &tenant}, {"metric", &metric}, {"from", &from}, {"to", &to}};
    int prc = adm_opts_parse(argc, argv, opts, 4, NULL, 0, &npos, usage);
    if (prc != ADM_EXIT_OK)
        return prc == ADM_HELP_SHOWN ? ADM_EXIT_OK : prc;
    if (tenant == NULL || metric == NULL || from == NULL || to == NULL)
        return adm_usage_error(usage, "--tenant, --metric, --from and --to are required");
    if (!ea_catalog_tenant_id_valid(tenant))
        return adm_usage_error(usage, "invalid tenant id \"%s\"", tenant);
    if (!ea_catalog_text_valid(metric, EA_CATALOG_EVENT_MAX + EA_CATALOG_EVENT_SUFFIX_LEN))
        return adm_usage_error(usage, "invalid metric name");
    int64_t from_ms, to_ms;
    if (!parse_time(from, &from_ms))
        return adm_usage_error(usage, "invalid --from \"%s\" (ISO-8601, e.g. 2026-11-01)", from);
    if (!parse_time(to, &to_ms))
        return adm_usage_error(usage, "invalid --to \"%s\" (ISO-8601, e.g. 2026-11-02)", to);
    if (from_ms >= to_ms)
        return adm_usage_error(usage, "--from must be before --to");
    /* rollups and the cap registry are per UTC day: recompute whole days */
    int64_t from_day = ea_time_floor_day(from_ms);
    int64_t to_day = ea_time_floor_day(to_ms - 1) + EA_MS_PER_DAY;
    long ndays = (long)((to_day - from_day) / EA_MS_PER_DAY);

    PGconn *c = adm_connect(cfg);
    if (c == NULL)
        return ADM_EXIT_FAIL;
    struct ea_err err = {0};
    int exit_code = ADM_EXIT_FAIL;
    struct feed feed = {.cfg = cfg};
    feed.url_ok = ea_redis_url_parse(cfg->redis_url, cfg->redis_ca_file, &feed.url, &err) == EA_OK;
    if (!feed.url_ok)
        snprintf(feed.why, sizeof(feed.why), "%s", err.message);
    ea_err_clear(&err);
    ea_arena *a = ea_arena_new(1 << 16);
    ea_rollup_changes ch = {.a = a};
    ea_rollup_target t = {0};
    if (a == NULL) {
        ea_err_set(&err, EA_ERR_NOMEM, "could not backfill: out of memory");
        adm_fail(&err);
        goto out;
    }
    if (ea_catalog_tenant_require(c, tenant, "backfill", &err) != EA_OK ||
        ea_rollup_backfill_check_range(c, from_day, to_day, &err) != EA_OK ||
        ea_rollup_target_load(c, tenant, metric, &t, &err) != EA_OK) {
        adm_fail(&err);
        goto out;
    }
    char f[48], tt[48];
    ea_time_format_iso8601(from_day, f);
    ea_time_format_iso8601(to_day, tt);
    printf("backfill %s/%s (%s of events \"%s\"): UTC days %.10s .. %.10s (%ld)\n", tenant, metric,
           t.automatic ? "automatic count" : "definition", t.event, f, tt, ndays);
    fflush(stdout);
    ea_rollup_backfill_stats total = {0};
    for (long i = 0; i < ndays; i++) {
        int64_t day = from_day + i * EA_MS_PER_DAY;
        ea_rollup_backfill_stats st = {0};
        char d[48];
        ea_time_format_iso8601(day, d);
        ea_rollup_changes_clear(&ch);
        ea_arena_reset(a);
        if (ea_rollup_backfill_day(c, &t, day, &st, &ch, &err) != EA_OK) {
            fprintf(stderr, "backfill stopped at %.10s (days before it are complete)\n", d);
            adm_fail(&err);
            goto out;
        }
        publish(&feed, &ch); /* after COMMIT, never before */
        long long unchanged = st.rows.rows - st.rows.inserted - st.rows.updated;
        printf("  [%ld/%ld] %.10s: %lld events -> %lld rows (%lld inserted, %lld updated, "
               "%lld unchanged, %lld deleted)\n",
               i + 1, ndays, d, st.events, st.rows.rows, st.rows.inserted, st.rows.updated,
               unchanged, st.rows.deleted);
        fflush(stdout);
        total.events += st.events;
        total.rows.rows += st.rows.rows;
        total.rows.inserted += st.rows.inserted;
        total.rows.updated += st.rows.updated;
        total.rows.deleted += st.rows.deleted;
    }
    printf("backfilled %s/%s: %ld days, %lld events, %lld rows (%lld inserted, %lld updated, "
           "%lld unchanged, %lld deleted)\n",
           tenant, metric, ndays, total.events, total.rows.rows, total.rows.inserted,
           total.rows.updated, total.rows.rows - total.rows.inserted - total.rows.updated,
           total.rows.deleted);
    if (feed.failed > 0)
        fprintf(stderr,
                "warning: %llu change-feed message(s) not published (%s): graphql-api may serve "
                "cached answers of %s for up to CACHE_TTL_DAY_S\n",
                feed.failed, feed.why, metric);
    exit_code = ADM_EXIT_OK;
out:
    ea_redis_free(feed.rc);
    ea_rollup_changes_free(&ch);
    ea_arena_free(a);
    ea_rollup_target_free(&t);
    PQfinish(c);
    return exit_code;
}
