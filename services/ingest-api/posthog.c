/*
 * posthog.c — PostHog event → /ingest event. Each event becomes a new jansson object in /ingest
 * form and goes through ingest_event_build like any /ingest event. What is copied and under
 * which name (docs/event-format.md "PostHog"):
 *   event        `event`, unchanged ("$pageview" stays "$pageview")
 *   event_id     `uuid` (posthog-node and posthog-js retry with the same uuid)
 *   timestamp    `timestamp`; without one, `offset` (ms before sending) counts back from the
 *                time received; sent_at: the batch's `sent_at`
 *   properties   `properties`, flattened, without `token` and `api_key` (PostHog clients put the
 *                project key there); then `distinct_id` (top level, else from properties).
 * Everything else at the top level (type, library, $set, ...) is dropped.
 */
#include "posthog.h"

#include <stdio.h>
#include <string.h>

static bool event_build(const json_t *msg, const json_t *sent_at, const char *tenant,
                        int64_t received_ms, const ingest_limits *lim, ingest_event *e)
{
    if (!json_is_object(msg)) {
        ingest_event_reject(e, "invalid_event", "a PostHog event must be a JSON object");
        return true;
    }
    json_t *name = json_object_get(msg, "event");
    if (name == NULL) {
        ingest_event_reject(e, "missing_event", "field \"event\" (the event name) is required");
        return true;
    }
    const json_t *uuid = json_object_get(msg, "uuid");
    if (uuid != NULL && (!json_is_string(uuid) || json_string_length(uuid) == 0 ||
                         json_string_length(uuid) > 128)) {
        ingest_event_reject(e, "invalid_event_id", "uuid must be a string of 1 to 128 bytes");
        return true;
    }
    const json_t *props = json_object_get(msg, "properties");
    if (props != NULL && !json_is_object(props) && !json_is_null(props)) {
        ingest_event_reject(e, "invalid_event", "\"properties\" must be an object");
        return true;
    }
    json_t *ev = json_object();
    if (ev == NULL)
        return false;
    bool ok = json_object_set(ev, "event", name) == 0;
    if (ok && json_is_object(props)) {
        ok = ingest_event_put_props(ev, props);
        /* the project key travels in properties in PostHog's browser client: never store it */
        json_object_del(ev, "token");
        json_object_del(ev, "property_api_key");
    }
    json_t *did = json_object_get(msg, "distinct_id");
    if (ok && did != NULL && (json_is_string(did) || json_is_number(did)))
        ok = json_object_set(ev, "distinct_id", did) == 0;
    if (ok && uuid != NULL)
        ok = json_object_set(ev, "event_id", (json_t *)uuid) == 0;
    json_t *ts = json_object_get(msg, "timestamp");
    const json_t *offset = json_object_get(msg, "offset");
    if (ok && ts != NULL) {
        ok = json_object_set(ev, "timestamp", ts) == 0;
    } else if (ok && json_is_integer(offset) && json_integer_value(offset) >= 0 &&
               json_integer_value(offset) <= received_ms) {
        /* `offset` is measured on the client from the event to the send: relative to the time
         * received it needs no skew correction, so the event carries sent_at = received */
        ok = json_object_set_new(ev, "timestamp",
                                 json_integer(received_ms - json_integer_value(offset))) == 0 &&
             json_object_set_new(ev, "sent_at", json_integer(received_ms)) == 0;
    }
    if (!ok) {
        json_decref(ev);
        return false;
    }
    ingest_event_build(ev, sent_at, tenant, received_ms, lim, e);
    json_decref(ev);
    return true;
}

ingest_body_status ingest_posthog_events(json_t *root, int call, const char *tenant,
                                         int64_t received_ms, const ingest_limits *limits,
                                         ingest_batch *out, ingest_body_error *err)
{
    (void)call;
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    if (!json_is_object(root)) {
        snprintf(err->message, sizeof(err->message),
                 "a PostHog body must be an object: {\"api_key\": ..., \"batch\": [...]} or one "
                 "event");
        return INGEST_BODY_BAD_SHAPE;
    }
    const json_t *list = json_object_get(root, "batch");
    if (list != NULL && !json_is_array(list)) {
        snprintf(err->message, sizeof(err->message), "\"batch\" must be an array of events");
        return INGEST_BODY_BAD_SHAPE;
    }
    size_t n = list != NULL ? json_array_size(list) : 1;
    ingest_body_status st = ingest_batch_alloc(out, n, limits, err);
    if (st != INGEST_BODY_OK)
        return st;
    const json_t *sent_at = json_object_get(root, "sent_at");
    for (size_t i = 0; i < n; i++) {
        if (!event_build(list != NULL ? json_array_get(list, i) : root, sent_at, tenant,
                         received_ms, limits, &out->events[i]))
            ingest_event_reject(&out->events[i], "internal", "out of memory");
    }
    return INGEST_BODY_OK;
}
