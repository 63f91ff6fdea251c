/*
 * dims.h — dimension values of a rollup row. A rollup row is keyed by its dimensions as jsonb;
 * in memory the worker keys rows by a canonical JSON text of the same object (keys sorted,
 * values in one canonical form) so that two events with equal dimensions meet in one row and
 * one upsert. Also the per-day cardinality cap that folds rare values into "__other__".
 */
#ifndef WK_DIMS_H
#define WK_DIMS_H

#include "ea_arena.h"
#include "metricdefs.h"
#include "ea_pg_buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define WK_DIMS_OTHER "__other__"

/* Appends the canonical JSON of a property value used as a dimension or unique value:
 * missing/null -> null, strings -> JSON string, numbers -> canonical number (1.0 == 1),
 * booleans -> true/false, objects and arrays -> a JSON *string* holding their compact
 * key-sorted text (one value, groupable). */
void wk_dims_value_json(ea_pg_buf *b, const json_t *v);

/* Optional cardinality cap state; see wk_capset_* below. NULL means "no cap". */
typedef struct wk_capset wk_capset;

/* Appends {"dim":value,...} for d->dims (sorted) taken from props. With caps, a value that is
 * not already admitted for (tenant, metric, UTC day of day_ms, dim) once the cap is reached is
 * replaced by "__other__". false only on out-of-memory. */
bool wk_dims_build(ea_pg_buf *b, const wk_metric_def *d, const json_t *props, wk_capset *caps,
                   int64_t day_ms);

/* Cap state: a cache of the admitted values per (tenant, metric, UTC day, dimension) — the
 * registry itself is the table rollup_dim_values — plus the values the current batch admitted
 * (staged). A rolled-back batch leaves no trace (wk_capset_rollback), so a retried batch decides
 * exactly as the first attempt did. */
wk_capset *wk_capset_new(void);
void wk_capset_free(wk_capset *c);

/* True when value (canonical JSON text) may have its own row; admits it when there is room. */
bool wk_capset_admit(wk_capset *c, const char *tenant, const char *metric, int64_t day_ms,
                     const char *dim, const char *value, size_t len, long cap);

/* Records a committed value (read back from rollup_dim_values) without staging it. */
bool wk_capset_seed(wk_capset *c, const char *tenant, const char *metric, int64_t day_ms,
                    const char *dim, const char *value, size_t len);

typedef enum wk_cap_state {
    WK_CAP_KNOWN,   /* admitted before (committed or staged): keeps its own row */
    WK_CAP_FULL,    /* not admitted and the cap is reached: folds into __other__ */
    WK_CAP_UNKNOWN, /* not admitted, room left: the registry must be consulted under the lock */
} wk_cap_state;

/* What this worker knows about value without changing anything. */
wk_cap_state wk_capset_state(wk_capset *c, const char *tenant, const char *metric, int64_t day_ms,
                             const char *dim, const char *value, size_t len, long cap);

/* The values staged by the current batch, for writing them to rollup_dim_values. */
size_t wk_capset_staged_count(const wk_capset *c);
void wk_capset_staged_get(const wk_capset *c, size_t i, const char **tenant, const char **metric,
                          int64_t *day_ms, const char **dim, const char **value, size_t *len);

void wk_capset_commit(wk_capset *c);
void wk_capset_rollback(wk_capset *c);

/* Forgets days older than before_ms (memory bound). */
void wk_capset_expire(wk_capset *c, int64_t before_ms);

#endif
