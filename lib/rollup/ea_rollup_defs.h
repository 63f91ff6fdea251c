/*
 * ea_rollup_defs.h — the metric-definition model the aggregation evaluates: the definitions of
 * every tenant (table metric_definitions), indexed by (tenant, event name). An ea_rollup_defs
 * is an immutable snapshot: the worker loads a new one when metric_definitions_version moved
 * (checked inside every batch transaction, migration 0003) and swaps it between batches;
 * backfill loads one definition. Not for: validating a new definition (the catalog's job).
 */
#ifndef EA_ROLLUP_DEFS_H
#define EA_ROLLUP_DEFS_H

#include "ea_arena.h"
#include "ea_err.h"
#include "ea_rollup.h"

#include <libpq-fe.h>
#include <stddef.h>

typedef struct ea_rollup_def {
    const char *tenant, *name, *event_name;
    ea_catalog_agg agg;
    const char *property;                 /* NULL for count */
    const char *dims[EA_ROLLUP_MAX_DIMS]; /* sorted, unique */
    size_t ndims;
    long cap; /* distinct values per dimension per UTC day; more fold into "__other__" */
} ea_rollup_def;

typedef struct ea_rollup_defs ea_rollup_defs;

/* An empty snapshot (for tests and before the first load). NULL on out of memory. */
ea_rollup_defs *ea_rollup_defs_new(void);

/* Adds a copy of d (dimensions are sorted and de-duplicated here). EA_ERR_INVALID for an unknown
 * aggregation or more than EA_ROLLUP_MAX_DIMS dimensions. */
ea_rc ea_rollup_defs_add(ea_rollup_defs *s, const ea_rollup_def *d, struct ea_err *err) EA_WUR;

/* Loads the definitions of tenant (NULL: every tenant) named name (NULL: every name) into a
 * new snapshot; NULL with err on failure. A definition that cannot be used (unknown
 * aggregation, bad dimensions) is logged and skipped, never fatal for the others. */
ea_rollup_defs *ea_rollup_defs_load(PGconn *c, const char *tenant, const char *name,
                                    struct ea_err *err);

void ea_rollup_defs_free(ea_rollup_defs *s);

/* The definitions counting events `event` of `tenant`; *n set, NULL when none. */
const ea_rollup_def *const *ea_rollup_defs_for_event(const ea_rollup_defs *s, const char *tenant,
                                                     const char *event, size_t *n);

/* True when tenant has a definition named `name`. */
int ea_rollup_defs_has_metric(const ea_rollup_defs *s, const char *tenant, const char *name);

/* The metric name of the automatic count of `event` (lib/catalog's rule: the event's own name;
 * "<event> (event)" while a definition named like the event's base counts something else; NULL
 * when a definition named like the event is its count and replaces it). A built name is copied
 * into a. EA_ERR_NOMEM when a is full. */
ea_rc ea_rollup_defs_count_name(const ea_rollup_defs *s, const char *tenant, const char *event,
                                ea_arena *a, const char **out) EA_WUR;

/* Number of definitions in the snapshot. */
size_t ea_rollup_defs_count(const ea_rollup_defs *s);

#endif
