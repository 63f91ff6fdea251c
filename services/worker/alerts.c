/*
 * alerts.c — threshold comparison and the alert message (see alerts.h). Pure functions, so the
 * comparison rules are unit-tested without a database.
 */
#include "alerts.h"
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

bool wk_alert_value(ea_catalog_agg a, const ea_rollup_sums *s, double *value)
{
    if (s->rows == 0 && (a == EA_CATALOG_AGG_COUNT || a == EA_CATALOG_AGG_SUM)) {
        *value = 0;
        return true;
    }
    return ea_rollup_value(a, s, value);
}

void wk_alert_format(ea_buf *out, const wk_alert_fired *f)
{
    char t[48];
    ea_time_format_iso8601(f->bucket_ms, t);
    ea_buf_puts(out, "{\"tenant\":");
    ea_buf_json_string(out, f->tenant, strlen(f->tenant));
    ea_buf_printf(out, ",\"alert\":{\"id\":%lld,\"name\":", f->alert_id);
    ea_buf_json_string(out, f->name, strlen(f->name));
    ea_buf_puts(out, ",\"metric\":");
    ea_buf_json_string(out, f->metric, strlen(f->metric));
    ea_buf_puts(out, "},\"value\":");
    ea_pg_buf_json_number(out, f->value);
    ea_buf_puts(out, ",\"dims\":");
    ea_buf_puts(out, f->dims_json); /* jsonb text from PostgreSQL: valid JSON */
    ea_buf_printf(out, ",\"granularity\":\"%s\",\"bucket\":\"%s\"}", f->granularity, t);
}
