/*
 * segment.h — the Segment HTTP Tracking API front door (POST /v1/track|page|screen|identify|
 * group|alias|batch): turns a Segment body into events in /ingest form and hands each to the
 * shared ingest_event_build (body.h). Pure (no I/O); the mapping is documented in
 * docs/event-format.md "Segment". Not for: auth, answers or limits (handler.c owns the request).
 */
#ifndef INGEST_SEGMENT_H
#define INGEST_SEGMENT_H

#include "body.h"

typedef enum ingest_segment_call {
    INGEST_SEGMENT_BATCH = 0, /* /v1/batch (and /v1/import): {"batch":[...], ...} */
    INGEST_SEGMENT_TRACK,
    INGEST_SEGMENT_PAGE,
    INGEST_SEGMENT_SCREEN,
    INGEST_SEGMENT_IDENTIFY,
    INGEST_SEGMENT_GROUP,
    INGEST_SEGMENT_ALIAS,
} ingest_segment_call;

/* The call named by the path after "/v1/" ("track", "batch", ...; a trailing '/' is allowed).
 * -1 for a path that is not a Segment call. */
int ingest_segment_call_from_path(const char *rest, size_t len);

/* Segment body → events (an ingest_adapt_fn; call is an ingest_segment_call). */
ingest_body_status ingest_segment_events(json_t *root, int call, const char *tenant,
                                         int64_t received_ms, const ingest_limits *limits,
                                         ingest_batch *out, ingest_body_error *err);

#endif
