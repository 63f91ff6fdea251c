/*
 * sample_gen.h — the demo tenant's sample events (`analytics-admin seed --sample-days N`): a
 * deterministic, realistic-looking day of traffic for a small SaaS site. Pure (no I/O): the same
 * (tenant, UTC day) always yields the same events with the same event_ids, so loading the sample
 * twice counts every event once (the worker dedups by event_id). Not for sending them: sample.c
 * posts them to the ingest API.
 *
 * What a day holds: page views over 20 pages (a few pages take most of the traffic) with a daily
 * rhythm (quiet nights, an afternoon peak in UTC) and a weekly one (weekends at about 60 %), a
 * slow growth over the weeks; signups with a plan (free/pro/team); purchases with an amount and
 * a currency that follows the visitor's country. Every event carries a country and a device.
 */
#ifndef ADM_SAMPLE_GEN_H
#define ADM_SAMPLE_GEN_H

#include <stddef.h>
#include <stdint.h>

#define ADM_SAMPLE_EVENT_MAX 512 /* bytes of one event's JSON text, NUL included */

/* One generated event: its time and its JSON object as text (event, timestamp, event_id and the
 * properties), e.g. {"event":"page_view","event_id":"smp-acme-corp-20260512-000017",...}. */
typedef struct adm_sample_event {
    int64_t ts_ms;
    char json[ADM_SAMPLE_EVENT_MAX];
} adm_sample_event;

/* Called for each event of a day in time order; returns 0 to go on, non-zero to stop (that value
 * is then returned by adm_sample_day). */
typedef int (*adm_sample_fn)(void *ctx, const adm_sample_event *ev);

/* Generates the events of the UTC day starting at day_ms (a multiple of 86400000) for tenant,
 * passing those with ts_ms < until_ms to fn in time order. The events of a day and their ids do
 * not depend on until_ms (today's events appear as the day goes on, with stable ids). Returns 0,
 * or fn's non-zero value. */
int adm_sample_day(const char *tenant, int64_t day_ms, int64_t until_ms, adm_sample_fn fn,
                   void *ctx);

/* How many events adm_sample_day would pass for these arguments (for progress bars). */
size_t adm_sample_day_count(const char *tenant, int64_t day_ms, int64_t until_ms);

/* The metric definitions the sample is meant to be looked at with (besides the automatic counts
 * page_view, signup, purchase and the seed's page_views): name, event, aggregation, property
 * (NULL for count), dimensions as a PostgreSQL array literal. */
typedef struct adm_sample_metric {
    const char *name, *event, *aggregation, *property, *dimensions, *description;
} adm_sample_metric;

/* The list and its length. */
const adm_sample_metric *adm_sample_metrics(size_t *n);

/* The prefix every sample event_id of tenant starts with ("smp-<tenant>-"), into out. */
void adm_sample_id_prefix(const char *tenant, char out[96]);

#endif
