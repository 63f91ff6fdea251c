/*
 * watermark.c — see watermark.h. INT64_MIN means "nothing seen": nothing is late or too late
 * before a partition's first event, and no bucket is closed before every partition has a
 * watermark.
 */
#include "watermark.h"

bool wk_watermark_too_late(int64_t high, int64_t ts, int64_t max_lateness_ms)
{
    return high != INT64_MIN && ts < high - max_lateness_ms;
}

bool wk_watermark_advance(int64_t *high, int64_t ts, int64_t allowed_lateness_ms)
{
    bool late = *high != INT64_MIN && ts < *high - allowed_lateness_ms;
    if (*high == INT64_MIN || ts > *high)
        *high = ts;
    return late;
}

int64_t wk_watermark_of(int64_t high, int64_t allowed_lateness_ms)
{
    return high == INT64_MIN ? INT64_MIN : high - allowed_lateness_ms;
}

bool wk_bucket_closed(int64_t start, int64_t len, int64_t gwm)
{
    return gwm != INT64_MIN && start + len <= gwm;
}
