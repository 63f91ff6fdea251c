/*
 * processor.c — aggregation of counted events into rollup rows.
 *
 * What each metric contributes to its row:
 *   automatic count (metric = event name, dims {})     cnt += 1
 *   count                                               cnt += 1
 *   sum | avg | min | max of a numeric property         cnt += 1, sum += v, min/max
 *   unique of a property                                cnt += 1, hll ∪= hash(canonical value)
 * An event without the (numeric) property does not contribute to that metric: avg = sum/cnt
 * stays the mean of the values present. The automatic count's name follows lib/catalog's rule
 * (wk_defs_count_name): the event's name, or "<event> (event)" while a definition holding that
 * name counts something else; a definition named like the event that is its count replaces it.
 */
#include "processor.h"
#include "ea_pg_buf.h"
#include "strmap.h"
#include "watermark.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct wk_agg {
    wk_map map; /* row key -> wk_row* */
    wk_row **rows;
    size_t n, cap;
    bool sorted;
    ea_pg_buf key, dims, val;
};

static const int64_t gran_ms[WK_GRAN_N] = {15 * 60000, 3600000, 86400000};

const char *wk_gran_table(wk_gran g)
{
    static const char *const t[WK_GRAN_N] = {"rollups_15m", "rollups_hourly", "rollups_daily"};
    return t[g];
}

const char *wk_gran_name(wk_gran g)
{
    static const char *const t[WK_GRAN_N] = {"MINUTE15", "HOUR", "DAY"};
    return t[g];
}

int64_t wk_gran_ms(wk_gran g)
{
    return gran_ms[g];
}

int64_t wk_gran_floor(wk_gran g, int64_t ms)
{
    int64_t q = gran_ms[g];
    int64_t r = ms % q;
    return r < 0 ? ms - r - q : ms - r;
}

wk_agg *wk_agg_new(void)
{
    return calloc(1, sizeof(wk_agg));
}

void wk_agg_reset(wk_agg *g)
{
    for (size_t i = 0; i < g->n; i++)
        ea_hll_free(g->rows[i]->hll);
    g->n = 0;
    g->sorted = false;
    wk_map_clear(&g->map);
}

void wk_agg_free(wk_agg *g)
{
    if (g == NULL)
        return;
    wk_agg_reset(g);
    wk_map_free(&g->map);
    free(g->rows);
    ea_pg_buf_free(&g->key);
    ea_pg_buf_free(&g->dims);
    ea_pg_buf_free(&g->val);
    free(g);
}

bool wk_property_number(const json_t *v, double *out)
{
    if (json_is_integer(v)) {
        *out = (double)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        *out = json_real_value(v);
        return isfinite(*out);
    }
    if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < 64) {
        char *end;
        const char *s = json_string_value(v);
        double d = strtod(s, &end);
        if (end == s || *end != '\0' || !isfinite(d))
            return false;
        *out = d;
        return true;
    }
    return false;
}

static wk_row *row_get(wk_agg *g, wk_gran gran, const char *tenant, const char *metric,
                       int64_t bucket, const char *dims, size_t dims_len, ea_arena *a)
{
    ea_pg_buf *k = &g->key;
    ea_pg_buf_reset(k);
    char gb = (char)gran;
    ea_pg_buf_append(k, &gb, 1);
    ea_pg_buf_append(k, tenant, strlen(tenant) + 1);
    ea_pg_buf_append(k, metric, strlen(metric) + 1);
    ea_pg_buf_append(k, &bucket, sizeof(bucket));
    ea_pg_buf_append(k, dims, dims_len);
    if (k->oom)
        return NULL;
    bool ins;
    void **slot = wk_map_upsert(&g->map, k->p, k->len, a, &ins);
    if (slot == NULL)
        return NULL;
    if (!ins)
        return *slot;
    wk_row *r = ea_arena_calloc(a, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->gran = gran;
    r->tenant = tenant; /* the event's arena copy lives as long as the batch */
    r->metric = ea_arena_strndup(a, metric, strlen(metric));
    r->bucket_ms = bucket;
    r->dims = ea_arena_strndup(a, dims, dims_len);
    r->dims_len = dims_len;
    if (r->metric == NULL || r->dims == NULL)
        return NULL;
    if (g->n == g->cap) {
        size_t ncap = g->cap == 0 ? 256 : g->cap * 2;
        wk_row **nr = realloc(g->rows, ncap * sizeof(*nr));
        if (nr == NULL)
            return NULL;
        g->rows = nr;
        g->cap = ncap;
    }
    g->rows[g->n++] = r;
    g->sorted = false;
    *slot = r;
    return r;
}

/* One metric's contribution of one event to its rows in every granularity. */
static ea_rc contribute(wk_agg *g, const char *tenant, const char *metric, const char *dims,
                        size_t dims_len, int64_t ts, bool has_value, double value,
                        const uint64_t *hash, int64_t closed_before, ea_arena *a,
                        bool *touched_closed)
{
    for (int gi = 0; gi < WK_GRAN_N; gi++) {
        wk_gran gran = (wk_gran)gi;
        int64_t bucket = wk_gran_floor(gran, ts);
        wk_row *r = row_get(g, gran, tenant, metric, bucket, dims, dims_len, a);
        if (r == NULL)
            return EA_ERR_NOMEM;
        if (wk_bucket_closed(bucket, gran_ms[gran], closed_before)) {
            r->closed = true;
            *touched_closed = true;
        }
        r->cnt++;
        if (has_value) {
            r->sum += value;
            if (!r->has_value || value < r->min)
                r->min = value;
            if (!r->has_value || value > r->max)
                r->max = value;
            r->has_value = true;
        }
        if (hash != NULL) {
            if (r->hll == NULL && (r->hll = ea_hll_new()) == NULL)
                return EA_ERR_NOMEM;
            ea_rc rc = ea_hll_add_hash(r->hll, *hash);
            if (rc != EA_OK)
                return rc;
        }
    }
    return EA_OK;
}

ea_rc wk_agg_add(wk_agg *g, const wk_defs *defs, wk_capset *caps, const wk_event *ev,
                 int64_t closed_before_ms, ea_arena *a, bool *touched_closed)
{
    const char *count_name;
    ea_rc rc = wk_defs_count_name(defs, ev->tenant, ev->name, a, &count_name);
    if (rc != EA_OK)
        return rc;
    if (count_name != NULL) {
        rc = contribute(g, ev->tenant, count_name, "{}", 2, ev->ts_ms, false, 0, NULL,
                        closed_before_ms, a, touched_closed);
        if (rc != EA_OK)
            return rc;
    }
    size_t nd;
    const wk_metric_def *const *ds = wk_defs_for_event(defs, ev->tenant, ev->name, &nd);
    int64_t day = wk_gran_floor(WK_GRAN_DAY, ev->ts_ms);
    for (size_t i = 0; i < nd; i++) {
        const wk_metric_def *d = ds[i];
        bool has_value = false;
        double value = 0;
        uint64_t hash, *hp = NULL;
        if (d->agg == WK_AGG_UNIQUE) {
            const json_t *v = json_object_get(ev->properties, d->property);
            if (v == NULL || json_is_null(v))
                continue;
            ea_pg_buf_reset(&g->val);
            wk_dims_value_json(&g->val, v);
            if (g->val.oom)
                return EA_ERR_NOMEM;
            hash = ea_hll_hash(g->val.p, g->val.len);
            hp = &hash;
        } else if (d->agg != WK_AGG_COUNT) {
            if (!wk_property_number(json_object_get(ev->properties, d->property), &value))
                continue;
            has_value = true;
        }
        ea_pg_buf_reset(&g->dims);
        if (!wk_dims_build(&g->dims, d, ev->properties, caps, day))
            return EA_ERR_NOMEM;
        rc = contribute(g, ev->tenant, d->name, g->dims.p, g->dims.len, ev->ts_ms, has_value, value,
                        hp, closed_before_ms, a, touched_closed);
        if (rc != EA_OK)
            return rc;
    }
    return EA_OK;
}

static int row_cmp(const void *x, const void *y)
{
    const wk_row *a = *(const wk_row *const *)x, *b = *(const wk_row *const *)y;
    int c;
    if (a->gran != b->gran)
        return a->gran < b->gran ? -1 : 1;
    if ((c = strcmp(a->tenant, b->tenant)) != 0)
        return c;
    if ((c = strcmp(a->metric, b->metric)) != 0)
        return c;
    if (a->bucket_ms != b->bucket_ms)
        return a->bucket_ms < b->bucket_ms ? -1 : 1;
    size_t n = a->dims_len < b->dims_len ? a->dims_len : b->dims_len;
    if ((c = memcmp(a->dims, b->dims, n)) != 0)
        return c;
    return a->dims_len < b->dims_len ? -1 : a->dims_len > b->dims_len;
}

wk_row **wk_agg_rows(wk_agg *g, size_t *n)
{
    if (!g->sorted) {
        qsort(g->rows, g->n, sizeof(*g->rows), row_cmp);
        g->sorted = true;
    }
    *n = g->n;
    return g->rows;
}
