/*
 * metrics.h — ingest-api counters and the Prometheus text rendering of /metrics. Single
 * threaded (one loop per process), so plain integers suffice.
 */
#ifndef INGEST_METRICS_H
#define INGEST_METRICS_H

#include "ea_keyauth.h"

#include <stddef.h>
#include <stdint.h>

#define INGEST_LAT_BUCKETS 12

typedef struct ingest_metrics {
    uint64_t requests[6]; /* by status class index: 202, 400, 401/403, 413/415, 429, 5xx */
    uint64_t events_accepted;
    uint64_t events_rejected_invalid; /* validation errors */
    uint64_t events_rejected_unavailable;
    uint64_t rate_limited;
    uint64_t auth_limited; /* refused for too many failed key attempts */
    uint64_t inflight;
    uint64_t produce_lat[INGEST_LAT_BUCKETS + 1]; /* cumulative histogram counts per bucket */
    double produce_lat_sum;
    uint64_t produce_lat_count;
} ingest_metrics;

extern ingest_metrics ingest_stats;

/* Counts a response by status. */
void ingest_metrics_status(int status);

/* Records one request's produce latency (seconds). */
void ingest_metrics_latency(double seconds);

/* Renders the Prometheus text exposition, the key verifier's counters included, into a malloc'd
 * string (caller frees). */
char *ingest_metrics_render(const ea_keyauth_stats *auth, size_t *len);

#endif
