/*
 * metricdefs.h — the metric definitions of every tenant (table metric_definitions), indexed by
 * (tenant, event name) for the aggregation of each event. A wk_defs is an immutable snapshot:
 * the worker loads a new one when metric_definitions_version moved (checked inside every batch
 * transaction, migration 0003) and swaps it between batches.
 */
#ifndef WK_METRICDEFS_H
#define WK_METRICDEFS_H

#include "ea_arena.h"
#include "ea_err.h"

#include <libpq-fe.h>
#include <stddef.h>

#define WK_MAX_DIMS 8

typedef enum wk_aggregation {
    WK_AGG_COUNT = 0,
    WK_AGG_SUM,
    WK_AGG_MIN,
    WK_AGG_MAX,
    WK_AGG_AVG,
    WK_AGG_UNIQUE,
} wk_aggregation;

typedef struct wk_metric_def {
    const char *tenant, *name, *event_name;
    wk_aggregation agg;
    const char *property;          /* NULL for count */
    const char *dims[WK_MAX_DIMS]; /* sorted, unique */
    size_t ndims;
    long cap; /* distinct values per dimension per UTC day; more fold into "__other__" */
} wk_metric_def;

typedef struct wk_defs wk_defs;

/* An empty snapshot (for tests and before the first load). NULL on out of memory. */
wk_defs *wk_defs_new(void);

/* Adds a copy of d (dimensions are sorted and de-duplicated here). EA_ERR_INVALID for an unknown
 * aggregation or more than WK_MAX_DIMS dimensions. */
ea_rc wk_defs_add(wk_defs *s, const wk_metric_def *d, struct ea_err *err) EA_WUR;

/* Loads every definition from PostgreSQL into a new snapshot; NULL with err on failure. */
wk_defs *wk_defs_load(PGconn *c, struct ea_err *err);

void wk_defs_free(wk_defs *s);

/* The definitions counting events `event` of `tenant`; *n set, NULL when none. */
const wk_metric_def *const *wk_defs_for_event(const wk_defs *s, const char *tenant,
                                              const char *event, size_t *n);

/* The metric name of the automatic count of `event` (lib/catalog's rule: the event's own name;
 * "<event> (event)" while a definition named like the event's base counts something else; NULL
 * when a definition named like the event is its count and replaces it). A built name is copied
 * into a. EA_ERR_NOMEM when a is full. */
ea_rc wk_defs_count_name(const wk_defs *s, const char *tenant, const char *event, ea_arena *a,
                         const char **out) EA_WUR;

/* Number of definitions in the snapshot. */
size_t wk_defs_count(const wk_defs *s);

/* "count" -> WK_AGG_COUNT ...; -1 when unknown (lib/catalog's list of aggregations). */
int wk_aggregation_parse(const char *s);

#endif
