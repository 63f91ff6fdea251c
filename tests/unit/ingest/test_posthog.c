/*
 * test_posthog.c — the PostHog adapter (services/ingest-api/posthog.c): batch and single-event
 * forms, uuid → event_id, distinct_id, properties flattened without the project key, timestamp
 * with sent_at skew correction, `offset`, the key's three places, malformed bodies.
 */
#include "../ea_test.h"
#include "ea_time.h"
#include "posthog.h"

#include <jansson.h>
#include <stdlib.h>

static const int64_t NOW = INT64_C(1764151200000); /* 2025-11-26T10:00:00Z */

static ingest_body_status run(const char *body, ingest_batch *b)
{
    ingest_limits l = {.max_event = 32768,
                       .max_batch = 1000,
                       .max_depth = 32,
                       .max_future_ms = 3600 * 1000,
                       .retention_days = 30};
    ingest_body_error e;
    json_t *root;
    ingest_body_status st = ingest_body_load(body, strlen(body), &root, &e);
    if (st != INGEST_BODY_OK)
        return st;
    st = ingest_posthog_events(root, 0, "acme", NOW, &l, b, &e);
    json_decref(root);
    return st;
}

static json_t *msg(const ingest_batch *b, size_t i)
{
    json_error_t je;
    return json_loads(b->events[i].payload, 0, &je);
}

static void test_batch(void)
{
    ingest_batch b;
    EA_CHECK(run("{\"api_key\":\"ak_x\",\"sent_at\":\"2025-11-26T09:59:00Z\",\"batch\":["
                 "{\"event\":\"$pageview\",\"distinct_id\":\"d1\",\"uuid\":\"u-1\","
                 "\"timestamp\":\"2025-11-26T09:00:00Z\",\"type\":\"capture\","
                 "\"library\":\"posthog-node\",\"properties\":{\"$lib\":\"posthog-node\","
                 "\"$current_url\":\"/a\",\"token\":\"ak_x\",\"api_key\":\"ak_x\","
                 "\"event_id\":\"p\"}},"
                 "{\"event\":\"signup\",\"properties\":{\"distinct_id\":\"d2\"},\"offset\":5000},"
                 "{\"properties\":{}},{\"event\":\"x\",\"uuid\":\"\"},"
                 "{\"event\":\"x\",\"properties\":\"s\"}]}",
                 &b) == INGEST_BODY_OK);
    EA_CHECK(b.n == 5);
    EA_CHECK(b.events[0].accepted && b.events[1].accepted);
    EA_CHECK_STR(b.events[0].key, "acme/u-1");
    json_t *m = msg(&b, 0);
    EA_CHECK_STR(json_string_value(json_object_get(m, "event")), "$pageview");
    EA_CHECK(json_integer_value(json_object_get(m, "ts")) == NOW - 3600 * 1000 + 60 * 1000);
    json_t *p = json_object_get(m, "properties");
    EA_CHECK_STR(json_string_value(json_object_get(p, "distinct_id")), "d1");
    EA_CHECK_STR(json_string_value(json_object_get(p, "$lib")), "posthog-node");
    EA_CHECK_STR(json_string_value(json_object_get(p, "$current_url")), "/a");
    EA_CHECK_STR(json_string_value(json_object_get(p, "property_event_id")), "p");
    EA_CHECK(json_object_get(p, "token") == NULL);
    EA_CHECK(json_object_get(p, "property_api_key") == NULL);
    EA_CHECK(json_object_get(p, "api_key") == NULL);
    EA_CHECK(json_object_get(p, "type") == NULL && json_object_get(p, "library") == NULL);
    json_decref(m);
    m = msg(&b, 1);
    /* offset: 5 s before it was received, no skew correction on top */
    EA_CHECK(json_integer_value(json_object_get(m, "ts")) == NOW - 5000);
    EA_CHECK_STR(
        json_string_value(json_object_get(json_object_get(m, "properties"), "distinct_id")), "d2");
    json_decref(m);
    EA_CHECK(!b.events[2].accepted && strcmp(b.events[2].error_code, "missing_event") == 0);
    EA_CHECK(!b.events[3].accepted && strcmp(b.events[3].error_code, "invalid_event_id") == 0);
    EA_CHECK(!b.events[4].accepted && strcmp(b.events[4].error_code, "invalid_event") == 0);
    ingest_batch_free(&b);
}

static void test_single(void)
{
    ingest_batch b;
    EA_CHECK(run("{\"api_key\":\"k\",\"event\":\"clicked\",\"distinct_id\":42,"
                 "\"properties\":{\"button\":\"buy\"}}",
                 &b) == INGEST_BODY_OK);
    EA_CHECK(b.n == 1 && b.events[0].accepted);
    json_t *m = msg(&b, 0);
    json_t *p = json_object_get(m, "properties");
    EA_CHECK(json_integer_value(json_object_get(p, "distinct_id")) == 42);
    EA_CHECK_STR(json_string_value(json_object_get(p, "button")), "buy");
    EA_CHECK(json_object_get(p, "api_key") == NULL);
    EA_CHECK(json_integer_value(json_object_get(m, "ts")) == NOW);
    json_decref(m);
    ingest_batch_free(&b);
}

static void test_refused(void)
{
    ingest_batch b;
    EA_CHECK(run("[{\"event\":\"a\"}]", &b) == INGEST_BODY_BAD_SHAPE);
    EA_CHECK(run("{\"batch\":{}}", &b) == INGEST_BODY_BAD_SHAPE);
    EA_CHECK(run("{\"batch\":[]}", &b) == INGEST_BODY_EMPTY);
    EA_CHECK(run("{\"batch\":[", &b) == INGEST_BODY_INVALID_JSON);
}

EA_TEST_MAIN(EA_TEST(test_batch), EA_TEST(test_single), EA_TEST(test_refused))
