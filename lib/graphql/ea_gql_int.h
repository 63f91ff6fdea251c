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
#include "ea_buf.h"

#include <stdint.h>

/* A position as graphql-js reports it: 1-based line and column (UTF-16 code units). */
typedef struct ea_gql__loc {
    uint32_t line, col;
} ea_gql__loc;

/* ---------------------------------------------------------------- lexer (ea_gql_lexer.c) */

typedef enum ea_gql__tok_kind {
    EA_GQL__T_SOF = 0,
    EA_GQL__T_EOF,
    EA_GQL__T_BANG,
    EA_GQL__T_DOLLAR,
    EA_GQL__T_AMP,
    EA_GQL__T_PAREN_L,
    EA_GQL__T_PAREN_R,
    EA_GQL__T_SPREAD,
    EA_GQL__T_COLON,
    EA_GQL__T_EQUALS,
    EA_GQL__T_AT,
    EA_GQL__T_BRACKET_L,
    EA_GQL__T_BRACKET_R,
    EA_GQL__T_BRACE_L,
    EA_GQL__T_PIPE,
    EA_GQL__T_BRACE_R,
    EA_GQL__T_NAME,
    EA_GQL__T_INT,
    EA_GQL__T_FLOAT,
    EA_GQL__T_STRING,
    EA_GQL__T_BLOCK_STRING,
    EA_GQL__T_COMMENT,
} ea_gql__tok_kind;

typedef struct ea_gql__token {
    ea_gql__tok_kind kind;
    size_t start, end; /* byte offsets into the source */
    ea_gql__loc loc;
    const char *value; /* names, numbers (raw text), decoded strings; NUL-terminated, arena */
    size_t value_len;  /* strings may contain U+0000 */
} ea_gql__token;

typedef struct ea_gql__lexer {
    const char *src;
    size_t len, pos;
    uint32_t line;
    size_t line_start;
    size_t col_pos; /* column cache: offset col_pos is col_units UTF-16 units into the line */
    uint32_t col_units;
    ea_arena *arena;
    char err[256]; /* set when ea_gql__lexer_next fails, without the "Syntax Error: " prefix */
    ea_gql__loc err_loc;
} ea_gql__lexer;

void ea_gql__lexer_init(ea_gql__lexer *lx, const char *src, size_t len, ea_arena *a);
/* Reads the next token, comments included. Returns 0, or -1 with lx->err and lx->err_loc set. */
int ea_gql__lexer_next(ea_gql__lexer *lx, ea_gql__token *t);
/* "Name", "\"{\"", "<EOF>" ... as graphql-js prints a token kind in messages. */
const char *ea_gql__tok_kind_desc(ea_gql__tok_kind k);

/* ---------------------------------------------------------------- AST (ea_gql_parser.c) */

typedef enum ea_gql__value_kind {
    EA_GQL__V_VARIABLE = 0,
    EA_GQL__V_INT,
    EA_GQL__V_FLOAT,
    EA_GQL__V_STRING,
    EA_GQL__V_BOOLEAN,
    EA_GQL__V_NULL,
    EA_GQL__V_ENUM,
    EA_GQL__V_LIST,
    EA_GQL__V_OBJECT,
} ea_gql__value_kind;

typedef struct ea_gql__value ea_gql__value;
typedef struct ea_gql__objfield {
    const char *name;
    ea_gql__loc loc;
    ea_gql__value *value;
    struct ea_gql__objfield *next;
} ea_gql__objfield;

struct ea_gql__value {
    ea_gql__value_kind kind;
    ea_gql__loc loc;
    const char *str; /* variable name, raw number text, decoded string, enum name */
    size_t len;
    bool boolean;
    bool block;           /* string written as a block string */
    ea_gql__value *items; /* list items, linked by next */
    ea_gql__objfield *fields;
    ea_gql__value *next;
};

typedef enum ea_gql__tr_kind {
    EA_GQL__TR_NAMED = 0,
    EA_GQL__TR_LIST,
    EA_GQL__TR_NON_NULL,
} ea_gql__tr_kind;

typedef struct ea_gql__typeref {
    ea_gql__tr_kind kind;
    ea_gql__loc loc;
    const char *name; /* EA_GQL__TR_NAMED */
    struct ea_gql__typeref *of;
} ea_gql__typeref;

typedef struct ea_gql__arg {
    const char *name;
    ea_gql__loc loc;
    ea_gql__value *value;
    struct ea_gql__arg *next;
} ea_gql__arg;

typedef struct ea_gql__directive {
    const char *name;
    ea_gql__loc loc; /* the '@' */
    ea_gql__arg *args;
    struct ea_gql__directive *next;
} ea_gql__directive;

typedef enum ea_gql__sel_kind {
    EA_GQL__SEL_FIELD = 0,
    EA_GQL__SEL_SPREAD,
    EA_GQL__SEL_INLINE,
} ea_gql__sel_kind;

typedef struct ea_gql__selset ea_gql__selset;
typedef struct ea_gql__sel {
    ea_gql__sel_kind kind;
    ea_gql__loc loc;   /* field: alias or name; spread/inline: the '...' */
    const char *alias; /* field only, NULL when none */
    const char *name;  /* field name or fragment name */
    ea_gql__loc name_loc;
    ea_gql__arg *args;
    ea_gql__directive *directives;
    ea_gql__selset *selset; /* NULL for leaf fields and spreads */
    const char *type_cond;  /* inline fragment, NULL when none */
    ea_gql__loc type_cond_loc;
    struct ea_gql__sel *next;
} ea_gql__sel;

struct ea_gql__selset {
    ea_gql__loc loc;
    ea_gql__sel *first;
};

typedef struct ea_gql__vardef {
    const char *name;
    ea_gql__loc loc;      /* the '$' (definition and variable node start there) */
    ea_gql__loc name_loc; /* the name after '$' */
    ea_gql__typeref *type;
    ea_gql__value *defval;
    ea_gql__directive *directives;
    struct ea_gql__vardef *next;
} ea_gql__vardef;

typedef enum ea_gql__def_kind {
    EA_GQL__D_OPERATION = 0,
    EA_GQL__D_FRAGMENT,
    EA_GQL__D_SCHEMA,
    EA_GQL__D_SCALAR,
    EA_GQL__D_OBJECT,
    EA_GQL__D_INTERFACE,
    EA_GQL__D_UNION,
    EA_GQL__D_ENUM,
    EA_GQL__D_INPUT,
    EA_GQL__D_DIRECTIVE,
} ea_gql__def_kind;

/* An argument or input field definition. */
typedef struct ea_gql__ivaldef {
    const char *desc, *name;
    ea_gql__loc loc;
    ea_gql__typeref *type;
    ea_gql__value *defval;
    ea_gql__directive *directives;
    struct ea_gql__ivaldef *next;
} ea_gql__ivaldef;

typedef struct ea_gql__fielddef {
    const char *desc, *name;
    ea_gql__loc loc;
    ea_gql__ivaldef *args;
    ea_gql__typeref *type;
    ea_gql__directive *directives;
    struct ea_gql__fielddef *next;
} ea_gql__fielddef;

/* A list of names: implemented interfaces, union members, enum values, directive locations,
 * schema root operation types (op set). */
typedef struct ea_gql__namelist {
    const char *desc, *name;
    ea_gql__loc loc;
    ea_gql__directive *directives;
    ea_gql_op_type op;
    struct ea_gql__namelist *next;
} ea_gql__namelist;

typedef struct ea_gql__def {
    ea_gql__def_kind kind;
    ea_gql__loc loc;
    bool extension; /* "extend ..." */
    const char *desc;
    const char *name; /* NULL for an anonymous operation and for schema definitions */
    ea_gql__loc name_loc;
    ea_gql_op_type op;
    bool shorthand; /* "{ ... }" query */
    ea_gql__vardef *vars;
    ea_gql__directive *directives;
    ea_gql__selset *selset;
    const char *type_cond; /* fragment */
    ea_gql__loc type_cond_loc;
    ea_gql__fielddef *fields;
    ea_gql__ivaldef *ivals;  /* input fields, directive arguments */
    ea_gql__namelist *names; /* interfaces, union members, enum values, locations, root ops */
    bool repeatable;
    struct ea_gql__def *next;
} ea_gql__def;

typedef enum ea_gql__parse_status {
    EA_GQL__PARSE_OK = 0,
    EA_GQL__PARSE_SYNTAX,  /* message starts with "Syntax Error: " */
    EA_GQL__PARSE_TOKENS,  /* over max_tokens */
    EA_GQL__PARSE_NESTING, /* over the structural nesting cap */
    EA_GQL__PARSE_NOMEM,
} ea_gql__parse_status;

typedef struct ea_gql__parse_result {
    ea_gql__def *defs;
    size_t ntokens;
    char err[300];
    ea_gql__loc err_loc;
} ea_gql__parse_result;

#define EA_GQL__MAX_NESTING 64

/* Parses a whole document (executable and type-system definitions) into arena a. max_tokens 0
 * means no cap. On failure fills r->err/err_loc and returns the status. */
ea_gql__parse_status ea_gql__parse(ea_arena *a, const char *src, size_t len, size_t max_tokens,
                                   ea_gql__parse_result *r);

/* ---------------------------------------------------------------- schema (ea_gql_schema.c) */

typedef enum ea_gql__kind {
    EA_GQL__K_SCALAR = 0,
    EA_GQL__K_OBJECT,
    EA_GQL__K_INTERFACE,
    EA_GQL__K_UNION,
    EA_GQL__K_ENUM,
    EA_GQL__K_INPUT,
} ea_gql__kind;

typedef enum ea_gql__scalar_id {
    EA_GQL__S_CUSTOM = 0,
    EA_GQL__S_INT,
    EA_GQL__S_FLOAT,
    EA_GQL__S_STRING,
    EA_GQL__S_BOOLEAN,
    EA_GQL__S_ID,
} ea_gql__scalar_id;

typedef struct ea_gql__type ea_gql__type;
typedef struct ea_gql__tref {
    ea_gql__tr_kind kind;
    ea_gql__type *named; /* EA_GQL__TR_NAMED */
    struct ea_gql__tref *of;
} ea_gql__tref;

/* An argument or input field. */
typedef struct ea_gql__ival {
    const char *name, *desc;
    ea_gql__tref *type;
    const ea_gql__value *defval; /* NULL when none */
    bool deprecated;
    const char *dep_reason;
} ea_gql__ival;

typedef struct ea_gql__field {
    const char *name, *desc;
    ea_gql__ival *args;
    size_t nargs;
    ea_gql__tref *type;
    bool deprecated;
    const char *dep_reason;
    ea_gql_resolver_fn resolver;
} ea_gql__field;

typedef struct ea_gql__enumval {
    const char *name, *desc;
    bool deprecated;
    const char *dep_reason;
} ea_gql__enumval;

struct ea_gql__type {
    ea_gql__kind kind;
    const char *name, *desc;
    const char *specified_by;
    bool builtin;       /* a built-in scalar */
    bool introspection; /* __Schema, __Type, ... */
    bool hidden;        /* internal holder of meta fields, never listed */
    ea_gql__scalar_id scalar;
    ea_gql__field *fields;
    size_t nfields;
    ea_gql__type **interfaces;
    size_t ninterfaces;
    ea_gql__type **possible; /* union members, or object types implementing an interface */
    size_t npossible;
    ea_gql__enumval *values;
    size_t nvalues;
    ea_gql__ival *inputs;
    size_t ninputs;
    ea_gql__tref self;
    bool referenced; /* a built-in scalar some field, argument or input field uses */
};

/* Directive locations, in __DirectiveLocation order. */
enum {
    EA_GQL__DL_QUERY = 0,
    EA_GQL__DL_MUTATION,
    EA_GQL__DL_SUBSCRIPTION,
    EA_GQL__DL_FIELD,
    EA_GQL__DL_FRAGMENT_DEFINITION,
    EA_GQL__DL_FRAGMENT_SPREAD,
    EA_GQL__DL_INLINE_FRAGMENT,
    EA_GQL__DL_VARIABLE_DEFINITION,
    EA_GQL__DL_SCHEMA,
    EA_GQL__DL_SCALAR,
    EA_GQL__DL_OBJECT,
    EA_GQL__DL_FIELD_DEFINITION,
    EA_GQL__DL_ARGUMENT_DEFINITION,
    EA_GQL__DL_INTERFACE,
    EA_GQL__DL_UNION,
    EA_GQL__DL_ENUM,
    EA_GQL__DL_ENUM_VALUE,
    EA_GQL__DL_INPUT_OBJECT,
    EA_GQL__DL_INPUT_FIELD_DEFINITION,
    EA_GQL__DL_COUNT,
};
/* Their names (ea_gql_parser.c: the SDL parser checks them). */
extern const char *const ea_gql__dirloc_names[EA_GQL__DL_COUNT];

typedef struct ea_gql__dirdef {
    const char *name, *desc;
    ea_gql__ival *args;
    size_t nargs;
    uint32_t locations; /* bit per EA_GQL__DL_* */
    uint8_t
        order[EA_GQL__DL_COUNT]; /* locations in declaration order (introspection lists them so) */
    size_t norder;
    bool repeatable;
} ea_gql__dirdef;

struct ea_gql_schema {
    ea_arena *arena;
    const char *desc;
    ea_gql__type **types; /* definition order: user types, built-in scalars, introspection types */
    size_t ntypes;
    ea_gql__dirdef *dirs;
    size_t ndirs;
    ea_gql__type *query, *mutation, *subscription;
    ea_gql__field *f_schema, *f_type, *f_typename; /* meta fields */
    bool building; /* while building, lookups also see built-in scalars no field uses */
};

ea_gql__type *ea_gql__schema_type(const ea_gql_schema *s, const char *name);
const ea_gql__field *ea_gql__type_field(const ea_gql__type *t, const char *name);
/* Field lookup as graphql-js getFieldDef: includes __typename on composites and __schema/__type
 * on the query root. */
const ea_gql__field *ea_gql__field_def(const ea_gql_schema *s, const ea_gql__type *parent,
                                       const char *name);
const ea_gql__ival *ea_gql__ival_find(const ea_gql__ival *v, size_t n, const char *name);
const ea_gql__dirdef *ea_gql__schema_directive(const ea_gql_schema *s, const char *name);
const ea_gql__enumval *ea_gql__enum_value(const ea_gql__type *t, const char *name);
bool ea_gql__type_is_input(const ea_gql__type *t);
bool ea_gql__type_is_output(const ea_gql__type *t);
bool ea_gql__type_is_composite(const ea_gql__type *t);
bool ea_gql__type_is_abstract(const ea_gql__type *t);
bool ea_gql__type_is_leaf(const ea_gql__type *t);
/* Whether object type o is a possible type of abstract (or equal) type t. */
bool ea_gql__type_possible(const ea_gql__type *t, const ea_gql__type *o);
const ea_gql__type *ea_gql__tref_named(const ea_gql__tref *r);
/* Converts an AST type reference; NULL when a name is unknown. */
ea_gql__tref *ea_gql__tref_from_ast(const ea_gql_schema *s, ea_arena *a,
                                    const ea_gql__typeref *ast);
/* Prints "[Int!]!" into the arena. */
const char *ea_gql__tref_str(ea_arena *a, const ea_gql__tref *r);
const char *ea_gql__typeref_str(ea_arena *a, const ea_gql__typeref *r);
bool ea_gql__tref_equal(const ea_gql__tref *a, const ea_gql__tref *b);
/* isTypeSubTypeOf of graphql-js. */
bool ea_gql__tref_subtype(const ea_gql__tref *maybe_sub, const ea_gql__tref *super);

/* -------------------------------------------------------- documents (built by ea_gql_prepare.c)
 * A prepared document: its AST plus its operations and fragments in order. The fragment lookup
 * is in ea_gql_parser.c, below validation and execution, which both read documents. */

struct ea_gql_document {
    ea_arena *arena;
    ea_gql__def *defs;
    const ea_gql__def **ops;
    size_t nops;
    const ea_gql__def **frags;
    size_t nfrags;
};

const ea_gql__def *ea_gql__doc_fragment(const ea_gql_document *d, const char *name);

/* ------------------------------------------------------------ shared helpers (ea_gql_util.c) */

/* The cap of every text the engine builds (ea_buf in the arena of the unit of work: messages,
 * printed literals, types, suggestions): the operation's answer cap
 * (ea_gql_limits.max_response_bytes) where it is known, since a longer message could never be
 * sent, else EA_GQL__TEXT_MAX. A text past it ends at its last whole piece. */
#define EA_GQL__TEXT_MAX ((size_t)32 << 20)
size_t ea_gql__text_max(const ea_gql_limits *l);

/* Prints a value literal as graphql-js print() does. */
void ea_gql__print_value(ea_buf *b, const ea_gql__value *v);
/* Appends a double-quoted GraphQL string (printString). */
void ea_gql__print_string(ea_buf *b, const char *s, size_t n);
/* graphql-js inspect() of a JSON value. */
void ea_gql__inspect_json(ea_buf *b, const json_t *v);
/* JavaScript Number#toString of a double. */
void ea_gql__js_number(ea_buf *b, double d);
/* " Did you mean \"a\", \"b\", or \"c\"?" built from the candidates close to input ("" when
 * none). prefix is NULL or e.g. "the enum value". */
const char *ea_gql__did_you_mean(ea_arena *a, const char *input, const char *const *cands, size_t n,
                                 const char *prefix);

/* " Did you mean ...?" over names as given (no filtering); "" when m is 0. */
const char *ea_gql__did_you_mean_list(ea_arena *a, const char *const *names, size_t m,
                                      const char *prefix);
int ea_gql__natural_compare(const char *a, const char *b);

/* A GraphQL error object {message, locations?, path?, extensions:{code}}. path may be NULL
 * (stolen otherwise). */
json_t *ea_gql__error_new(const char *message, const ea_gql__loc *locs, size_t nlocs, json_t *path,
                          const char *code);

/* -------------------------------------------------------- validation (ea_gql_validate.c) */

#define EA_GQL__MAX_VALIDATION_ERRORS 100

/* Runs the specified rules (messages capped at text_max bytes); appends errors (code
 * GRAPHQL_VALIDATION_FAILED) to errors. */
void ea_gql__validate(const ea_gql_schema *s, const ea_gql_document *d, json_t *errors,
                      size_t text_max);

/* ---------------------------------------------------------------- execution (ea_gql_execute.c) */

/* Coerces a literal to the JSON value of type t (valueFromAST). vars may be NULL. Returns a
 * new reference, or NULL when the literal is invalid for the type. */
json_t *ea_gql__value_from_ast(const ea_gql__value *v, const ea_gql__tref *t, const json_t *vars);

/* -------------------------------------------------------- prelude (ea_gql_prelude.c) */

/* SDL of the built-in scalars, directives, introspection types and the meta-field holder. */
extern const char ea_gql__prelude_sdl[];

/* -------------------------------------------------------- introspection (ea_gql_introspect.c) */

/* Resolves a field of an introspection type or a meta field (__schema, __type). */
json_t *ea_gql__introspect_resolve(const ea_gql_schema *s, const ea_gql__type *parent,
                                   const ea_gql__field *f, const json_t *parent_val,
                                   const json_t *args, ea_arena *a);

#endif
