/*
 * test_negotiate.c — graphql-api Accept negotiation (SPEC §6 compatibility notes).
 */
#include "../ea_test.h"
#include "transport.h"

static gql_media neg(const char *s)
{
    return gql_negotiate(s, s ? strlen(s) : 0);
}

static void test_negotiate(void)
{
    EA_CHECK(neg(NULL) == GQL_MEDIA_JSON);
    EA_CHECK(neg("") == GQL_MEDIA_JSON);
    EA_CHECK(neg("*/*") == GQL_MEDIA_JSON);
    EA_CHECK(neg("application/json") == GQL_MEDIA_JSON);
    EA_CHECK(neg("application/graphql-response+json") == GQL_MEDIA_GRAPHQL_JSON);
    EA_CHECK(neg("application/graphql-response+json, application/json;q=0.9") ==
             GQL_MEDIA_GRAPHQL_JSON);
    EA_CHECK(neg("application/json, application/graphql-response+json;q=0.5") == GQL_MEDIA_JSON);
    EA_CHECK(neg("application/json;q=0.2, application/graphql-response+json;q=0.8") ==
             GQL_MEDIA_GRAPHQL_JSON);
    EA_CHECK(neg("text/html") == GQL_MEDIA_NONE);
    EA_CHECK(neg("application/json;q=0") == GQL_MEDIA_NONE);
    EA_CHECK(neg("text/html, */*;q=0.1") == GQL_MEDIA_JSON);
    EA_CHECK(neg("application/graphql-response+json, */*") == GQL_MEDIA_GRAPHQL_JSON);
}

EA_TEST_MAIN(EA_TEST(test_negotiate))
