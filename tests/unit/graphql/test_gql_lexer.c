/*
 * test_gql_lexer.c — unit tests of lib/graphql/ea_gql_lexer.c: every token kind, string escapes
 * (\uXXXX, surrogate pairs, \u{...}), block-string indentation removal, comments, BOM, line and
 * UTF-16 column positions, and graphql-js error wording for bad input.
 */
#include "ea_gql_int.h"
#include "gql_test.h"

#include <stdlib.h>

static ea_arena *A;

/* Lexes src fully; kinds into out (up to n); returns count, or -1 with *err set. */
static int lex_all(const char *src, ea_gql__token *out, int n, const char **err, ea_gql__loc *eloc)
{
    static ea_gql__lexer lx;
    ea_gql__lexer_init(&lx, src, strlen(src), A);
    for (int i = 0; i < n; i++) {
        if (ea_gql__lexer_next(&lx, &out[i]) < 0) {
            *err = lx.err;
            *eloc = lx.err_loc;
            return -1;
        }
        if (out[i].kind == EA_GQL__T_EOF)
            return i + 1;
    }
    return n;
}

static const char *lex_error(const char *src, ea_gql__loc *loc)
{
    ea_gql__token t[64];
    const char *err = NULL;
    ea_gql__loc l = {0, 0};
    if (lex_all(src, t, 64, &err, &l) >= 0)
        return "(no error)";
    if (loc)
        *loc = l;
    return err;
}

static void test_kinds(void)
{
    ea_gql__token t[64];
    const char *err;
    ea_gql__loc l;
    int n =
        lex_all("! $ & ( ) ... : = @ [ ] { | } name _x1 12 -3 1.5 2e10 -0.5E-3 \"s\" \"\"\"b\"\"\" "
                "# c\n",
                t, 64, &err, &l);
    ea_gql__tok_kind want[] = {
        EA_GQL__T_BANG,    EA_GQL__T_DOLLAR,    EA_GQL__T_AMP,          EA_GQL__T_PAREN_L,
        EA_GQL__T_PAREN_R, EA_GQL__T_SPREAD,    EA_GQL__T_COLON,        EA_GQL__T_EQUALS,
        EA_GQL__T_AT,      EA_GQL__T_BRACKET_L, EA_GQL__T_BRACKET_R,    EA_GQL__T_BRACE_L,
        EA_GQL__T_PIPE,    EA_GQL__T_BRACE_R,   EA_GQL__T_NAME,         EA_GQL__T_NAME,
        EA_GQL__T_INT,     EA_GQL__T_INT,       EA_GQL__T_FLOAT,        EA_GQL__T_FLOAT,
        EA_GQL__T_FLOAT,   EA_GQL__T_STRING,    EA_GQL__T_BLOCK_STRING, EA_GQL__T_COMMENT,
        EA_GQL__T_EOF};
    CHECK(n == (int)(sizeof(want) / sizeof(want[0])));
    for (int i = 0; i < n && i < (int)(sizeof(want) / sizeof(want[0])); i++)
        CHECK(t[i].kind == want[i]);
    CHECK_STR(t[15].value, "_x1");
    CHECK_STR(t[17].value, "-3");
    CHECK_STR(t[20].value, "-0.5E-3");
    CHECK_STR(ea_gql__tok_kind_desc(EA_GQL__T_BRACE_R), "\"}\"");
    CHECK_STR(ea_gql__tok_kind_desc(EA_GQL__T_EOF), "<EOF>");
}

static void test_strings(void)
{
    ea_gql__token t[4];
    const char *err;
    ea_gql__loc l;
    CHECK(lex_all("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", t, 4, &err, &l) == 2);
    CHECK_STR(t[0].value, "a\"b\\c/d\b\f\n\r\t");
    CHECK(lex_all("\"\\u00e9\\uD83D\\uDE00\\u{1F600}\\u{41}\"", t, 4, &err, &l) == 2);
    CHECK_STR(t[0].value, "\xc3\xa9\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                          "A");
    CHECK(lex_all("\"a\\u0000b\"", t, 4, &err, &l) == 2);
    CHECK(t[0].value_len == 3 && t[0].value[1] == '\0');
    CHECK(lex_all("\"h\xc3\xa9llo\"", t, 4, &err, &l) == 2);
    CHECK_STR(t[0].value, "h\xc3\xa9llo");
}

static void test_block_strings(void)
{
    ea_gql__token t[4];
    const char *err;
    ea_gql__loc l;
    CHECK(lex_all("\"\"\"\n    Hello,\n      World!\n\n    Yours,\n      GraphQL.\n  \"\"\"", t, 4,
                  &err, &l) == 2);
    CHECK_STR(t[0].value, "Hello,\n  World!\n\nYours,\n  GraphQL.");
    CHECK(lex_all("\"\"\"  first\n  second\"\"\"", t, 4, &err, &l) == 2);
    CHECK_STR(t[0].value, "  first\nsecond");
    CHECK(lex_all("\"\"\"a \\\"\"\" b \\n\"\"\"", t, 4, &err, &l) == 2);
    CHECK_STR(t[0].value, "a \"\"\" b \\n");
    CHECK(lex_all("\"\"\"\r\n  x\r\n  y\r\n\"\"\" z", t, 4, &err, &l) == 3);
    CHECK_STR(t[0].value, "x\ny");
    CHECK(t[1].loc.line == 4 && t[1].loc.col == 5);
}

static void test_locations(void)
{
    ea_gql__token t[16];
    const char *err;
    ea_gql__loc l;
    CHECK(lex_all("\xef\xbb\xbf{\n  a\r\n\tb\r  c # x\n   d", t, 16, &err, &l) == 7);
    CHECK(t[0].loc.line == 1 && t[0].loc.col == 2); /* BOM counts as one UTF-16 unit */
    CHECK(t[1].loc.line == 2 && t[1].loc.col == 3);
    CHECK(t[2].loc.line == 3 && t[2].loc.col == 2);
    CHECK(t[3].loc.line == 4 && t[3].loc.col == 3);
    CHECK(t[4].kind == EA_GQL__T_COMMENT);
    /* columns count UTF-16 units: é is one, 😀 is two */
    CHECK(lex_all("\"\xc3\xa9\xf0\x9f\x98\x80\" x", t, 16, &err, &l) == 3);
    CHECK(t[1].loc.col == 7);
}

static void test_errors(void)
{
    ea_gql__loc l;
    CHECK_STR(lex_error("?", &l), "Unexpected character: \"?\".");
    CHECK(l.line == 1 && l.col == 1);
    CHECK_STR(lex_error("'x'", NULL),
              "Unexpected single quote character ('), did you mean to use a double quote (\")?");
    CHECK_STR(lex_error("\"abc", &l), "Unterminated string.");
    CHECK(l.col == 5);
    CHECK_STR(lex_error("\"a\nb\"", NULL), "Unterminated string.");
    CHECK_STR(lex_error("\"\\x\"", NULL), "Invalid character escape sequence: \"\\x\".");
    CHECK_STR(lex_error("\"\\u12G4\"", NULL), "Invalid Unicode escape sequence: \"\\u12G4\".");
    CHECK_STR(lex_error("\"\\uD83Dx\"", NULL), "Invalid Unicode escape sequence: \"\\uD83D\".");
    CHECK_STR(lex_error("012", &l), "Invalid number, unexpected digit after 0: \"1\".");
    CHECK(l.col == 2);
    CHECK_STR(lex_error("1.", NULL), "Invalid number, expected digit but got: <EOF>.");
    CHECK_STR(lex_error("1.5e", NULL), "Invalid number, expected digit but got: <EOF>.");
    CHECK_STR(lex_error("12abc", NULL), "Invalid number, expected digit but got: \"a\".");
    CHECK_STR(lex_error("1.2.3", NULL), "Invalid number, expected digit but got: \".\".");
    CHECK_STR(lex_error("..", NULL), "Unexpected character: \".\".");
    CHECK_STR(lex_error("\x01", NULL), "Unexpected character: U+0001.");
    CHECK_STR(lex_error("\xc3\xa9", NULL), "Unexpected character: U+00E9.");
    CHECK_STR(lex_error("\"\xff\"", NULL), "Invalid UTF-8 byte sequence.");
    CHECK_STR(lex_error("\"\"\"abc", NULL), "Unterminated string.");
}

int main(void)
{
    A = ea_arena_new(4096);
    test_kinds();
    test_strings();
    test_block_strings();
    test_locations();
    test_errors();
    ea_arena_free(A);
    return gql_t_report("graphql lexer");
}
