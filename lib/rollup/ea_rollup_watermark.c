/*
 * ea_rollup_watermark.c — see ea_rollup_watermark.h. INT64_MIN means "nothing seen": nothing is
 * late before a partition's first event, and no bucket is closed before every partition has a
 * watermark.
 */
#include "ea_rollup_watermark.h"
#include "ea_pg.h"
#include "ea_time.h"

#include <stdio.h>
#include <stdlib.h>

bool ea_rollup_too_old(int64_t ts_ms, int64_t received_ms, long retention_days)
{
    return ts_ms < received_ms - (int64_t)retention_days * EA_MS_PER_DAY;
}

void ea_rollup_too_old_message(char *buf, size_t cap, long retention_days)
{
    snprintf(buf, cap,
             "timestamp is older than the raw-event retention of %ld days: it could not be "
             "counted",
             retention_days);
}

int64_t ea_rollup_dedup_window_ms(long retention_days)
{
    return ((int64_t)retention_days + 1) * EA_MS_PER_DAY;
}

bool ea_rollup_watermark_advance(int64_t *high, int64_t ts, int64_t allowed_lateness_ms)
{
    bool late = *high != INT64_MIN && ts < *high - allowed_lateness_ms;
    if (*high == INT64_MIN || ts > *high)
        *high = ts;
    return late;
}

int64_t ea_rollup_watermark_of(int64_t high, int64_t allowed_lateness_ms)
{
    return high == INT64_MIN ? INT64_MIN : high - allowed_lateness_ms;
}

bool ea_rollup_bucket_closed(int64_t start, int64_t len, int64_t gwm)
{
    return gwm != INT64_MIN && start + len <= gwm;
}

ea_rc ea_rollup_group_watermark(PGconn *c, const char *group, const char *topic, int64_t *out_ms,
                                struct ea_err *err)
{
    const char *params[2] = {group, topic};
    PGresult *res = ea_pg_query(c,
                                "SELECT (extract(epoch FROM ea_group_watermark($1, $2)) * 1000)"
                                "::int8",
                                2, params, PGRES_TUPLES_OK, err);
    if (res == NULL)
        return err != NULL ? err->code : EA_ERR_DB;
    *out_ms = PQntuples(res) != 1 || PQgetisnull(res, 0, 0)
                  ? INT64_MIN
                  : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return EA_OK;
}
