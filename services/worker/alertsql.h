/*
 * alertsql.h — the SQL side of threshold alerts (SPEC §8, sink.c invariant 10): for buckets a
 * transaction closed (the closer) or restated (a batch's late events), read the enabled alerts
 * with the sums of the bucket's rows matching each filter, compute the value (ea_rollup_value,
 * the same as graphql-api's series), compare (alerts.c) and record the ones that fire in
 * alert_events — inside the caller's transaction, so firing commits or rolls back with the
 * close or restatement. Not for: publishing (changefeed.c, after COMMIT).
 */
#ifndef WK_ALERTSQL_H
#define WK_ALERTSQL_H

#include "alerts.h"
#include "ea_pg_params.h"
#include "ea_rollup_write.h"

#include <libpq-fe.h>

/* The alert_events rows one transaction inserted, published after its COMMIT (10). */
typedef struct wk_fired_list {
    wk_alert_fired *v;
    size_t n, cap;
} wk_fired_list;

void wk_fired_free(wk_fired_list *f);

/* Evaluates the enabled alerts of granularity g on buckets[0..n) (tenant, metric, bucket_ms)
 * and inserts the ones that fire into alert_events (ON CONFLICT DO NOTHING: a bucket fires at
 * most once per alert and filter); what was inserted is appended to fired. */
ea_rc wk_alerts_eval(PGconn *c, ea_pg_params *pp, ea_rollup_gran g, const ea_rollup_change *buckets,
                     size_t n, wk_fired_list *fired, struct ea_err *err) EA_WUR;

/* The restated HOUR/DAY rows among changes[0..n) (a batch's late events wrote rows of closed
 * buckets): their buckets are evaluated like the closer's. `fired` is emptied first (what a
 * failed attempt inserted was rolled back). */
ea_rc wk_alerts_eval_restated(PGconn *c, ea_pg_params *pp, const ea_rollup_change *changes,
                              size_t n, wk_fired_list *fired, struct ea_err *err) EA_WUR;

/* At most this many buckets per alert per closer pass (a worker that was down catches up over
 * several passes instead of one long transaction). */
#define WK_ALERT_CLOCK_MAX_BUCKETS 48

/* The clock (migration 0012): for every enabled alert, each whole bucket the group watermark
 * wm_ms has passed since alerts.evaluated_until (from the bucket holding updated_at when NULL),
 * in the alert's zone (local hours or days), summed from the 15-minute rollups whether or not it
 * had events (an empty bucket is 0 for count and sum); the ones that fire go into alert_events
 * and fired; evaluated_until moves past each bucket evaluated. In the closer's transaction. */
ea_rc wk_alerts_eval_clock(PGconn *c, ea_pg_params *pp, int64_t wm_ms, wk_fired_list *fired,
                           struct ea_err *err) EA_WUR;

#endif
