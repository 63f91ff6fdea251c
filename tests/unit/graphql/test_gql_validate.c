/*
 * test_gql_validate.c — unit tests of lib/graphql/ea_gql_validate.c: one or more documents per
 * validation rule with the graphql-js message and location of the first error, documents that
 * must pass, the error cap, and that validation of a hostile fragment graph stays cheap.
 * (tests/golden/graphql/val_* cover every rule again, compared with graphql-js itself.)
 */
#include "ea_gql.h"
#include "gql_test.h"

#include <stdlib.h>

static const char *SDL =
    "enum Color { RED GREEN }\n"
    "input Filter { color: Color! min: Int = 0 tags: [String!] }\n"
    "interface Pet { name: String! }\n"
    "type Dog implements Pet { name: String! barks: Boolean owner: Human }\n"
    "type Cat implements Pet { name: String! meows: Boolean }\n"
    "type Human { name: String! pets(first: Int = 10, filter: Filter): [Pet!]! }\n"
    "union Being = Dog | Cat | Human\n"
    "type Query { human(id: ID!): Human pet: Pet being: Being dog: Dog find(f: Filter!, c: Color): "
    "[Being] }\n"
    "type Subscription { a: Int b: Int }\n";

static ea_gql_schema *S;

typedef struct vcase {
    const char *query;
    const char *message; /* first error; NULL: valid */
    unsigned line, col;
} vcase;

static const vcase cases[] = {
    {"{ pet { name } }", NULL, 0, 0},
    {"query ($f: Filter!) { find(f: $f) { ... on Dog { barks } ... on Human { name } } }", NULL, 0,
     0},
    {"{ pet { ... on Dog { owner { pets(filter: {color: RED, tags: [\"a\"]}) { name } } } } }",
     NULL, 0, 0},
    {"query Q($d: Boolean = true) { dog @include(if: $d) { ...D } } fragment D on Pet { name }",
     NULL, 0, 0},
    {"{ dog { name } } scalar X", "The \"X\" definition is not executable.", 1, 18},
    {"query A { pet { name } } query A { dog { name } }",
     "There can be only one operation named \"A\".", 1, 7},
    {"{ pet { name } } { dog { name } }",
     "This anonymous operation must be the only defined operation.", 1, 1},
    {"subscription { a b }", "Anonymous Subscription must select only one top level field.", 1, 18},
    {"{ ... on Strin { x } }", "Unknown type \"Strin\". Did you mean \"String\"?", 1, 10},
    {"{ dog { ... on Color { x } } }", "Fragment cannot condition on non composite type \"Color\".",
     1, 16},
    {"query ($a: Dog) { dog { name } }", "Variable \"$a\" cannot be non-input type \"Dog\".", 1,
     12},
    {"{ dog }",
     "Field \"dog\" of type \"Dog\" must have a selection of subfields. Did you mean \"dog { ... "
     "}\"?",
     1, 3},
    {"{ dog { name { x } } }",
     "Field \"name\" must not have a selection since type \"String!\" has no subfields.", 1, 14},
    {"{ dog { nam } }", "Cannot query field \"nam\" on type \"Dog\". Did you mean \"name\"?", 1, 9},
    {"{ pet { barks } }",
     "Cannot query field \"barks\" on type \"Pet\". Did you mean to use an inline fragment on "
     "\"Dog\"?",
     1, 9},
    {"{ dog { ...F } } fragment F on Dog { name } fragment F on Dog { name }",
     "There can be only one fragment named \"F\".", 1, 27},
    {"{ dog { ...G } }", "Unknown fragment \"G\".", 1, 12},
    {"{ dog { name } } fragment F on Dog { name }", "Fragment \"F\" is never used.", 1, 18},
    {"{ dog { ... on Cat { meows } } }",
     "Fragment cannot be spread here as objects of type \"Dog\" can never be of type \"Cat\".", 1,
     9},
    {"{ dog { ...F } } fragment F on Dog { owner { pets { ... on Dog { ...F } } } }",
     "Cannot spread fragment \"F\" within itself.", 1, 66},
    {"query ($a: Int, $a: Int) { dog { name } }", "There can be only one variable named \"$a\".", 1,
     9},
    {"query Q { human(id: $x) { name } }", "Variable \"$x\" is not defined by operation \"Q\".", 1,
     21},
    {"query ($x: ID) { dog { name } }", "Variable \"$x\" is never used.", 1, 8},
    {"{ dog @nope { name } }", "Unknown directive \"@nope\".", 1, 7},
    {"query @skip(if: true) { dog { name } }", "Directive \"@skip\" may not be used on QUERY.", 1,
     7},
    {"{ dog @skip(if: true) @skip(if: false) { name } }",
     "The directive \"@skip\" can only be used once at this location.", 1, 7},
    {"{ human(id: 1, idd: 2) { name } }",
     "Unknown argument \"idd\" on field \"Query.human\". Did you mean \"id\"?", 1, 16},
    {"{ human(id: 1, id: 2) { name } }", "There can be only one argument named \"id\".", 1, 9},
    {"{ human(id: 1.5) { name } }", "ID cannot represent a non-string and non-integer value: 1.5",
     1, 13},
    {"{ find(f: {color: BLUE}) { __typename } }",
     "Value \"BLUE\" does not exist in \"Color\" enum.", 1, 19},
    {"{ find(f: {min: 1}) { __typename } }",
     "Field \"Filter.color\" of required type \"Color!\" was not provided.", 1, 11},
    {"{ find(f: {color: RED, colour: RED}) { __typename } }",
     "Field \"colour\" is not defined by type \"Filter\". Did you mean \"color\"?", 1, 24},
    {"{ find(f: null) { __typename } }", "Expected value of type \"Filter!\", found null.", 1, 11},
    {"{ human { name } }",
     "Field \"human\" argument \"id\" of type \"ID!\" is required, but it was not provided.", 1, 3},
    {"{ dog @include { name } }",
     "Directive \"@include\" argument \"if\" of type \"Boolean!\" is required, but it was not "
     "provided.",
     1, 7},
    {"query ($c: Color) { find(f: {color: $c}) { __typename } }",
     "Variable \"$c\" of type \"Color\" used in position expecting type \"Color!\".", 1, 8},
    {"{ dog { name } dog: pet { name } }",
     "Fields \"dog\" conflict because \"dog\" and \"pet\" are different fields. Use different "
     "aliases on the fields to fetch both if this was intentional.",
     1, 3},
    {"{ find(f: {color: RED, color: GREEN}) { __typename } }",
     "There can be only one input field named \"color\".", 1, 12},
};

static void test_rules(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const vcase *c = &cases[i];
        json_t *errors = NULL;
        ea_gql_document *d = ea_gql_prepare(S, c->query, strlen(c->query), NULL, &errors);
        if (c->message == NULL) {
            CHECK(d != NULL);
            if (d == NULL) {
                char *s = json_dumps(errors, 0);
                fprintf(stderr, "  query: %s\n  errors: %s\n", c->query, s);
                free(s);
            }
        } else {
            CHECK(d == NULL);
            json_t *e = json_array_get(errors, 0);
            json_t *loc = json_array_get(json_object_get(e, "locations"), 0);
            CHECK_STR(json_string_value(json_object_get(e, "message")), c->message);
            unsigned line = (unsigned)json_integer_value(json_object_get(loc, "line"));
            unsigned col = (unsigned)json_integer_value(json_object_get(loc, "column"));
            if (line != c->line || col != c->col)
                fprintf(stderr, "  %s: at %u:%u, want %u:%u\n", c->query, line, col, c->line,
                        c->col);
            CHECK(line == c->line && col == c->col);
            CHECK_STR(json_string_value(json_object_get(json_object_get(e, "extensions"), "code")),
                      "GRAPHQL_VALIDATION_FAILED");
        }
        ea_gql_document_free(d);
        json_decref(errors);
    }
}

static void test_error_cap(void)
{
    char q[8192] = "{ ";
    for (int i = 0; i < 150; i++)
        strcat(q, "x ");
    strcat(q, "}");
    ea_gql_limits l;
    ea_gql_limits_default(&l);
    json_t *errors = NULL;
    ea_gql_document *d = ea_gql_prepare(S, q, strlen(q), &l, &errors);
    CHECK(d == NULL);
    CHECK(json_array_size(errors) == 101);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errors, 100), "message")),
              "Too many validation errors, error limit reached. Validation aborted.");
    json_decref(errors);
}

/* Every fragment spreads the next one twice: 2^40 expansions if walked naively. */
static void test_fragment_fanout(void)
{
    char q[16384];
    size_t n = (size_t)snprintf(q, sizeof(q), "{ dog { ...F0 } }\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(q + n, sizeof(q) - n,
                              "fragment F%d on Dog { name ...F%d ... on Dog { ...F%d } }\n", i,
                              i + 1, i + 1);
    n += (size_t)snprintf(q + n, sizeof(q) - n, "fragment F40 on Dog { name }\n");
    ea_gql_limits l;
    ea_gql_limits_default(&l);
    l.max_tokens = 0;
    json_t *errors = NULL;
    ea_gql_document *d = ea_gql_prepare(S, q, n, &l, &errors);
    CHECK(d != NULL);
    if (d) {
        bool re;
        json_t *root = json_pack("{s:{s:s}}", "dog", "name", "Rex");
        json_t *resp = ea_gql_execute(S, d, NULL, NULL, root, NULL, &l, &re);
        char *s = json_dumps(resp, JSON_COMPACT);
        CHECK_STR(s, "{\"data\":{\"dog\":{\"name\":\"Rex\"}}}");
        free(s);
        json_decref(resp);
        json_decref(root);
    }
    ea_gql_document_free(d);
    json_decref(errors);
}

int main(void)
{
    char err[256];
    S = ea_gql_schema_parse(SDL, err, sizeof(err));
    if (S == NULL) {
        fprintf(stderr, "schema: %s\n", err);
        return 1;
    }
    test_rules();
    test_error_cap();
    test_fragment_fanout();
    ea_gql_schema_free(S);
    return gql_t_report("graphql validate");
}
