/*
 * ea_rollup_agg.c — aggregation of counted events into rollup rows (ea_rollup_agg.h).
 *
 * What each metric contributes to its row:
 *   automatic count (metric = event name, dims {})     cnt += 1
 *   count                                               cnt += 1
 *   sum | avg | min | max of a numeric property         cnt += 1, sum += v, min/max (exact
 *                                                       decimals, ea_rollup_dec.h)
 *   unique of a property                                cnt += 1, hll ∪= hash(canonical value)
 * An event without the (numeric) property does not contribute to that metric: avg = sum/cnt
 * stays the mean of the values present. The automatic count's name follows lib/catalog's rule
 * (ea_rollup_defs_count_name): the event's name, or "<event> (event)" while a definition holding
 * that name counts something else; a definition named like the event that is its count
 * replaces it.
 */
#include "ea_rollup_agg.h"
#include "ea_arena.h"
#include "ea_map.h"
#include "ea_pg_buf.h"
#include "ea_rollup_watermark.h"

#include <stdlib.h>
#include <string.h>

struct ea_rollup_agg {
    ea_map map; /* row key -> ea_rollup_row* */
    ea_rollup_row **rows;
    size_t n, cap;
    bool sorted;
    ea_buf key, dims;
};

ea_rollup_agg *ea_rollup_agg_new(void)
{
    ea_rollup_agg *g = calloc(1, sizeof(ea_rollup_agg));
    if (g != NULL) {
        ea_buf_init(&g->key, EA_PG_VALUE_MAX);
        ea_buf_init(&g->dims, EA_PG_VALUE_MAX);
    }
    return g;
}

void ea_rollup_agg_reset(ea_rollup_agg *g)
{
    for (size_t i = 0; i < g->n; i++)
        ea_hll_free(g->rows[i]->hll);
    g->n = 0;
    g->sorted = false;
    ea_map_clear(&g->map);
}

void ea_rollup_agg_free(ea_rollup_agg *g)
{
    if (g == NULL)
        return;
    ea_rollup_agg_reset(g);
    ea_map_free(&g->map);
    free(g->rows);
    ea_buf_free(&g->key);
    ea_buf_free(&g->dims);
    free(g);
}

bool ea_rollup_property_number(const ea_rollup_event *ev, const char *prop, ea_dec *out)
{
    const json_t *v = json_object_get(ev->properties, prop);
    if (json_is_integer(v)) {
        *out = ea_dec_from_i64(json_integer_value(v));
        return true;
    }
    if (json_is_real(v)) {
        /* the digits as sent, not as the double jansson parsed them into */
        const char *t;
        size_t n;
        if (ev->props_text != NULL &&
            ea_dec_json_member(ev->props_text, ev->props_len, prop, &t, &n) &&
            ea_dec_parse(t, n, out))
            return true;
        return ea_dec_from_double(json_real_value(v), out);
    }
    if (json_is_string(v))
        return ea_dec_parse(json_string_value(v), json_string_length(v), out);
    return false;
}

/* The canonical JSON of v into the arena (*len set); NULL with *oom on allocation failure. */
static const char *encode_value(const json_t *v, ea_buf *tmp, ea_arena *a, uint32_t *len, bool *oom)
{
    ea_buf_reset(tmp);
    ea_rollup_dims_value_json(tmp, v);
    if (!ea_buf_ok(tmp) || tmp->len > UINT32_MAX) {
        *oom = true;
        return NULL;
    }
    const char *s = ea_arena_strndup(a, tmp->p, tmp->len);
    *oom = s == NULL;
    *len = (uint32_t)tmp->len;
    return s;
}

ea_rollup_prep *ea_rollup_prepare(const ea_rollup_defs *defs, const ea_rollup_event *ev,
                                  ea_arena *a)
{
    size_t nd;
    const ea_rollup_def *const *ds = ea_rollup_defs_for_event(defs, ev->tenant, ev->name, &nd);
    const char *count_name;
    if (ea_rollup_defs_count_name(defs, ev->tenant, ev->name, a, &count_name) != EA_OK)
        return NULL;
    ea_rollup_prep *p = ea_arena_calloc(a, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->tenant = ev->tenant;
    p->name = count_name;
    p->ts_ms = ev->ts_ms;
    p->day_ms = ea_rollup_gran_floor(EA_ROLLUP_DAY, ev->ts_ms);
    p->c = ea_arena_calloc(a, sizeof(*p->c) * (nd + 1));
    if (p->c == NULL)
        return NULL;
    if (count_name != NULL)
        p->n++; /* def NULL: the automatic count (named count_name), dims {} */
    ea_buf tmp = EA_BUF_INIT(EA_PG_VALUE_MAX);
    bool oom = false;
    for (size_t i = 0; i < nd && !oom; i++) {
        const ea_rollup_def *d = ds[i];
        ea_rollup_contrib *c = &p->c[p->n];
        memset(c, 0, sizeof(*c));
        c->def = d;
        if (d->agg == EA_CATALOG_AGG_UNIQUE) {
            const json_t *v = json_object_get(ev->properties, d->property);
            if (v == NULL || json_is_null(v))
                continue;
            ea_buf_reset(&tmp);
            ea_rollup_dims_value_json(&tmp, v);
            if (!ea_buf_ok(&tmp)) {
                oom = true;
                break;
            }
            c->hash = ea_hll_hash(tmp.p, tmp.len);
            c->has_hash = true;
        } else if (d->agg != EA_CATALOG_AGG_COUNT) {
            if (!ea_rollup_property_number(ev, d->property, &c->value))
                continue;
            c->has_value = true;
        }
        for (size_t j = 0; j < d->ndims && !oom; j++) {
            const json_t *v = json_object_get(ev->properties, d->dims[j]);
            if (v != NULL && !json_is_null(v))
                c->vals[j] = encode_value(v, &tmp, a, &c->lens[j], &oom);
        }
        p->n++;
    }
    ea_buf_free(&tmp);
    return oom ? NULL : p;
}

static ea_rollup_row *row_get(ea_rollup_agg *g, ea_rollup_gran gran, const char *tenant,
                              const char *metric, int64_t bucket, const char *dims, size_t dims_len,
                              ea_arena *a)
{
    ea_buf *k = &g->key;
    ea_buf_reset(k);
    char gb = (char)gran;
    ea_buf_append(k, &gb, 1);
    ea_buf_append(k, tenant, strlen(tenant) + 1);
    ea_buf_append(k, metric, strlen(metric) + 1);
    ea_buf_append(k, &bucket, sizeof(bucket));
    ea_buf_append(k, dims, dims_len);
    if (!ea_buf_ok(k))
        return NULL;
    bool ins;
    void **slot = ea_map_upsert(&g->map, k->p, k->len, a, &ins);
    if (slot == NULL)
        return NULL;
    if (!ins)
        return *slot;
    ea_rollup_row *r = ea_arena_calloc(a, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->gran = gran;
    r->tenant = tenant; /* the event's copy lives as long as the batch (or the day) */
    r->metric = ea_arena_strndup(a, metric, strlen(metric));
    r->bucket_ms = bucket;
    r->dims = ea_arena_strndup(a, dims, dims_len);
    r->dims_len = dims_len;
    if (r->metric == NULL || r->dims == NULL)
        return NULL;
    ea_rollup_row **nr = ea_array_grow(g->rows, sizeof(*nr), g->n, &g->cap, 256);
    if (nr == NULL)
        return NULL;
    g->rows = nr;
    g->rows[g->n++] = r;
    g->sorted = false;
    *slot = r;
    return r;
}

/* One metric's contribution of one event to its rows in every granularity. */
static ea_rc contribute(ea_rollup_agg *g, const char *tenant, const char *metric, const char *dims,
                        size_t dims_len, int64_t ts, const ea_rollup_contrib *c,
                        int64_t closed_before, ea_arena *a, bool *touched_closed)
{
    for (int gi = 0; gi < EA_ROLLUP_GRAN_N; gi++) {
        ea_rollup_gran gran = (ea_rollup_gran)gi;
        int64_t bucket = ea_rollup_gran_floor(gran, ts);
        ea_rollup_row *r = row_get(g, gran, tenant, metric, bucket, dims, dims_len, a);
        if (r == NULL)
            return EA_ERR_NOMEM;
        if (ea_rollup_bucket_closed(bucket, ea_rollup_gran_ms(gran), closed_before)) {
            r->closed = true;
            *touched_closed = true;
        }
        r->cnt++;
        if (c->has_value) {
            if (!ea_dec_sum_add(&r->sum, c->value)) {
                /* beyond 128 bits at a common exponent: PostgreSQL's numeric adds it */
                struct ea_rollup_spill *sp = ea_arena_alloc(a, sizeof(*sp));
                if (sp == NULL)
                    return EA_ERR_NOMEM;
                *sp = (struct ea_rollup_spill){c->value, r->spill};
                r->spill = sp;
            }
            if (!r->has_value || ea_dec_cmp(c->value, r->min) < 0)
                r->min = c->value;
            if (!r->has_value || ea_dec_cmp(c->value, r->max) > 0)
                r->max = c->value;
            r->has_value = true;
        }
        if (c->has_hash) {
            if (r->hll == NULL && (r->hll = ea_hll_new()) == NULL)
                return EA_ERR_NOMEM;
            ea_rc rc = ea_hll_add_hash(r->hll, c->hash);
            if (rc != EA_OK)
                return rc;
        }
    }
    return EA_OK;
}

ea_rc ea_rollup_agg_add(ea_rollup_agg *g, ea_rollup_caps *caps, const ea_rollup_prep *p,
                        int64_t closed_before_ms, ea_arena *a, bool *touched_closed)
{
    for (size_t i = 0; i < p->n; i++) {
        const ea_rollup_contrib *c = &p->c[i];
        ea_rc rc;
        if (c->def == NULL) { /* the automatic count: metric = event name, no dimensions */
            rc = contribute(g, p->tenant, p->name, "{}", 2, p->ts_ms, c, closed_before_ms, a,
                            touched_closed);
            if (rc != EA_OK)
                return rc;
            continue;
        }
        ea_buf_reset(&g->dims);
        if (!ea_rollup_dims_build(&g->dims, c->def, c->vals, c->lens, caps, p->day_ms))
            return EA_ERR_NOMEM;
        rc = contribute(g, p->tenant, c->def->name, g->dims.p, g->dims.len, p->ts_ms, c,
                        closed_before_ms, a, touched_closed);
        if (rc != EA_OK)
            return rc;
    }
    return EA_OK;
}

ea_rc ea_rollup_agg_add_event(ea_rollup_agg *g, const ea_rollup_defs *defs, ea_rollup_caps *caps,
                              const ea_rollup_event *ev, int64_t closed_before_ms, ea_arena *a,
                              bool *touched_closed)
{
    const ea_rollup_prep *p = ea_rollup_prepare(defs, ev, a);
    if (p == NULL)
        return EA_ERR_NOMEM;
    return ea_rollup_agg_add(g, caps, p, closed_before_ms, a, touched_closed);
}

static int row_cmp(const void *x, const void *y)
{
    const ea_rollup_row *a = *(const ea_rollup_row *const *)x;
    const ea_rollup_row *b = *(const ea_rollup_row *const *)y;
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

ea_rollup_row **ea_rollup_agg_rows(ea_rollup_agg *g, size_t *n)
{
    if (!g->sorted && g->n > 1) /* rows is NULL before the first row: qsort wants non-NULL */
        qsort(g->rows, g->n, sizeof(*g->rows), row_cmp);
    g->sorted = true;
    *n = g->n;
    return g->rows;
}
