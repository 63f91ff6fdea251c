/*
 * events.c — Query.events: the event names a tenant has sent and the properties seen on them,
 * so the dashboard can offer every event as a chart (its automatic count) and say what a metric
 * could be grouped or filtered by. Read-only; tenant access checked on entry (read scope).
 *
 * Where the answer comes from, and why:
 *   - names: the events seen (table event_names, kept by the worker), each with the metric its
 *     count is stored under (lib/catalog ea_catalog_event_counts: the event's own name, the
 *     name + " (event)" while a definition holds it, or the definition that is its count);
 *     counts and last seen from that metric's rows in rollups_daily / rollups_hourly — exact, and
 *     cheap (their primary keys lead with tenant_id, metric, bucket). Counts cover the last
 *     EVENTS_DAYS UTC days; an event without any in them is not listed.
 *   - properties: a sample per event name: the EVENTS_SAMPLE_PER_NAME most recent events of
 *     each name among the tenant's newest EVENTS_SAMPLE_READ raw events of the last
 *     EVENTS_SAMPLE_DAYS days, read newest UTC day first. raw_events has no index besides its
 *     day partitions (an index would cost the worker's write path), so what bounds the read is
 *     the LIMIT (rows of the tenant read) and the window's partitions. Newest first, so an event
 *     sent today shows its properties however many older events the tenant has (before, the
 *     first 10,000 rows in partition order — the oldest — left rarer, newer events with none);
 *     per name, so a frequent event cannot crowd the others out of the aggregation. A name rarer
 *     than that (none among the tenant's newest EVENTS_SAMPLE_READ events) has no properties.
 *     Each property says in how many sampled events of its name it appeared (`seen` of
 *     `sampled`), its JSON types, how many distinct values it had and its most frequent values
 *     (cut to EVENTS_VALUE_MAX bytes). A property only on events older than the window, or on
 *     events the sample missed, is not listed: the answer says "seen in the sample", not "never".
 * The three statements run in one read-only transaction under a statement timeout, so a slow
 * sample cannot hold a pool thread's connection for long (the whole field runs on a pool thread:
 * exec.h).
 */
#include "events.h"
#include "app.h"
#include "ea_catalog.h"
#include "ea_log.h"
#include "exec.h"
#include "ea_pg.h"
#include "series.h"

#include <stdlib.h>
#include <string.h>

#define EVENTS_DAYS "30"
#define EVENTS_SAMPLE_DAYS "7"
#define EVENTS_SAMPLE_READ "50000"
#define EVENTS_SAMPLE_PER_NAME "500"
/* the start of the current UTC day (raw_events partitions are UTC days) */
#define EVENTS_DAY0 "(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
#define EVENTS_VALUE_MAX "100"
#define EVENTS_TOP_VALUES "5"
#define EVENTS_TIMEOUT "'3s'"

/* $2: [{event, metric}] from lib/catalog (ea_catalog_event_counts): the events seen and the
 * metric each one's count is stored under. Every row of that metric counts (a definition that is
 * its event's count may have dimensions), as in metrics() without groupBy. */
static const char names_sql[] =
    "SELECT x.event, sum(d.cnt)::text, to_char(max(h.last) AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM jsonb_to_recordset($2::jsonb) AS x(event text, "
    "metric text) JOIN rollups_daily d ON d.tenant_id = $1 AND d.metric = x.metric "
    "LEFT JOIN LATERAL (SELECT max(bucket) AS last FROM rollups_hourly h WHERE h.tenant_id = $1 "
    "AND h.metric = d.metric AND h.dims = d.dims AND h.bucket >= d.bucket AND h.bucket < "
    "d.bucket + interval '1 day' AND h.cnt > 0) h ON true "
    "WHERE d.cnt > 0 AND d.bucket >= "
    "date_trunc('day', now()) - interval '" EVENTS_DAYS " days' + interval '1 day' "
    "GROUP BY x.event ORDER BY x.event";

static const char props_sql[] =
    /* the tenant's events newest UTC day first (one day partition per step, the last one cut
     * at now() - EVENTS_SAMPLE_DAYS days; OFFSET 0 keeps the subquery a parameterized scan
     * under the loop, so PostgreSQL prunes the other partitions at run time), stopped after
     * EVENTS_SAMPLE_READ rows */
    "WITH recent AS (SELECT r.event_name, r.event_time, r.properties FROM "
    "generate_series(0, " EVENTS_SAMPLE_DAYS
    ") AS g(d) CROSS JOIN LATERAL (SELECT event_name, event_time, "
    "properties FROM raw_events WHERE tenant_id = $1 AND event_time >= greatest(now() - "
    "interval '" EVENTS_SAMPLE_DAYS " days', " EVENTS_DAY0 " - g.d * interval '1 day') AND "
    "event_time < CASE WHEN g.d = 0 THEN 'infinity'::timestamptz ELSE " EVENTS_DAY0
    " - (g.d - 1) * interval '1 day' END OFFSET 0) r LIMIT " EVENTS_SAMPLE_READ "), "
    /* the sample: at most EVENTS_SAMPLE_PER_NAME of the most recent events of each name */
    "s AS (SELECT event_name, properties FROM (SELECT event_name, properties, row_number() "
    "OVER (PARTITION BY event_name ORDER BY event_time DESC) AS k FROM recent) x WHERE k "
    "<= " EVENTS_SAMPLE_PER_NAME "), "
    "n AS (SELECT event_name, count(*) AS sampled FROM s GROUP BY 1), "
    "vc AS (SELECT s.event_name, p.key, jsonb_typeof(p.value) AS t, "
    "left(CASE jsonb_typeof(p.value) WHEN 'string' THEN p.value #>> '{}' ELSE p.value::text "
    "END, " EVENTS_VALUE_MAX ") AS v, count(*) AS c FROM s, jsonb_each(s.properties) p "
    "GROUP BY 1, 2, 3, 4), "
    "r AS (SELECT vc.*, row_number() OVER (PARTITION BY event_name, key ORDER BY c DESC, v) AS rn "
    "FROM vc) "
    "SELECT r.event_name, r.key, sum(r.c)::text, n.sampled::text, "
    "array_to_json(array_agg(DISTINCT r.t))::text, count(*)::text, "
    "array_to_json(array_agg(r.v ORDER BY r.rn) FILTER (WHERE r.rn <= " EVENTS_TOP_VALUES
    "))::text FROM r JOIN n USING (event_name) GROUP BY r.event_name, r.key, n.sampled "
    "ORDER BY r.event_name, sum(r.c) DESC, r.key";

static json_t *json_text(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &je);
    return v != NULL ? v : json_array();
}

int gql_resolve_events(const ea_gql_field_ctx *ctx, json_t **out, ea_gql_error *err)
{
    gql_request_ctx *rc = ctx->request_ctx;
    rc->other_fields++; /* not a metrics field: the whole response is not cached */
    const char *tenant = json_string_value(json_object_get(ctx->args, "tenant"));
    if (rc->thread == NULL) { /* needs the database: the operation runs on a pool thread */
        rc->deferred = true;
        return gql_fail(err, "DEFERRED", "%s", "needs the database: runs on a worker thread");
    }
    PGconn *c = gql_thread_db(rc->thread);
    if (c == NULL)
        return gql_fail(err, "SERVICE_UNAVAILABLE", "%s", "database unavailable");
    if (gql_principal_may(c, &rc->who, tenant, EA_SCOPE_READ) != 1)
        return gql_fail(err, "FORBIDDEN", "not allowed to access tenant \"%s\" with this scope",
                        tenant != NULL ? tenant : "");
    struct ea_err e;
    json_t *counts = NULL;
    char *counts_s = NULL;
    const char *params[2] = {tenant, NULL};
    PGresult *names = NULL, *props = NULL;
    if (ea_pg_exec(c, "BEGIN READ ONLY", &e) != EA_OK ||
        ea_pg_exec(c, "SET LOCAL statement_timeout = " EVENTS_TIMEOUT, &e) != EA_OK ||
        ea_catalog_event_counts(c, tenant, &counts, &e) != EA_OK ||
        (params[1] = counts_s = json_dumps(counts, JSON_COMPACT)) == NULL ||
        (names = ea_pg_query(c, names_sql, 2, params, PGRES_TUPLES_OK, &e)) == NULL ||
        (props = ea_pg_query(c, props_sql, 1, params, PGRES_TUPLES_OK, &e)) == NULL) {
        ea_log_error(tenant, "events of %s: %s", tenant,
                     counts != NULL && counts_s == NULL ? "out of memory" : e.message);
        json_decref(counts);
        free(counts_s);
        PQclear(names);
        struct ea_err e2;
        if (ea_pg_exec(c, "ROLLBACK", &e2) != EA_OK)
            ea_log_warn("postgresql", "%s", e2.message); /* a broken connection is reopened */
        return gql_fail(err, "INTERNAL_SERVER_ERROR", "%s", "could not read the events");
    }
    json_decref(counts);
    free(counts_s);
    if (ea_pg_exec(c, "COMMIT", &e) != EA_OK)
        ea_log_warn("postgresql", "%s", e.message); /* read only: nothing is lost */

    /* one object per name, properties attached in the sample's order (most seen first) */
    json_t *list = json_array(), *by_name = json_object();
    for (int i = 0; i < PQntuples(names); i++) {
        json_t *o =
            json_pack("{s:s,s:f,s:s?,s:[]}", "name", PQgetvalue(names, i, 0), "count",
                      strtod(PQgetvalue(names, i, 1), NULL), "lastSeen",
                      PQgetisnull(names, i, 2) ? NULL : PQgetvalue(names, i, 2), "properties");
        json_object_set(by_name, PQgetvalue(names, i, 0), o);
        json_array_append_new(list, o);
    }
    for (int i = 0; i < PQntuples(props); i++) {
        json_t *o = json_object_get(by_name, PQgetvalue(props, i, 0));
        if (o == NULL)
            continue; /* in raw events but without a count in the window (or a metric's name) */
        json_array_append_new(
            json_object_get(o, "properties"),
            json_pack("{s:s,s:I,s:I,s:o,s:I,s:o}", "name", PQgetvalue(props, i, 1), "seen",
                      (json_int_t)strtoll(PQgetvalue(props, i, 2), NULL, 10), "sampled",
                      (json_int_t)strtoll(PQgetvalue(props, i, 3), NULL, 10), "types",
                      json_text(PQgetvalue(props, i, 4)), "distinctValues",
                      (json_int_t)strtoll(PQgetvalue(props, i, 5), NULL, 10), "topValues",
                      json_text(PQgetisnull(props, i, 6) ? "[]" : PQgetvalue(props, i, 6))));
    }
    json_decref(by_name);
    PQclear(names);
    PQclear(props);
    *out = list;
    return 0;
}
