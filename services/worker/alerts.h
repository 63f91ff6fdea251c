/*
 * alerts.h — the pure part of threshold alerts (SPEC §8): the comparison with a threshold and
 * the ea:alerts message (docs/event-format.md "Alerts"). The value compared is lib/rollup's
 * ea_rollup_value (what graphql-api shows), with empty buckets as 0 for count and sum. Not for:
 * reading alerts or writing alert_events (alertsql.c, in the transaction that closes or restates
 * the bucket) or Redis (changefeed.c).
 */
#ifndef WK_ALERTS_H
#define WK_ALERTS_H

#include "ea_pg_buf.h"
#include "ea_rollup.h"

#include <stdbool.h>
#include <stdint.h>

/* alerts.comparator, in the order of the CHECK constraint of migration 0005. */
typedef enum { WK_CMP_GT, WK_CMP_GTE, WK_CMP_LT, WK_CMP_LTE, WK_CMP_EQ, WK_CMP_NEQ } wk_cmp;

/* Parses "GT".."NEQ"; false for anything else (the row is then skipped, never fired). */
bool wk_alert_cmp_parse(const char *s, wk_cmp *out);

/* value <cmp> threshold. NaN never fires. */
bool wk_alert_compare(wk_cmp c, double value, double threshold);

/* The value an alert compares for a bucket: lib/rollup's ea_rollup_value (what a chart shows),
 * except that a bucket without any matching row is 0 for count and sum — no events: nothing
 * counted, nothing summed — so "below N" and "= 0" fire when traffic stops. min, max, avg and
 * unique of nothing have no value (false: never compared). */
bool wk_alert_value(ea_catalog_agg a, const ea_rollup_sums *s, double *value);

/* One alert_events row inserted by the closer; strings owned by the caller. */
typedef struct wk_alert_fired {
    const char *tenant, *name, *metric;
    long long alert_id;
    const char *dims_json;   /* the alert's filter as jsonb text (valid JSON) */
    const char *granularity; /* "HOUR" or "DAY" */
    double value;
    int64_t bucket_ms;
} wk_alert_fired;

/* Appends the ea:alerts message for f to out (the shape graphql-api's ws.c reads). */
void wk_alert_format(ea_buf *out, const wk_alert_fired *f);

#endif
