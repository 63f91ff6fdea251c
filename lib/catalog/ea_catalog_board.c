/*
 * ea_catalog_board.c — dashboards: a layout of charts, stored as given once the fields the
 * dashboard relies on are checked; created, replaced (only when asked to: a new dashboard under
 * a taken name is a conflict unless overwrite), renamed, deleted. Alerts are ea_catalog_alert.c.
 */
#include "ea_catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_JSON                                                                                  \
    "jsonb_build_object('id', id::text, 'tenant', tenant_id, 'name', name, 'layout', layout,"      \
    " 'updatedAt', " CAT_TS("updated_at") ")"

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

/* Dashboard ids are bigserials: anything else names no dashboard. */
static bool id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    return n >= 1 && n <= 18 && strspn(id, "0123456789") == n;
}

static ea_rc name_taken(const char *name, const char *what, struct ea_err *err)
{
    char q[CAT_QBUF];
    return ea_err_set(err, EA_ERR_CONFLICT, "could not %s: a dashboard named \"%s\" exists", what,
                      cat_quote(name, q, sizeof(q)));
}

ea_rc ea_catalog_dashboard_save(PGconn *c, const char *tenant, const char *id, const char *name,
                                const json_t *layout, bool overwrite, json_t **out,
                                struct ea_err *err)
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
    if (id != NULL && !id_ok(id))
        return ea_err_set(err, EA_ERR_NOTFOUND, "could not save dashboard: no dashboard %s",
                          "with that id");
    char *layout_s = json_dumps(layout, JSON_COMPACT);
    if (layout_s == NULL)
        return ea_err_set(err, EA_ERR_NOMEM, "could not save dashboard: out of memory");
    ea_rc rc;
    if (id != NULL) {
        const char *params[4] = {tenant, id, name, layout_s};
        rc = cat_query_json(c, "save dashboard",
                            "WITH d AS (UPDATE dashboards SET name = $3, layout = $4::jsonb,"
                            " updated_at = now() WHERE tenant_id = $1 AND id = $2::bigint"
                            " RETURNING *) SELECT coalesce((SELECT " DASH_JSON " FROM d),"
                            " 'null')::text",
                            4, params, out, err);
    } else {
        const char *params[3] = {tenant, name, layout_s};
        rc =
            cat_query_json(c, "save dashboard",
                           overwrite ? "WITH d AS (INSERT INTO dashboards (tenant_id, name, layout)"
                                       " VALUES ($1, $2, $3::jsonb) ON CONFLICT (tenant_id, name)"
                                       " DO UPDATE SET layout = EXCLUDED.layout, updated_at ="
                                       " now() RETURNING *) SELECT coalesce((SELECT " DASH_JSON
                                       " FROM d), 'null')::text"
                                     : "WITH d AS (INSERT INTO dashboards (tenant_id, name, layout)"
                                       " VALUES ($1, $2, $3::jsonb) ON CONFLICT (tenant_id, name)"
                                       " DO NOTHING RETURNING *) SELECT coalesce((SELECT " DASH_JSON
                                       " FROM d), 'null')::text",
                           3, params, out, err);
    }
    free(layout_s);
    if (rc != EA_OK && strcmp(err->sqlstate, "23503") == 0)
        return ea_err_set(err, EA_ERR_NOTFOUND,
                          "could not save dashboard: tenant \"%s\" does not exist", tenant);
    if (rc != EA_OK && strcmp(err->sqlstate, "23505") == 0)
        return name_taken(name, "save dashboard", err);
    if (rc == EA_OK && json_is_null(*out)) {
        json_decref(*out);
        *out = NULL;
        return id != NULL
                   ? ea_err_set(err, EA_ERR_NOTFOUND,
                                "could not save dashboard: no dashboard %s in this tenant", id)
                   : name_taken(name, "save dashboard", err);
    }
    return rc;
}

ea_rc ea_catalog_dashboard_rename(PGconn *c, const char *tenant, const char *id, const char *name,
                                  json_t **out, struct ea_err *err)
{
    *out = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    if (!display_name_ok(name))
        return ea_err_set(err, EA_ERR_INVALID, "name must be 1 to %d characters",
                          EA_CATALOG_TEXT_MAX);
    if (!id_ok(id))
        return ea_err_set(err, EA_ERR_NOTFOUND, "could not rename dashboard: no dashboard %s",
                          "with that id");
    const char *params[3] = {tenant, id, name};
    ea_rc rc = cat_query_json(c, "rename dashboard",
                              "WITH d AS (UPDATE dashboards SET name = $3, updated_at = now()"
                              " WHERE tenant_id = $1 AND id = $2::bigint RETURNING *)"
                              " SELECT coalesce((SELECT " DASH_JSON " FROM d), 'null')::text",
                              3, params, out, err);
    if (rc != EA_OK && strcmp(err->sqlstate, "23505") == 0)
        return name_taken(name, "rename dashboard", err);
    if (rc == EA_OK && json_is_null(*out)) {
        json_decref(*out);
        *out = NULL;
        return ea_err_set(err, EA_ERR_NOTFOUND,
                          "could not rename dashboard: no dashboard %s in this tenant", id);
    }
    return rc;
}

ea_rc ea_catalog_dashboard_delete(PGconn *c, const char *tenant, const char *id, struct ea_err *err)
{
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    if (!id_ok(id))
        return ea_err_set(err, EA_ERR_NOTFOUND, "could not delete dashboard: no dashboard %s",
                          "with that id");
    const char *params[2] = {tenant, id};
    PGresult *res = cat_query(c, "delete dashboard",
                              "DELETE FROM dashboards WHERE tenant_id = $1 AND id = $2::bigint", 2,
                              params, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    bool gone = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return gone ? EA_OK
                : ea_err_set(err, EA_ERR_NOTFOUND,
                             "could not delete dashboard: no dashboard %s in this tenant", id);
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
