/*
 * metrics.c — ingest counters and their Prometheus exposition (text format 0.0.4).
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

ingest_metrics ingest_stats;

static const double lat_bounds[INGEST_LAT_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    5};
static const char *const status_names[INGEST_STATUS_CLASSES] = {
    "2xx", "400", "401_403", "413_415", "429", "4xx_other", "5xx"};
static const char *const source_names[INGEST_SOURCE_N] = {"ingest", "segment", "posthog"};

void ingest_metrics_status(ingest_source src, int status)
{
    int i = status >= 200 && status < 300    ? 0
            : status == 400                  ? 1
            : status == 401 || status == 403 ? 2
            : status == 413 || status == 415 ? 3
            : status == 429                  ? 4
            : status >= 400 && status < 500  ? 5
                                             : 6;
    ingest_stats.requests[src < INGEST_SOURCE_N ? src : 0][i]++;
}

void ingest_metrics_latency(double s)
{
    int i = 0;
    while (i < INGEST_LAT_BUCKETS && s > lat_bounds[i])
        i++;
    ingest_stats.produce_lat[i]++;
    ingest_stats.produce_lat_sum += s;
    ingest_stats.produce_lat_count++;
}

/* A counter with one label taking two values. */
static void counter2(FILE *f, const char *name, const char *help, const char *label, const char *v1,
                     uint64_t n1, const char *v2, uint64_t n2)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s{%s=\"%s\"} %llu\n%s{%s=\"%s\"} %llu\n", name,
            help, name, name, label, v1, (unsigned long long)n1, name, label, v2,
            (unsigned long long)n2);
}

char *ingest_metrics_render(const ea_keyauth_stats *auth, const ea_rl_stats *rl, size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (f == NULL)
        return NULL;
    fprintf(f, "# HELP ingest_requests_total Requests to the front doors by source and status.\n"
               "# TYPE ingest_requests_total counter\n");
    for (int s = 0; s < INGEST_SOURCE_N; s++)
        for (int i = 0; i < INGEST_STATUS_CLASSES; i++)
            fprintf(f, "ingest_requests_total{source=\"%s\",status=\"%s\"} %llu\n", source_names[s],
                    status_names[i], (unsigned long long)ingest_stats.requests[s][i]);
    fprintf(f, "# HELP ingest_events_total Events by source and outcome.\n"
               "# TYPE ingest_events_total counter\n");
    for (int s = 0; s < INGEST_SOURCE_N; s++)
        fprintf(f,
                "ingest_events_total{source=\"%s\",outcome=\"accepted\"} %llu\n"
                "ingest_events_total{source=\"%s\",outcome=\"rejected\",reason=\"invalid\"} "
                "%llu\n"
                "ingest_events_total{source=\"%s\",outcome=\"rejected\",reason=\"unavailable\"} "
                "%llu\n",
                source_names[s], (unsigned long long)ingest_stats.events_accepted[s],
                source_names[s], (unsigned long long)ingest_stats.events_rejected_invalid[s],
                source_names[s], (unsigned long long)ingest_stats.events_rejected_unavailable[s]);
    fprintf(f, "# HELP ingest_browser_requests_total Requests authenticated with a browser key.\n"
               "# TYPE ingest_browser_requests_total counter\n");
    for (int s = 0; s < INGEST_SOURCE_N; s++)
        fprintf(f, "ingest_browser_requests_total{source=\"%s\"} %llu\n", source_names[s],
                (unsigned long long)ingest_stats.browser_requests[s]);
    fprintf(f,
            "# HELP ingest_gzip_too_large_total gzip bodies stopped at the body limit while "
            "decompressing.\n# TYPE ingest_gzip_too_large_total counter\n"
            "ingest_gzip_too_large_total %llu\n",
            (unsigned long long)ingest_stats.gzip_too_large);
    fprintf(f,
            "# HELP ingest_rate_limited_total Requests refused by the rate limiter.\n"
            "# TYPE ingest_rate_limited_total counter\ningest_rate_limited_total %llu\n"
            "# HELP ingest_inflight Requests waiting for Kafka acknowledgements.\n"
            "# TYPE ingest_inflight gauge\ningest_inflight %llu\n",
            (unsigned long long)ingest_stats.rate_limited,
            (unsigned long long)ingest_stats.inflight);
    fprintf(
        f,
        "# HELP ingest_auth_total API key checks by outcome (cache: answered from the "
        "verified-key cache; limited: refused for too many failed attempts; busy: queue full).\n"
        "# TYPE ingest_auth_total counter\n"
        "ingest_auth_total{outcome=\"cache\"} %llu\n"
        "ingest_auth_total{outcome=\"verified\"} %llu\n"
        "ingest_auth_total{outcome=\"refused\"} %llu\n"
        "ingest_auth_total{outcome=\"limited\"} %llu\n"
        "ingest_auth_total{outcome=\"busy\"} %llu\n"
        "ingest_auth_total{outcome=\"refresh\"} %llu\n"
        "# HELP ingest_auth_queued Key verifications waiting for a thread.\n"
        "# TYPE ingest_auth_queued gauge\ningest_auth_queued %zu\n",
        (unsigned long long)auth->cache_hits, (unsigned long long)auth->verified,
        (unsigned long long)auth->refused, (unsigned long long)auth->limited,
        (unsigned long long)auth->busy, (unsigned long long)auth->refreshes, auth->queued);
    fprintf(f,
            "# HELP ingest_ratelimit_refills_total Token refills asked of Redis (one Lua call "
            "each, by the rate limiter's Redis thread).\n"
            "# TYPE ingest_ratelimit_refills_total counter\ningest_ratelimit_refills_total %llu\n"
            "# HELP ingest_ratelimit_waits_total Requests that waited for a refill (no leased "
            "token left), and those whose wait ended at its deadline (then decided locally).\n"
            "# TYPE ingest_ratelimit_waits_total counter\n"
            "ingest_ratelimit_waits_total{outcome=\"refill\"} %llu\n"
            "ingest_ratelimit_waits_total{outcome=\"deadline\"} %llu\n"
            "# HELP ingest_ratelimit_local_total Decisions by the local fallback bucket (Redis "
            "unreachable or too slow).\n"
            "# TYPE ingest_ratelimit_local_total counter\ningest_ratelimit_local_total %llu\n",
            (unsigned long long)rl->refills, (unsigned long long)(rl->waits - rl->wait_timeouts),
            (unsigned long long)rl->wait_timeouts, (unsigned long long)rl->local);
    fprintf(f, "# HELP ingest_produce_seconds Time from request to the last Kafka ack.\n"
               "# TYPE ingest_produce_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < INGEST_LAT_BUCKETS; i++) {
        cum += ingest_stats.produce_lat[i];
        fprintf(f, "ingest_produce_seconds_bucket{le=\"%g\"} %llu\n", lat_bounds[i],
                (unsigned long long)cum);
    }
    cum += ingest_stats.produce_lat[INGEST_LAT_BUCKETS];
    fprintf(f,
            "ingest_produce_seconds_bucket{le=\"+Inf\"} %llu\ningest_produce_seconds_sum %g\n"
            "ingest_produce_seconds_count %llu\n",
            (unsigned long long)cum, ingest_stats.produce_lat_sum,
            (unsigned long long)ingest_stats.produce_lat_count);
    counter2(f, "ingest_sdk_js_requests_total", "GET /sdk.js by answer.", "status", "200",
             ingest_stats.sdk_js_served, "304", ingest_stats.sdk_js_not_modified);
    counter2(f, "ingest_cors_preflights_total", "CORS preflights (OPTIONS) by outcome.", "outcome",
             "allowed", ingest_stats.preflight_allowed, "refused", ingest_stats.preflight_refused);
    fclose(f);
    *len = size;
    return buf;
}
