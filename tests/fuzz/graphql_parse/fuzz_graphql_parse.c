/*
 * fuzz_graphql_parse.c — libFuzzer driver for lib/graphql: arbitrary bytes go through
 * ea_gql_prepare (lexer, parser, limits, every validation rule) against the product schema and,
 * when a document is accepted, through ea_gql_execute with an empty root value and a few
 * variables, and through operation lookup. Any crash, leak or sanitizer report is a bug; wrong
 * answers are the golden and differential tests' business. Seeds: corpus/, dictionary
 * graphql.dict.
 */
#include "ea_gql.h"

#include <stdint.h>
#include <stdlib.h>

static const char *SDL =
    "scalar DateTime\nscalar JSON\nenum Granularity { HOUR DAY }\n"
    "type MetricPoint { timestamp: DateTime! value: Float! dimensions: JSON! revision: Int! "
    "final: Boolean! }\n"
    "type MetricDefinition { name: String! eventName: String! aggregation: String! property: "
    "String dimensions: [String!]! cardinalityCap: Int! }\n"
    "type Tenant { id: String! name: String! }\n"
    "type Me { kind: String! tenants: [Tenant!]! }\n"
    "interface Node { id: ID! }\n"
    "type User implements Node { id: ID! name: String! best: User }\n"
    "union Any = User | Tenant\n"
    "type Query {\n"
    "  metrics(tenant: String!, name: String!, startTime: DateTime!, endTime: DateTime!, groupBy: "
    "[String!], granularity: Granularity = HOUR, timezone: String = \"UTC\", filter: JSON): "
    "[MetricPoint!]!\n"
    "  metricDefinitions(tenant: String!): [MetricDefinition!]!\n"
    "  me: Me\n  node(id: ID): Node\n  any: [Any]\n"
    "}\n"
    "input MetricInput { name: String! eventName: String! aggregation: String = \"count\" "
    "property: String dimensions: [String!] = [] cardinalityCap: Int = 1000 }\n"
    "type Mutation { defineMetric(tenant: String!, input: MetricInput!): MetricDefinition! }\n"
    "type Subscription { metricUpdated(tenant: String!, name: String!, granularity: Granularity "
    "= HOUR, groupBy: [String!]): MetricPoint! }\n";

static ea_gql_schema *schema;
static json_t *vars, *root;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (schema == NULL) {
        char err[256];
        schema = ea_gql_schema_parse(SDL, err, sizeof(err));
        if (schema == NULL)
            abort();
        vars = json_pack("{s:s,s:i,s:[s],s:{s:s,s:s},s:b}", "t", "tenant", "n", 3, "g", "x", "in",
                         "name", "a", "eventName", "b", "yes", 1);
        root = json_pack("{s:{s:s,s:[{s:s,s:n}]},s:{s:s,s:s},s:[{s:s,s:s,s:s}]}", "me", "kind",
                         "user", "tenants", "id", "t", "name", "node", "__typename", "User", "id",
                         "u", "any", "__typename", "User", "id", "u1", "name", "x");
    }
    ea_gql_limits limits;
    ea_gql_limits_default(&limits);
    json_t *errors = NULL;
    ea_gql_document *d = ea_gql_prepare(schema, (const char *)data, size, &limits, &errors);
    if (d == NULL) {
        if (errors == NULL || json_array_size(errors) == 0)
            abort(); /* a rejection always says why */
        json_decref(errors);
        return 0;
    }
    ea_gql_op_type type;
    json_t *operr = NULL;
    if (ea_gql_operation_type(d, NULL, &type, &operr) != 0)
        json_decref(operr);
    bool request_error;
    json_t *resp = ea_gql_execute(schema, d, NULL, vars, root, NULL, &limits, &request_error);
    char *text = json_dumps(resp, 0);
    if (text == NULL)
        abort(); /* responses are always serializable */
    free(text);
    json_decref(resp);
    const char *field;
    json_t *args = NULL, *suberr = NULL;
    if (ea_gql_subscription_field(schema, d, NULL, vars, &field, &args, &suberr) == 0)
        json_decref(args);
    else
        json_decref(suberr);
    ea_gql_document_free(d);
    return 0;
}
