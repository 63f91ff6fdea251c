/*
 * test_wsproto.c — graphql-api's graphql-transport-ws message rules (wsproto.c): close reasons
 * always fit a close frame and stay valid UTF-8 (a 94-byte id once made the 4409 reason too long
 * and wedged the socket), each protocol close code for the message that must cause it, and
 * mutations refused over a socket while queries and subscriptions prepare.
 */
#include "../ea_test.h"
#include "gql_schema_sdl.h"
#include "wsproto.h"

#include <stdlib.h>

static bool no_ids(void *ud, const char *id)
{
    return false;
}

static bool every_id(void *ud, const char *id)
{
    return true;
}

static gql_wsact step(gql_wsproto *st, const char *msg, bool text,
                      bool (*has)(void *, const char *))
{
    gql_wsmsg m;
    gql_wsact a;
    gql_wsproto_step(st, msg, strlen(msg), text, has, NULL, &m, &a);
    gql_wsmsg_free(&m);
    return a;
}

static void test_reason(void)
{
    char r[GQL_WS_REASON_MAX + 1], id[400];
    memset(id, 'x', 200);
    id[200] = '\0';
    EA_CHECK(strlen(gql_ws_reason(r, "Subscriber for %s already exists", id)) == 123);
    EA_CHECK(strncmp(r, "Subscriber for xxx", 18) == 0);
    /* "é" is 2 bytes: the cut never splits one */
    for (int pad = 0; pad < 4; pad++) {
        size_t n = 0;
        for (int i = 0; i < pad; i++)
            id[n++] = 'a';
        for (int i = 0; i < 100; i++)
            n += (size_t)snprintf(id + n, sizeof(id) - n, "%s",
                                  pad % 2 ? "\xc3\xa9" : "\xf0\x9f\x98\x80");
        gql_ws_reason(r, "%s", id);
        size_t len = strlen(r);
        EA_CHECK(len <= 123 && len >= 120);
        /* the last character is whole: ends with a complete 2- or 4-byte sequence */
        EA_CHECK(pad % 2 ? memcmp(r + len - 2, "\xc3\xa9", 2) == 0 || r[len - 1] == 'a'
                         : memcmp(r + len - 4, "\xf0\x9f\x98\x80", 4) == 0 || r[len - 1] == 'a');
    }
    EA_CHECK_STR(gql_ws_reason(r, "%s", "short"), "short");
}

static void test_close_codes(void)
{
    gql_wsproto st = {false, false};
    gql_wsact a = step(&st, "{\"type\":\"subscribe\",\"id\":\"1\",\"payload\":{\"query\":\"{a}\"}}",
                       true, no_ids);
    EA_CHECK(a.kind == GQL_WSACT_CLOSE && a.code == 4401);
    EA_CHECK(step(&st, "{\"type\":\"connection_init\"}", false, no_ids).code == 4400); /* binary */
    EA_CHECK(step(&st, "{\"type\":\"connection_init\",\"payload\":[]}", true, no_ids).code == 4400);
    a = step(&st, "{\"type\":\"connection_init\",\"payload\":{\"authorization\":\"Bearer k\"}}",
             true, no_ids);
    EA_CHECK(a.kind == GQL_WSACT_AUTH && st.init_received);
    EA_CHECK(step(&st, "{\"type\":\"connection_init\"}", true, no_ids).code == 4429);
    st.acked = true;
    const char *sub = "{\"type\":\"subscribe\",\"id\":\"1\",\"payload\":{\"query\":\"{a}\"}}";
    EA_CHECK(step(&st, sub, true, no_ids).kind == GQL_WSACT_SUBSCRIBE);
    a = step(&st, sub, true, every_id);
    EA_CHECK(a.kind == GQL_WSACT_CLOSE && a.code == 4409);
    EA_CHECK_STR(a.reason, "Subscriber for 1 already exists");
    EA_CHECK(step(&st, "{\"type\":\"subscribe\",\"id\":\"\",\"payload\":{\"query\":\"{a}\"}}", true,
                  no_ids)
                 .code == 4400);
    EA_CHECK(step(&st,
                  "{\"type\":\"subscribe\",\"id\":\"1\",\"payload\":{\"query\":\"{a}\","
                  "\"variables\":[]}}",
                  true, no_ids)
                 .code == 4400);
    EA_CHECK(step(&st, "{\"type\":\"complete\",\"id\":\"1\"}", true, no_ids).kind ==
             GQL_WSACT_COMPLETE);
    EA_CHECK(step(&st, "{\"type\":\"ping\",\"payload\":{\"a\":1}}", true, no_ids).kind ==
             GQL_WSACT_PONG);
    EA_CHECK(step(&st, "{\"type\":\"pong\"}", true, no_ids).kind == GQL_WSACT_NONE);
    EA_CHECK(step(&st, "{\"type\":\"next\",\"id\":\"1\"}", true, no_ids).code == 4400);
    EA_CHECK(step(&st, "not json", true, no_ids).code == 4400);
}

static void test_no_mutations(void)
{
    char err[256];
    ea_gql_schema *s = ea_gql_schema_parse(gql_schema_sdl, err, sizeof(err));
    EA_CHECK(s != NULL);
    if (s == NULL)
        return;
    ea_gql_limits l;
    ea_gql_limits_default(&l);
    const char *docs[] = {
        "mutation { createApiKey(tenant: \"t\", scopes: [\"admin\"]) { key } }",
        "query { me { kind } }",
        "subscription { alertFired(tenant: \"t\") { alertId } }",
    };
    for (int i = 0; i < 3; i++) {
        gql_wsmsg m = {.type = GQL_WSMSG_SUBSCRIBE, .id = "1", .query = docs[i]};
        ea_gql_op_type type;
        json_t *errors = NULL;
        ea_gql_document *d = gql_wsproto_prepare(s, &l, &m, &type, &errors);
        if (i == 0) {
            EA_CHECK(d == NULL);
            EA_CHECK_STR(json_string_value(json_object_get(
                             json_object_get(json_array_get(errors, 0), "extensions"), "code")),
                         "METHOD_NOT_ALLOWED");
        } else {
            EA_CHECK(d != NULL && errors == NULL);
            EA_CHECK(type == (i == 1 ? EA_GQL_OP_QUERY : EA_GQL_OP_SUBSCRIPTION));
        }
        json_decref(errors);
        ea_gql_document_free(d);
    }
    ea_gql_schema_free(s);
}

EA_TEST_MAIN(EA_TEST(test_reason), EA_TEST(test_close_codes), EA_TEST(test_no_mutations))
