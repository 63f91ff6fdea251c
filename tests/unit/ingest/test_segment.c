/*
 * test_segment.c — the Segment adapter (services/ingest-api/segment.c): every call's event name,
 * the property mapping (properties/traits flattened, identity fields, chosen context fields,
 * reserved names renamed), messageId → event_id, timestamp/sentAt skew correction, writeKey,
 * and malformed bodies refused with a clear reason.
 */
#include "../ea_test.h"
#include "ea_time.h"
#include "segment.h"

#include <jansson.h>
#include <stdlib.h>

static const int64_t NOW = INT64_C(1764151200000); /* 2025-11-26T10:00:00Z */

static ingest_body_status run(const char *body, int call, ingest_batch *b)
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
    st = ingest_segment_events(root, call, "acme", NOW, &l, b, &e);
    EA_CHECK(st == INGEST_BODY_OK || strlen(e.message) > 0);
    json_decref(root);
    return st;
}

static json_t *msg(const ingest_batch *b, size_t i)
{
    json_error_t je;
    return json_loads(b->events[i].payload, 0, &je);
}

static const char *prop(json_t *m, const char *name)
{
    return json_string_value(json_object_get(json_object_get(m, "properties"), name));
}

static void test_paths(void)
{
    EA_CHECK(ingest_segment_call_from_path("track", 5) == INGEST_SEGMENT_TRACK);
    EA_CHECK(ingest_segment_call_from_path("batch/", 6) == INGEST_SEGMENT_BATCH);
    EA_CHECK(ingest_segment_call_from_path("import", 6) == INGEST_SEGMENT_BATCH);
    EA_CHECK(ingest_segment_call_from_path("alias", 5) == INGEST_SEGMENT_ALIAS);
    EA_CHECK(ingest_segment_call_from_path("trackx", 6) == -1);
    EA_CHECK(ingest_segment_call_from_path("", 0) == -1);
    EA_CHECK(ingest_segment_call_from_path("track/x", 7) == -1);
}

static void test_track(void)
{
    ingest_batch b;
    EA_CHECK(run("{\"userId\":\"u1\",\"event\":\"Order Completed\",\"messageId\":\"m-1\","
                 "\"properties\":{\"revenue\":9.99,\"timestamp\":\"x\",\"event\":\"y\"},"
                 "\"timestamp\":\"2025-11-26T09:00:00Z\",\"sentAt\":\"2025-11-26T09:59:00Z\","
                 "\"context\":{\"library\":{\"name\":\"analytics-node\",\"version\":\"3.1.0\"},"
                 "\"page\":{\"path\":\"/cart\"},\"campaign\":{\"source\":\"news\"},"
                 "\"locale\":\"en-US\",\"ip\":\"1.2.3.4\"},\"writeKey\":\"ak_x\","
                 "\"integrations\":{\"All\":true}}",
                 INGEST_SEGMENT_TRACK, &b) == INGEST_BODY_OK);
    EA_CHECK(b.n == 1 && b.events[0].accepted);
    EA_CHECK_STR(b.events[0].key, "acme/m-1");
    json_t *m = msg(&b, 0);
    EA_CHECK_STR(json_string_value(json_object_get(m, "event")), "Order Completed");
    /* client clock one minute behind: the timestamp moves one minute later */
    EA_CHECK(json_integer_value(json_object_get(m, "ts")) == NOW - 3600 * 1000 + 60 * 1000);
    EA_CHECK_STR(prop(m, "userId"), "u1");
    EA_CHECK_STR(prop(m, "library_name"), "analytics-node");
    EA_CHECK_STR(prop(m, "library_version"), "3.1.0");
    EA_CHECK_STR(prop(m, "page_path"), "/cart");
    EA_CHECK_STR(prop(m, "utm_source"), "news");
    EA_CHECK_STR(prop(m, "locale"), "en-US");
    EA_CHECK_STR(prop(m, "property_timestamp"), "x");
    EA_CHECK_STR(prop(m, "property_event"), "y");
    json_t *p = json_object_get(m, "properties");
    EA_CHECK(json_real_value(json_object_get(p, "revenue")) == 9.99);
    EA_CHECK(json_object_get(p, "writeKey") == NULL);
    EA_CHECK(json_object_get(p, "ip") == NULL);
    EA_CHECK(json_object_get(p, "integrations") == NULL);
    EA_CHECK(json_object_get(p, "context") == NULL);
    EA_CHECK(json_object_get(p, "messageId") == NULL);
    json_decref(m);
    ingest_batch_free(&b);
}

static void test_calls(void)
{
    struct {
        int call;
        const char *body, *event, *prop, *value;
    } cases[] = {
        {INGEST_SEGMENT_PAGE,
         "{\"anonymousId\":\"a1\",\"name\":\"Pricing\",\"properties\":{\"path\":\"/pricing\","
         "\"name\":\"ignored\"}}",
         "page_view", "name", "Pricing"},
        {INGEST_SEGMENT_PAGE, "{\"anonymousId\":\"a1\",\"properties\":{\"path\":\"/p\"}}",
         "page_view", "path", "/p"},
        {INGEST_SEGMENT_SCREEN, "{\"userId\":\"u\",\"name\":\"Home\"}", "screen_view", "name",
         "Home"},
        {INGEST_SEGMENT_IDENTIFY, "{\"userId\":\"u9\",\"traits\":{\"plan\":\"pro\"}}", "identify",
         "plan", "pro"},
        {INGEST_SEGMENT_GROUP, "{\"userId\":\"u\",\"groupId\":\"g1\",\"traits\":{\"n\":\"x\"}}",
         "group", "groupId", "g1"},
        {INGEST_SEGMENT_ALIAS, "{\"userId\":\"new\",\"previousId\":\"old\"}", "alias", "previousId",
         "old"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ingest_batch b;
        EA_CHECK(run(cases[i].body, cases[i].call, &b) == INGEST_BODY_OK);
        EA_CHECK(b.n == 1 && b.events[0].accepted);
        json_t *m = msg(&b, 0);
        EA_CHECK_STR(json_string_value(json_object_get(m, "event")), cases[i].event);
        EA_CHECK_STR(prop(m, cases[i].prop), cases[i].value);
        json_decref(m);
        ingest_batch_free(&b);
    }
}

static void test_batch(void)
{
    ingest_batch b;
    EA_CHECK(run("{\"batch\":[{\"type\":\"track\",\"event\":\"a\",\"messageId\":\"1\","
                 "\"timestamp\":\"2025-11-26T09:00:00Z\"},"
                 "{\"type\":\"page\",\"messageId\":\"2\"},{\"type\":\"nope\"},{\"type\":\"track\"},"
                 "{\"type\":\"identify\",\"messageId\":7},3,"
                 "{\"type\":\"track\",\"event\":\"b\",\"properties\":[1]}],"
                 "\"sentAt\":\"2025-11-26T09:59:00Z\","
                 "\"context\":{\"library\":{\"name\":\"lib\"}},\"writeKey\":\"k\"}",
                 INGEST_SEGMENT_BATCH, &b) == INGEST_BODY_OK);
    EA_CHECK(b.n == 7);
    EA_CHECK(b.events[0].accepted && b.events[1].accepted);
    EA_CHECK(!b.events[2].accepted && strcmp(b.events[2].error_code, "invalid_event") == 0);
    EA_CHECK(strstr(b.events[2].error, "type") != NULL);
    EA_CHECK(!b.events[3].accepted && strcmp(b.events[3].error_code, "missing_event") == 0);
    EA_CHECK(!b.events[4].accepted && strcmp(b.events[4].error_code, "invalid_event_id") == 0);
    EA_CHECK(!b.events[5].accepted);
    EA_CHECK(!b.events[6].accepted && strstr(b.events[6].error, "properties") != NULL);
    json_t *m = msg(&b, 0);
    EA_CHECK(json_integer_value(json_object_get(m, "ts")) == NOW - 3600 * 1000 + 60 * 1000);
    EA_CHECK_STR(prop(m, "library_name"), "lib"); /* batch-level context applies */
    json_decref(m);
    m = msg(&b, 1);
    EA_CHECK_STR(json_string_value(json_object_get(m, "event")), "page_view");
    EA_CHECK_STR(json_string_value(json_object_get(m, "event_id")), "2");
    json_decref(m);
    ingest_batch_free(&b);
}

static void test_refused(void)
{
    ingest_batch b;
    EA_CHECK(run("[]", INGEST_SEGMENT_BATCH, &b) == INGEST_BODY_BAD_SHAPE);
    EA_CHECK(run("{\"batch\":{}}", INGEST_SEGMENT_BATCH, &b) == INGEST_BODY_BAD_SHAPE);
    EA_CHECK(run("{\"batch\":[]}", INGEST_SEGMENT_BATCH, &b) == INGEST_BODY_EMPTY);
    EA_CHECK(run("\"x\"", INGEST_SEGMENT_TRACK, &b) == INGEST_BODY_BAD_SHAPE);
    EA_CHECK(
        run("{\"event\":\"a\",\"messageId\":\"" /* 129 bytes */
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
            INGEST_SEGMENT_TRACK, &b) == INGEST_BODY_OK);
    EA_CHECK(!b.events[0].accepted);
    ingest_batch_free(&b);
    EA_CHECK(run("{\"event\":\"a\",\"timestamp\":\"yesterday\"}", INGEST_SEGMENT_TRACK, &b) ==
             INGEST_BODY_OK);
    EA_CHECK(!b.events[0].accepted && strcmp(b.events[0].error_code, "invalid_timestamp") == 0);
    ingest_batch_free(&b);
}

EA_TEST_MAIN(EA_TEST(test_paths), EA_TEST(test_track), EA_TEST(test_calls), EA_TEST(test_batch),
             EA_TEST(test_refused))
