/*
 * ea_catalog_metric.c — metric definitions and the one namespace of metric names (SPEC §5,
 * docs/ARCHITECTURE.md "Metric names"). A tenant's metric names are its definitions and the
 * automatic counts of its events:
 *
 *   event E seen (table event_names, recorded by the worker) ──▶ automatic count named
 *     E                 when no definition holds E's base name (E without trailing " (event)"),
 *                       or that definition is the count of the event named like it
 *                       (then, for E itself, the definition IS the count: REPLACED)
 *     E + " (event)"    while a definition named like E's base counts something else
 *
 * Invariants (kept by every function here, under the metric-names lock held exclusively, while
 * worker batches hold it shared — so no batch counts with definitions being changed):
 *  1. A definition never takes the name of an event seen unless it is that event's count
 *     (define, rename refuse it).
 *  2. The automatic count rows of every event seen are stored under the name the rule above
 *     gives for the current definitions: when a change makes a definition start or stop holding
 *     a base name, the rows of the events with that base move one suffix out or in
 *     (shift_shadows), longest names first when moving out, shortest first when moving in, so a
 *     target name is always free.
 *  3. A definition's rows follow it: rename moves them (copies them when the definition was the
 *     count of its own event, whose automatic count keeps its history); delete removes them
 *     (except in that same case). Alerts and dashboard charts follow a rename.
 * Every change returns the names whose rows changed so the front door can announce them on the
 * change feed (ea_catalog_changes_message): graphql-api then drops cached answers.
 */
#include "ea_catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* backfill: the latest recomputation of the metric (migration 0013, run by the worker), or null */
#define DEF_JSON                                                                                   \
    "jsonb_build_object('name', name, 'eventName', event_name, 'aggregation', aggregation,"        \
    " 'property', property, 'dimensions', to_jsonb(dimensions), 'cardinalityCap',"                 \
    " cardinality_cap, 'backfill', (SELECT jsonb_build_object('state', b.state, 'progress',"       \
    " b.progress, 'daysDone', b.days_done, 'daysTotal', b.days_total, 'events', b.events,"         \
    " 'error', b.error, 'updatedAt', b.updated_at) FROM ea_metric_recompute_state(tenant_id,"      \
    " name) b))"

/* Tables holding rows keyed by (tenant_id, metric). */
static const char *const row_tables[] = {"rollups_15m",         "rollups_hourly",
                                         "rollups_daily",       "rollup_totals_hourly",
                                         "rollup_totals_daily", "rollup_dim_values"};
#define NROW_TABLES (sizeof(row_tables) / sizeof(row_tables[0]))

static void changed_add(json_t *changed, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(changed, i, v) if (strcmp(json_string_value(v), name) == 0) return;
    json_array_append_new(changed, json_string(name));
}

/* Runs one statement per row table: sql_fmt has one %s for the table name (a constant). */
static ea_rc each_table(PGconn *c, const char *what, const char *sql_fmt, int n,
                        const char *const *params, struct ea_err *err)
{
    for (size_t t = 0; t < NROW_TABLES; t++) {
        char sql[512];
        snprintf(sql, sizeof(sql), sql_fmt, row_tables[t]);
        PGresult *res = cat_query(c, what, sql, n, params, PGRES_COMMAND_OK, err);
        if (res == NULL)
            return err->code;
        PQclear(res);
    }
    return EA_OK;
}

/* Moves every row of metric `from` to `to` (rollups, cap registry), and the alerts and
 * dashboard charts naming it. */
static ea_rc move_rows(PGconn *c, const char *what, const char *tenant, const char *from,
                       const char *to, bool rows, struct ea_err *err)
{
    const char *params[3] = {tenant, from, to};
    if (rows &&
        each_table(c, what, "UPDATE %s SET metric = $3 WHERE tenant_id = $1 AND metric = $2", 3,
                   params, err) != EA_OK)
        return err->code;
    PGresult *res =
        cat_query(c, what, "UPDATE alerts SET metric = $3 WHERE tenant_id = $1 AND metric = $2", 3,
                  params, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    res = cat_query(c, what,
                    "UPDATE dashboards SET updated_at = now(), layout = jsonb_set(layout, "
                    "'{charts}', (SELECT jsonb_agg(CASE WHEN ch->>'metric' = $2 THEN "
                    "jsonb_set(ch, '{metric}', to_jsonb($3::text)) ELSE ch END ORDER BY i) "
                    "FROM jsonb_array_elements(layout->'charts') WITH ORDINALITY AS x(ch, i))) "
                    "WHERE tenant_id = $1 AND jsonb_typeof(layout->'charts') = 'array' AND "
                    "layout->'charts' @> jsonb_build_array(jsonb_build_object('metric', $2::text))",
                    3, params, PGRES_COMMAND_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

/* Copies every row of metric `from` to `to` whatever the tables' columns are. */
static ea_rc copy_rows(PGconn *c, const char *what, const char *tenant, const char *from,
                       const char *to, struct ea_err *err)
{
    const char *params[3] = {tenant, from, to};
    for (size_t t = 0; t < NROW_TABLES; t++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "CREATE TEMP TABLE ea_catalog_copy ON COMMIT DROP AS SELECT * FROM %s "
                 "WHERE tenant_id = $1 AND metric = $2",
                 row_tables[t]);
        PGresult *res = cat_query(c, what, sql, 2, params, PGRES_COMMAND_OK, err);
        if (res == NULL)
            return err->code;
        PQclear(res);
        res = cat_query(c, what, "UPDATE ea_catalog_copy SET metric = $1", 1, params + 2,
                        PGRES_COMMAND_OK, err);
        if (res == NULL)
            return err->code;
        PQclear(res);
        snprintf(sql, sizeof(sql), "INSERT INTO %s SELECT * FROM ea_catalog_copy", row_tables[t]);
        if ((res = cat_query(c, what, sql, 0, NULL, PGRES_COMMAND_OK, err)) == NULL)
            return err->code;
        PQclear(res);
        if ((res = cat_query(c, what, "DROP TABLE ea_catalog_copy", 0, NULL, PGRES_COMMAND_OK,
                             err)) == NULL)
            return err->code;
        PQclear(res);
    }
    return EA_OK;
}

/* Invariant 2: the events whose base is `base` move their automatic count one suffix out
 * (to_taken: a definition now holds base for something else) or in (it no longer does). */
static ea_rc shift_shadows(PGconn *c, const char *what, const char *tenant, const char *base,
                           bool to_taken, json_t *changed, struct ea_err *err)
{
    const char *params[2] = {tenant, base};
    PGresult *res = cat_query(c, what,
                              "SELECT name FROM event_names WHERE tenant_id = $1 AND "
                              "starts_with(name, $2) ORDER BY length(name) DESC",
                              2, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    size_t bl = strlen(base);
    int n = PQntuples(res);
    ea_rc rc = EA_OK;
    for (int k = 0; k < n && rc == EA_OK; k++) {
        /* out: longest first; in: shortest first (invariant 2) */
        const char *ev = PQgetvalue(res, to_taken ? k : n - 1 - k, 0);
        size_t el = strlen(ev);
        if (ea_catalog_event_base_len(ev, el) != bl)
            continue;
        char *shadow = malloc(el + EA_CATALOG_EVENT_SUFFIX_LEN + 1);
        if (shadow == NULL) {
            rc = ea_err_set(err, EA_ERR_NOMEM, "could not %s: out of memory", what);
            break;
        }
        memcpy(shadow, ev, el);
        memcpy(shadow + el, EA_CATALOG_EVENT_SUFFIX, EA_CATALOG_EVENT_SUFFIX_LEN + 1);
        rc = to_taken ? move_rows(c, what, tenant, ev, shadow, true, err)
                      : move_rows(c, what, tenant, shadow, ev, true, err);
        changed_add(changed, ev);
        changed_add(changed, shadow);
        free(shadow);
    }
    PQclear(res);
    return rc;
}

/* What the database knows about `name` in tenant: its definition (aggregation, event) and
 * whether events with that name were seen. */
typedef struct name_state {
    bool tenant_exists, def_exists, seen;
    char agg[16];
    char *event; /* malloc'd; NULL without definition */
    json_t *def; /* the definition as JSON; NULL without */
} name_state;

static void name_state_free(name_state *s)
{
    free(s->event);
    json_decref(s->def);
}

static ea_rc name_state_read(PGconn *c, const char *what, const char *tenant, const char *name,
                             name_state *s, struct ea_err *err)
{
    memset(s, 0, sizeof(*s));
    const char *params[2] = {tenant, name};
    PGresult *res = cat_query(
        c, what,
        "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1), d.aggregation, d.event_name,"
        " EXISTS (SELECT 1 FROM event_names WHERE tenant_id = $1 AND name = $2),"
        " CASE WHEN d.name IS NOT NULL THEN (SELECT " DEF_JSON "::text FROM metric_definitions"
        "  WHERE tenant_id = $1 AND name = $2) END"
        " FROM (SELECT 1) one LEFT JOIN metric_definitions d ON d.tenant_id = $1 AND d.name = $2",
        2, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    s->tenant_exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    s->def_exists = !PQgetisnull(res, 0, 1);
    s->seen = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    ea_rc rc = EA_OK;
    if (s->def_exists) {
        snprintf(s->agg, sizeof(s->agg), "%s", PQgetvalue(res, 0, 1));
        s->event = strdup(PQgetvalue(res, 0, 2));
        rc = s->event == NULL ? ea_err_set(err, EA_ERR_NOMEM, "could not %s: out of memory", what)
                              : cat_json_parse(PQgetvalue(res, 0, 4), what, &s->def, err);
    }
    PQclear(res);
    return rc;
}

/* The definition named `name` holds that name for something else than its own event's count. */
static bool state_takes(const name_state *s, const char *name)
{
    return s->def_exists && !ea_catalog_def_counts_own_name(name, s->agg, s->event);
}

/* The start of every change of definitions: a transaction (joining the caller's), the names
 * lock, and what the database knows of `name`; EA_ERR_NOTFOUND when the tenant does not exist.
 * On failure nothing is left open. */
static ea_rc change_begin(cat_tx *tx, PGconn *c, const char *what, const char *tenant,
                          const char *name, name_state *s, struct ea_err *err)
{
    memset(s, 0, sizeof(*s));
    ea_rc rc = cat_tx_begin(tx, c, what, err);
    if (rc != EA_OK)
        return rc;
    if ((rc = cat_names_lock(c, what, err)) == EA_OK &&
        (rc = name_state_read(c, what, tenant, name, s, err)) == EA_OK && !s->tenant_exists)
        rc = ea_err_set(err, EA_ERR_NOTFOUND, "could not %s: tenant \"%s\" does not exist", what,
                        tenant);
    return rc == EA_OK ? EA_OK : cat_tx_end(tx, rc, what, err);
}

/* The end of every change: on success the moved names go to *changed (NULL: dropped), on
 * failure the answer and the names are dropped. Returns rc. */
static ea_rc change_done(ea_rc rc, json_t **out, json_t *moved, json_t **changed)
{
    if (rc != EA_OK) {
        json_decref(*out);
        *out = NULL;
        json_decref(moved);
    } else if (changed != NULL) {
        *changed = moved;
    } else {
        json_decref(moved);
    }
    return rc;
}

/* The single place where defining or changing a metric starts recomputing its rollups from raw
 * events (issue 13; lib/rollup's background job): called inside the define transaction, after
 * the definition row is written, with created/changed telling what happened. Enqueue the job
 * here so it commits or rolls back with the definition. */
static ea_rc after_define(PGconn *c, const char *tenant, const char *name, bool created,
                          struct ea_err *err)
{
    (void)created;
    const char *p[2] = {tenant, name};
    PGresult *res = cat_query(c, "define metric", "SELECT ea_metric_recompute_enqueue($1, $2)", 2,
                              p, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    PQclear(res);
    return EA_OK;
}

static json_t *json_strings(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

ea_rc ea_catalog_metric_define(PGconn *c, const char *tenant, const ea_catalog_metric *m,
                               json_t **out, bool *created, json_t **changed, struct ea_err *err)
{
    const char *what = "define metric";
    char q[CAT_QBUF];
    *out = NULL;
    *created = false;
    if (changed != NULL)
        *changed = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK ||
        ea_catalog_metric_check(m, err) != EA_OK)
        return EA_ERR_INVALID;
    const char *agg = m->aggregation != NULL ? m->aggregation : "count";
    bool new_takes = !ea_catalog_def_counts_own_name(m->name, agg, m->event);
    json_t *dims = json_strings(m->dims, m->ndims), *moved = json_array();
    char *dims_s = dims != NULL ? json_dumps(dims, JSON_COMPACT) : NULL;
    json_decref(dims);
    char cap[24];
    snprintf(cap, sizeof(cap), "%lld", m->cap_set ? m->cap : (long long)EA_CATALOG_CAP_DEFAULT);
    name_state s = {0};
    cat_tx tx;
    ea_rc rc = dims_s == NULL || moved == NULL
                   ? ea_err_set(err, EA_ERR_NOMEM, "could not %s: out of memory", what)
                   : change_begin(&tx, c, what, tenant, m->name, &s, err);
    if (rc != EA_OK)
        goto out_notx;
    bool old_takes = state_takes(&s, m->name);
    if (s.seen && new_takes && !old_takes) { /* invariant 1 */
        rc = ea_err_set(err, EA_ERR_CONFLICT,
                        "could not define metric \"%s\": events named \"%s\" were already seen "
                        "for this tenant; a metric of that name may only be their count",
                        m->name, m->name);
        goto out;
    }
    if (s.seen && old_takes && !new_takes) {
        /* its events count under "<name> (event)" next to this definition's rows: turning the
         * definition into their count would merge two different series */
        rc =
            ea_err_set(err, EA_ERR_CONFLICT,
                       "could not define metric \"%s\": events named \"%s\" count as \"%s%s\" "
                       "while the metric counts something else; delete the metric first",
                       m->name, m->name, cat_quote(m->name, q, sizeof(q)), EA_CATALOG_EVENT_SUFFIX);
        goto out;
    }
    const char *params[7] = {tenant, m->name, m->event, agg, m->property, dims_s, cap};
    PGresult *res = cat_query(
        c, what,
        "INSERT INTO metric_definitions (tenant_id, name, event_name, aggregation, property,"
        " dimensions, cardinality_cap) VALUES ($1, $2, $3, $4, $5,"
        " ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), $7::integer)"
        " ON CONFLICT (tenant_id, name) DO UPDATE SET event_name = EXCLUDED.event_name,"
        " aggregation = EXCLUDED.aggregation, property = EXCLUDED.property,"
        " dimensions = EXCLUDED.dimensions, cardinality_cap = EXCLUDED.cardinality_cap"
        " RETURNING (xmax = 0)",
        7, params, PGRES_TUPLES_OK, err);
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    *created = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (old_takes != new_takes) /* invariant 2 */
        rc = shift_shadows(c, what, tenant, m->name, new_takes, moved, err);
    if (rc == EA_OK)
        rc = after_define(c, tenant, m->name, *created, err);
    /* read after the recount job is queued (same transaction), so the answer's backfill is that
     * job (pending, progress 0), not the previous one or null */
    if (rc == EA_OK)
        rc = ea_catalog_metric_get(c, tenant, m->name, out, err);
    if (rc == EA_OK && !*created) /* answers computed with the old definition are stale */
        changed_add(moved, m->name);
out:
    rc = cat_tx_end(&tx, rc, what, err);
out_notx:
    name_state_free(&s);
    free(dims_s);
    return change_done(rc, out, moved, changed);
}

ea_rc ea_catalog_metric_get(PGconn *c, const char *tenant, const char *name, json_t **out,
                            struct ea_err *err)
{
    *out = NULL;
    const char *params[2] = {tenant, name};
    PGresult *res = cat_query(c, "read metric",
                              "SELECT " DEF_JSON "::text FROM metric_definitions"
                              " WHERE tenant_id = $1 AND name = $2",
                              2, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    ea_rc rc = PQntuples(res) == 1 ? cat_json_parse(PQgetvalue(res, 0, 0), "read metric", out, err)
                                   : ea_err_set(err, EA_ERR_NOTFOUND,
                                                "could not read metric: no metric \"%s\" is "
                                                "defined in tenant \"%s\"",
                                                name, tenant);
    PQclear(res);
    return rc;
}

ea_rc ea_catalog_metric_list(PGconn *c, const char *tenant, json_t **out, struct ea_err *err)
{
    *out = NULL;
    if (ea_catalog_tenant_require(c, tenant, "list metrics", err) != EA_OK)
        return err->code;
    const char *params[1] = {tenant};
    return cat_query_json(c, "list metrics",
                          "SELECT coalesce(jsonb_agg(" DEF_JSON " ORDER BY name), '[]')::text"
                          " FROM metric_definitions WHERE tenant_id = $1",
                          1, params, out, err);
}

/* "no metric "x" is defined in tenant "t"" with suggestions among the definitions. */
static ea_rc no_definition(PGconn *c, const char *what, const char *tenant, const char *name,
                           struct ea_err *err)
{
    char q[CAT_QBUF];
    const char *params[1] = {tenant};
    PGresult *res = cat_query(c, what,
                              "SELECT name FROM metric_definitions WHERE tenant_id = $1 "
                              "ORDER BY name LIMIT 10000",
                              1, params, PGRES_TUPLES_OK, err);
    ea_err_set(err, EA_ERR_NOTFOUND, "could not %s: no metric \"%s\" is defined in tenant \"%s\"",
               what, cat_quote(name, q, sizeof(q)), tenant);
    if (res != NULL) {
        int n = PQntuples(res);
        const char **cands = calloc((size_t)n + 1, sizeof(*cands));
        for (int i = 0; cands != NULL && i < n; i++)
            cands[i] = PQgetvalue(res, i, 0);
        if (cands != NULL)
            cat_add_suggestions(err, name, cands, (size_t)n);
        free(cands);
        PQclear(res);
    }
    return EA_ERR_NOTFOUND;
}

ea_rc ea_catalog_metric_delete(PGconn *c, const char *tenant, const char *name, json_t **out,
                               json_t **changed, struct ea_err *err)
{
    const char *what = "delete metric";
    char q[CAT_QBUF];
    *out = NULL;
    if (changed != NULL)
        *changed = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK)
        return EA_ERR_INVALID;
    if (name == NULL || name[0] == '\0')
        return ea_err_set(err, EA_ERR_INVALID, "invalid metric name \"\": give the name to delete");
    json_t *moved = json_array();
    name_state s = {0};
    cat_tx tx;
    ea_rc rc = moved == NULL ? ea_err_set(err, EA_ERR_NOMEM, "could not %s: out of memory", what)
                             : change_begin(&tx, c, what, tenant, name, &s, err);
    if (rc != EA_OK)
        goto out_notx;
    if (!s.def_exists) {
        rc = no_definition(c, what, tenant, name, err);
        goto out;
    }
    bool takes = state_takes(&s, name);
    /* the count of its own event, once events came: its rows are that event's automatic count */
    bool keep_rows = !takes && s.seen;
    if (!keep_rows) {
        const char *params[2] = {tenant, name};
        PGresult *res = cat_query(c, what,
                                  "SELECT string_agg(format('\"%s\"', name), ', ' ORDER BY id),"
                                  " count(*) FROM alerts WHERE tenant_id = $1 AND metric = $2",
                                  2, params, PGRES_TUPLES_OK, err);
        if (res == NULL) {
            rc = err->code;
            goto out;
        }
        long n = strtol(PQgetvalue(res, 0, 1), NULL, 10);
        if (n > 0) {
            char list[128];
            snprintf(list, sizeof(list), "%s", PQgetvalue(res, 0, 0));
            if (strlen(PQgetvalue(res, 0, 0)) >= sizeof(list)) /* whole names only */
                snprintf(list, sizeof(list), "%ld alerts", n);
            rc = ea_err_set(err, EA_ERR_CONFLICT,
                            "could not delete metric \"%s\": used by alert%s %s; delete %s first",
                            cat_quote(name, q, sizeof(q)), n == 1 ? "" : "s", list,
                            n == 1 ? "it" : "them");
        }
        PQclear(res);
        if (rc != EA_OK)
            goto out;
    }
    const char *params[2] = {tenant, name};
    PGresult *res =
        cat_query(c, what, "DELETE FROM metric_definitions WHERE tenant_id = $1 AND name = $2", 2,
                  params, PGRES_COMMAND_OK, err);
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    PQclear(res);
    if (!keep_rows &&
        (rc = each_table(c, what, "DELETE FROM %s WHERE tenant_id = $1 AND metric = $2", 2, params,
                         err)) != EA_OK)
        goto out;
    changed_add(moved, name);
    if (takes)
        rc = shift_shadows(c, what, tenant, name, false, moved, err);
    if (rc == EA_OK) {
        *out = s.def;
        s.def = NULL;
    }
out:
    rc = cat_tx_end(&tx, rc, what, err);
out_notx:
    name_state_free(&s);
    return change_done(rc, out, moved, changed);
}

ea_rc ea_catalog_metric_rename(PGconn *c, const char *tenant, const char *name,
                               const char *new_name, json_t **out, json_t **changed,
                               struct ea_err *err)
{
    const char *what = "rename metric";
    char q[CAT_QBUF];
    *out = NULL;
    if (changed != NULL)
        *changed = NULL;
    if (ea_catalog_tenant_id_check(tenant, err) != EA_OK ||
        ea_catalog_metric_name_check(new_name, err) != EA_OK)
        return EA_ERR_INVALID;
    if (name == NULL || name[0] == '\0')
        return ea_err_set(err, EA_ERR_INVALID, "invalid metric name \"\": give the name to rename");
    if (strcmp(name, new_name) == 0)
        return ea_err_set(err, EA_ERR_INVALID,
                          "invalid new name \"%s\": it is the metric's current name", new_name);
    json_t *moved = json_array();
    name_state s = {0}, t = {0};
    cat_tx tx;
    ea_rc rc = moved == NULL ? ea_err_set(err, EA_ERR_NOMEM, "could not %s: out of memory", what)
                             : change_begin(&tx, c, what, tenant, name, &s, err);
    if (rc != EA_OK)
        goto out_notx;
    if ((rc = name_state_read(c, what, tenant, new_name, &t, err)) != EA_OK)
        goto out;
    if (!s.def_exists) {
        rc = no_definition(c, what, tenant, name, err);
        goto out;
    }
    if (t.def_exists || t.seen) {
        rc = ea_err_set(err, EA_ERR_CONFLICT, "could not rename metric \"%s\" to \"%s\": %s",
                        cat_quote(name, q, sizeof(q)), new_name,
                        t.def_exists ? "a metric of that name exists"
                                     : "events of that name were already seen for this tenant");
        goto out;
    }
    const char *params[3] = {tenant, name, new_name};
    /* its recomputation follows it (an unfinished one continues under the new name) */
    PGresult *res = cat_query(c, what,
                              "UPDATE metric_recompute_jobs SET metric = $3 WHERE tenant_id = $1 "
                              "AND metric = $2",
                              3, params, PGRES_COMMAND_OK, err);
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    PQclear(res);
    res = cat_query(c, what,
                    "UPDATE metric_definitions SET name = $3 WHERE tenant_id = $1 AND "
                    "name = $2 RETURNING " DEF_JSON "::text",
                    3, params, PGRES_TUPLES_OK, err);
    if (res == NULL) {
        rc = err->code;
        goto out;
    }
    rc = cat_json_parse(PQgetvalue(res, 0, 0), what, out, err);
    PQclear(res);
    bool old_takes = state_takes(&s, name);
    bool new_takes = !ea_catalog_def_counts_own_name(new_name, s.agg, s.event);
    /* invariant 3: the rows follow the definition; the count of its own event leaves a copy as
     * that event's automatic count */
    if (rc == EA_OK && !old_takes && s.seen)
        rc = copy_rows(c, what, tenant, name, new_name, err);
    if (rc == EA_OK)
        rc = move_rows(c, what, tenant, name, new_name, old_takes || !s.seen, err);
    changed_add(moved, name);
    changed_add(moved, new_name);
    if (rc == EA_OK && new_takes) /* invariant 2 for both names */
        rc = shift_shadows(c, what, tenant, new_name, true, moved, err);
    if (rc == EA_OK && old_takes)
        rc = shift_shadows(c, what, tenant, name, false, moved, err);
out:
    rc = cat_tx_end(&tx, rc, what, err);
out_notx:
    name_state_free(&s);
    name_state_free(&t);
    return change_done(rc, out, moved, changed);
}

/* A definition holds its name unless it is the count of the event named like it. */
static void taken_add(json_t *taken, const char *name, const char *aggregation, const char *event)
{
    if (!ea_catalog_def_counts_own_name(name, aggregation, event))
        json_object_set_new(taken, name, json_true());
}

/* The name the automatic count of event ev is stored under, given the names definitions hold:
 * ev + EA_CATALOG_EVENT_SUFFIX when one holds ev's base, else ev (also when a definition named
 * ev is its count: that definition's rows are the count). */
static json_t *count_name(const json_t *taken, const char *ev)
{
    size_t el = strlen(ev), bl = ea_catalog_event_base_len(ev, el);
    char base[EA_CATALOG_EVENT_MAX + 1];
    snprintf(base, sizeof(base), "%.*s", (int)bl, ev);
    if (json_object_get(taken, base) == NULL)
        return json_string(ev);
    char shadow[EA_CATALOG_EVENT_MAX + EA_CATALOG_EVENT_SUFFIX_LEN + 1];
    snprintf(shadow, sizeof(shadow), "%s%s", ev, EA_CATALOG_EVENT_SUFFIX);
    return json_string(shadow);
}

/* The known metric names of a tenant (definitions and automatic counts), for suggestions. */
static json_t *known_names(PGconn *c, const char *tenant, struct ea_err *err)
{
    const char *params[1] = {tenant};
    PGresult *res = cat_query(
        c, "resolve metric",
        "SELECT name, aggregation, event_name, 'd' FROM metric_definitions WHERE tenant_id = $1"
        " UNION ALL (SELECT name, NULL, NULL, 'e' FROM event_names WHERE tenant_id = $1 LIMIT "
        "10000)"
        " UNION ALL SELECT event_name, NULL, NULL, 'e' FROM metric_definitions WHERE tenant_id = "
        "$1",
        1, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return NULL;
    json_t *names = json_array(), *taken = json_object();
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        if (PQgetvalue(res, i, 3)[0] == 'd') {
            json_array_append_new(names, json_string(PQgetvalue(res, i, 0)));
            taken_add(taken, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
        }
    for (int i = 0; i < n; i++)
        if (PQgetvalue(res, i, 3)[0] == 'e')
            json_array_append_new(names, count_name(taken, PQgetvalue(res, i, 0)));
    json_decref(taken);
    PQclear(res);
    return names;
}

ea_rc ea_catalog_event_counts(PGconn *c, const char *tenant, json_t **out, struct ea_err *err)
{
    const char *params[1] = {tenant};
    *out = NULL;
    PGresult *res = cat_query(
        c, "read events",
        "SELECT name, aggregation, event_name, 'd' FROM metric_definitions WHERE tenant_id = $1"
        " UNION ALL (SELECT name, NULL, NULL, 'e' FROM event_names WHERE tenant_id = $1"
        " ORDER BY name LIMIT " EA_CATALOG_EVENTS_MAX ")",
        1, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err->code;
    json_t *list = json_array(), *taken = json_object();
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        if (PQgetvalue(res, i, 3)[0] == 'd')
            taken_add(taken, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
    for (int i = 0; i < n; i++)
        if (PQgetvalue(res, i, 3)[0] == 'e')
            json_array_append_new(list,
                                  json_pack("{s:s,s:o}", "event", PQgetvalue(res, i, 0), "metric",
                                            count_name(taken, PQgetvalue(res, i, 0))));
    json_decref(taken);
    PQclear(res);
    *out = list;
    return list != NULL ? EA_OK
                        : ea_err_set(err, EA_ERR_NOMEM, "could not read events: out of memory");
}

ea_rc ea_catalog_metric_source(PGconn *c, const char *tenant, const char *name,
                               ea_catalog_metric_src *out, struct ea_err *err)
{
    const char *what = "resolve metric";
    char q[CAT_QBUF];
    memset(out, 0, sizeof(*out));
    if (name == NULL)
        name = "";
    size_t len = strlen(name), bl = ea_catalog_event_base_len(name, len);
    char *base = strndup(name, bl);
    char *less = len > bl ? strndup(name, len - EA_CATALOG_EVENT_SUFFIX_LEN) : NULL;
    if (base == NULL || (len > bl && less == NULL)) {
        free(base);
        free(less);
        return ea_err_set(err, EA_ERR_NOMEM, "could not %s: out of memory", what);
    }
    /* the definition named name; the definition named like the base (does it take it?); is
     * name, or name minus one suffix, an event seen or counted by a definition? */
    const char *params[4] = {tenant, name, base, less};
    PGresult *res = cat_query(
        c, what,
        "SELECT (SELECT to_jsonb(dimensions)::text FROM metric_definitions"
        "   WHERE tenant_id = $1 AND name = $2),"
        " (SELECT aggregation = 'count' AND event_name = $3 FROM metric_definitions"
        "   WHERE tenant_id = $1 AND name = $3),"
        " EXISTS (SELECT 1 FROM event_names WHERE tenant_id = $1 AND name = $2)"
        "   OR EXISTS (SELECT 1 FROM metric_definitions WHERE tenant_id = $1 AND event_name = $2),"
        " $4::text IS NOT NULL AND (EXISTS (SELECT 1 FROM event_names WHERE tenant_id = $1"
        "   AND name = $4) OR EXISTS (SELECT 1 FROM metric_definitions WHERE tenant_id = $1"
        "   AND event_name = $4)),"
        " (SELECT json_build_array(event_name, aggregation, coalesce(property, ''),"
        "   cardinality_cap)::text FROM metric_definitions WHERE tenant_id = $1 AND name = $2)",
        4, params, PGRES_TUPLES_OK, err);
    if (res == NULL) {
        free(base);
        free(less);
        return err->code;
    }
    bool def = !PQgetisnull(res, 0, 0);
    bool takes = !PQgetisnull(res, 0, 1) && strcmp(PQgetvalue(res, 0, 1), "f") == 0;
    bool own = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    bool shadowed = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    ea_rc rc = EA_OK;
    out->agg = EA_CATALOG_AGG_COUNT;
    out->cap = EA_CATALOG_CAP_DEFAULT;
    if (def) {
        json_t *d = NULL;
        out->defined = true;
        rc = cat_json_parse(PQgetvalue(res, 0, 0), what, &out->dims, err);
        if (rc == EA_OK)
            rc = cat_json_parse(PQgetvalue(res, 0, 4), what, &d, err);
        if (rc == EA_OK) {
            int a = ea_catalog_agg_parse(json_string_value(json_array_get(d, 1)));
            snprintf(out->event, sizeof(out->event), "%s", json_string_value(json_array_get(d, 0)));
            snprintf(out->property, sizeof(out->property), "%s",
                     json_string_value(json_array_get(d, 2)));
            out->agg = a < 0 ? EA_CATALOG_AGG_COUNT : (ea_catalog_agg)a;
            out->cap = (long)json_integer_value(json_array_get(d, 3));
        }
        json_decref(d);
    } else if ((!takes && own) || (takes && shadowed)) {
        /* the automatic count of the event named name, or of name minus one suffix */
        snprintf(out->event, sizeof(out->event), "%s", takes ? less : name);
        if ((out->dims = json_array()) == NULL)
            rc = ea_err_set(err, EA_ERR_NOMEM, "could not %s: out of memory", what);
    } else {
        rc = ea_err_set(err, EA_ERR_NOTFOUND,
                        "unknown metric \"%s\": no definition and no event of that name in "
                        "tenant \"%s\"",
                        cat_quote(name, q, sizeof(q)), tenant);
        struct ea_err e2 = {0};
        json_t *names = known_names(c, tenant, &e2);
        size_t n = json_array_size(names);
        const char **cands = calloc(n + 1, sizeof(*cands));
        for (size_t i = 0; cands != NULL && i < n; i++)
            cands[i] = json_string_value(json_array_get(names, i));
        if (cands != NULL)
            cat_add_suggestions(err, name, cands, n);
        free(cands);
        json_decref(names);
    }
    free(base);
    free(less);
    PQclear(res);
    if (rc != EA_OK) {
        json_decref(out->dims);
        out->dims = NULL;
    }
    return rc;
}

ea_rc ea_catalog_metric_resolve(PGconn *c, const char *tenant, const char *name, json_t **dims,
                                struct ea_err *err)
{
    ea_catalog_metric_src src;
    ea_rc rc = ea_catalog_metric_source(c, tenant, name, &src, err);
    if (dims != NULL)
        *dims = rc == EA_OK ? src.dims : NULL;
    else
        json_decref(src.dims);
    return rc;
}
