/*
 * test_message.c — the Kafka message body.c writes by hand (ea_buf around one jansson dump): the
 * documented shape (docs/event-format.md) for awkward names and ids, a message larger than the
 * first stack block, and INGEST_MAX_EVENT as the buffer's cap: a message of exactly the limit is
 * accepted, one byte more is event_too_large. (The buffer itself: tests/unit/base/test_buf.c.)
 */
#include "../ea_test.h"
#include "body.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ingest_limits limits = {.max_event = 32768,
                                     .max_batch = 10,
                                     .max_depth = 32,
                                     .max_future_ms = 3600000,
                                     .retention_days = 30};

static void test_message_shape(void)
{
    static const char body[] = "{\"event\":\"a\\\"b\\n\",\"event_id\":\"id\\\\1\\u001f\","
                               "\"timestamp\":1764150000000,\"x\":{\"y\":[1,2.5,null]},\"z\":\"\"}";
    ingest_limits l = limits;
    ingest_batch b;
    ingest_body_error e;
    EA_CHECK(ingest_body_parse(body, sizeof(body) - 1, "t\"1", INT64_C(1764151200000), &l, &b,
                               &e) == INGEST_BODY_OK);
    EA_CHECK(b.n == 1 && b.events[0].accepted);
    EA_CHECK_STR(b.events[0].event_id, "id\\1\x1f");
    EA_CHECK_STR(b.events[0].key, "t\"1/id\\1\x1f");
    EA_CHECK(strlen(b.events[0].payload) == b.events[0].payload_len);
    json_error_t je;
    json_t *m = json_loads(b.events[0].payload, JSON_REJECT_DUPLICATES, &je);
    EA_CHECK(m != NULL);
    EA_CHECK(json_object_size(m) == 7);
    EA_CHECK(json_integer_value(json_object_get(m, "v")) == 1);
    EA_CHECK_STR(json_string_value(json_object_get(m, "tenant")), "t\"1");
    EA_CHECK_STR(json_string_value(json_object_get(m, "event_id")), "id\\1\x1f");
    EA_CHECK_STR(json_string_value(json_object_get(m, "event")), "a\"b\n");
    EA_CHECK(json_integer_value(json_object_get(m, "ts")) == INT64_C(1764150000000));
    EA_CHECK(json_integer_value(json_object_get(m, "received_at")) == INT64_C(1764151200000));
    json_t *props = json_object_get(m, "properties");
    EA_CHECK(json_object_size(props) == 2);
    json_t *want = json_loads("{\"x\":{\"y\":[1,2.5,null]},\"z\":\"\"}", 0, &je);
    EA_CHECK(json_equal(props, want));
    json_decref(want);
    json_decref(m);
    ingest_batch_free(&b);
}

/* One event {"event":"big","timestamp":...,"s":"<n x's>"}; returns its payload length, or 0
 * when it was rejected (code copied to code). */
static size_t one(size_t n, size_t max_event, char *code, size_t codelen)
{
    size_t len = n + 100;
    char *body = malloc(len);
    int k = snprintf(body, len, "{\"event\":\"big\",\"timestamp\":1764150000000,\"s\":\"");
    memset(body + k, 'x', n);
    snprintf(body + k + n, len - (size_t)k - n, "\"}");
    ingest_limits l = limits;
    l.max_event = max_event;
    ingest_batch b;
    ingest_body_error e;
    size_t got = 0;
    code[0] = '\0';
    if (ingest_body_parse(body, strlen(body), "t", INT64_C(1764151200000), &l, &b, &e) ==
        INGEST_BODY_OK) {
        if (b.events[0].accepted) {
            got = b.events[0].payload_len;
            EA_CHECK(strlen(b.events[0].payload) == got);
            json_error_t je;
            json_t *m = json_loads(b.events[0].payload, 0, &je);
            json_t *s = json_object_get(json_object_get(m, "properties"), "s");
            EA_CHECK(json_string_length(s) == n);
            json_decref(m);
        } else {
            snprintf(code, codelen, "%s", b.events[0].error_code);
        }
        ingest_batch_free(&b);
    }
    free(body);
    return got;
}

static void test_event_cap(void)
{
    char code[64];
    size_t big = one(5000, 32768, code, sizeof(code)); /* past the 1 KiB first block */
    EA_CHECK(big > 5000);
    EA_CHECK(one(5000, big, code, sizeof(code)) == big); /* exactly the limit: accepted */
    EA_CHECK(one(5000, big - 1, code, sizeof(code)) == 0);
    EA_CHECK_STR(code, "event_too_large");
    size_t small = one(10, 32768, code, sizeof(code)); /* inside the first block */
    EA_CHECK(small > 10 && small < 1024);
    EA_CHECK(one(10, small, code, sizeof(code)) == small);
    EA_CHECK(one(10, small - 1, code, sizeof(code)) == 0); /* refused inside the stack block too */
    EA_CHECK_STR(code, "event_too_large");
}

EA_TEST_MAIN(EA_TEST(test_message_shape), EA_TEST(test_event_cap))
