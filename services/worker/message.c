/*
 * message.c — strict decoding of the worker's input. Strict because whatever passes here is
 * written to jsonb/text columns inside the batch transaction: one bad value there would fail the
 * whole batch, so every field is checked here and a bad message becomes a dead letter instead.
 * jansson already rejects invalid UTF-8 and \u0000 (PostgreSQL text cannot hold either).
 */
#include "message.h"
#include "ea_rollup_dec.h"
#include "jalloc.h"

#include <math.h>
#include <string.h>

static const char *dup_string(json_t *v, size_t max, ea_arena *a, bool *bad)
{
    *bad = true;
    if (!json_is_string(v))
        return NULL;
    size_t len = json_string_length(v);
    if (len == 0 || len > max)
        return NULL;
    *bad = false;
    return ea_arena_strndup(a, json_string_value(v), len);
}

/* Integer milliseconds; a JSON real is accepted when it is integral. */
static bool get_ms(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d != floor(d) || fabs(d) > 9e15)
            return false;
        *out = (int64_t)d;
        return true;
    }
    return false;
}

static bool dead(wk_event *ev, const char *reason, const void *payload, size_t len, ea_arena *a)
{
    ev->state = WK_EV_DEAD;
    ev->dead_reason = reason;
    ev->payload = ea_arena_strndup(a, payload, len);
    ev->payload_len = len;
    wk_event_release(ev);
    return ev->payload != NULL;
}

static bool decode(wk_event *ev, const void *payload, size_t len, ea_arena *a)
{
    bool bad;
    json_error_t jerr;
    ev->state = WK_EV_DEAD;
    ev->tenant = ev->event_id = ev->name = NULL;
    ev->root = ev->properties = NULL;
    ev->root_in_arena = false;
    ev->payload = NULL;
    ev->props_text = NULL;
    ev->props_len = 0;
    ev->late = false;
    ev->dropped = false;
    ev->forced_reason = NULL;
    if (payload == NULL || len == 0)
        return dead(ev, "empty_message", "", 0, a);
    json_t *root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return dead(ev, "invalid_json", payload, len, a);
    ev->root = root;
    ev->root_in_arena = ev->json_scope;
    if (!json_is_object(root))
        return dead(ev, "invalid_json", payload, len, a);
    json_t *v = json_object_get(root, "v");
    if (v == NULL)
        return dead(ev, "missing_field:v", payload, len, a);
    if (!json_is_integer(v) || json_integer_value(v) != 1)
        return dead(ev, "unsupported_version", payload, len, a);

    v = json_object_get(root, "tenant");
    if (v == NULL)
        return dead(ev, "missing_field:tenant", payload, len, a);
    ev->tenant = dup_string(v, WK_TENANT_MAX, a, &bad);
    if (bad)
        return dead(ev, "invalid_field:tenant", payload, len, a);
    if (ev->tenant == NULL)
        return false;

    v = json_object_get(root, "event_id");
    if (v == NULL)
        return dead(ev, "missing_field:event_id", payload, len, a);
    ev->event_id = dup_string(v, WK_EVENT_ID_MAX, a, &bad);
    if (bad)
        return dead(ev, "invalid_field:event_id", payload, len, a);
    if (ev->event_id == NULL)
        return false;

    v = json_object_get(root, "event");
    if (v == NULL)
        return dead(ev, "missing_field:event", payload, len, a);
    ev->name = dup_string(v, WK_EVENT_NAME_MAX, a, &bad);
    if (bad)
        return dead(ev, "invalid_field:event", payload, len, a);
    if (ev->name == NULL)
        return false;

    v = json_object_get(root, "ts");
    if (v == NULL)
        return dead(ev, "missing_field:ts", payload, len, a);
    /* year 1970..9999: PostgreSQL timestamptz and our partitions cover that comfortably */
    if (!get_ms(v, &ev->ts_ms) || ev->ts_ms < 0 || ev->ts_ms > INT64_C(253402300799999))
        return dead(ev, "invalid_field:ts", payload, len, a);

    v = json_object_get(root, "received_at");
    if (v == NULL) {
        ev->received_ms = ev->ts_ms;
    } else if (!get_ms(v, &ev->received_ms) || ev->received_ms < 0 ||
               ev->received_ms > INT64_C(253402300799999)) {
        return dead(ev, "invalid_field:received_at", payload, len, a);
    }

    v = json_object_get(root, "properties");
    if (v == NULL) {
        v = json_object();
        if (v == NULL || json_object_set_new(root, "properties", v) != 0)
            return false;
        ev->props_text = "{}";
        ev->props_len = 2;
    } else if (!json_is_object(v)) {
        return dead(ev, "invalid_field:properties", payload, len, a);
    } else {
        /* the properties' own text for raw_events, located in the message jansson validated
         * (lib/rollup's member scanner; duplicate keys were refused above, so there is one); an
         * escaped key makes it give up and the value is serialized instead, always correct */
        const char *pt;
        size_t plen;
        if (ea_dec_json_member(payload, len, "properties", &pt, &plen) && plen >= 2 &&
            pt[0] == '{') {
            ev->props_text = ea_arena_strndup(a, pt, plen);
            ev->props_len = ev->props_text != NULL ? plen : 0;
        }
    }
    ev->properties = v;
    ev->state = WK_EV_PARSED;
    return true;
}

bool wk_message_decode(wk_event *ev, const void *payload, size_t len, ea_arena *a)
{
    /* the tree's nodes come from the batch arena (jalloc.h): no malloc per node, no free */
    ev->json_scope = wk_jalloc_begin(a);
    bool ok = decode(ev, payload, len, a);
    if (ev->json_scope)
        wk_jalloc_end();
    ev->json_scope = false;
    return ok;
}

void wk_event_release(wk_event *ev)
{
    if (ev->root != NULL) {
        /* a tree in the arena goes with it; json_decref would walk it for nothing, and
         * outside the decode scope would hand arena memory to free() */
        if (!ev->root_in_arena || ev->json_scope)
            json_decref(ev->root);
        ev->root = NULL;
        ev->properties = NULL;
        ev->root_in_arena = false;
    }
}
