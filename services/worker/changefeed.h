/*
 * changefeed.h — publishes which rollup rows a committed batch changed (and the buckets the
 * closer closed) on the Redis pub/sub channel ea:changes, one message per tenant touched, in
 * lib/rollup's format (ea_rollup_feed.h, docs/event-format.md "Change feed"), and one message
 * per fired threshold alert on ea:alerts (wk_feed_publish_alerts).
 * Best effort by design: a failure is logged and counted, the connection is re-made on the next
 * publish (with a back-off), and counting never waits for Redis.
 */
#ifndef WK_CHANGEFEED_H
#define WK_CHANGEFEED_H

#include "closer.h"
#include "stats.h"
#include "worker_config.h"

typedef struct wk_feed wk_feed;

wk_feed *wk_feed_new(const wk_config *cfg, wk_stats *stats);
void wk_feed_free(wk_feed *f);

/* A wk_publish_fn: groups changes by tenant and PUBLISHes. ctx is the wk_feed. */
void wk_feed_publish(void *ctx, const ea_rollup_change *changes, size_t n);

/* A wk_alert_fn: PUBLISHes one message per fired alert on ALERTS_CHANNEL (ea:alerts,
 * docs/event-format.md "Alerts"), best effort like the change feed. ctx is the wk_feed. */
void wk_feed_publish_alerts(void *ctx, const wk_alert_fired *fired, size_t n);

/* PING (connecting when needed); updates the redis readiness flag. */
void wk_feed_check(wk_feed *f);

#endif
