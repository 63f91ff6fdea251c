/*
 * ea_rollup.c — granularities, the aggregation list and the value of a bucket (ea_rollup.h).
 * The value rule lives only here: graphql-api's series and the worker's alerts both call
 * ea_rollup_value, so what an alert compares is what a chart shows.
 */
#include "ea_rollup.h"
#include "ea_hll.h"
#include "ea_rollup_dec.h"

#include <math.h>

#include <string.h>

static const int64_t gran_ms[EA_ROLLUP_GRAN_N] = {15 * 60000, 3600000, 86400000};

const char *ea_rollup_gran_table(ea_rollup_gran g)
{
    static const char *const t[EA_ROLLUP_GRAN_N] = {"rollups_15m", "rollups_hourly",
                                                    "rollups_daily"};
    return t[g];
}

const char *ea_rollup_gran_totals(ea_rollup_gran g)
{
    static const char *const t[EA_ROLLUP_GRAN_N] = {NULL, "rollup_totals_hourly",
                                                    "rollup_totals_daily"};
    return t[g];
}

const char *ea_rollup_gran_name(ea_rollup_gran g)
{
    static const char *const t[EA_ROLLUP_GRAN_N] = {"MINUTE15", "HOUR", "DAY"};
    return t[g];
}

int64_t ea_rollup_gran_ms(ea_rollup_gran g)
{
    return gran_ms[g];
}

int64_t ea_rollup_gran_floor(ea_rollup_gran g, int64_t ms)
{
    int64_t q = gran_ms[g];
    int64_t r = ms % q;
    return r < 0 ? ms - r - q : ms - r;
}

bool ea_rollup_value(ea_catalog_agg a, const ea_rollup_sums *s, double *value)
{
    /* no row: no point for the bucket (a chart shows none, an alert compares nothing) */
    if (s->rows <= 0)
        return false;
    switch (a) {
    case EA_CATALOG_AGG_SUM:
        *value = s->sum != NULL ? ea_dec_text_div(s->sum, 1, EA_ROLLUP_VALUE_DIGITS) : 0;
        return !isnan(*value);
    case EA_CATALOG_AGG_MIN:
    case EA_CATALOG_AGG_MAX: {
        const char *v = a == EA_CATALOG_AGG_MIN ? s->min : s->max;
        if (v == NULL)
            return false;
        *value = ea_dec_text_div(v, 1, EA_ROLLUP_VALUE_DIGITS);
        return !isnan(*value);
    }
    case EA_CATALOG_AGG_AVG:
        if (s->cnt <= 0)
            return false; /* no event carried the property: no value, not 0 */
        *value = ea_dec_text_div(s->sum != NULL ? s->sum : "0", s->cnt, EA_ROLLUP_VALUE_DIGITS);
        return !isnan(*value);
    case EA_CATALOG_AGG_UNIQUE: {
        if (s->hll_hex == NULL)
            return false;
        double est = ea_hll_estimate_hex_list(s->hll_hex);
        if (est < 0)
            return false;
        *value = est;
        return true;
    }
    case EA_CATALOG_AGG_COUNT:
    case EA_CATALOG_AGG_N:
        break;
    }
    *value = (double)s->cnt;
    return true;
}
