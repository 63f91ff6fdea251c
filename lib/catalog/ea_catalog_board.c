/*
 * ea_catalog_board.c — what the dashboard saves: dashboards (a layout of charts, stored as
 * given once the fields the dashboard relies on are checked) and threshold alerts (columns,
 * because the worker evaluates them in SQL; their metric must be a metric of the tenant and
 * their filter keys its dimensions). Delivery and evaluation are not here (services/worker).
 */
#include "ea_catalog_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_JSON                                                                                  \
    "jsonb_build_object('id', id::text, 'tenant', tenant_id, 'name', name, 'layout', layout,"      \
    " 'updatedAt', " CAT_TS("updated_at") ")"

#define ALERT_JSON                                                                                 \
    "jsonb_build_object('id', id::text, 'tenant', tenant_id, 'name', name, 'metric', metric,"      \
    " 'filter', filter, 'comparator', comparator, 'threshold', threshold, 'granularity',"          \
    " granularity, 'enabled', enabled, 'createdAt', " CAT_TS("created_at") ")"

static bool display_name_ok(const char *name)
{
    return name != NULL && name[0] != '\0' && strlen(name) <= EA_CATALOG_TEXT_MAX;
}

/* A chart of a dashboard layout: what the dashboard needs to draw it again. */
static ea_rc check_chart(const json_t *ch, size_t i, struct ea_err *err)
{
    if (!json_is_object(ch))
        return ea_err_set(err, EA_ERR_INVALID, "layout.charts[%zu] must be an object", i);
    if (!json_is_string(json_object_get(ch, "metric")) ||
        json_string_length(json_object_get(ch, "metric")) == 0)
        return ea_err_set(err, EA_ERR_INVALID, "layout.charts[%zu].metric must be a metric name",
                          i);
    const json_t *g = json_object_get(ch, "groupBy");
    if (g != NULL && !json_is_null(g)) {
        size_t k;
        const json_t *v;
        if (!json_is_array(g) || json_array_size(g) > EA_CATALOG_MAX_DIMENSIONS)
            return ea_err_set(err, EA_ERR_INVALID,
                              "layout.charts[%zu].groupBy must be a list of at most %d dimension "
                              "names",
                              i, EA_CATALOG_MAX_DIMENSIONS);
        json_array_foreach(g, k, v)
        {
            if (!json_is_string(v))
                return ea_err_set(err, EA_ERR_INVALID,
                                  "layout.charts[%zu].groupBy must hold strings", i);
        }
    }
    const json_t *gr = json_object_get(ch, "granularity");
    if (gr != NULL && !json_is_null(gr) &&
        !(json_is_string(gr) && (strcmp(json_string_value(gr), "HOUR") == 0 ||
                                 strcmp(json_string_value(gr), "DAY") == 0)))
        return ea_err_set(err, EA_ERR_INVALID, "layout.charts[%zu].granularity must be HOUR or DAY",
                          i);
    const json_t *tz = json_object_get(ch, "timezone");
    if (tz != NULL && !json_is_null(tz) && !json_is_string(tz))
        return ea_err_set(err, EA_ERR_INVALID, "layout.charts[%zu].timezone must be a string", i);
    const json_t *tr = json_object_get(ch, "timeRange");
    if (tr != NULL && !json_is_null(tr) && !json_is_object(tr))
        return ea_err_set(err, EA_ERR_INVALID,
                          "layout.charts[%zu].timeRange must be an object (e.g. {\"last\": "
                          "\"24h\"} or {\"start\": ..., \"end\": ...})",
                          i);
    return EA_OK;
}

ea_rc ea_catalog_dashboard_save(PGconn *c, const char *tenant, const char *name,
                                const json_t *layout, json_t **out, struct ea_err *err)
{
    *out = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    if (!display_name_ok(name))
        return ea_err_set(err, EA_ERR_INVALID, "name must be 1 to %d characters",
                          EA_CATALOG_TEXT_MAX);
    if (!json_is_object(layout))
        return ea_err_set(err, EA_ERR_INVALID, "layout must be a JSON object {\"charts\": [...]}");
    const json_t *charts = json_object_get(layout, "charts");
    if (!json_is_array(charts) || json_array_size(charts) > 50)
        return ea_err_set(err, EA_ERR_INVALID, "layout.charts must be a list of at most 50 charts");
    size_t i;
    const json_t *ch;
    json_array_foreach(charts, i, ch)
    {
        if (check_chart(ch, i, err) != EA_OK)
            return EA_ERR_INVALID;
    }
    char *layout_s = json_dumps(layout, JSON_COMPACT);
    if (layout_s == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "could not save dashboard: out of memory");
    const char *params[3] = {tenant, name, layout_s};
    ea_rc rc = cat_query_json(c, "save dashboard",
                              "INSERT INTO dashboards (tenant_id, name, layout) "
                              "VALUES ($1, $2, $3::jsonb) ON CONFLICT (tenant_id, name) DO UPDATE "
                              "SET layout = EXCLUDED.layout, updated_at = now() "
                              "RETURNING " DASH_JSON "::text",
                              3, params, out, err);
    free(layout_s);
    if (rc != EA_OK && strcmp(err->sqlstate, "23503") == 0)
        rc = ea_err_set(err, EA_ERR_NOTFOUND,
                        "could not save dashboard: tenant \"%s\" does not exist", tenant);
    return rc;
}

ea_rc ea_catalog_dashboard_list(PGconn *c, const char *tenant, json_t **out, struct ea_err *err)
{
    *out = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    const char *params[1] = {tenant};
    return cat_query_json(c, "list dashboards",
                          "SELECT coalesce(jsonb_agg(" DASH_JSON " ORDER BY name), '[]')::text"
                          " FROM dashboards WHERE tenant_id = $1",
                          1, params, out, err);
}

ea_rc ea_catalog_alert_create(PGconn *c, const char *tenant, const ea_catalog_alert *a,
                              json_t **out, struct ea_err *err)
{
    static const char *const comparators[] = {"GT", "GTE", "LT", "LTE", "EQ", "NEQ"};
    char q[CAT_QBUF];
    *out = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    if (!display_name_ok(a->name))
        return ea_err_set(err, EA_ERR_INVALID, "name must be 1 to %d characters",
                          EA_CATALOG_TEXT_MAX);
    if (a->filter != NULL && !json_is_null(a->filter) && !json_is_object(a->filter))
        return ea_err_set(err, EA_ERR_INVALID, "filter must be a JSON object of dimension values");
    bool cmp_ok = false;
    for (size_t i = 0; a->comparator != NULL && i < 6; i++)
        cmp_ok = cmp_ok || strcmp(a->comparator, comparators[i]) == 0;
    if (!cmp_ok)
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid comparator \"%s\": expected GT, GTE, LT, LTE, EQ or NEQ",
                          cat_quote(a->comparator, q, sizeof(q)));
    const char *gran = a->granularity != NULL ? a->granularity : "HOUR";
    if (strcmp(gran, "HOUR") != 0 && strcmp(gran, "DAY") != 0)
        return ea_err_set(err, EA_ERR_INVALID, "invalid granularity \"%s\": expected HOUR or DAY",
                          cat_quote(gran, q, sizeof(q)));
    if (!isfinite(a->threshold))
        return ea_err_set(err, EA_ERR_INVALID, "threshold must be a finite number");
    /* the metric must be a metric of this tenant and the filter keys its dimensions */
    json_t *dims = NULL;
    ea_rc rc = ea_catalog_metric_resolve(c, tenant, a->metric, &dims, err);
    if (rc == EA_ERR_NOTFOUND) /* an input field of the alert: the input is what is wrong */
        err->code = rc = EA_ERR_INVALID;
    if (rc != EA_OK)
        return rc;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)a->filter, k, v)
    {
        size_t i;
        const json_t *dn;
        bool found = false;
        json_array_foreach(dims, i, dn) found = found || strcmp(json_string_value(dn), k) == 0;
        if (!found || json_is_object(v) || json_is_array(v)) {
            json_decref(dims);
            return ea_err_set(err, EA_ERR_INVALID,
                              "filter key \"%s\" is not a dimension of the metric with a scalar "
                              "value",
                              cat_quote(k, q, sizeof(q)));
        }
    }
    json_decref(dims);
    char *filter_s = json_is_object(a->filter) ? json_dumps(a->filter, JSON_COMPACT) : strdup("{}");
    if (filter_s == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "could not create alert: out of memory");
    char th[64];
    snprintf(th, sizeof(th), "%.17g", a->threshold);
    const char *params[7] = {tenant, a->name, a->metric, filter_s, a->comparator, th, gran};
    rc = cat_query_json(c, "create alert",
                        "INSERT INTO alerts (tenant_id, name, metric, filter, comparator,"
                        " threshold, granularity) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)"
                        " RETURNING " ALERT_JSON "::text",
                        7, params, out, err);
    free(filter_s);
    return rc;
}

ea_rc ea_catalog_alert_list(PGconn *c, const char *tenant, json_t **out, struct ea_err *err)
{
    *out = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    const char *params[1] = {tenant};
    return cat_query_json(c, "list alerts",
                          "SELECT coalesce(jsonb_agg(" ALERT_JSON " ORDER BY id), '[]')::text"
                          " FROM alerts WHERE tenant_id = $1",
                          1, params, out, err);
}
