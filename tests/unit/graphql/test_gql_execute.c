/*
 * test_gql_execute.c — unit tests of execution through the public API (ea_gql.h) on a small
 * schema: resolver context (coerced args with defaults, alias, path, parent type, request
 * context), default resolver, selection order, null propagation to the nearest nullable parent
 * (field, list item, root), resolver error codes, partial results, request errors (bad
 * variables, unknown operation, cost over the limit with a service cost function),
 * operation_type and subscription_field, limits in prepare, introspection switch, schema
 * errors, and that one prepared document can be executed many times (it is read-only), also
 * with variables that change what @include collects.
 */
#include "ea_gql.h"
#include "gql_test.h"

#include <stdlib.h>

static const char *SDL =
    "scalar JSON\n"
    "enum Color { RED GREEN }\n"
    "type Item { id: Int! name: String! tags: [String!] color: Color }\n"
    "type Box { items: [Item!] maybe: [Item] first: Item! }\n"
    "type Query {\n"
    "  item(id: Int!, scale: Float = 1.5, color: Color = RED, opts: JSON): Item\n"
    "  box: Box\n"
    "  strict: Box!\n"
    "  boom: String\n"
    "  boomNN: String!\n"
    "  ctx: String\n"
    "  list(n: Int = 2): [Int!]!\n"
    "}\n"
    "type Subscription { ticks(every: Int = 5, label: String!): Int! }\n";

static json_t *last_args;
static char last_path[128], last_alias[64], last_parent[64];

static int r_item(const ea_gql_field_ctx *c, json_t **out, ea_gql_error *e)
{
    json_decref(last_args);
    last_args = json_deep_copy(c->args);
    char *p = json_dumps(c->path, JSON_COMPACT);
    snprintf(last_path, sizeof(last_path), "%s", p);
    free(p);
    snprintf(last_alias, sizeof(last_alias), "%s", c->alias);
    snprintf(last_parent, sizeof(last_parent), "%s", c->parent_type);
    json_int_t id = json_integer_value(json_object_get(c->args, "id"));
    if (id == 0) {
        *out = json_null();
        return 0;
    }
    *out = json_pack("{s:I,s:s,s:[s,s],s:s}", "id", id, "name", id == 2 ? "two" : "one", "tags",
                     "a", "b", "color", "GREEN");
    if (id == 3) /* a non-null field is null */
        json_object_set_new(*out, "name", json_null());
    return 0;
}

static int r_boom(const ea_gql_field_ctx *c, json_t **out, ea_gql_error *e)
{
    snprintf(e->message, sizeof(e->message), "could not load %s", c->field_name);
    snprintf(e->code, sizeof(e->code), "UNAVAILABLE");
    return -1;
}

static int r_ctx(const ea_gql_field_ctx *c, json_t **out, ea_gql_error *e)
{
    *out = json_string((const char *)c->request_ctx);
    return 0;
}

static int r_list(const ea_gql_field_ctx *c, json_t **out, ea_gql_error *e)
{
    json_int_t n = json_integer_value(json_object_get(c->args, "n"));
    *out = json_array();
    for (json_int_t i = 0; i < n; i++)
        json_array_append_new(*out, i == 5 ? json_null() : json_integer(i));
    return 0;
}

static long cost_fn(const char *type, const char *field, const json_t *args, void *ud)
{
    (*(int *)ud)++;
    if (strcmp(field, "list") == 0)
        return (long)json_integer_value(json_object_get(args, "n"));
    return 1;
}

static ea_gql_schema *S;

/* Prepares and executes; returns the compact response text (static buffer). */
static const char *run(const char *q, const char *vars, const json_t *root,
                       const ea_gql_limits *lim, bool *req_err)
{
    static char buf[4096];
    json_t *errors = NULL;
    ea_gql_document *d = ea_gql_prepare(S, q, strlen(q), lim, &errors);
    json_t *resp;
    if (d == NULL) {
        resp = json_pack("{s:o}", "errors", errors);
        if (req_err)
            *req_err = true;
    } else {
        json_t *v = vars ? json_loads(vars, 0, NULL) : NULL;
        bool re = false;
        resp = ea_gql_execute(S, d, NULL, v, root, "the-request", lim, &re);
        if (req_err)
            *req_err = re;
        json_decref(v);
        ea_gql_document_free(d);
    }
    char *s = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);
    snprintf(buf, sizeof(buf), "%s", s);
    free(s);
    json_decref(resp);
    return buf;
}

static void test_resolvers(void)
{
    bool re;
    CHECK_STR(run("{ x: item(id: 2) { name id tags color } ctx }", NULL, NULL, NULL, &re),
              "{\"data\":{\"x\":{\"name\":\"two\",\"id\":2,\"tags\":[\"a\",\"b\"],\"color\":"
              "\"GREEN\"},\"ctx\":\"the-request\"}}");
    CHECK(!re);
    char *a = json_dumps(last_args, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_STR(a, "{\"id\":2,\"scale\":1.5,\"color\":\"RED\"}");
    free(a);
    CHECK_STR(last_path, "[\"x\"]");
    CHECK_STR(last_alias, "x");
    CHECK_STR(last_parent, "Query");
    run("query ($o: JSON, $c: Color) { item(id: 1, opts: $o, color: $c) { id } }",
        "{\"o\":{\"deep\":[1,{\"x\":null}]},\"c\":\"GREEN\"}", NULL, NULL, &re);
    a = json_dumps(last_args, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_STR(a,
              "{\"id\":1,\"scale\":1.5,\"color\":\"GREEN\",\"opts\":{\"deep\":[1,{\"x\":null}]}}");
    free(a);
    /* default resolver reads parent[fieldName]; root value is the parent of root fields */
    json_t *root = json_pack("{s:{s:[{s:i,s:s}],s:{s:i,s:s}}}", "box", "items", "id", 7, "name",
                             "seven", "first", "id", 8, "name", "eight");
    CHECK_STR(run("{ box { first { id } items { name } } }", NULL, root, NULL, &re),
              "{\"data\":{\"box\":{\"first\":{\"id\":8},\"items\":[{\"name\":\"seven\"}]}}}");
    json_decref(root);
}

static void test_null_propagation(void)
{
    bool re;
    /* Item.name is String!: the item becomes null (nullable parent) */
    CHECK_STR(run("{ item(id: 3) { id name } ctx }", NULL, NULL, NULL, &re),
              "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field Item.name.\","
              "\"locations\":[{\"line\":1,\"column\":20}],\"path\":[\"item\",\"name\"],"
              "\"extensions\":{\"code\":\"INTERNAL_SERVER_ERROR\"}}],\"data\":{\"item\":null,"
              "\"ctx\":\"the-request\"}}");
    CHECK(!re);
    json_t *root = json_pack("{s:{s:[{s:i,s:s},{s:i,s:n}],s:[{s:i,s:s},{s:i,s:n}],s:{s:i,s:n}}}",
                             "box", "items", "id", 1, "name", "a", "id", 2, "name", "maybe", "id",
                             1, "name", "a", "id", 2, "name", "first", "id", 3, "name");
    /* [Item!]: a failing item nulls the whole list; [Item]: only the item */
    CHECK_STR(run("{ box { maybe { name } items { name } } }", NULL, root, NULL, &re),
              "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field Item.name.\","
              "\"locations\":[{\"line\":1,\"column\":17}],\"path\":[\"box\",\"maybe\",1,\"name\"],"
              "\"extensions\":{\"code\":\"INTERNAL_SERVER_ERROR\"}},{\"message\":\"Cannot return "
              "null for non-nullable field Item.name.\",\"locations\":[{\"line\":1,\"column\":32}],"
              "\"path\":[\"box\",\"items\",1,\"name\"],\"extensions\":{\"code\":"
              "\"INTERNAL_SERVER_ERROR\"}}],\"data\":{\"box\":{\"maybe\":[{\"name\":\"a\"},null],"
              "\"items\":null}}}");
    /* Box.first is Item!: propagates to box */
    CHECK_STR(run("{ box { first { name } } }", NULL, root, NULL, &re),
              "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field Item.name.\","
              "\"locations\":[{\"line\":1,\"column\":17}],\"path\":[\"box\",\"first\",\"name\"],"
              "\"extensions\":{\"code\":\"INTERNAL_SERVER_ERROR\"}}],\"data\":{\"box\":null}}");
    /* Query.strict is Box!: data becomes null */
    json_t *root2 = json_pack("{s:O}", "strict", json_object_get(root, "box"));
    CHECK_STR(run("{ strict { first { name } } }", NULL, root2, NULL, &re),
              "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field Item.name.\","
              "\"locations\":[{\"line\":1,\"column\":20}],\"path\":[\"strict\",\"first\",\"name\"],"
              "\"extensions\":{\"code\":\"INTERNAL_SERVER_ERROR\"}}],\"data\":null}");
    CHECK(!re);
    json_decref(root);
    json_decref(root2);
    /* list of Int! with a null item: the field is non-null too, so data is null */
    CHECK_STR(run("{ list(n: 6) }", NULL, NULL, NULL, &re),
              "{\"errors\":[{\"message\":\"Cannot return null for non-nullable field Query.list.\","
              "\"locations\":[{\"line\":1,\"column\":3}],\"path\":[\"list\",5],\"extensions\":"
              "{\"code\":\"INTERNAL_SERVER_ERROR\"}}],\"data\":null}");
}

static void test_errors(void)
{
    bool re;
    CHECK_STR(run("{ boom ctx }", NULL, NULL, NULL, &re),
              "{\"errors\":[{\"message\":\"could not load boom\",\"locations\":[{\"line\":1,"
              "\"column\":3}],\"path\":[\"boom\"],\"extensions\":{\"code\":\"UNAVAILABLE\"}}],"
              "\"data\":{\"boom\":null,\"ctx\":\"the-request\"}}");
    CHECK(!re);
    CHECK_STR(run("{ ctx boomNN }", NULL, NULL, NULL, &re),
              "{\"errors\":[{\"message\":\"could not load boomNN\",\"locations\":[{\"line\":1,"
              "\"column\":7}],\"path\":[\"boomNN\"],\"extensions\":{\"code\":\"UNAVAILABLE\"}}],"
              "\"data\":null}");
    CHECK_STR(run("query ($id: Int!) { item(id: $id) { id } }", "{\"id\":\"x\"}", NULL, NULL, &re),
              "{\"errors\":[{\"message\":\"Variable \\\"$id\\\" got invalid value \\\"x\\\"; Int "
              "cannot represent non-integer value: \\\"x\\\"\",\"locations\":[{\"line\":1,"
              "\"column\":8}],\"extensions\":{\"code\":\"BAD_USER_INPUT\"}}]}");
    CHECK(re);
    CHECK_STR(run("{ item(id: 1) { nope } }", NULL, NULL, NULL, &re),
              "{\"errors\":[{\"message\":\"Cannot query field \\\"nope\\\" on type \\\"Item\\\". "
              "Did you mean \\\"name\\\"?\","
              "\"locations\":[{\"line\":1,\"column\":17}],\"extensions\":{\"code\":"
              "\"GRAPHQL_VALIDATION_FAILED\"}}]}");
    CHECK(re);
}

static void test_operations(void)
{
    json_t *errors = NULL;
    const char *q = "query A { ctx } subscription S($l: String!) { t: ticks(label: $l) }";
    ea_gql_document *d = ea_gql_prepare(S, q, strlen(q), NULL, &errors);
    CHECK(d != NULL);
    if (d == NULL)
        return;
    ea_gql_op_type ty;
    CHECK(ea_gql_operation_type(d, "S", &ty, &errors) == 0 && ty == EA_GQL_OP_SUBSCRIPTION);
    CHECK(ea_gql_operation_type(d, "A", &ty, &errors) == 0 && ty == EA_GQL_OP_QUERY);
    CHECK(ea_gql_operation_type(d, NULL, &ty, &errors) == -1);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(json_array_get(errors, 0), "extensions"), "code")),
              "OPERATION_NOT_FOUND");
    json_decref(errors);
    json_t *vars = json_pack("{s:s}", "l", "hello"), *args = NULL;
    const char *field = NULL;
    CHECK(ea_gql_subscription_field(S, d, "S", vars, &field, &args, &errors) == 0);
    CHECK_STR(field, "ticks");
    char *a = json_dumps(args, JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK_STR(a, "{\"every\":5,\"label\":\"hello\"}");
    free(a);
    json_decref(args);
    /* missing required variable */
    CHECK(ea_gql_subscription_field(S, d, "S", NULL, &field, &args, &errors) == -1);
    CHECK(json_array_size(errors) == 1);
    json_decref(errors);
    CHECK(ea_gql_subscription_field(S, d, "A", vars, &field, &args, &errors) == -1);
    json_decref(errors);
    /* a subscription event: the root value carries the payload under the field name */
    json_t *root = json_pack("{s:i}", "ticks", 42);
    bool re;
    for (int i = 0; i < 3; i++) { /* the document is reusable */
        json_t *resp = ea_gql_execute(S, d, "S", vars, root, NULL, NULL, &re);
        char *s = json_dumps(resp, JSON_COMPACT);
        CHECK_STR(s, "{\"data\":{\"t\":42}}");
        free(s);
        json_decref(resp);
    }
    json_t *resp = ea_gql_execute(S, d, "Nope", vars, root, NULL, NULL, &re);
    CHECK(re && json_object_get(resp, "data") == NULL);
    json_decref(resp);
    json_decref(root);
    json_decref(vars);
    ea_gql_document_free(d);
}

/* Execution collects each selection set once per runtime type and reuses it for every list item;
 * what it collects depends on the variables, so a reused document must not carry it over. */
static void test_collect_reuse(void)
{
    const char *q = "query ($w: Boolean!) { box { items { id ...F __typename } "
                    "again: items { name @include(if: $w) } } } "
                    "fragment F on Item { name @include(if: $w) id }";
    json_t *errors = NULL;
    ea_gql_document *d = ea_gql_prepare(S, q, strlen(q), NULL, &errors);
    CHECK(d != NULL);
    if (d == NULL)
        return;
    json_t *root = json_pack("{s:{s:[{s:i,s:s},{s:i,s:s},{s:i,s:s}]}}", "box", "items", "id", 1,
                             "name", "one", "id", 2, "name", "two", "id", 3, "name", "three");
    static const char *const want[2] = {
        "{\"data\":{\"box\":{\"items\":[{\"id\":1,\"name\":\"one\",\"__typename\":\"Item\"},"
        "{\"id\":2,\"name\":\"two\",\"__typename\":\"Item\"},{\"id\":3,\"name\":\"three\","
        "\"__typename\":\"Item\"}],\"again\":[{\"name\":\"one\"},{\"name\":\"two\"},"
        "{\"name\":\"three\"}]}}}",
        "{\"data\":{\"box\":{\"items\":[{\"id\":1,\"__typename\":\"Item\"},{\"id\":2,"
        "\"__typename\":\"Item\"},{\"id\":3,\"__typename\":\"Item\"}],\"again\":[{},{},{}]}}}",
    };
    for (int i = 0; i < 4; i++) {
        json_t *vars = json_pack("{s:b}", "w", i % 2 == 0);
        bool re = true;
        json_t *resp = ea_gql_execute(S, d, NULL, vars, root, NULL, NULL, &re);
        char *s = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);
        CHECK(!re);
        CHECK_STR(s, want[i % 2]);
        free(s);
        json_decref(resp);
        json_decref(vars);
    }
    json_decref(root);
    ea_gql_document_free(d);
}

static void test_limits(void)
{
    ea_gql_limits l;
    ea_gql_limits_default(&l);
    CHECK(l.max_depth == 8 && l.max_tokens == 2000 && l.max_aliases == 15 && l.max_cost == 10000 &&
          l.introspection);
    int calls = 0;
    l.cost_fn = cost_fn;
    l.cost_ud = &calls;
    l.max_cost = 10;
    bool re;
    const char *r =
        run("query ($n: Int) { list(n: $n) a: item(id: 1) { id } }", "{\"n\":9}", NULL, &l, &re);
    CHECK(re);
    CHECK(strstr(r, "\"COST_LIMIT\"") != NULL && strstr(r, "\"data\"") == NULL);
    CHECK(calls == 3);
    r = run("query ($n: Int) { list(n: $n) __typename }", "{\"n\":9}", NULL, &l, &re);
    CHECK(!re && strstr(r, "\"data\"") != NULL);
    r = run("{ list(n: 1) ...F ...F } fragment F on Query { ctx }", NULL, NULL, &l, &re);
    CHECK(!re);
    l.introspection = false;
    r = run("{ __schema { queryType { name } } }", NULL, NULL, &l, &re);
    CHECK(re && strstr(r, "INTROSPECTION_DISABLED") != NULL);
    r = run("{ __typename }", NULL, NULL, &l, &re);
    CHECK_STR(r, "{\"data\":{\"__typename\":\"Query\"}}");
    l.introspection = true;
    l.max_depth = 2;
    r = run("{ box { first { id } } }", NULL, NULL, &l, &re);
    CHECK(re && strstr(r, "DEPTH_LIMIT") != NULL);
    r = run("{ __type(name: \"Item\") { fields { type { ofType { name } } } } }", NULL, NULL, &l,
            &re);
    CHECK(!re && strstr(r, "\"Int\"") != NULL);
    l.max_aliases = 1;
    r = run("{ a: ctx b: ctx }", NULL, NULL, &l, &re);
    CHECK(re && strstr(r, "ALIAS_LIMIT") != NULL);
}

/* Work budget and response cap (invariant 6 of ea_gql_execute.c): charged while the result is
 * built, so a refused operation stops near the limit instead of after its whole answer, keeps
 * nothing of it, and an answer of exactly the cap still fits. */
static void test_budget_and_cap(void)
{
    ea_gql_limits l;
    ea_gql_limits_default(&l);
    CHECK(l.max_work == 1000000 && l.introspection_work == 50 && l.max_response_bytes == 32u << 20);
    /* ×3 per level through fragments inside __type: 3^8 ≈ 6,500 __Type objects at the bottom */
    const char *fan = "{ __type(name: \"Box\") { ...F1 } } "
                      "fragment F1 on __Type { name fields { type { ...F2 ofType { ...F2 ofType { "
                      "...F2 } } } } } "
                      "fragment F2 on __Type { name fields { type { ...F3 ofType { ...F3 ofType { "
                      "...F3 } } } } } "
                      "fragment F3 on __Type { name fields { type { ...F4 ofType { ...F4 ofType { "
                      "...F4 } } } } } "
                      "fragment F4 on __Type { name kind }";
    json_t *errors = NULL;
    ea_gql_document *d = ea_gql_prepare(S, fan, strlen(fan), &l, &errors);
    CHECK(d != NULL);
    ea_gql_exec_stats full = {0, 0, false}, cut = {0, 0, false};
    bool re = true;
    json_t *r = d ? ea_gql_execute_counted(S, d, NULL, NULL, NULL, NULL, &l, &re, &full) : NULL;
    CHECK(!re && !full.stopped && full.work > 1000);
    char *text = json_dumps(json_object_get(r, "data"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    CHECK(text != NULL && full.bytes == strlen(text)); /* counted exactly as it is written */
    free(text);
    json_decref(r);
    l.max_work = full.work / 4;
    r = d ? ea_gql_execute_counted(S, d, NULL, NULL, NULL, NULL, &l, &re, &cut) : NULL;
    CHECK(re && cut.stopped && json_object_get(r, "data") == NULL);
    CHECK(json_array_size(json_object_get(r, "errors")) == 1);
    CHECK(strcmp(json_string_value(json_object_get(
                     json_object_get(json_array_get(json_object_get(r, "errors"), 0), "extensions"),
                     "code")),
                 "WORK_LIMIT") == 0);
    /* stopped on the first field over the budget, having built about a quarter of the answer */
    CHECK(cut.work > l.max_work && cut.work <= l.max_work + l.introspection_work);
    CHECK(cut.bytes < full.bytes / 3);
    json_decref(r);
    l.max_work = 0;
    l.max_response_bytes = full.bytes;
    r = d ? ea_gql_execute_counted(S, d, NULL, NULL, NULL, NULL, &l, &re, &cut) : NULL;
    CHECK(!re && !cut.stopped && json_object_get(r, "data") != NULL);
    json_decref(r);
    l.max_response_bytes = full.bytes / 10;
    r = d ? ea_gql_execute_counted(S, d, NULL, NULL, NULL, NULL, &l, &re, &cut) : NULL;
    CHECK(re && cut.stopped);
    char *rs = json_dumps(r, JSON_COMPACT);
    CHECK(rs != NULL && strstr(rs, "\"RESPONSE_TOO_LARGE\"") != NULL);
    CHECK(cut.bytes > l.max_response_bytes && cut.bytes < full.bytes / 5);
    free(rs);
    json_decref(r);
    ea_gql_document_free(d);
    /* plain fields count 1 each: 2 items x 2 fields + box + items = 6 */
    json_t *root = json_pack("{s:{s:[{s:i,s:s},{s:i,s:s}]}}", "box", "items", "id", 1, "name", "a",
                             "id", 2, "name", "b");
    ea_gql_limits_default(&l);
    l.max_work = 6;
    const char *res = run("{ box { items { id name } } }", NULL, root, &l, &re);
    CHECK(!re && strstr(res, "\"b\"") != NULL);
    l.max_work = 5;
    res = run("{ box { items { id name } } }", NULL, root, &l, &re);
    CHECK(re && strstr(res, "WORK_LIMIT") != NULL && strstr(res, "\"data\"") == NULL);
    json_decref(root);
}

static void test_schema_errors(void)
{
    char err[256];
    CHECK(ea_gql_schema_parse("type Query { a: Nope }", err, sizeof(err)) == NULL);
    CHECK_STR(err, "Unknown type \"Nope\". (line 1, column 17)");
    CHECK(ea_gql_schema_parse("type Query { a: String", err, sizeof(err)) == NULL);
    CHECK(strncmp(err, "Syntax Error: Expected Name, found <EOF>.", 40) == 0);
    CHECK(ea_gql_schema_parse("type Foo { a: Int }", err, sizeof(err)) == NULL);
    CHECK_STR(err, "Query root type must be provided.");
    CHECK(ea_gql_schema_parse("type Query { a: Int } type Query { b: Int }", err, sizeof(err)) ==
          NULL);
    CHECK(ea_gql_schema_parse("input I { a: Int } type Query { a: I }", err, sizeof(err)) == NULL);
    CHECK(ea_gql_schema_parse("type Query { a(x: Query): Int }", err, sizeof(err)) == NULL);
    ea_gql_schema *s = ea_gql_schema_parse(
        "schema { query: Root } type Root { a: Int } extend type Root { b: String }", err,
        sizeof(err));
    CHECK(s != NULL);
    CHECK(s && ea_gql_schema_set_resolver(s, "Root", "b", r_ctx) == 0);
    CHECK(s && ea_gql_schema_set_resolver(s, "Root", "c", r_ctx) == -1);
    CHECK(s && ea_gql_schema_set_resolver(s, "__Type", "name", r_ctx) == -1);
    ea_gql_schema_free(s);
}

int main(void)
{
    char err[256];
    S = ea_gql_schema_parse(SDL, err, sizeof(err));
    if (S == NULL) {
        fprintf(stderr, "schema: %s\n", err);
        return 1;
    }
    CHECK(ea_gql_schema_set_resolver(S, "Query", "item", r_item) == 0);
    CHECK(ea_gql_schema_set_resolver(S, "Query", "boom", r_boom) == 0);
    CHECK(ea_gql_schema_set_resolver(S, "Query", "boomNN", r_boom) == 0);
    CHECK(ea_gql_schema_set_resolver(S, "Query", "ctx", r_ctx) == 0);
    CHECK(ea_gql_schema_set_resolver(S, "Query", "list", r_list) == 0);
    test_resolvers();
    test_null_propagation();
    test_errors();
    test_collect_reuse();
    test_operations();
    test_limits();
    test_budget_and_cap();
    test_schema_errors();
    json_decref(last_args);
    ea_gql_schema_free(S);
    return gql_t_report("graphql execute");
}
