/*
 * ea_rollup_dims.h — dimension values of a rollup row. A rollup row is keyed by its dimensions
 * as jsonb; in memory rows are keyed by a canonical JSON text of the same object (keys sorted,
 * values in one canonical form) so that two events with equal dimensions meet in one row and
 * one upsert. Also the per-day cardinality cap that folds rare values into "__other__".
 */
#ifndef EA_ROLLUP_DIMS_H
#define EA_ROLLUP_DIMS_H

#include "ea_arena.h"
#include "ea_rollup_defs.h"
#include "ea_pg_buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define EA_ROLLUP_DIMS_OTHER "__other__"

/* Appends the canonical JSON of a property value used as a dimension or unique value:
 * missing/null -> null, strings -> JSON string, numbers -> canonical number (1.0 == 1),
 * booleans -> true/false, objects and arrays -> a JSON *string* holding their compact
 * key-sorted text (one value, groupable). */
void ea_rollup_dims_value_json(ea_buf *b, const json_t *v);

/* Optional cardinality cap state; see ea_rollup_caps_* below. NULL means "no cap". */
typedef struct ea_rollup_caps ea_rollup_caps;

/* Appends {"dim":value,...} for d->dims (sorted) from vals[i]/lens[i], the canonical JSON of
 * each dimension's value (ea_rollup_dims_value_json; NULL for missing or null). With caps, a
 * value that is not already admitted for (tenant, metric, UTC day of day_ms, dim) once the cap
 * is reached is replaced by "__other__". false only on out-of-memory. */
bool ea_rollup_dims_build(ea_buf *b, const ea_rollup_def *d, const char *const *vals,
                          const uint32_t *lens, ea_rollup_caps *caps, int64_t day_ms);

/* Cap state: a cache of the admitted values per (tenant, metric, UTC day, dimension) — the
 * registry itself is the table rollup_dim_values — plus the values the current batch admitted
 * (staged). A rolled-back batch leaves no trace (ea_rollup_caps_rollback), so a retried batch
 * decides exactly as the first attempt did. */
ea_rollup_caps *ea_rollup_caps_new(void);
void ea_rollup_caps_free(ea_rollup_caps *c);

/* True when value (canonical JSON text) may have its own row; admits it when there is room. */
bool ea_rollup_caps_admit(ea_rollup_caps *c, const char *tenant, const char *metric, int64_t day_ms,
                          const char *dim, const char *value, size_t len, long cap);

/* Records a committed value (read back from rollup_dim_values) without staging it. */
bool ea_rollup_caps_seed(ea_rollup_caps *c, const char *tenant, const char *metric, int64_t day_ms,
                         const char *dim, const char *value, size_t len);

typedef enum ea_rollup_cap_state {
    EA_ROLLUP_CAP_KNOWN,   /* admitted before (committed or staged): keeps its own row */
    EA_ROLLUP_CAP_FULL,    /* not admitted and the cap is reached: folds into __other__ */
    EA_ROLLUP_CAP_UNKNOWN, /* not admitted, room left: the registry must be consulted under the lock
                            */
} ea_rollup_cap_state;

/* What this worker knows about value without changing anything. */
ea_rollup_cap_state ea_rollup_caps_state(ea_rollup_caps *c, const char *tenant, const char *metric,
                                         int64_t day_ms, const char *dim, const char *value,
                                         size_t len, long cap);

/* The values staged by the current batch, for writing them to rollup_dim_values. */
size_t ea_rollup_caps_staged_count(const ea_rollup_caps *c);
void ea_rollup_caps_staged_get(const ea_rollup_caps *c, size_t i, const char **tenant,
                               const char **metric, int64_t *day_ms, const char **dim,
                               const char **value, size_t *len);

void ea_rollup_caps_commit(ea_rollup_caps *c);
void ea_rollup_caps_rollback(ea_rollup_caps *c);

/* Forgets days older than before_ms (memory bound). */
void ea_rollup_caps_expire(ea_rollup_caps *c, int64_t before_ms);

#endif
