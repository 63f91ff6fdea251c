/*
 * test_gql_parser.c — unit tests of lib/graphql/ea_gql_parser.c: the AST of operations
 * (shorthand, named, variables with defaults and directives), fields with aliases and
 * arguments, fragments and inline fragments, every value literal, SDL definitions; graphql-js
 * syntax error wording and locations; and the limits applied while parsing (token cap, nesting
 * cap) including that a hostile document is cut off early.
 */
#include "ea_gql_int.h"
#include "gql_test.h"

#include <stdlib.h>

static ea_arena *A;

static ea_gql__def *parse_ok(const char *src)
{
    ea_gql__parse_result r;
    ea_gql__parse_status st = ea_gql__parse(A, src, strlen(src), 0, &r);
    if (st != EA_GQL__PARSE_OK) {
        fprintf(stderr, "unexpected parse error: %s\n", r.err);
        return NULL;
    }
    return r.defs;
}

static const char *parse_err(const char *src, size_t max_tokens, ea_gql__loc *loc,
                             ea_gql__parse_status *st)
{
    static ea_gql__parse_result r;
    ea_gql__parse_status s = ea_gql__parse(A, src, strlen(src), max_tokens, &r);
    if (st)
        *st = s;
    if (loc)
        *loc = r.err_loc;
    return s == EA_GQL__PARSE_OK ? "(ok)" : r.err;
}

static void test_operations(void)
{
    ea_gql__def *d = parse_ok("{ a }");
    CHECK(d && d->kind == EA_GQL__D_OPERATION && d->shorthand && d->op == EA_GQL_OP_QUERY);
    CHECK(d && d->name == NULL && d->selset->first && strcmp(d->selset->first->name, "a") == 0);

    d = parse_ok("query Q($a: Int = 1 @dir, $b: [String!]! @x(y: 1)) @op(v: $a) {\n"
                 "  al: f(x: $a, y: [1, 2.5, \"s\", \"\"\"blk\"\"\", true, false, null, ENUM, "
                 "{k: {n: [$b]}}]) @include(if: true) { g }\n"
                 "  ...Frag @skip(if: false)\n"
                 "  ... on T { h }\n"
                 "  ... @include(if: true) { i }\n"
                 "}\n"
                 "mutation { m } subscription S { s }\n"
                 "fragment Frag on T @fd { j }");
    CHECK(d != NULL);
    if (d == NULL)
        return;
    CHECK_STR(d->name, "Q");
    CHECK(d->name_loc.line == 1 && d->name_loc.col == 7);
    ea_gql__vardef *v = d->vars;
    CHECK(v && strcmp(v->name, "a") == 0 && v->type->kind == EA_GQL__TR_NAMED);
    CHECK(v && v->defval && v->defval->kind == EA_GQL__V_INT && strcmp(v->defval->str, "1") == 0);
    CHECK(v && v->directives && strcmp(v->directives->name, "dir") == 0);
    CHECK(v && v->loc.col == 9 && v->name_loc.col == 10);
    v = v ? v->next : NULL;
    CHECK(v && v->type->kind == EA_GQL__TR_NON_NULL && v->type->of->kind == EA_GQL__TR_LIST &&
          v->type->of->of->kind == EA_GQL__TR_NON_NULL &&
          strcmp(v->type->of->of->of->name, "String") == 0);
    CHECK(d->directives && strcmp(d->directives->name, "op") == 0 &&
          d->directives->args->value->kind == EA_GQL__V_VARIABLE);
    ea_gql__sel *s = d->selset->first;
    CHECK(s->kind == EA_GQL__SEL_FIELD && strcmp(s->alias, "al") == 0 && strcmp(s->name, "f") == 0);
    CHECK(s->loc.line == 2 && s->loc.col == 3 && s->name_loc.col == 7);
    ea_gql__value *list = s->args->next->value;
    CHECK(list->kind == EA_GQL__V_LIST);
    ea_gql__value_kind kinds[] = {EA_GQL__V_INT,    EA_GQL__V_FLOAT,   EA_GQL__V_STRING,
                                  EA_GQL__V_STRING, EA_GQL__V_BOOLEAN, EA_GQL__V_BOOLEAN,
                                  EA_GQL__V_NULL,   EA_GQL__V_ENUM,    EA_GQL__V_OBJECT};
    int i = 0;
    for (ea_gql__value *it = list->items; it && i < 9; it = it->next, i++)
        CHECK(it->kind == kinds[i]);
    CHECK(i == 9);
    CHECK(list->items->next->next->next->block);
    CHECK(!list->items->next->next->next->next->next->boolean);
    CHECK(s->directives && strcmp(s->directives->name, "include") == 0);
    CHECK(s->selset && strcmp(s->selset->first->name, "g") == 0);
    s = s->next;
    CHECK(s->kind == EA_GQL__SEL_SPREAD && strcmp(s->name, "Frag") == 0 && s->directives);
    s = s->next;
    CHECK(s->kind == EA_GQL__SEL_INLINE && strcmp(s->type_cond, "T") == 0 &&
          s->type_cond_loc.col == 10);
    s = s->next;
    CHECK(s->kind == EA_GQL__SEL_INLINE && s->type_cond == NULL && s->directives);
    d = d->next;
    CHECK(d->op == EA_GQL_OP_MUTATION && d->name == NULL);
    d = d->next;
    CHECK(d->op == EA_GQL_OP_SUBSCRIPTION && strcmp(d->name, "S") == 0);
    d = d->next;
    CHECK(d->kind == EA_GQL__D_FRAGMENT && strcmp(d->type_cond, "T") == 0 && d->directives);
}

static void test_sdl(void)
{
    ea_gql__def *d =
        parse_ok("\"\"\"Desc\"\"\" schema @a { query: Q mutation: M }\n"
                 "scalar DateTime @specifiedBy(url: \"u\")\n"
                 "type T implements & I & J @k { \"fd\" f(a: Int = 1, b: [S!]!): T! @deprecated }\n"
                 "interface I implements J { f: T! }\n"
                 "union U = | A | B\n"
                 "enum E { \"d\" X @deprecated(reason: \"r\") Y }\n"
                 "input In { a: Int = 2 b: String! }\n"
                 "directive @k(x: Int) repeatable on OBJECT | FIELD_DEFINITION\n"
                 "extend type T { g: Int }");
    CHECK(d != NULL);
    if (d == NULL)
        return;
    CHECK(d->kind == EA_GQL__D_SCHEMA && strcmp(d->desc, "Desc") == 0 && d->names &&
          d->names->next->op == EA_GQL_OP_MUTATION);
    d = d->next;
    CHECK(d->kind == EA_GQL__D_SCALAR && d->directives);
    d = d->next;
    CHECK(d->kind == EA_GQL__D_OBJECT && d->names && d->names->next && !d->names->next->next);
    CHECK(d->fields && strcmp(d->fields->desc, "fd") == 0 && d->fields->args->defval &&
          d->fields->args->next->type->kind == EA_GQL__TR_NON_NULL);
    d = d->next;
    CHECK(d->kind == EA_GQL__D_INTERFACE && d->names);
    d = d->next;
    CHECK(d->kind == EA_GQL__D_UNION && d->names && strcmp(d->names->next->name, "B") == 0);
    d = d->next;
    CHECK(d->kind == EA_GQL__D_ENUM && strcmp(d->names->desc, "d") == 0 && d->names->directives);
    d = d->next;
    CHECK(d->kind == EA_GQL__D_INPUT && d->ivals && d->ivals->defval);
    d = d->next;
    CHECK(d->kind == EA_GQL__D_DIRECTIVE && d->repeatable && d->names->next && d->ivals);
    d = d->next;
    CHECK(d->kind == EA_GQL__D_OBJECT && d->extension);
}

static void test_errors(void)
{
    ea_gql__loc l;
    ea_gql__parse_status st;
    CHECK_STR(parse_err("", 0, &l, &st), "Syntax Error: Unexpected <EOF>.");
    CHECK(st == EA_GQL__PARSE_SYNTAX && l.line == 1 && l.col == 1);
    CHECK_STR(parse_err("{ a { } }", 0, &l, NULL), "Syntax Error: Expected Name, found \"}\".");
    CHECK(l.col == 7);
    CHECK_STR(parse_err("{ a", 0, &l, NULL), "Syntax Error: Expected Name, found <EOF>.");
    CHECK_STR(parse_err("{ a(x: ) }", 0, NULL, NULL), "Syntax Error: Unexpected \")\".");
    CHECK_STR(parse_err("{ a() }", 0, NULL, NULL), "Syntax Error: Expected Name, found \")\".");
    CHECK_STR(parse_err("query ($a: Int = $b) { a }", 0, &l, NULL),
              "Syntax Error: Unexpected variable \"$b\" in constant value.");
    CHECK(l.col == 18);
    CHECK_STR(parse_err("fragment on on T { a }", 0, NULL, NULL),
              "Syntax Error: Unexpected Name \"on\".");
    CHECK_STR(parse_err("fragment F T { a }", 0, NULL, NULL),
              "Syntax Error: Expected \"on\", found Name \"T\".");
    CHECK_STR(parse_err("\"d\" query { a }", 0, NULL, NULL),
              "Syntax Error: Unexpected description, descriptions are supported only on type "
              "definitions.");
    CHECK_STR(parse_err("{ a } 1", 0, NULL, NULL), "Syntax Error: Unexpected Int \"1\".");
    CHECK_STR(parse_err("{ a(s: \"x\" }", 0, NULL, NULL),
              "Syntax Error: Expected Name, found \"}\".");
    CHECK_STR(parse_err("{ ... }", 0, NULL, NULL), "Syntax Error: Expected \"{\", found \"}\".");
    CHECK_STR(parse_err("enum E { true }", 0, NULL, NULL),
              "Syntax Error: Name \"true\" is reserved and cannot be used for an enum value.");
    CHECK_STR(parse_err("{ a(x: [1, 2) }", 0, NULL, NULL), "Syntax Error: Unexpected \")\".");
    CHECK_STR(parse_err("{\n  a(x: \"unterminated\n) }", 0, &l, NULL),
              "Syntax Error: Unterminated string.");
    CHECK(l.line == 2 && l.col == 21);
}

static void test_limits(void)
{
    ea_gql__parse_status st;
    ea_gql__loc l;
    CHECK_STR(parse_err("{ a b c d }", 4, &l, &st),
              "Syntax Error: Document contains more than 4 tokens. Parsing aborted.");
    CHECK(st == EA_GQL__PARSE_TOKENS && l.col == 9);
    CHECK_STR(parse_err("{ a b c }", 5, NULL, &st), "(ok)"); /* 5 tokens exactly */
    CHECK_STR(parse_err("# only comments count nothing\n{ a b c }", 5, NULL, &st), "(ok)");
    /* nesting: selection sets, lists, objects and list types are capped */
    size_t n = 100000;
    char *deep = malloc(n * 2 + 16);
    strcpy(deep, "{ a(x: ");
    size_t p = strlen(deep);
    for (size_t i = 0; i < n; i++)
        deep[p++] = '[';
    deep[p] = '\0';
    size_t before = ea_arena_used(A);
    parse_err(deep, 0, NULL, &st);
    CHECK(st == EA_GQL__PARSE_NESTING);
    CHECK(ea_arena_used(A) - before < 64 * 1024); /* cut off early, little memory spent */
    strcpy(deep, "");
    for (size_t i = 0; i < 70; i++)
        strcat(deep, "{ a ");
    parse_err(deep, 0, NULL, &st);
    CHECK(st == EA_GQL__PARSE_NESTING);
    strcpy(deep, "query ($a: ");
    for (size_t i = 0; i < 70; i++)
        strcat(deep, "[");
    parse_err(deep, 0, NULL, &st);
    CHECK(st == EA_GQL__PARSE_NESTING);
    free(deep);
}

int main(void)
{
    A = ea_arena_new(4096);
    test_operations();
    test_sdl();
    test_errors();
    test_limits();
    ea_arena_free(A);
    return gql_t_report("graphql parser");
}
