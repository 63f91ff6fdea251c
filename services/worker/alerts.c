/*
 * alerts.c — threshold alert arithmetic and message format (see alerts.h). Pure functions, so
 * the comparison rules and the values are unit-tested without a database; the closer in sink.c
 * feeds them the sums it read in its transaction.
 */
#include "alerts.h"
#include "ea_hll.h"
#include "ea_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool wk_alert_cmp_parse(const char *s, wk_cmp *out)
{
    static const char *const names[] = {"GT", "GTE", "LT", "LTE", "EQ", "NEQ"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (wk_cmp)i;
            return true;
        }
    return false;
}

bool wk_alert_compare(wk_cmp c, double value, double threshold)
{
    /* NEQ is written as !(==) only for numbers: a NaN value must not fire "NEQ" either */
    if (isnan(value) || isnan(threshold))
        return false;
    switch (c) {
    case WK_CMP_GT:
        return value > threshold;
    case WK_CMP_GTE:
        return value >= threshold;
    case WK_CMP_LT:
        return value < threshold;
    case WK_CMP_LTE:
        return value <= threshold;
    case WK_CMP_EQ:
        return value == threshold;
    case WK_CMP_NEQ:
        return value != threshold;
    }
    return false;
}

bool wk_alert_value(const char *aggregation, const wk_alert_agg *a, double *value)
{
    /* no matching row: graphql-api shows no point for the bucket, so there is nothing to
     * compare (and a bucket with no events at all never closes, so "count LT n" could not be
     * evaluated consistently for empty buckets anyway) */
    if (a->rows <= 0)
        return false;
    if (strcmp(aggregation, "sum") == 0) {
        *value = a->sum;
        return true;
    }
    if (strcmp(aggregation, "min") == 0) {
        *value = a->min;
        return a->has_min;
    }
    if (strcmp(aggregation, "max") == 0) {
        *value = a->max;
        return a->has_max;
    }
    if (strcmp(aggregation, "avg") == 0) {
        if (a->cnt == 0)
            return false; /* nullif(Σcnt, 0) in graphql-api: no value, not 0 */
        *value = a->sum / (double)a->cnt;
        return true;
    }
    if (strcmp(aggregation, "unique") == 0) {
        if (a->hll_hex == NULL)
            return false;
        double est = ea_hll_estimate_hex_list(a->hll_hex);
        if (est < 0)
            return false;
        *value = est;
        return true;
    }
    *value = (double)a->cnt;
    return true;
}

void wk_alert_format(ea_pg_buf *out, const wk_alert_fired *f)
{
    char t[48];
    ea_time_format_iso8601(f->bucket_ms, t);
    ea_pg_buf_puts(out, "{\"tenant\":");
    ea_pg_buf_json_string(out, f->tenant, strlen(f->tenant));
    ea_pg_buf_printf(out, ",\"alert\":{\"id\":%lld,\"name\":", f->alert_id);
    ea_pg_buf_json_string(out, f->name, strlen(f->name));
    ea_pg_buf_puts(out, ",\"metric\":");
    ea_pg_buf_json_string(out, f->metric, strlen(f->metric));
    ea_pg_buf_puts(out, "},\"value\":");
    ea_pg_buf_json_number(out, f->value);
    ea_pg_buf_puts(out, ",\"dims\":");
    ea_pg_buf_puts(out, f->dims_json); /* jsonb text from PostgreSQL: valid JSON */
    ea_pg_buf_printf(out, ",\"granularity\":\"%s\",\"bucket\":\"%s\"}", f->granularity, t);
}
