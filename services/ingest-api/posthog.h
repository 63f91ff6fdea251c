/*
 * posthog.h — the PostHog capture API front door (POST /batch/ and /capture/): turns a PostHog
 * body into events in /ingest form and hands each to the shared ingest_event_build (body.h).
 * Pure (no I/O); the mapping is documented in docs/event-format.md "PostHog". Not for: gzip
 * (inflate.c), auth, answers or limits (handler.c).
 */
#ifndef INGEST_POSTHOG_H
#define INGEST_POSTHOG_H

#include "body.h"

/* PostHog body → events (an ingest_adapt_fn; call is unused: /batch/ and /capture/ take the same
 * forms, {"api_key", "batch": [...], "sent_at"} or one event object). */
ingest_body_status ingest_posthog_events(json_t *root, int call, const char *tenant,
                                         int64_t received_ms, const ingest_limits *limits,
                                         ingest_batch *out, ingest_body_error *err);

#endif
