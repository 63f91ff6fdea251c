/*
 * ea_gql_int.h — internals shared by the files of lib/graphql: tokens, the AST of a parsed
 * document (executable and type-system definitions), the schema model, and the entry points each
 * stage offers the next (lex → parse → schema build / validate → execute). Everything here is
 * allocated from an arena: a document's arena owns its AST, a schema's arena owns its types, an
 * execution's arena owns its scratch state. Not for: users of the library (see ea_gql.h).
 */
#ifndef EA_GQL_INT_H
#define EA_GQL_INT_H

#include "ea_gql.h"
#include "ea_arena.h"

#include <stdint.h>

/* A position as graphql-js reports it: 1-based line and column (UTF-16 code units). */
typedef struct gql_loc {
    uint32_t line, col;
} gql_loc;

/* ---------------------------------------------------------------- lexer (ea_gql_lexer.c) */

typedef enum gql_tok_kind {
    GQL_T_SOF = 0,
    GQL_T_EOF,
    GQL_T_BANG,
    GQL_T_DOLLAR,
    GQL_T_AMP,
    GQL_T_PAREN_L,
    GQL_T_PAREN_R,
    GQL_T_SPREAD,
    GQL_T_COLON,
    GQL_T_EQUALS,
    GQL_T_AT,
    GQL_T_BRACKET_L,
    GQL_T_BRACKET_R,
    GQL_T_BRACE_L,
    GQL_T_PIPE,
    GQL_T_BRACE_R,
    GQL_T_NAME,
    GQL_T_INT,
    GQL_T_FLOAT,
    GQL_T_STRING,
    GQL_T_BLOCK_STRING,
    GQL_T_COMMENT,
} gql_tok_kind;

typedef struct gql_token {
    gql_tok_kind kind;
    size_t start, end; /* byte offsets into the source */
    gql_loc loc;
    const char *value; /* names, numbers (raw text), decoded strings; NUL-terminated, arena */
    size_t value_len;  /* strings may contain U+0000 */
} gql_token;

typedef struct gql_lexer {
    const char *src;
    size_t len, pos;
    uint32_t line;
    size_t line_start;
    size_t col_pos; /* column cache: offset col_pos is col_units UTF-16 units into the line */
    uint32_t col_units;
    ea_arena *arena;
    char err[256]; /* set when gql_lexer_next fails, without the "Syntax Error: " prefix */
    gql_loc err_loc;
} gql_lexer;

void gql_lexer_init(gql_lexer *lx, const char *src, size_t len, ea_arena *a);
/* Reads the next token, comments included. Returns 0, or -1 with lx->err and lx->err_loc set. */
int gql_lexer_next(gql_lexer *lx, gql_token *t);
/* "Name", "\"{\"", "<EOF>" ... as graphql-js prints a token kind in messages. */
const char *gql_tok_kind_desc(gql_tok_kind k);

/* ---------------------------------------------------------------- AST (ea_gql_parser.c) */

typedef enum gql_value_kind {
    GQL_V_VARIABLE = 0,
    GQL_V_INT,
    GQL_V_FLOAT,
    GQL_V_STRING,
    GQL_V_BOOLEAN,
    GQL_V_NULL,
    GQL_V_ENUM,
    GQL_V_LIST,
    GQL_V_OBJECT,
} gql_value_kind;

typedef struct gql_value gql_value;
typedef struct gql_objfield {
    const char *name;
    gql_loc loc;
    gql_value *value;
    struct gql_objfield *next;
} gql_objfield;

struct gql_value {
    gql_value_kind kind;
    gql_loc loc;
    const char *str; /* variable name, raw number text, decoded string, enum name */
    size_t len;
    bool boolean;
    bool block;       /* string written as a block string */
    gql_value *items; /* list items, linked by next */
    gql_objfield *fields;
    gql_value *next;
};

typedef enum gql_tr_kind {
    GQL_TR_NAMED = 0,
    GQL_TR_LIST,
    GQL_TR_NON_NULL,
} gql_tr_kind;

typedef struct gql_typeref {
    gql_tr_kind kind;
    gql_loc loc;
    const char *name; /* GQL_TR_NAMED */
    struct gql_typeref *of;
} gql_typeref;

typedef struct gql_arg {
    const char *name;
    gql_loc loc;
    gql_value *value;
    struct gql_arg *next;
} gql_arg;

typedef struct gql_directive {
    const char *name;
    gql_loc loc; /* the '@' */
    gql_arg *args;
    struct gql_directive *next;
} gql_directive;

typedef enum gql_sel_kind {
    GQL_SEL_FIELD = 0,
    GQL_SEL_SPREAD,
    GQL_SEL_INLINE,
} gql_sel_kind;

typedef struct gql_selset gql_selset;
typedef struct gql_sel {
    gql_sel_kind kind;
    gql_loc loc;       /* field: alias or name; spread/inline: the '...' */
    const char *alias; /* field only, NULL when none */
    const char *name;  /* field name or fragment name */
    gql_loc name_loc;
    gql_arg *args;
    gql_directive *directives;
    gql_selset *selset;    /* NULL for leaf fields and spreads */
    const char *type_cond; /* inline fragment, NULL when none */
    gql_loc type_cond_loc;
    struct gql_sel *next;
} gql_sel;

struct gql_selset {
    gql_loc loc;
    gql_sel *first;
};

typedef struct gql_vardef {
    const char *name;
    gql_loc loc;      /* the '$' (definition and variable node start there) */
    gql_loc name_loc; /* the name after '$' */
    gql_typeref *type;
    gql_value *defval;
    gql_directive *directives;
    struct gql_vardef *next;
} gql_vardef;

typedef enum gql_def_kind {
    GQL_D_OPERATION = 0,
    GQL_D_FRAGMENT,
    GQL_D_SCHEMA,
    GQL_D_SCALAR,
    GQL_D_OBJECT,
    GQL_D_INTERFACE,
    GQL_D_UNION,
    GQL_D_ENUM,
    GQL_D_INPUT,
    GQL_D_DIRECTIVE,
} gql_def_kind;

/* An argument or input field definition. */
typedef struct gql_ivaldef {
    const char *desc, *name;
    gql_loc loc;
    gql_typeref *type;
    gql_value *defval;
    gql_directive *directives;
    struct gql_ivaldef *next;
} gql_ivaldef;

typedef struct gql_fielddef {
    const char *desc, *name;
    gql_loc loc;
    gql_ivaldef *args;
    gql_typeref *type;
    gql_directive *directives;
    struct gql_fielddef *next;
} gql_fielddef;

/* A list of names: implemented interfaces, union members, enum values, directive locations,
 * schema root operation types (op set). */
typedef struct gql_namelist {
    const char *desc, *name;
    gql_loc loc;
    gql_directive *directives;
    ea_gql_op_type op;
    struct gql_namelist *next;
} gql_namelist;

typedef struct gql_def {
    gql_def_kind kind;
    gql_loc loc;
    bool extension; /* "extend ..." */
    const char *desc;
    const char *name; /* NULL for an anonymous operation and for schema definitions */
    gql_loc name_loc;
    ea_gql_op_type op;
    bool shorthand; /* "{ ... }" query */
    gql_vardef *vars;
    gql_directive *directives;
    gql_selset *selset;
    const char *type_cond; /* fragment */
    gql_loc type_cond_loc;
    gql_fielddef *fields;
    gql_ivaldef *ivals;  /* input fields, directive arguments */
    gql_namelist *names; /* interfaces, union members, enum values, locations, root ops */
    bool repeatable;
    struct gql_def *next;
} gql_def;

typedef enum gql_parse_status {
    GQL_PARSE_OK = 0,
    GQL_PARSE_SYNTAX,  /* message starts with "Syntax Error: " */
    GQL_PARSE_TOKENS,  /* over max_tokens */
    GQL_PARSE_NESTING, /* over the structural nesting cap */
    GQL_PARSE_NOMEM,
} gql_parse_status;

typedef struct gql_parse_result {
    gql_def *defs;
    size_t ntokens;
    char err[300];
    gql_loc err_loc;
} gql_parse_result;

#define GQL_MAX_NESTING 64

/* Parses a whole document (executable and type-system definitions) into arena a. max_tokens 0
 * means no cap. On failure fills r->err/err_loc and returns the status. */
gql_parse_status gql_parse(ea_arena *a, const char *src, size_t len, size_t max_tokens,
                           gql_parse_result *r);

/* ---------------------------------------------------------------- schema (ea_gql_schema.c) */

typedef enum gql_kind {
    GQL_K_SCALAR = 0,
    GQL_K_OBJECT,
    GQL_K_INTERFACE,
    GQL_K_UNION,
    GQL_K_ENUM,
    GQL_K_INPUT,
} gql_kind;

typedef enum gql_scalar_id {
    GQL_S_CUSTOM = 0,
    GQL_S_INT,
    GQL_S_FLOAT,
    GQL_S_STRING,
    GQL_S_BOOLEAN,
    GQL_S_ID,
} gql_scalar_id;

typedef struct gql_type gql_type;
typedef struct gql_tref {
    gql_tr_kind kind;
    gql_type *named; /* GQL_TR_NAMED */
    struct gql_tref *of;
} gql_tref;

/* An argument or input field. */
typedef struct gql_ival {
    const char *name, *desc;
    gql_tref *type;
    const gql_value *defval; /* NULL when none */
    bool deprecated;
    const char *dep_reason;
} gql_ival;

typedef struct gql_field {
    const char *name, *desc;
    gql_ival *args;
    size_t nargs;
    gql_tref *type;
    bool deprecated;
    const char *dep_reason;
    ea_gql_resolver_fn resolver;
} gql_field;

typedef struct gql_enumval {
    const char *name, *desc;
    bool deprecated;
    const char *dep_reason;
} gql_enumval;

struct gql_type {
    gql_kind kind;
    const char *name, *desc;
    const char *specified_by;
    bool builtin;       /* a built-in scalar */
    bool introspection; /* __Schema, __Type, ... */
    bool hidden;        /* internal holder of meta fields, never listed */
    gql_scalar_id scalar;
    gql_field *fields;
    size_t nfields;
    gql_type **interfaces;
    size_t ninterfaces;
    gql_type **possible; /* union members, or object types implementing an interface */
    size_t npossible;
    gql_enumval *values;
    size_t nvalues;
    gql_ival *inputs;
    size_t ninputs;
    gql_tref self;
    bool referenced; /* a built-in scalar some field, argument or input field uses */
};

/* Directive locations, in __DirectiveLocation order. */
enum {
    GQL_DL_QUERY = 0,
    GQL_DL_MUTATION,
    GQL_DL_SUBSCRIPTION,
    GQL_DL_FIELD,
    GQL_DL_FRAGMENT_DEFINITION,
    GQL_DL_FRAGMENT_SPREAD,
    GQL_DL_INLINE_FRAGMENT,
    GQL_DL_VARIABLE_DEFINITION,
    GQL_DL_SCHEMA,
    GQL_DL_SCALAR,
    GQL_DL_OBJECT,
    GQL_DL_FIELD_DEFINITION,
    GQL_DL_ARGUMENT_DEFINITION,
    GQL_DL_INTERFACE,
    GQL_DL_UNION,
    GQL_DL_ENUM,
    GQL_DL_ENUM_VALUE,
    GQL_DL_INPUT_OBJECT,
    GQL_DL_INPUT_FIELD_DEFINITION,
    GQL_DL_COUNT,
};
extern const char *const gql_dirloc_names[GQL_DL_COUNT];

typedef struct gql_dirdef {
    const char *name, *desc;
    gql_ival *args;
    size_t nargs;
    uint32_t locations;          /* bit per GQL_DL_* */
    uint8_t order[GQL_DL_COUNT]; /* locations in declaration order (introspection lists them so) */
    size_t norder;
    bool repeatable;
} gql_dirdef;

struct ea_gql_schema {
    ea_arena *arena;
    const char *desc;
    gql_type **types; /* definition order: user types, built-in scalars, introspection types */
    size_t ntypes;
    gql_dirdef *dirs;
    size_t ndirs;
    gql_type *query, *mutation, *subscription;
    gql_field *f_schema, *f_type, *f_typename; /* meta fields */
    bool building; /* while building, lookups also see built-in scalars no field uses */
};

gql_type *gql_schema_type(const ea_gql_schema *s, const char *name);
const gql_field *gql_type_field(const gql_type *t, const char *name);
/* Field lookup as graphql-js getFieldDef: includes __typename on composites and __schema/__type
 * on the query root. */
const gql_field *gql_field_def(const ea_gql_schema *s, const gql_type *parent, const char *name);
const gql_ival *gql_ival_find(const gql_ival *v, size_t n, const char *name);
const gql_dirdef *gql_schema_directive(const ea_gql_schema *s, const char *name);
const gql_enumval *gql_enum_value(const gql_type *t, const char *name);
bool gql_type_is_input(const gql_type *t);
bool gql_type_is_output(const gql_type *t);
bool gql_type_is_composite(const gql_type *t);
bool gql_type_is_abstract(const gql_type *t);
bool gql_type_is_leaf(const gql_type *t);
/* Whether object type o is a possible type of abstract (or equal) type t. */
bool gql_type_possible(const gql_type *t, const gql_type *o);
const gql_type *gql_tref_named(const gql_tref *r);
/* Converts an AST type reference; NULL when a name is unknown. */
gql_tref *gql_tref_from_ast(const ea_gql_schema *s, ea_arena *a, const gql_typeref *ast);
/* Prints "[Int!]!" into the arena. */
const char *gql_tref_str(ea_arena *a, const gql_tref *r);
const char *gql_typeref_str(ea_arena *a, const gql_typeref *r);
bool gql_tref_equal(const gql_tref *a, const gql_tref *b);
/* isTypeSubTypeOf of graphql-js. */
bool gql_tref_subtype(const gql_tref *maybe_sub, const gql_tref *super);

/* ---------------------------------------------------------------- documents (ea_gql_prepare.c) */

struct ea_gql_document {
    ea_arena *arena;
    gql_def *defs;
    const gql_def **ops;
    size_t nops;
    const gql_def **frags;
    size_t nfrags;
};

const gql_def *gql_doc_fragment(const ea_gql_document *d, const char *name);

/* ---------------------------------------------------------------- shared helpers (ea_gql_util.c)
 */

/* Growable string in an arena. */
typedef struct gql_sb {
    ea_arena *a;
    char *buf;
    size_t len, cap;
} gql_sb;
void gql_sb_init(gql_sb *b, ea_arena *a);
void gql_sb_add(gql_sb *b, const char *s, size_t n);
void gql_sb_puts(gql_sb *b, const char *s);
void gql_sb_printf(gql_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *gql_sb_str(gql_sb *b);

/* Prints a value literal as graphql-js print() does. */
void gql_print_value(gql_sb *b, const gql_value *v);
/* Appends a double-quoted GraphQL string (printString). */
void gql_print_string(gql_sb *b, const char *s, size_t n);
/* graphql-js inspect() of a JSON value. */
void gql_inspect_json(gql_sb *b, const json_t *v);
/* JavaScript Number#toString of a double. */
void gql_js_number(gql_sb *b, double d);
/* " Did you mean \"a\", \"b\", or \"c\"?" built from the candidates close to input ("" when
 * none). prefix is NULL or e.g. "the enum value". */
const char *gql_did_you_mean(ea_arena *a, const char *input, const char *const *cands, size_t n,
                             const char *prefix);

/* " Did you mean ...?" over names as given (no filtering); "" when m is 0. */
const char *gql_did_you_mean_list(ea_arena *a, const char *const *names, size_t m,
                                  const char *prefix);
int gql_natural_compare(const char *a, const char *b);

/* A GraphQL error object {message, locations?, path?, extensions:{code}}. path may be NULL
 * (stolen otherwise). */
json_t *gql_error_new(const char *message, const gql_loc *locs, size_t nlocs, json_t *path,
                      const char *code);

/* ---------------------------------------------------------------- validation (ea_gql_validate.c)
 */

#define GQL_MAX_VALIDATION_ERRORS 100

/* Runs the specified rules; appends errors (code GRAPHQL_VALIDATION_FAILED) to errors. */
void gql_validate(const ea_gql_schema *s, const ea_gql_document *d, json_t *errors);

/* ---------------------------------------------------------------- execution (ea_gql_execute.c) */

/* Coerces a literal to the JSON value of type t (valueFromAST). vars may be NULL. Returns a
 * new reference, or NULL when the literal is invalid for the type. */
json_t *gql_value_from_ast(const gql_value *v, const gql_tref *t, const json_t *vars);

/* ---------------------------------------------------------------- introspection
 * (ea_gql_introspect.c) */

/* SDL of the built-in scalars, directives, introspection types and the meta-field holder. */
extern const char gql_prelude_sdl[];
/* Resolves a field of an introspection type or a meta field (__schema, __type). */
json_t *gql_introspect_resolve(const ea_gql_schema *s, const gql_type *parent, const gql_field *f,
                               const json_t *parent_val, const json_t *args, ea_arena *a);

#endif
