/*
 * ea_gql_parser.c — recursive-descent parser from tokens to the AST in ea_gql_int.h. One grammar
 * for both uses: executable documents (operations incl. the "{ }" shorthand, variables with
 * defaults and directives, fragments, inline fragments, every value literal) and the SDL that
 * ea_gql_schema_parse reads (schema, scalar, type, interface, union, enum, input, directive
 * definitions and their "extend" forms, descriptions). Like graphql-js it accepts type-system
 * definitions in any document; validation rejects them for execution. Limits are enforced while
 * parsing so hostile input costs little: a token cap (comments excluded, graphql-js maxTokens
 * wording) and a nesting cap against deep recursion. Error messages follow graphql-js 16.
 * Not for: semantic checks (ea_gql_validate.c, ea_gql_schema.c).
 */
#include "ea_gql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Directive location names, in __DirectiveLocation order: the SDL parser checks them, the schema,
 * validation and introspection print them. */
const char *const ea_gql__dirloc_names[EA_GQL__DL_COUNT] = {
    "QUERY",
    "MUTATION",
    "SUBSCRIPTION",
    "FIELD",
    "FRAGMENT_DEFINITION",
    "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION",
    "SCHEMA",
    "SCALAR",
    "OBJECT",
    "FIELD_DEFINITION",
    "ARGUMENT_DEFINITION",
    "INTERFACE",
    "UNION",
    "ENUM",
    "ENUM_VALUE",
    "INPUT_OBJECT",
    "INPUT_FIELD_DEFINITION",
};

/* Fragment lookup of a prepared document: validation and execution read documents through it
 * (here, with the AST, so neither calls back into ea_gql_prepare.c). */
const ea_gql__def *ea_gql__doc_fragment(const ea_gql_document *d, const char *name)
{
    for (size_t i = 0; i < d->nfrags; i++) {
        if (strcmp(d->frags[i]->name, name) == 0)
            return d->frags[i];
    }
    return NULL;
}

typedef struct parser {
    ea_gql__lexer lx;
    ea_gql__token tok;   /* current token */
    ea_gql__token ahead; /* one token of lookahead, valid when has_ahead */
    bool has_ahead;
    ea_arena *a;
    size_t ntokens, max_tokens;
    int nesting;
    ea_gql__parse_status status;
    ea_gql__parse_result *r;
} parser;

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((x) < 0)                                                                               \
            return -1;                                                                             \
    } while (0)
#define TRYP(x)                                                                                    \
    do {                                                                                           \
        if ((x) < 0)                                                                               \
            return NULL;                                                                           \
    } while (0)

static int error_at(parser *p, ea_gql__loc loc, ea_gql__parse_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int error_at(parser *p, ea_gql__loc loc, ea_gql__parse_status st, const char *fmt, ...)
{
    if (p->status != EA_GQL__PARSE_OK)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    char msg[256];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(p->r->err, sizeof(p->r->err), "%s%s",
             st == EA_GQL__PARSE_SYNTAX ? "Syntax Error: " : "", msg);
    p->r->err_loc = loc;
    p->status = st;
    return -1;
}

static int nomem(parser *p)
{
    ea_gql__loc l = {0, 0};
    return error_at(p, l, EA_GQL__PARSE_NOMEM, "out of memory");
}

static void *alloc(parser *p, size_t n)
{
    void *x = ea_arena_calloc(p->a, n);
    if (x == NULL)
        nomem(p);
    return x;
}

/* Next non-comment token from the lexer. */
static int lex_skip_comments(parser *p, ea_gql__token *t)
{
    do {
        if (ea_gql__lexer_next(&p->lx, t) < 0)
            return error_at(p, p->lx.err_loc, EA_GQL__PARSE_SYNTAX, "%s", p->lx.err);
    } while (t->kind == EA_GQL__T_COMMENT);
    return 0;
}

static int advance(parser *p)
{
    if (p->has_ahead) {
        p->tok = p->ahead;
        p->has_ahead = false;
    } else {
        TRY(lex_skip_comments(p, &p->tok));
    }
    if (p->tok.kind != EA_GQL__T_EOF) {
        p->ntokens++;
        if (p->max_tokens && p->ntokens > p->max_tokens)
            return error_at(p, p->tok.loc, EA_GQL__PARSE_TOKENS,
                            "Syntax Error: Document contains more than %zu tokens. Parsing "
                            "aborted.",
                            p->max_tokens);
    }
    return 0;
}

static const ea_gql__token *lookahead(parser *p)
{
    if (!p->has_ahead) {
        if (lex_skip_comments(p, &p->ahead) < 0)
            return NULL;
        p->has_ahead = true;
    }
    return &p->ahead;
}

/* graphql-js getTokenDesc. */
static const char *tok_desc(parser *p, const ea_gql__token *t, char *buf, size_t n)
{
    const char *k = ea_gql__tok_kind_desc(t->kind);
    if (t->value != NULL) {
        /* printed values are cut to keep messages bounded */
        int vl = t->value_len > 120 ? 120 : (int)t->value_len;
        snprintf(buf, n, "%s \"%.*s\"", k, vl, t->value);
    } else {
        snprintf(buf, n, "%s", k);
    }
    (void)p;
    return buf;
}

static int unexpected(parser *p, const ea_gql__token *t)
{
    char d[160];
    return error_at(p, t->loc, EA_GQL__PARSE_SYNTAX, "Unexpected %s.",
                    tok_desc(p, t, d, sizeof(d)));
}

static bool peek(parser *p, ea_gql__tok_kind k)
{
    return p->tok.kind == k;
}

static bool peek_kw(parser *p, const char *kw)
{
    return p->tok.kind == EA_GQL__T_NAME && strcmp(p->tok.value, kw) == 0;
}

static int expect(parser *p, ea_gql__tok_kind k)
{
    if (p->tok.kind == k)
        return advance(p);
    char d[160];
    return error_at(p, p->tok.loc, EA_GQL__PARSE_SYNTAX, "Expected %s, found %s.",
                    ea_gql__tok_kind_desc(k), tok_desc(p, &p->tok, d, sizeof(d)));
}

/* Consumes k when present; returns 1 if consumed, 0 if not, -1 on error. */
static int optional(parser *p, ea_gql__tok_kind k)
{
    if (p->tok.kind != k)
        return 0;
    TRY(advance(p));
    return 1;
}

static int expect_kw(parser *p, const char *kw)
{
    if (peek_kw(p, kw))
        return advance(p);
    char d[160];
    return error_at(p, p->tok.loc, EA_GQL__PARSE_SYNTAX, "Expected \"%s\", found %s.", kw,
                    tok_desc(p, &p->tok, d, sizeof(d)));
}

static int optional_kw(parser *p, const char *kw)
{
    if (!peek_kw(p, kw))
        return 0;
    TRY(advance(p));
    return 1;
}

static int nest_enter(parser *p)
{
    if (++p->nesting > EA_GQL__MAX_NESTING)
        return error_at(p, p->tok.loc, EA_GQL__PARSE_NESTING, "Document nesting exceeds %d levels.",
                        EA_GQL__MAX_NESTING);
    return 0;
}

static const char *parse_name(parser *p, ea_gql__loc *loc)
{
    if (p->tok.kind != EA_GQL__T_NAME) {
        expect(p, EA_GQL__T_NAME);
        return NULL;
    }
    const char *n = p->tok.value;
    if (loc)
        *loc = p->tok.loc;
    if (advance(p) < 0)
        return NULL;
    return n;
}

/* ---------------------------------------------------------------- values */

static ea_gql__value *parse_value(parser *p, bool is_const);

static ea_gql__value *parse_list(parser *p, bool is_const)
{
    ea_gql__value *v = alloc(p, sizeof(*v));
    if (v == NULL || nest_enter(p) < 0)
        return NULL;
    v->kind = EA_GQL__V_LIST;
    v->loc = p->tok.loc;
    TRYP(advance(p));
    ea_gql__value **tail = &v->items;
    while (!peek(p, EA_GQL__T_BRACKET_R)) {
        if (peek(p, EA_GQL__T_EOF)) {
            expect(p, EA_GQL__T_BRACKET_R);
            return NULL;
        }
        ea_gql__value *it = parse_value(p, is_const);
        if (it == NULL)
            return NULL;
        *tail = it;
        tail = &it->next;
    }
    TRYP(advance(p));
    p->nesting--;
    return v;
}

static ea_gql__value *parse_object(parser *p, bool is_const)
{
    ea_gql__value *v = alloc(p, sizeof(*v));
    if (v == NULL || nest_enter(p) < 0)
        return NULL;
    v->kind = EA_GQL__V_OBJECT;
    v->loc = p->tok.loc;
    TRYP(advance(p));
    ea_gql__objfield **tail = &v->fields;
    while (!peek(p, EA_GQL__T_BRACE_R)) {
        ea_gql__objfield *f = alloc(p, sizeof(*f));
        if (f == NULL)
            return NULL;
        f->loc = p->tok.loc;
        if ((f->name = parse_name(p, NULL)) == NULL)
            return NULL;
        TRYP(expect(p, EA_GQL__T_COLON));
        if ((f->value = parse_value(p, is_const)) == NULL)
            return NULL;
        *tail = f;
        tail = &f->next;
    }
    TRYP(advance(p));
    p->nesting--;
    return v;
}

static ea_gql__value *parse_value(parser *p, bool is_const)
{
    ea_gql__token t = p->tok;
    switch (t.kind) {
    case EA_GQL__T_BRACKET_L:
        return parse_list(p, is_const);
    case EA_GQL__T_BRACE_L:
        return parse_object(p, is_const);
    case EA_GQL__T_INT:
    case EA_GQL__T_FLOAT:
    case EA_GQL__T_STRING:
    case EA_GQL__T_BLOCK_STRING:
    case EA_GQL__T_NAME: {
        ea_gql__value *v = alloc(p, sizeof(*v));
        if (v == NULL)
            return NULL;
        v->loc = t.loc;
        v->str = t.value;
        v->len = t.value_len;
        if (t.kind == EA_GQL__T_INT) {
            v->kind = EA_GQL__V_INT;
        } else if (t.kind == EA_GQL__T_FLOAT) {
            v->kind = EA_GQL__V_FLOAT;
        } else if (t.kind == EA_GQL__T_STRING || t.kind == EA_GQL__T_BLOCK_STRING) {
            v->kind = EA_GQL__V_STRING;
            v->block = t.kind == EA_GQL__T_BLOCK_STRING;
        } else if (strcmp(t.value, "true") == 0 || strcmp(t.value, "false") == 0) {
            v->kind = EA_GQL__V_BOOLEAN;
            v->boolean = t.value[0] == 't';
        } else if (strcmp(t.value, "null") == 0) {
            v->kind = EA_GQL__V_NULL;
        } else {
            v->kind = EA_GQL__V_ENUM;
        }
        TRYP(advance(p));
        return v;
    }
    case EA_GQL__T_DOLLAR: {
        if (is_const) {
            TRYP(advance(p));
            if (p->tok.kind == EA_GQL__T_NAME) {
                error_at(p, t.loc, EA_GQL__PARSE_SYNTAX,
                         "Unexpected variable \"$%s\" in constant value.", p->tok.value);
                return NULL;
            }
            unexpected(p, &t);
            return NULL;
        }
        ea_gql__value *v = alloc(p, sizeof(*v));
        if (v == NULL)
            return NULL;
        v->kind = EA_GQL__V_VARIABLE;
        v->loc = t.loc;
        TRYP(advance(p));
        if ((v->str = parse_name(p, NULL)) == NULL)
            return NULL;
        v->len = strlen(v->str);
        return v;
    }
    default:
        unexpected(p, &t);
        return NULL;
    }
}

/* ---------------------------------------------------------------- directives, types */

static int parse_arguments(parser *p, bool is_const, ea_gql__arg **out)
{
    *out = NULL;
    if (!peek(p, EA_GQL__T_PAREN_L))
        return 0;
    TRY(advance(p));
    ea_gql__arg **tail = out;
    do {
        ea_gql__arg *arg = alloc(p, sizeof(*arg));
        if (arg == NULL)
            return -1;
        arg->loc = p->tok.loc;
        if ((arg->name = parse_name(p, NULL)) == NULL)
            return -1;
        TRY(expect(p, EA_GQL__T_COLON));
        if ((arg->value = parse_value(p, is_const)) == NULL)
            return -1;
        *tail = arg;
        tail = &arg->next;
    } while (!peek(p, EA_GQL__T_PAREN_R));
    return advance(p);
}

static int parse_directives(parser *p, bool is_const, ea_gql__directive **out)
{
    *out = NULL;
    ea_gql__directive **tail = out;
    while (peek(p, EA_GQL__T_AT)) {
        ea_gql__directive *d = alloc(p, sizeof(*d));
        if (d == NULL)
            return -1;
        d->loc = p->tok.loc;
        TRY(advance(p));
        if ((d->name = parse_name(p, NULL)) == NULL)
            return -1;
        TRY(parse_arguments(p, is_const, &d->args));
        *tail = d;
        tail = &d->next;
    }
    return 0;
}

static ea_gql__typeref *parse_type(parser *p)
{
    ea_gql__typeref *t = alloc(p, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->loc = p->tok.loc;
    if (peek(p, EA_GQL__T_BRACKET_L)) {
        TRYP(nest_enter(p));
        TRYP(advance(p));
        t->kind = EA_GQL__TR_LIST;
        if ((t->of = parse_type(p)) == NULL)
            return NULL;
        TRYP(expect(p, EA_GQL__T_BRACKET_R));
        p->nesting--;
    } else {
        t->kind = EA_GQL__TR_NAMED;
        if ((t->name = parse_name(p, NULL)) == NULL)
            return NULL;
    }
    if (peek(p, EA_GQL__T_BANG)) {
        TRYP(advance(p));
        ea_gql__typeref *nn = alloc(p, sizeof(*nn));
        if (nn == NULL)
            return NULL;
        nn->kind = EA_GQL__TR_NON_NULL;
        nn->loc = t->loc;
        nn->of = t;
        return nn;
    }
    return t;
}

/* ---------------------------------------------------------------- executable definitions */

static ea_gql__selset *parse_selset(parser *p);

static ea_gql__sel *parse_selection(parser *p)
{
    ea_gql__sel *s = alloc(p, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->loc = p->tok.loc;
    if (peek(p, EA_GQL__T_SPREAD)) {
        TRYP(advance(p));
        int has_cond = optional_kw(p, "on");
        TRYP(has_cond);
        if (!has_cond && peek(p, EA_GQL__T_NAME)) {
            s->kind = EA_GQL__SEL_SPREAD;
            s->name_loc = p->tok.loc;
            if (peek_kw(p, "on")) {
                unexpected(p, &p->tok);
                return NULL;
            }
            if ((s->name = parse_name(p, NULL)) == NULL)
                return NULL;
            TRYP(parse_directives(p, false, &s->directives));
            return s;
        }
        s->kind = EA_GQL__SEL_INLINE;
        if (has_cond && (s->type_cond = parse_name(p, &s->type_cond_loc)) == NULL)
            return NULL;
        TRYP(parse_directives(p, false, &s->directives));
        if ((s->selset = parse_selset(p)) == NULL)
            return NULL;
        return s;
    }
    s->kind = EA_GQL__SEL_FIELD;
    ea_gql__loc l1;
    const char *n1 = parse_name(p, &l1);
    if (n1 == NULL)
        return NULL;
    int colon = optional(p, EA_GQL__T_COLON);
    TRYP(colon);
    if (colon) {
        s->alias = n1;
        if ((s->name = parse_name(p, &s->name_loc)) == NULL)
            return NULL;
    } else {
        s->name = n1;
        s->name_loc = l1;
    }
    TRYP(parse_arguments(p, false, &s->args));
    TRYP(parse_directives(p, false, &s->directives));
    if (peek(p, EA_GQL__T_BRACE_L) && (s->selset = parse_selset(p)) == NULL)
        return NULL;
    return s;
}

static ea_gql__selset *parse_selset(parser *p)
{
    ea_gql__selset *ss = alloc(p, sizeof(*ss));
    if (ss == NULL)
        return NULL;
    ss->loc = p->tok.loc;
    TRYP(expect(p, EA_GQL__T_BRACE_L));
    TRYP(nest_enter(p));
    ea_gql__sel **tail = &ss->first;
    do {
        ea_gql__sel *s = parse_selection(p);
        if (s == NULL)
            return NULL;
        *tail = s;
        tail = &s->next;
    } while (!peek(p, EA_GQL__T_BRACE_R));
    TRYP(advance(p));
    p->nesting--;
    return ss;
}

/* ": Type [= DefaultValue] Directives[Const]" after the name of a variable definition or of an
 * argument / input field definition (one grammar for both). */
static int parse_typed(parser *p, ea_gql__typeref **type, ea_gql__value **defval,
                       ea_gql__directive **dirs)
{
    TRY(expect(p, EA_GQL__T_COLON));
    if ((*type = parse_type(p)) == NULL)
        return -1;
    int eq = optional(p, EA_GQL__T_EQUALS);
    TRY(eq);
    if (eq && (*defval = parse_value(p, true)) == NULL)
        return -1;
    return parse_directives(p, true, dirs);
}

static int parse_operation(parser *p, ea_gql__def *d)
{
    d->kind = EA_GQL__D_OPERATION;
    d->loc = p->tok.loc;
    if (peek(p, EA_GQL__T_BRACE_L)) {
        d->op = EA_GQL_OP_QUERY;
        d->shorthand = true;
        return (d->selset = parse_selset(p)) ? 0 : -1;
    }
    if (peek_kw(p, "query"))
        d->op = EA_GQL_OP_QUERY;
    else if (peek_kw(p, "mutation"))
        d->op = EA_GQL_OP_MUTATION;
    else if (peek_kw(p, "subscription"))
        d->op = EA_GQL_OP_SUBSCRIPTION;
    else
        return unexpected(p, &p->tok);
    TRY(advance(p));
    if (peek(p, EA_GQL__T_NAME) && (d->name = parse_name(p, &d->name_loc)) == NULL)
        return -1;
    if (peek(p, EA_GQL__T_PAREN_L)) {
        TRY(advance(p));
        ea_gql__vardef **tail = &d->vars;
        do {
            ea_gql__vardef *v = alloc(p, sizeof(*v));
            if (v == NULL)
                return -1;
            v->loc = p->tok.loc;
            TRY(expect(p, EA_GQL__T_DOLLAR));
            if ((v->name = parse_name(p, &v->name_loc)) == NULL)
                return -1;
            TRY(parse_typed(p, &v->type, &v->defval, &v->directives));
            *tail = v;
            tail = &v->next;
        } while (!peek(p, EA_GQL__T_PAREN_R));
        TRY(advance(p));
    }
    TRY(parse_directives(p, false, &d->directives));
    return (d->selset = parse_selset(p)) ? 0 : -1;
}

static int parse_fragment(parser *p, ea_gql__def *d)
{
    d->kind = EA_GQL__D_FRAGMENT;
    d->loc = p->tok.loc;
    TRY(advance(p)); /* "fragment" */
    if (peek_kw(p, "on"))
        return unexpected(p, &p->tok);
    if ((d->name = parse_name(p, &d->name_loc)) == NULL)
        return -1;
    TRY(expect_kw(p, "on"));
    if ((d->type_cond = parse_name(p, &d->type_cond_loc)) == NULL)
        return -1;
    TRY(parse_directives(p, false, &d->directives));
    return (d->selset = parse_selset(p)) ? 0 : -1;
}

/* ---------------------------------------------------------------- type-system definitions */

static int parse_description(parser *p, const char **out)
{
    *out = NULL;
    if (peek(p, EA_GQL__T_STRING) || peek(p, EA_GQL__T_BLOCK_STRING)) {
        *out = p->tok.value;
        return advance(p);
    }
    return 0;
}

static int parse_ivaldefs(parser *p, ea_gql__tok_kind open, ea_gql__tok_kind close,
                          ea_gql__ivaldef **out)
{
    *out = NULL;
    if (!peek(p, open))
        return 0;
    TRY(advance(p));
    ea_gql__ivaldef **tail = out;
    do {
        ea_gql__ivaldef *v = alloc(p, sizeof(*v));
        if (v == NULL)
            return -1;
        v->loc = p->tok.loc;
        TRY(parse_description(p, &v->desc));
        if ((v->name = parse_name(p, NULL)) == NULL)
            return -1;
        TRY(parse_typed(p, &v->type, &v->defval, &v->directives));
        *tail = v;
        tail = &v->next;
    } while (!peek(p, close));
    return advance(p);
}

static int parse_fielddefs(parser *p, ea_gql__fielddef **out)
{
    *out = NULL;
    if (!peek(p, EA_GQL__T_BRACE_L))
        return 0;
    TRY(advance(p));
    ea_gql__fielddef **tail = out;
    do {
        ea_gql__fielddef *f = alloc(p, sizeof(*f));
        if (f == NULL)
            return -1;
        f->loc = p->tok.loc;
        TRY(parse_description(p, &f->desc));
        if ((f->name = parse_name(p, NULL)) == NULL)
            return -1;
        TRY(parse_ivaldefs(p, EA_GQL__T_PAREN_L, EA_GQL__T_PAREN_R, &f->args));
        TRY(expect(p, EA_GQL__T_COLON));
        if ((f->type = parse_type(p)) == NULL)
            return -1;
        TRY(parse_directives(p, true, &f->directives));
        *tail = f;
        tail = &f->next;
    } while (!peek(p, EA_GQL__T_BRACE_R));
    return advance(p);
}

static ea_gql__namelist *add_name(parser *p, ea_gql__namelist ***tail, const char *desc)
{
    ea_gql__namelist *n = alloc(p, sizeof(*n));
    if (n == NULL)
        return NULL;
    n->desc = desc;
    if ((n->name = parse_name(p, &n->loc)) == NULL)
        return NULL;
    **tail = n;
    *tail = &n->next;
    return n;
}

/* Parses a typesystem definition whose keyword is the current token. */
static int parse_typedef(parser *p, ea_gql__def *d, bool extension)
{
    const char *kw = p->tok.value;
    d->extension = extension;
    TRY(advance(p));
    ea_gql__namelist **tail = &d->names;
    if (strcmp(kw, "schema") == 0) {
        d->kind = EA_GQL__D_SCHEMA;
        TRY(parse_directives(p, true, &d->directives));
        if (extension && !peek(p, EA_GQL__T_BRACE_L))
            return 0;
        TRY(expect(p, EA_GQL__T_BRACE_L));
        do {
            ea_gql_op_type op;
            if (peek_kw(p, "query"))
                op = EA_GQL_OP_QUERY;
            else if (peek_kw(p, "mutation"))
                op = EA_GQL_OP_MUTATION;
            else if (peek_kw(p, "subscription"))
                op = EA_GQL_OP_SUBSCRIPTION;
            else
                return unexpected(p, &p->tok);
            TRY(advance(p));
            TRY(expect(p, EA_GQL__T_COLON));
            ea_gql__namelist *n = add_name(p, &tail, NULL);
            if (n == NULL)
                return -1;
            n->op = op;
        } while (!peek(p, EA_GQL__T_BRACE_R));
        return advance(p);
    }
    if (strcmp(kw, "directive") == 0) {
        d->kind = EA_GQL__D_DIRECTIVE;
        TRY(expect(p, EA_GQL__T_AT));
        if ((d->name = parse_name(p, &d->name_loc)) == NULL)
            return -1;
        TRY(parse_ivaldefs(p, EA_GQL__T_PAREN_L, EA_GQL__T_PAREN_R, &d->ivals));
        int rep = optional_kw(p, "repeatable");
        TRY(rep);
        d->repeatable = rep == 1;
        TRY(expect_kw(p, "on"));
        TRY(optional(p, EA_GQL__T_PIPE));
        do {
            ea_gql__loc l = p->tok.loc;
            ea_gql__token t = p->tok;
            const char *n = parse_name(p, NULL);
            if (n == NULL)
                return -1;
            int found = 0;
            for (int i = 0; i < EA_GQL__DL_COUNT; i++)
                found |= strcmp(ea_gql__dirloc_names[i], n) == 0;
            if (!found)
                return unexpected(p, &t);
            ea_gql__namelist *nl = alloc(p, sizeof(*nl));
            if (nl == NULL)
                return -1;
            nl->name = n;
            nl->loc = l;
            *tail = nl;
            tail = &nl->next;
        } while (optional(p, EA_GQL__T_PIPE) == 1);
        return p->status == EA_GQL__PARSE_OK ? 0 : -1;
    }
    if ((d->name = parse_name(p, &d->name_loc)) == NULL)
        return -1;
    if (strcmp(kw, "scalar") == 0) {
        d->kind = EA_GQL__D_SCALAR;
        return parse_directives(p, true, &d->directives);
    }
    if (strcmp(kw, "type") == 0 || strcmp(kw, "interface") == 0) {
        d->kind = kw[0] == 't' ? EA_GQL__D_OBJECT : EA_GQL__D_INTERFACE;
        if (optional_kw(p, "implements") == 1) {
            TRY(optional(p, EA_GQL__T_AMP));
            do {
                if (add_name(p, &tail, NULL) == NULL)
                    return -1;
            } while (optional(p, EA_GQL__T_AMP) == 1);
        }
        if (p->status != EA_GQL__PARSE_OK)
            return -1;
        TRY(parse_directives(p, true, &d->directives));
        return parse_fielddefs(p, &d->fields);
    }
    if (strcmp(kw, "union") == 0) {
        d->kind = EA_GQL__D_UNION;
        TRY(parse_directives(p, true, &d->directives));
        if (optional(p, EA_GQL__T_EQUALS) == 1) {
            TRY(optional(p, EA_GQL__T_PIPE));
            do {
                if (add_name(p, &tail, NULL) == NULL)
                    return -1;
            } while (optional(p, EA_GQL__T_PIPE) == 1);
        }
        return p->status == EA_GQL__PARSE_OK ? 0 : -1;
    }
    if (strcmp(kw, "enum") == 0) {
        d->kind = EA_GQL__D_ENUM;
        TRY(parse_directives(p, true, &d->directives));
        if (!peek(p, EA_GQL__T_BRACE_L))
            return 0;
        TRY(advance(p));
        do {
            const char *desc;
            TRY(parse_description(p, &desc));
            if (peek_kw(p, "true") || peek_kw(p, "false") || peek_kw(p, "null")) {
                char dd[160];
                return error_at(p, p->tok.loc, EA_GQL__PARSE_SYNTAX,
                                "%s is reserved and cannot be "
                                "used for an enum value.",
                                tok_desc(p, &p->tok, dd, sizeof(dd)));
            }
            ea_gql__namelist *last = add_name(p, &tail, desc);
            if (last == NULL)
                return -1;
            TRY(parse_directives(p, true, &last->directives));
        } while (!peek(p, EA_GQL__T_BRACE_R));
        return advance(p);
    }
    if (strcmp(kw, "input") == 0) {
        d->kind = EA_GQL__D_INPUT;
        TRY(parse_directives(p, true, &d->directives));
        return parse_ivaldefs(p, EA_GQL__T_BRACE_L, EA_GQL__T_BRACE_R, &d->ivals);
    }
    return -1; /* not reached: callers check the keyword */
}

static bool is_typedef_kw(const ea_gql__token *t)
{
    static const char *const kws[] = {"schema", "scalar", "type",  "interface",
                                      "union",  "enum",   "input", "directive"};
    if (t->kind != EA_GQL__T_NAME)
        return false;
    for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
        if (strcmp(t->value, kws[i]) == 0)
            return true;
    }
    return false;
}

static ea_gql__def *parse_definition(parser *p)
{
    ea_gql__def *d = alloc(p, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->loc = p->tok.loc;
    if (peek(p, EA_GQL__T_BRACE_L))
        return parse_operation(p, d) < 0 ? NULL : d;
    bool has_desc = peek(p, EA_GQL__T_STRING) || peek(p, EA_GQL__T_BLOCK_STRING);
    const ea_gql__token *kwt = &p->tok;
    if (has_desc && (kwt = lookahead(p)) == NULL)
        return NULL;
    if (kwt->kind == EA_GQL__T_NAME) {
        if (is_typedef_kw(kwt)) {
            TRYP(parse_description(p, &d->desc));
            return parse_typedef(p, d, false) < 0 ? NULL : d;
        }
        if (has_desc) {
            error_at(p, p->tok.loc, EA_GQL__PARSE_SYNTAX,
                     "Unexpected description, descriptions are supported only on type "
                     "definitions.");
            return NULL;
        }
        if (peek_kw(p, "query") || peek_kw(p, "mutation") || peek_kw(p, "subscription"))
            return parse_operation(p, d) < 0 ? NULL : d;
        if (peek_kw(p, "fragment"))
            return parse_fragment(p, d) < 0 ? NULL : d;
        if (peek_kw(p, "extend")) {
            const ea_gql__token *k2 = lookahead(p);
            if (k2 == NULL)
                return NULL;
            if (k2->kind == EA_GQL__T_NAME && is_typedef_kw(k2) && strcmp(k2->value, "directive")) {
                TRYP(advance(p));
                return parse_typedef(p, d, true) < 0 ? NULL : d;
            }
            ea_gql__token t2 = *k2;
            unexpected(p, &t2);
            return NULL;
        }
    }
    ea_gql__token t = *kwt;
    unexpected(p, &t);
    return NULL;
}

ea_gql__parse_status ea_gql__parse(ea_arena *a, const char *src, size_t len, size_t max_tokens,
                                   ea_gql__parse_result *r)
{
    parser p;
    memset(&p, 0, sizeof(p));
    memset(r, 0, sizeof(*r));
    ea_gql__lexer_init(&p.lx, src, len, a);
    p.a = a;
    p.max_tokens = max_tokens;
    p.r = r;
    ea_gql__def **tail = &r->defs;
    if (advance(&p) < 0)
        goto out;
    /* a document holds one or more definitions */
    do {
        ea_gql__def *d = parse_definition(&p);
        if (d == NULL)
            goto out;
        *tail = d;
        tail = &d->next;
    } while (!peek(&p, EA_GQL__T_EOF));
out:
    r->ntokens = p.ntokens;
    return p.status;
}
