/*
 * changefeed.c — the Redis side of the worker. lib/redis blocking calls with a short timeout;
 * called on the consumer thread right after COMMIT, so the timeout bounds how much a slow Redis
 * can delay the next batch (never the correctness of this one).
 */
#include "changefeed.h"
#include "alerts.h"
#include "ea_log.h"
#include "ea_redis.h"
#include "ea_time.h"
#include "ea_pg_buf.h"

#include <stdlib.h>
#include <string.h>

#define FEED_TIMEOUT_MS 500

struct wk_feed {
    const wk_config *cfg;
    wk_stats *stats;
    ea_redis *rc;
    int64_t retry_at_ms;
    long backoff_ms;
    ea_pg_buf msg;
    const wk_change **order;
    size_t order_cap;
};

wk_feed *wk_feed_new(const wk_config *cfg, wk_stats *stats)
{
    wk_feed *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->cfg = cfg;
    f->stats = stats;
    f->backoff_ms = 500;
    return f;
}

void wk_feed_free(wk_feed *f)
{
    if (f == NULL)
        return;
    ea_redis_free(f->rc);
    ea_pg_buf_free(&f->msg);
    free(f->order);
    free(f);
}

/* Redis is unusable: /readyz says why. */
static void unready(wk_feed *f, const char *why)
{
    wk_stats_set_unready(f->stats, WK_READY_REDIS, why);
}

static bool ensure_conn(wk_feed *f)
{
    if (f->rc != NULL && !ea_redis_broken(f->rc))
        return true;
    ea_redis_free(f->rc);
    f->rc = NULL;
    int64_t now = ea_time_now_ms();
    if (now < f->retry_at_ms)
        return false;
    struct ea_err err = {0};
    f->rc = ea_redis_connect(&f->cfg->redis, FEED_TIMEOUT_MS, &err);
    if (f->rc == NULL) {
        ea_log_warn("changefeed", "%s", err.message);
        f->retry_at_ms = now + f->backoff_ms;
        f->backoff_ms = f->backoff_ms * 2 > 10000 ? 10000 : f->backoff_ms * 2;
        unready(f, err.message);
        return false;
    }
    f->backoff_ms = 500;
    wk_stats_set_ready(f->stats, WK_READY_REDIS, true);
    return true;
}

void wk_feed_check(wk_feed *f)
{
    if (!ensure_conn(f))
        return;
    struct ea_err err = {0};
    redisReply *r = ea_redis_command(f->rc, "ping", &err, "PING");
    if (r == NULL) {
        unready(f, err.message);
        return;
    }
    freeReplyObject(r);
    wk_stats_set_ready(f->stats, WK_READY_REDIS, true);
}

/* PUBLISH on the feed's connection (lib/redis: once more on a new connection when Redis had
 * closed this one, e.g. after a restart). False with err filled on failure. */
static bool publish(wk_feed *f, const char *channel, struct ea_err *err)
{
    if (ea_redis_publish(&f->rc, &f->cfg->redis, FEED_TIMEOUT_MS, channel, f->msg.p, f->msg.len,
                         NULL, err) == EA_OK)
        return true;
    wk_stats_inc_publish_error(f->stats);
    unready(f, err->message);
    return false;
}

/* After a failed publish: true when the connection is gone (the rest would fail too). */
static bool conn_lost(const wk_feed *f)
{
    return f->rc == NULL || ea_redis_broken(f->rc);
}

static void format_list(ea_pg_buf *out, const wk_change *changes, size_t n, bool closed)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const wk_change *c = &changes[i];
        if (c->closed != closed)
            continue;
        char t[48];
        ea_time_format_iso8601(c->bucket_ms, t);
        if (!first)
            ea_pg_buf_putc(out, ',');
        first = false;
        ea_pg_buf_puts(out, "{\"metric\":");
        ea_pg_buf_json_string(out, c->metric, strlen(c->metric));
        ea_pg_buf_printf(out, ",\"granularity\":\"%s\",\"bucket\":\"%s\"", wk_gran_name(c->gran),
                         t);
        if (closed) {
            ea_pg_buf_putc(out, '}');
            continue;
        }
        ea_pg_buf_puts(out, ",\"dims\":");
        ea_pg_buf_puts(out, c->dims_json); /* jsonb text from PostgreSQL: valid JSON */
        ea_pg_buf_printf(out, ",\"revision\":%d}", c->revision);
    }
}

void wk_feed_format(ea_pg_buf *out, const char *tenant, const wk_change *changes, size_t n)
{
    bool any_closed = false;
    for (size_t i = 0; i < n && !any_closed; i++)
        any_closed = changes[i].closed;
    ea_pg_buf_puts(out, "{\"tenant\":");
    ea_pg_buf_json_string(out, tenant, strlen(tenant));
    /* "changes" is always present (readers written before "closed" require it) */
    ea_pg_buf_puts(out, ",\"changes\":[");
    format_list(out, changes, n, false);
    ea_pg_buf_putc(out, ']');
    if (any_closed) {
        ea_pg_buf_puts(out, ",\"closed\":[");
        format_list(out, changes, n, true);
        ea_pg_buf_putc(out, ']');
    }
    ea_pg_buf_putc(out, '}');
}

static int by_tenant(const void *x, const void *y)
{
    const wk_change *a = *(const wk_change *const *)x, *b = *(const wk_change *const *)y;
    int c = strcmp(a->tenant, b->tenant);
    if (c != 0)
        return c;
    return a < b ? -1 : a > b; /* stable: keep the commit's order inside a tenant */
}

void wk_feed_publish(void *ctx, const wk_change *changes, size_t n)
{
    wk_feed *f = ctx;
    if (!ensure_conn(f)) {
        wk_stats_inc_publish_error(f->stats);
        return;
    }
    if (n > f->order_cap) {
        /* an array of pointers: sizeof a pointer is meant */
        const wk_change **no =
            realloc(f->order, n * sizeof(*no)); // NOLINT(bugprone-sizeof-expression)
        if (no == NULL) {
            wk_stats_inc_publish_error(f->stats);
            return;
        }
        f->order = no;
        f->order_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        f->order[i] = &changes[i];
    qsort(f->order, n, sizeof(*f->order), by_tenant); // NOLINT(bugprone-sizeof-expression)
    wk_change *run = malloc(sizeof(*run) * (size_t)f->cfg->changes_max_per_message);
    if (run == NULL) {
        wk_stats_inc_publish_error(f->stats);
        return;
    }
    size_t i = 0;
    while (i < n) {
        size_t k = 0;
        const char *tenant = f->order[i]->tenant;
        while (i < n && k < (size_t)f->cfg->changes_max_per_message &&
               strcmp(f->order[i]->tenant, tenant) == 0)
            run[k++] = *f->order[i++];
        ea_pg_buf_reset(&f->msg);
        wk_feed_format(&f->msg, tenant, run, k);
        if (f->msg.oom) {
            wk_stats_inc_publish_error(f->stats);
            continue;
        }
        struct ea_err err = {0};
        if (!publish(f, f->cfg->changes_channel, &err)) {
            ea_log_warn("changefeed", "tenant %s: %s", tenant, err.message);
            if (conn_lost(f))
                break; /* the rest would fail too */
        }
    }
    free(run);
}

void wk_feed_publish_alerts(void *ctx, const wk_alert_fired *fired, size_t n)
{
    wk_feed *f = ctx;
    if (!ensure_conn(f)) {
        wk_stats_inc_publish_error(f->stats);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ea_pg_buf_reset(&f->msg);
        wk_alert_format(&f->msg, &fired[i]);
        if (f->msg.oom) {
            wk_stats_inc_publish_error(f->stats);
            continue;
        }
        struct ea_err err = {0};
        if (!publish(f, f->cfg->alerts_channel, &err)) {
            /* alert_events keeps the record: a lost push is seen in the alert history */
            ea_log_warn("changefeed", "tenant %s alert %lld: %s", fired[i].tenant,
                        fired[i].alert_id, err.message);
            if (conn_lost(f))
                break;
        }
    }
}
