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
#include "ea_rollup_feed.h"

#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#define FEED_TIMEOUT_MS 500

struct wk_feed {
    const wk_config *cfg;
    wk_stats *stats;
    ea_redis *rc;
    int64_t retry_at_ms;
    long backoff_ms;
    ea_buf msg;
};

wk_feed *wk_feed_new(const wk_config *cfg, wk_stats *stats)
{
    wk_feed *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->cfg = cfg;
    f->stats = stats;
    f->backoff_ms = 500;
    ea_buf_init(&f->msg, EA_REDIS_VALUE_MAX); /* an alert: a few hundred bytes */
    return f;
}

void wk_feed_free(wk_feed *f)
{
    if (f == NULL)
        return;
    ea_redis_free(f->rc);
    ea_buf_free(&f->msg);
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
        ea_log_warn("redis", "%s", err.message);
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

/* One message to PUBLISH on the change channel (an ea_rollup_feed_fn). */
static bool publish_change(void *ctx, const char *tenant, const char *msg, size_t len)
{
    wk_feed *f = ctx;
    struct ea_err err = {0};
    if (ea_redis_publish(&f->rc, &f->cfg->redis, FEED_TIMEOUT_MS, f->cfg->changes_channel, msg, len,
                         NULL, &err) == EA_OK)
        return true;
    wk_stats_inc_publish_error(f->stats);
    unready(f, err.message);
    ea_log_warn(tenant, "tenant %s: %s", tenant, err.message);
    return !conn_lost(f); /* connection lost: the rest would fail too */
}

void wk_feed_publish(void *ctx, const ea_rollup_change *changes, size_t n)
{
    wk_feed *f = ctx;
    if (!ensure_conn(f)) {
        wk_stats_inc_publish_error(f->stats);
        return;
    }
    /* lib/rollup's format, one message per tenant; a message that could not be formatted is a
     * lost invalidation like a failed PUBLISH */
    size_t lost =
        ea_rollup_feed_each(changes, n, (size_t)f->cfg->changes_max_per_message, publish_change, f);
    for (size_t i = 0; i < lost; i++)
        wk_stats_inc_publish_error(f->stats);
}

void wk_feed_publish_alerts(void *ctx, const wk_alert_fired *fired, size_t n)
{
    wk_feed *f = ctx;
    if (!ensure_conn(f)) {
        wk_stats_inc_publish_error(f->stats);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ea_buf_reset(&f->msg);
        wk_alert_format(&f->msg, &fired[i]);
        if (!ea_buf_ok(&f->msg)) {
            wk_stats_inc_publish_error(f->stats);
            continue;
        }
        struct ea_err err = {0};
        if (!publish(f, f->cfg->alerts_channel, &err)) {
            /* alert_events keeps the record: a lost push is seen in the alert history */
            char subj[EA_LOG_SUBJECT_MAX];
            snprintf(subj, sizeof(subj), "alert-%lld", fired[i].alert_id);
            ea_log_warn(subj, "tenant %s alert %lld: %s", fired[i].tenant, fired[i].alert_id,
                        err.message);
            if (conn_lost(f))
                break;
        }
    }
}
