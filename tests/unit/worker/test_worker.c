/*
 * test_worker.c — services/worker without PostgreSQL or Kafka: message decoding (fields,
 * the properties' own text), the batch's COPY rows and dedup key order, jansson's nodes in the
 * batch arena. (Aggregation, dimensions, caps, watermarks and the change-feed format are
 * lib/rollup's: tests/unit/rollup.)
 */
#include "../ea_test.h"
#include "batch.h"
#include "ea_log.h"
#include "ea_pg_buf.h"
#include "ea_time.h"
#include "jalloc.h"
#include "message.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- message decoding ---- */

static wk_event decode(const char *s, ea_arena *a)
{
    wk_event ev;
    memset(&ev, 0, sizeof(ev));
    EA_CHECK(wk_message_decode(&ev, s, strlen(s), a));
    return ev;
}

static void test_message_decode(void)
{
    ea_arena *a = ea_arena_new(4096);
    wk_event ev = decode("{\"v\":1,\"tenant\":\"acme\",\"event_id\":\"e1\",\"event\":\"page_view\","
                         "\"ts\":1705945000000,\"received_at\":1705945000123,"
                         "\"properties\":{\"page\":\"/a\"}}",
                         a);
    EA_CHECK(ev.state == WK_EV_PARSED);
    EA_CHECK_STR(ev.tenant, "acme");
    EA_CHECK_STR(ev.event_id, "e1");
    EA_CHECK_STR(ev.name, "page_view");
    EA_CHECK(ev.ts_ms == INT64_C(1705945000000) && ev.received_ms == INT64_C(1705945000123));
    EA_CHECK_STR(json_string_value(json_object_get(ev.properties, "page")), "/a");
    wk_event_release(&ev);

    static const struct {
        const char *msg, *reason;
    } bad[] = {
        {"not json", "invalid_json"},
        {"[1]", "invalid_json"},
        {"{\"v\":2,\"tenant\":\"a\"}", "unsupported_version"},
        {"{\"tenant\":\"a\"}", "missing_field:v"},
        {"{\"v\":1,\"event_id\":\"e\",\"event\":\"x\",\"ts\":1}", "missing_field:tenant"},
        {"{\"v\":1,\"tenant\":\"\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":1}",
         "invalid_field:tenant"},
        {"{\"v\":1,\"tenant\":\"a\",\"event\":\"x\",\"ts\":1}", "missing_field:event_id"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":7,\"event\":\"x\",\"ts\":1}",
         "invalid_field:event_id"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"ts\":1}", "missing_field:event"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":\"now\"}",
         "invalid_field:ts"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":-5}",
         "invalid_field:ts"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":1,"
         "\"properties\":[]}",
         "invalid_field:properties"},
        {"{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":1,"
         "\"properties\":{\"k\":\"\\u0000\"}}",
         "invalid_json"},
        {"{\"v\":1,\"tenant\":\"a\",\"tenant\":\"b\"}", "invalid_json"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ev = decode(bad[i].msg, a);
        EA_CHECK(ev.state == WK_EV_DEAD);
        EA_CHECK_STR(ev.dead_reason, bad[i].reason);
        EA_CHECK(ev.payload != NULL && ev.payload_len == strlen(bad[i].msg));
        wk_event_release(&ev);
    }
    /* properties may be absent: an empty object */
    ev = decode("{\"v\":1,\"tenant\":\"a\",\"event_id\":\"e\",\"event\":\"x\",\"ts\":1.0}", a);
    EA_CHECK(ev.state == WK_EV_PARSED && json_object_size(ev.properties) == 0);
    EA_CHECK(ev.received_ms == ev.ts_ms);
    wk_event_release(&ev);
    ea_arena_free(a);
}

/* raw_events gets the properties' own text; escapes, nesting and odd spacing do not fool the
 * scanner, and an escaped key falls back to serializing (props_text NULL). */
static void test_message_properties_text(void)
{
    ea_arena *a = ea_arena_new(4096);
    wk_event ev = decode("{ \"v\" : 1, \"x\": {\"properties\": 1, \"s\": \"}\\\"{\"}, "
                         "\"tenant\":\"acme\",\"event_id\":\"e1\",\"event\":\"p\",\"ts\":1,"
                         "\"properties\" :\t{\"a\":[1,{\"b\":\"]}\"}],\"c\":\"\\\"\"} ,\"z\":null}",
                         a);
    EA_CHECK(ev.state == WK_EV_PARSED);
    EA_CHECK(ev.props_text != NULL);
    if (ev.props_text != NULL) {
        char got[128];
        snprintf(got, sizeof(got), "%.*s", (int)ev.props_len, ev.props_text);
        EA_CHECK_STR(got, "{\"a\":[1,{\"b\":\"]}\"}],\"c\":\"\\\"\"}");
        json_error_t e;
        json_t *j = json_loadb(ev.props_text, ev.props_len, 0, &e);
        EA_CHECK(j != NULL && json_equal(j, ev.properties));
        json_decref(j);
    }
    wk_event_release(&ev);
    ev = decode("{\"v\":1,\"tenant\":\"acme\",\"event_id\":\"e1\",\"event\":\"p\",\"ts\":1,"
                "\"propert\\u0069es\":{\"a\":1}}",
                a);
    EA_CHECK(ev.state == WK_EV_PARSED && ev.props_text == NULL); /* serialized instead */
    EA_CHECK(json_integer_value(json_object_get(ev.properties, "a")) == 1);
    wk_event_release(&ev);
    ev = decode("{\"v\":1,\"tenant\":\"acme\",\"event_id\":\"e1\",\"event\":\"p\",\"ts\":1}", a);
    EA_CHECK(ev.state == WK_EV_PARSED && ev.props_len == 2 && memcmp(ev.props_text, "{}", 2) == 0);
    wk_event_release(&ev);
    ea_arena_free(a);
}

/* With the hooks installed, a decoded tree lives in the batch arena (released with it, never
 * decref'd), while JSON made outside a decode scope is malloc'd and freed as usual (ASan checks
 * both: an arena node handed to free() or a leaked malloc'd one would fail this test). */
static void test_jalloc_scope(void)
{
    wk_jalloc_install();
    ea_arena *a = ea_arena_new(4096);
    size_t before = ea_arena_used(a);
    wk_event ev = decode("{\"v\":1,\"tenant\":\"acme\",\"event_id\":\"e1\",\"event\":\"p\","
                         "\"ts\":1,\"properties\":{\"page\":\"/a\",\"n\":[1,2,3]}}",
                         a);
    EA_CHECK(ev.state == WK_EV_PARSED && ev.root_in_arena);
    EA_CHECK(ea_arena_used(a) > before + 200); /* the nodes, not only the copied strings */
    EA_CHECK_STR(json_string_value(json_object_get(ev.properties, "page")), "/a");
    json_t *outside = json_pack("{s:[i,s]}", "k", 1, "v"); /* malloc'd: no scope now */
    char *txt = json_dumps(ev.properties, JSON_COMPACT | JSON_SORT_KEYS);
    EA_CHECK_STR(txt, "{\"n\":[1,2,3],\"page\":\"/a\"}");
    free(txt);
    json_decref(outside);
    wk_event_release(&ev); /* drops the pointer only */
    EA_CHECK(ev.root == NULL && !ev.root_in_arena);
    ev = decode("{\"v\":2}", a); /* dead inside the scope: its tree went with it */
    EA_CHECK(ev.state == WK_EV_DEAD && ev.root == NULL);
    ea_arena_free(a);
}

/* A COPY binary tuple as text: field count, then each field ("|"-separated): the 8 fields of a
 * raw_events row decoded by type (text, text, text, timestamptz, timestamptz, jsonb, int4,
 * int8), jsonb's version byte shown as \x01. */
static void binrow_str(const char *p, size_t n, char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0, o = 0;
    out[0] = '\0';
    if (n < 2)
        return;
    int nf = u[0] << 8 | u[1];
    o += (size_t)snprintf(out + o, cap - o, "%d|", nf);
    i = 2;
    for (int f = 0; f < nf && i + 4 <= n && o < cap; f++) {
        uint32_t len =
            (uint32_t)u[i] << 24 | (uint32_t)u[i + 1] << 16 | (uint32_t)u[i + 2] << 8 | u[i + 3];
        i += 4;
        if (i + len > n)
            break;
        if (f == 3 || f == 4 || f == 6 || f == 7) { /* big-endian integers */
            int64_t v = 0;
            for (uint32_t k = 0; k < len; k++)
                v = (int64_t)((uint64_t)v << 8 | u[i + k]);
            if (len == 4)
                v = (int32_t)v;
            o += (size_t)snprintf(out + o, cap - o, "%lld|", (long long)v);
        } else if (f == 5) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x%.*s|", u[i], (int)len - 1, p + i + 1);
        } else {
            o += (size_t)snprintf(out + o, cap - o, "%.*s|", (int)len, p + i);
        }
        i += len;
    }
}

/* The batch's COPY rows are built as events are decoded; sealing orders the dedup keys and
 * marks later events with an earlier event's key as repeats (the first polled wins); the rows
 * of the counted events are handed over in place when they are one run, gathered otherwise. */
static void test_batch_prepare_seal(void)
{
    wk_batch b;
    EA_CHECK(wk_batch_init(&b) == EA_OK);
    const char *ids[] = {"e2", "e1", "e2", "e1", "e3"};
    const char *tenants[] = {"acme", "acme", "acme", "beta", "acme"};
    for (int i = 0; i < 5; i++) {
        char msg[256];
        int n = snprintf(msg, sizeof(msg),
                         "{\"v\":1,\"tenant\":\"%s\",\"event_id\":\"%s\",\"event\":\"p\","
                         "\"ts\":%d,\"received_at\":%d,\"properties\":{\"a\":\"x\\ty\"}}",
                         tenants[i], ids[i], 1000 + i, 2000 + i);
        EA_CHECK(wk_batch_add(&b, 1, 40 + i, msg, (size_t)n, true));
    }
    EA_CHECK(wk_batch_add(&b, 1, 45, "not json", 8, true)); /* a dead event, no rows */
    EA_CHECK(b.n == 6 && b.ev[5].state == WK_EV_DEAD && b.ev[5].key_len == 0);
    wk_event *evs = b.ev;
    char row[256];
    snprintf(row, sizeof(row), "%.*s", (int)evs[0].key_len, b.key_rows.p + evs[0].key_off);
    EA_CHECK_STR(row, "acme\te2\n");
    binrow_str(b.raw_rows.p + evs[4].raw_off, evs[4].raw_len, row, sizeof(row));
    /* timestamps: microseconds since 2000-01-01 (1.004 s and 2.004 s after 1970) */
    EA_CHECK_STR(row, "8|acme|e3|p|-946684798996000|-946684797996000|\\x01{\"a\":\"x\\ty\"}|1|44|");
    wk_batch_seal(&b);
    EA_CHECK(b.nkey_order == 5);
    if (b.nkey_order == 5) { /* acme/e1, acme/e2 (idx 0 before its repeat 2), acme/e3, beta/e1 */
        uint32_t want[5] = {1, 0, 2, 4, 3};
        for (int i = 0; i < 5; i++)
            EA_CHECK(b.key_order[i] == want[i]);
    }
    EA_CHECK(!evs[0].repeat && !evs[1].repeat && evs[2].repeat && !evs[3].repeat && !evs[4].repeat);
    /* every parsed event: one run of the key buffer, no copy */
    ea_buf out = EA_BUF_INIT(EA_PG_VALUE_MAX);
    size_t len;
    const char *rows = wk_batch_rows(&b, 0, b.n, WK_EV_PARSED, false, &out, &len);
    EA_CHECK(rows == b.key_rows.p && len == b.key_rows.len && out.len == 0);
    /* the second one a duplicate: the others gathered */
    evs[2].state = WK_EV_DUPLICATE;
    rows = wk_batch_rows(&b, 0, b.n, WK_EV_PARSED, false, &out, &len);
    EA_CHECK(rows == out.p && len == b.key_rows.len - evs[2].key_len);
    EA_CHECK(rows != NULL && strncmp(rows, "acme\te2\nacme\te1\nbeta\te1\nacme\te3\n", len) == 0);
    ea_buf_free(&out);
    wk_batch_reset(&b);
    EA_CHECK(b.n == 0 && b.key_rows.len == 0 && b.raw_rows.len == 0 && b.key_order == NULL);
    wk_batch_destroy(&b);
}

/* The log subject of a batch (ea_log.h): per partition its first and last offset, in the order
 * partitions first appear; a range of one event; cut with ",..." when it does not fit. */
static void test_batch_subject(void)
{
    wk_batch b;
    EA_CHECK(wk_batch_init(&b) == EA_OK);
    char subj[EA_LOG_SUBJECT_MAX];
    EA_CHECK_STR(wk_batch_subject(&b, 0, 0, subj), "empty batch");
    static const struct {
        int32_t partition;
        int64_t offset;
    } m[] = {{2, 100}, {0, 7}, {2, 101}, {2, 102}, {0, 9}, {5, 40}};
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        EA_CHECK(wk_batch_add(&b, m[i].partition, m[i].offset, "x", 1, false));
    EA_CHECK_STR(wk_batch_subject(&b, 0, b.n, subj), "p2@100-102,p0@7-9,p5@40");
    EA_CHECK_STR(wk_batch_subject(&b, 2, 4, subj), "p2@101-102"); /* a bisected range */
    EA_CHECK_STR(wk_batch_subject(&b, 5, 6, subj), "p5@40");
    wk_batch_reset(&b);
    for (int p = 0; p < 40; p++) /* more partitions than the subject holds */
        EA_CHECK(wk_batch_add(&b, p, INT64_C(1000000000000) + p, "x", 1, false));
    wk_batch_subject(&b, 0, b.n, subj);
    EA_CHECK(strlen(subj) < EA_LOG_SUBJECT_MAX);
    EA_CHECK(strncmp(subj, "p0@1000000000000,p1@", 20) == 0);
    EA_CHECK(strcmp(subj + strlen(subj) - 4, ",...") == 0);
    wk_batch_reset(&b);
    wk_batch_destroy(&b);
    EA_CHECK_STR(ea_log_subject_part(subj, 3, 1200), "p3@1200");
    EA_CHECK_STR(ea_log_subject_part(subj, 3, -1), "p3");
}

EA_TEST_MAIN(EA_TEST(test_message_decode), EA_TEST(test_message_properties_text),
             EA_TEST(test_batch_prepare_seal), EA_TEST(test_jalloc_scope),
             EA_TEST(test_batch_subject))
