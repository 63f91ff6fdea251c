/*
 * metrics.h — ingest-api counters and the Prometheus text rendering of /metrics. Single
 * threaded (one loop per process), so plain integers suffice.
 */
#ifndef INGEST_METRICS_H
#define INGEST_METRICS_H

#include "ea_keyauth.h"
#include "ea_ratelimit.h"

#include <stddef.h>
#include <stdint.h>

#define INGEST_LAT_BUCKETS 12
#define INGEST_STATUS_CLASSES 7

/* The front doors, a label on the request and event counters (frontdoor.h). */
typedef enum ingest_source {
    INGEST_SOURCE_INGEST = 0, /* POST /ingest */
    INGEST_SOURCE_SEGMENT,    /* POST /v1/... */
    INGEST_SOURCE_POSTHOG,    /* POST /batch/, /capture/ */
    INGEST_SOURCE_N,
} ingest_source;

typedef struct ingest_metrics {
    /* by source and status class: 2xx, 400, 401/403, 413/415, 429, other 4xx, 5xx */
    uint64_t requests[INGEST_SOURCE_N][INGEST_STATUS_CLASSES];
    uint64_t events_accepted[INGEST_SOURCE_N];
    uint64_t events_rejected_invalid[INGEST_SOURCE_N]; /* validation errors */
    uint64_t events_rejected_unavailable[INGEST_SOURCE_N];
    uint64_t browser_requests[INGEST_SOURCE_N]; /* authenticated with a browser key */
    uint64_t gzip_too_large;                    /* gzip bodies stopped at the body cap */
    uint64_t rate_limited;
    uint64_t auth_limited; /* refused for too many failed key attempts */
    uint64_t inflight;
    uint64_t produce_lat[INGEST_LAT_BUCKETS + 1]; /* cumulative histogram counts per bucket */
    double produce_lat_sum;
    uint64_t produce_lat_count;
    uint64_t sdk_js_served, sdk_js_not_modified;   /* GET /sdk.js answered 200 / 304 */
    uint64_t preflight_allowed, preflight_refused; /* CORS OPTIONS by outcome */
} ingest_metrics;

extern ingest_metrics ingest_stats;

/* Counts a response of a front door by status. */
void ingest_metrics_status(ingest_source src, int status);

/* Records one request's produce latency (seconds). */
void ingest_metrics_latency(double seconds);

/* Renders the Prometheus text exposition, the key verifier's and the rate limiter's counters
 * included, into a malloc'd string (caller frees). */
char *ingest_metrics_render(const ea_keyauth_stats *auth, const ea_rl_stats *rl, size_t *len);

#endif
