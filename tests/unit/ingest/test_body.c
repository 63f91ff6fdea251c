/*
 * test_body.c — ingest-api body parsing and validation: body forms, reserved fields, limits,
 * skew correction, hostile JSON. The HTTP-level hostile table lives in the integration suite.
 */
#include "../ea_test.h"
#include "body.h"
#include "ea_time.h"

#include <jansson.h>
#include <stdlib.h>

static const int64_t NOW = INT64_C(1764151200000); /* 2025-11-26T10:00:00Z */

static ingest_limits lim(void)
{
    return (ingest_limits){.max_event = 32768,
                           .max_batch = 1000,
                           .max_depth = 32,
                           .max_future_ms = 3600 * 1000,
                           .retention_days = 30};
}

static ingest_body_status parse(const char *body, ingest_batch *b)
{
    ingest_limits l = lim();
    ingest_body_error e;
    return ingest_body_parse(body, strlen(body), "acme", NOW, &l, b, &e);
}

static json_t *payload(const ingest_batch *b, size_t i)
{
    json_error_t je;
    return json_loads(b->events[i].payload, 0, &je);
}

static void test_single_event(void)
{
    ingest_batch b;
    EA_CHECK(parse("{\"event\":\"page_view\",\"page\":\"/a\",\"event_id\":\"e1\","
                   "\"timestamp\":1764150000}",
                   &b) == INGEST_BODY_OK);
    EA_CHECK(b.n == 1 && b.events[0].accepted);
    EA_CHECK_STR(b.events[0].key, "acme/e1");
    json_t *m = payload(&b, 0);
    EA_CHECK(json_integer_value(json_object_get(m, "ts")) == INT64_C(1764150000000));
    EA_CHECK(json_integer_value(json_object_get(m, "received_at")) == NOW);
    EA_CHECK_STR(json_string_value(json_object_get(m, "tenant")), "acme");
    EA_CHECK_STR(json_string_value(json_object_get(json_object_get(m, "properties"), "page")),
                 "/a");
    EA_CHECK(json_object_get(json_object_get(m, "properties"), "event_id") == NULL);
    json_decref(m);
    ingest_batch_free(&b);
}

static void test_forms(void)
{
    ingest_batch b;
    EA_CHECK(parse("[{\"event\":\"a\"},{\"event\":\"b\"},{\"nope\":1}]", &b) == INGEST_BODY_OK);
    EA_CHECK(b.n == 3 && b.events[0].accepted && b.events[1].accepted && !b.events[2].accepted);
    EA_CHECK_STR(b.events[2].error_code, "missing_event");
    EA_CHECK(strlen(b.events[0].event_id) == 36 && b.events[0].event_id[14] == '7');
    ingest_batch_free(&b);
    EA_CHECK(parse("{\"batch\":[{\"event\":\"a\",\"timestamp\":\"2025-11-26T09:00:00Z\"}],"
                   "\"sent_at\":\"2025-11-26T09:59:00Z\"}",
                   &b) == INGEST_BODY_OK);
    /* skew: client clock 1 minute behind → timestamp moves 1 minute later */
    json_t *m = payload(&b, 0);
    EA_CHECK(json_integer_value(json_object_get(m, "ts")) == NOW - 3600 * 1000 + 60 * 1000);
    json_decref(m);
    ingest_batch_free(&b);
    EA_CHECK(parse("[]", &b) == INGEST_BODY_EMPTY);
    EA_CHECK(parse("42", &b) == INGEST_BODY_BAD_SHAPE);
    EA_CHECK(parse("[1, \"x\"]", &b) == INGEST_BODY_OK && !b.events[0].accepted);
    ingest_batch_free(&b);
}

static void test_invalid_json(void)
{
    ingest_batch b;
    ingest_limits l = lim();
    ingest_body_error e;
    const char *bad = "{\"event\": \"a\",}";
    EA_CHECK(ingest_body_parse(bad, strlen(bad), "acme", NOW, &l, &b, &e) ==
             INGEST_BODY_INVALID_JSON);
    EA_CHECK(e.offset > 0 && e.offset <= strlen(bad));
    EA_CHECK(parse("{\"event\":\"a\",\"x\":NaN}", &b) == INGEST_BODY_INVALID_JSON);
    EA_CHECK(parse("{\"event\":\"a\",\"x\":1e400}", &b) == INGEST_BODY_INVALID_JSON);
    EA_CHECK(parse("{\"event\":\"a\",\"x\":9223372036854775808}", &b) == INGEST_BODY_INVALID_JSON);
    EA_CHECK(parse("{\"event\":\"a\\u0000\"}", &b) == INGEST_BODY_INVALID_JSON);
    EA_CHECK(parse("{\"event\":\"\\ud800\"}", &b) == INGEST_BODY_INVALID_JSON);
    EA_CHECK(parse("{\"event\":\"\xff\"}", &b) == INGEST_BODY_INVALID_JSON);
    EA_CHECK(parse("{\"event\":\"a\",\"event\":\"b\"}", &b) == INGEST_BODY_INVALID_JSON);
    /* a raw NUL after a number: jansson alone would skip it (found by fuzz_ingest_bodykey) */
    const char nul[] = "{\"event\":\"a\",\"n\":5\0}";
    EA_CHECK(ingest_body_parse(nul, sizeof(nul) - 1, "acme", NOW, &l, &b, &e) ==
             INGEST_BODY_INVALID_JSON);
    EA_CHECK(e.offset == sizeof(nul) - 3);
    /* 10,000 levels: refused by the parser's own depth guard, not by the stack */
    char *deep = malloc(20010);
    memset(deep, '[', 10000);
    memset(deep + 10000, ']', 10000);
    deep[20000] = '\0';
    EA_CHECK(parse(deep, &b) == INGEST_BODY_TOO_DEEP);
    free(deep);
}

static void test_limits(void)
{
    ingest_batch b;
    /* depth 33 inside one event */
    char buf[512] = "{\"event\":\"a\",\"p\":";
    for (int i = 0; i < 33; i++)
        strcat(buf, "[");
    for (int i = 0; i < 33; i++)
        strcat(buf, "]");
    strcat(buf, "}");
    EA_CHECK(parse(buf, &b) == INGEST_BODY_OK && !b.events[0].accepted);
    EA_CHECK_STR(b.events[0].error_code, "too_deep");
    ingest_batch_free(&b);
    /* event over 32 KiB */
    char *big = malloc(40000);
    strcpy(big, "{\"event\":\"a\",\"p\":\"");
    size_t head = strlen(big);
    memset(big + head, 'x', 33000);
    strcpy(big + head + 33000, "\"}");
    EA_CHECK(parse(big, &b) == INGEST_BODY_OK && !b.events[0].accepted);
    EA_CHECK_STR(b.events[0].error_code, "event_too_large");
    ingest_batch_free(&b);
    free(big);
    /* 1001 events */
    char *many = malloc(1001 * 14 + 3), *p = many;
    *p++ = '[';
    for (int i = 0; i < 1001; i++)
        p += sprintf(p, "%s{\"event\":\"a\"}", i ? "," : "");
    strcpy(p, "]");
    EA_CHECK(parse(many, &b) == INGEST_BODY_TOO_MANY);
    free(many);
}

static void test_fields(void)
{
    ingest_batch b;
    EA_CHECK(parse("[{\"event\":\"\"},{\"event\":5},{\"event\":\"a\",\"event_id\":7},"
                   "{\"event\":\"a\",\"timestamp\":\"yesterday\"},"
                   "{\"event\":\"a\",\"timestamp\":0},"
                   "{\"event\":\"a\",\"timestamp\":\"9999-01-01T00:00:00Z\"},"
                   "{\"event\":\"a\",\"timestamp\":\"2025-11-26T12:00:00Z\"},"
                   "{\"event\":\"a\",\"timestamp\":\"2025-11-26T10:30:00Z\"},"
                   "{\"event\":\"a\",\"__proto__\":{\"x\":1}}]",
                   &b) == INGEST_BODY_OK);
    const char *want[] = {"invalid_event",
                          "invalid_event",
                          "invalid_event_id",
                          "invalid_timestamp",
                          "too_old",
                          "timestamp_in_future",
                          "timestamp_in_future",
                          NULL,
                          NULL};
    for (size_t i = 0; i < 9; i++) {
        if (want[i] == NULL)
            EA_CHECK(b.events[i].accepted);
        else
            EA_CHECK_STR(b.events[i].error_code, want[i]);
    }
    ingest_batch_free(&b);
}

EA_TEST_MAIN(EA_TEST(test_single_event), EA_TEST(test_forms), EA_TEST(test_invalid_json),
             EA_TEST(test_limits), EA_TEST(test_fields))
