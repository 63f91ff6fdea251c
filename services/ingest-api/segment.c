/*
 * segment.c — Segment message → /ingest event. Each message becomes a new jansson object in
 * /ingest form (event name, event_id, timestamp, sent_at, flat properties) and goes through
 * ingest_event_build like any /ingest event, so limits, skew correction and ids are the same
 * rules. What is copied and under which name (docs/event-format.md "Segment"):
 *   event        track: `event`; page: page_view; screen: screen_view; identify, group, alias
 *   event_id     `messageId` (the SDKs' retry id, so a retried message counts once)
 *   timestamp    `timestamp`, else `originalTimestamp`; sent_at: the message's or the batch's
 *                `sentAt`
 *   properties   `properties` (track, page, screen) or `traits` (identify, group), flattened;
 *                then userId, anonymousId, groupId, previousId, and name/category of page and
 *                screen calls (these replace a property of the same name); then the chosen
 *                `context` fields below under flat names (only where no property has the name).
 * Everything else (integrations, _metadata, the rest of context) is dropped.
 */
#include "segment.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *path;
    ingest_segment_call call;
} calls[] = {
    {"batch", INGEST_SEGMENT_BATCH},   {"import", INGEST_SEGMENT_BATCH},
    {"track", INGEST_SEGMENT_TRACK},   {"page", INGEST_SEGMENT_PAGE},
    {"screen", INGEST_SEGMENT_SCREEN}, {"identify", INGEST_SEGMENT_IDENTIFY},
    {"group", INGEST_SEGMENT_GROUP},   {"alias", INGEST_SEGMENT_ALIAS},
};

/* indexed by ingest_segment_call: the message `type` and the event name it becomes (NULL: the
 * message's own `event`) */
static const struct {
    const char *type;
    const char *event;
} types[] = {
    [INGEST_SEGMENT_BATCH] = {NULL, NULL},
    [INGEST_SEGMENT_TRACK] = {"track", NULL},
    [INGEST_SEGMENT_PAGE] = {"page", "page_view"},
    [INGEST_SEGMENT_SCREEN] = {"screen", "screen_view"},
    [INGEST_SEGMENT_IDENTIFY] = {"identify", "identify"},
    [INGEST_SEGMENT_GROUP] = {"group", "group"},
    [INGEST_SEGMENT_ALIAS] = {"alias", "alias"},
};

/* context.<obj>.<field> (or context.<field> when obj is NULL) → property name */
static const struct {
    const char *obj, *field, *prop;
} context_fields[] = {
    {"page", "path", "page_path"},
    {"page", "url", "page_url"},
    {"page", "title", "page_title"},
    {"page", "referrer", "page_referrer"},
    {"page", "search", "page_search"},
    {"library", "name", "library_name"},
    {"library", "version", "library_version"},
    {NULL, "locale", "locale"},
    {NULL, "timezone", "timezone"},
    {NULL, "userAgent", "user_agent"},
    {"campaign", "name", "utm_campaign"},
    {"campaign", "source", "utm_source"},
    {"campaign", "medium", "utm_medium"},
    {"campaign", "term", "utm_term"},
    {"campaign", "content", "utm_content"},
};

static const char *const identity_fields[] = {"userId", "anonymousId", "groupId", "previousId"};

int ingest_segment_call_from_path(const char *rest, size_t len)
{
    if (len > 0 && rest[len - 1] == '/')
        len--;
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
        if (strlen(calls[i].path) == len && memcmp(calls[i].path, rest, len) == 0)
            return (int)calls[i].call;
    return -1;
}

static bool scalar(const json_t *v)
{
    return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

static bool set(json_t *ev, const char *name, json_t *v)
{
    return v == NULL || json_object_set(ev, name, v) == 0;
}

/* Copies the chosen context fields that no property already set. */
static bool put_context(json_t *ev, const json_t *ctx)
{
    if (!json_is_object(ctx))
        return true;
    for (size_t i = 0; i < sizeof(context_fields) / sizeof(context_fields[0]); i++) {
        const json_t *o =
            context_fields[i].obj != NULL ? json_object_get(ctx, context_fields[i].obj) : ctx;
        json_t *v = json_is_object(o) ? json_object_get(o, context_fields[i].field) : NULL;
        if (v != NULL && scalar(v) && json_object_get(ev, context_fields[i].prop) == NULL &&
            json_object_set(ev, context_fields[i].prop, v) != 0)
            return false;
    }
    return true;
}

/* Maps one message to an /ingest event and builds it into e. */
static void message_build(const json_t *msg, ingest_segment_call call, const json_t *batch_ctx,
                          const json_t *batch_sent_at, const char *tenant, int64_t received_ms,
                          const ingest_limits *lim, ingest_event *e)
{
    if (!json_is_object(msg)) {
        ingest_event_reject(e, "invalid_event", "a Segment message must be a JSON object");
        return;
    }
    if (call == INGEST_SEGMENT_BATCH) {
        const json_t *t = json_object_get(msg, "type");
        for (int c = INGEST_SEGMENT_TRACK; c <= INGEST_SEGMENT_ALIAS && json_is_string(t); c++)
            if (strcmp(json_string_value(t), types[c].type) == 0)
                call = (ingest_segment_call)c;
        if (call == INGEST_SEGMENT_BATCH) {
            ingest_event_reject(e, "invalid_event",
                                "\"type\" must be one of track, page, screen, identify, group, "
                                "alias");
            return;
        }
    }
    const json_t *mid = json_object_get(msg, "messageId");
    if (mid != NULL &&
        (!json_is_string(mid) || json_string_length(mid) == 0 || json_string_length(mid) > 128)) {
        ingest_event_reject(e, "invalid_event_id", "messageId must be a string of 1 to 128 bytes");
        return;
    }
    bool traits = call == INGEST_SEGMENT_IDENTIFY || call == INGEST_SEGMENT_GROUP;
    const json_t *props = json_object_get(msg, traits ? "traits" : "properties");
    if (props != NULL && !json_is_object(props) && !json_is_null(props)) {
        ingest_event_reject(e, "invalid_event",
                            traits ? "\"traits\" must be an object"
                                   : "\"properties\" must be an "
                                     "object");
        return;
    }
    json_t *ev = json_object();
    bool ok = ev != NULL;
    if (ok && call == INGEST_SEGMENT_TRACK) {
        json_t *name = json_object_get(msg, "event");
        if (name == NULL) {
            json_decref(ev);
            ingest_event_reject(e, "missing_event",
                                "a track call needs \"event\" (the event name)");
            return;
        }
        ok = set(ev, "event", name);
    } else if (ok) {
        ok = json_object_set_new(ev, "event", json_string(types[call].event)) == 0;
    }
    if (ok && json_is_object(props))
        ok = ingest_event_put_props(ev, props);
    for (size_t i = 0; ok && i < sizeof(identity_fields) / sizeof(identity_fields[0]); i++) {
        json_t *v = json_object_get(msg, identity_fields[i]);
        if (v != NULL && scalar(v))
            ok = set(ev, identity_fields[i], v);
    }
    if (ok && (call == INGEST_SEGMENT_PAGE || call == INGEST_SEGMENT_SCREEN)) {
        json_t *v = json_object_get(msg, "name");
        if (v != NULL && scalar(v))
            ok = set(ev, "name", v);
        v = json_object_get(msg, "category");
        if (ok && v != NULL && scalar(v))
            ok = set(ev, "category", v);
    }
    const json_t *ctx = json_object_get(msg, "context");
    if (ok)
        ok = put_context(ev, json_is_object(ctx) ? ctx : batch_ctx);
    json_t *ts = json_object_get(msg, "timestamp");
    if (ts == NULL)
        ts = json_object_get(msg, "originalTimestamp");
    if (ok)
        ok = set(ev, "event_id", (json_t *)mid) && set(ev, "timestamp", ts) &&
             set(ev, "sent_at", json_object_get(msg, "sentAt"));
    if (!ok) {
        json_decref(ev);
        ingest_event_reject(e, "internal", "out of memory");
        return;
    }
    ingest_event_build(ev, batch_sent_at, tenant, received_ms, lim, e);
    json_decref(ev);
}

ingest_body_status ingest_segment_events(json_t *root, int call, const char *tenant,
                                         int64_t received_ms, const ingest_limits *limits,
                                         ingest_batch *out, ingest_body_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    if (!json_is_object(root)) {
        snprintf(err->message, sizeof(err->message),
                 call == INGEST_SEGMENT_BATCH
                     ? "a Segment batch must be an object {\"batch\": [...]}"
                     : "a Segment call must be a JSON object");
        return INGEST_BODY_BAD_SHAPE;
    }
    if (call != INGEST_SEGMENT_BATCH) {
        ingest_body_status st = ingest_batch_alloc(out, 1, limits, err);
        if (st == INGEST_BODY_OK)
            message_build(root, (ingest_segment_call)call, NULL, NULL, tenant, received_ms, limits,
                          &out->events[0]);
        return st;
    }
    const json_t *list = json_object_get(root, "batch");
    if (!json_is_array(list)) {
        snprintf(err->message, sizeof(err->message),
                 "a Segment batch must be an object {\"batch\": [...]}");
        return INGEST_BODY_BAD_SHAPE;
    }
    size_t n = json_array_size(list);
    ingest_body_status st = ingest_batch_alloc(out, n, limits, err);
    if (st != INGEST_BODY_OK)
        return st;
    const json_t *ctx = json_object_get(root, "context");
    const json_t *sent_at = json_object_get(root, "sentAt");
    for (size_t i = 0; i < n; i++)
        message_build(json_array_get(list, i), INGEST_SEGMENT_BATCH,
                      json_is_object(ctx) ? ctx : NULL, sent_at, tenant, received_ms, limits,
                      &out->events[i]);
    return INGEST_BODY_OK;
}
