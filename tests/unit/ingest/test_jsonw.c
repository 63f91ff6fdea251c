/*
 * test_jsonw.c — the hand-written JSON writer behind the Kafka message and the 202 reply: every
 * escaped string must read back (jansson) as the bytes written, integers at the int64 limits,
 * growth out of caller storage, and the Kafka message of body.c keeping the documented shape
 * (docs/event-format.md) for awkward names and ids.
 */
#include "../ea_test.h"
#include "body.h"
#include "jsonw.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void test_strings_round_trip(void)
{
    const char *cases[] = {
        "",           "plain",        "quote \" backslash \\ slash /",
        "\b\f\n\r\t", "\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ingest_jw w;
        ingest_jw_init(&w, NULL, 0);
        ingest_jw_str(&w, cases[i], strlen(cases[i]));
        EA_CHECK(w.ok);
        json_error_t je;
        json_t *v = json_loadb(w.buf, w.len, JSON_DECODE_ANY, &je);
        EA_CHECK(v != NULL && json_is_string(v));
        if (v != NULL)
            EA_CHECK_STR(json_string_value(v), cases[i]);
        json_decref(v);
        ingest_jw_free(&w);
    }
}

static void test_integers(void)
{
    char buf[24];
    EA_CHECK(ingest_fmt_i64(buf, 0) == 1 && strcmp(buf, "0") == 0);
    ingest_fmt_i64(buf, -42);
    EA_CHECK_STR(buf, "-42");
    ingest_fmt_i64(buf, INT64_MAX);
    EA_CHECK_STR(buf, "9223372036854775807");
    ingest_fmt_i64(buf, INT64_MIN);
    EA_CHECK_STR(buf, "-9223372036854775808");
}

static void test_growth_from_storage(void)
{
    char small[8];
    ingest_jw w;
    ingest_jw_init(&w, small, sizeof(small));
    ingest_jw_lit(&w, "[1");
    EA_CHECK(!w.heap && w.buf == small);
    for (int i = 0; i < 1000; i++)
        ingest_jw_lit(&w, ",1");
    ingest_jw_lit(&w, "]");
    EA_CHECK(w.ok && w.heap && w.len == 2 + 2000 + 1);
    char *text = ingest_jw_take(&w);
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    EA_CHECK(v != NULL && json_array_size(v) == 1001);
    json_decref(v);
    free(text);
    /* take from caller storage copies out */
    ingest_jw_init(&w, small, sizeof(small));
    ingest_jw_lit(&w, "{}");
    text = ingest_jw_take(&w);
    EA_CHECK(text != NULL && text != small);
    if (text != NULL)
        EA_CHECK_STR(text, "{}");
    free(text);
}

static void test_message_shape(void)
{
    static const char body[] = "{\"event\":\"a\\\"b\\n\",\"event_id\":\"id\\\\1\\u001f\","
                               "\"timestamp\":1764150000000,\"x\":{\"y\":[1,2.5,null]},\"z\":\"\"}";
    ingest_limits l = {.max_event = 32768,
                       .max_batch = 10,
                       .max_depth = 32,
                       .max_future_ms = 3600000,
                       .max_age_ms = INT64_C(86400000) * 30};
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

EA_TEST_MAIN(EA_TEST(test_strings_round_trip), EA_TEST(test_integers),
             EA_TEST(test_growth_from_storage), EA_TEST(test_message_shape))
