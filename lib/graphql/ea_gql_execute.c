/*
 * ea_gql_execute.c — runs a prepared document (GraphQL spec §6, graphql-js 16 behaviour).
 *
 * Per request: pick the operation → coerce variables (defaults, non-null, input objects, lists,
 * enums, Int range; custom scalars pass through) → cost check → execute the root selection set
 * (serially for mutations; everything here is synchronous anyway). Per field: CollectFields
 * (@skip/@include, fragments once per selection set, fields merged by response key in selection
 * order; memoized, invariant 5) → coerce arguments (defaults, variables) → resolver (service
 * resolver, introspection, or the default that reads parent[fieldName]) → CompleteValue
 * (non-null, lists, leaf serialization, abstract types via "__typename" in the value,
 * sub-selections).
 *
 * Invariants:
 *   1. The document and schema are read-only; every scratch allocation lives in the execution's
 *      arena, freed when ea_gql_execute returns. JSON values are reference counted (jansson).
 *   2. complete_value returns a new reference, or NULL when the position failed; the error has
 *      then been recorded. A NULL for a non-null position propagates to the parent; the nearest
 *      nullable parent becomes null (spec "Handling Field Errors").
 *   3. Responses keep selection order: jansson objects iterate in insertion order.
 *   4. Values are shared, not copied: a resolver's value (or part of it) goes into the response
 *      by reference when it already is the serialized form (strings, in-range numbers, custom
 *      scalars), and __typename strings are one per type. Nothing writes to a value once made.
 *   5. CollectFields runs once per (selection, runtime type) and execution, not once per value:
 *      collected sets are cached on the response key they belong to (struct subsel), together
 *      with that key's field definition, so list items only resolve and complete.
 *   6. Budget and cap are charged while the result is built, never after: each field resolved
 *      costs work (introspection fields more: their answers do not depend on data, and
 *      fragments fanning out inside __type grow ×3.6 per level with no depth limit to stop
 *      them), each value its compact JSON bytes. The first charge over a limit records one error
 *      and sets `stopped`; from then on every field and list item returns at once, so a refused
 *      operation costs about the limit, not its full answer. The partial result is dropped.
 * Not for: validation (the document is valid by construction) or transport.
 */
#include "ea_gql_int.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ea_gql__path {
    const struct ea_gql__path *prev;
    const char *key; /* NULL: index */
    size_t index;
} ea_gql__path;

typedef struct exec_ctx {
    const ea_gql_schema *s;
    const ea_gql_document *d;
    const ea_gql__def *op;
    ea_arena *a;
    json_t *vars; /* coerced variables */
    json_t *errors;
    void *request_ctx;
    json_t *no_args;   /* {} given to every field that defines no arguments */
    json_t *typenames; /* type name -> its JSON string, made once per execution for __typename */
    const ea_gql_limits *l; /* NULL: no budget, no cap */
    size_t text_max;        /* cap of each message (ea_gql__text_max(l)) */
    size_t work;            /* units charged so far (invariant 6) */
    size_t bytes;           /* compact JSON bytes of the result so far */
    bool stopped;           /* a limit was hit: unwind without resolving anything more */
    json_t *stop_error;     /* the one error reported when stopped */
} exec_ctx;

typedef struct subsel subsel;

/* One response key of a collected selection set. Besides the selection nodes it caches what
 * every object of the parent type shares, filled on first use: the field definition, the
 * __typename value, and the sub-selection collected per runtime type. */
typedef struct cfield {
    const char *key;
    const ea_gql__sel **nodes;
    size_t n, cap;
    const ea_gql__field *def; /* NULL: not a field of the parent type (not in a valid document) */
    json_t *typename_val;     /* borrowed from exec_ctx.typenames */
    subsel *sub;
} cfield;

typedef struct cfields {
    cfield *items;
    size_t n, cap;
    const char **visited; /* fragment names already spread in this collection */
    size_t nvisited, capvisited;
} cfields;

/* CollectFields of a cfield's sub-selections for one runtime object type. The result depends only
 * on the nodes, the type and the variables, all fixed for the execution, so the items of a list
 * (and the same field under every item of an outer list) collect once instead of once per value.
 */
struct subsel {
    const ea_gql__type *type;
    cfields cf;
    subsel *next;
};

static json_t *path_json(const ea_gql__path *p)
{
    size_t n = 0;
    for (const ea_gql__path *q = p; q; q = q->prev)
        n++;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_null());
    size_t i = n;
    for (const ea_gql__path *q = p; q; q = q->prev) {
        i--;
        json_array_set_new(arr, i,
                           q->key ? json_string(q->key) : json_integer((json_int_t)q->index));
    }
    return arr;
}

static void charge_bytes(exec_ctx *x, size_t n);

/* An error with extensions.code = code plus the keys of ext (taken over; NULL: none). */
static void add_error_ext(exec_ctx *x, const char *msg, const ea_gql__loc *loc,
                          const ea_gql__path *p, const char *code, json_t *ext)
{
    json_t *e = ea_gql__error_new(msg, loc, loc ? 1 : 0, p ? path_json(p) : NULL, code);
    json_t *have = json_object_get(e, "extensions");
    if (json_is_object(ext) && json_is_object(have)) {
        json_object_del(ext, "code"); /* the code is the engine's to set */
        json_object_update(have, ext);
    }
    json_decref(ext);
    if (x->l != NULL && e != NULL)
        charge_bytes(x, json_dumpb(e, NULL, 0, JSON_COMPACT) + 1);
    json_array_append_new(x->errors, e);
}

static void add_error(exec_ctx *x, const char *msg, const ea_gql__loc *loc, const ea_gql__path *p,
                      const char *code)
{
    add_error_ext(x, msg, loc, p, code, NULL);
}

/* ---------------------------------------------------------------- budget and cap (invariant 6) */

static void stop(exec_ctx *x, const char *code, const char *msg)
{
    if (x->stopped)
        return;
    x->stopped = true;
    x->stop_error = ea_gql__error_new(msg, &x->op->loc, 1, NULL, code);
}

/* Adds n bytes to the result's size; past the cap, stops the execution. */
static void charge_bytes(exec_ctx *x, size_t n)
{
    x->bytes += n;
    size_t cap = x->l != NULL ? x->l->max_response_bytes : 0;
    if (cap > 0 && x->bytes > cap && !x->stopped) {
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "The response would be larger than the maximum of %zu bytes. Select fewer "
                 "fields or fewer items (a shorter time range, a coarser granularity, fewer "
                 "groupBy dimensions), or split the operation.",
                 cap);
        stop(x, "RESPONSE_TOO_LARGE", msg);
    }
}

/* Charges one field about to be resolved. False when the budget is spent (execution stops). */
static bool charge_field(exec_ctx *x, bool introspection)
{
    if (x->stopped)
        return false;
    if (x->l == NULL)
        return true;
    x->work += introspection ? x->l->introspection_work : 1;
    if (x->l->max_work == 0 || x->work <= x->l->max_work)
        return true;
    char msg[400];
    snprintf(msg, sizeof(msg),
             "The operation needs more work than its budget of %zu units (each field resolved "
             "counts 1, an introspection field %zu). Select fewer fields or fewer items (a "
             "shorter time range, a coarser granularity, fewer groupBy dimensions); for "
             "introspection, ask for less of the schema at once.",
             x->l->max_work, x->l->introspection_work);
    stop(x, "WORK_LIMIT", msg);
    return false;
}

/* Compact JSON size of a value as jansson writes it (UTF-8 as is, no JSON_ENSURE_ASCII). */
static size_t value_bytes(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const unsigned char *p = (const unsigned char *)json_string_value(v);
        size_t n = json_string_length(v), out = n + 2;
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '"' || p[i] == '\\' || p[i] == '\b' || p[i] == '\f' || p[i] == '\n' ||
                p[i] == '\r' || p[i] == '\t')
                out += 1;
            else if (p[i] < 0x20)
                out += 5; /* \u00XX */
        }
        return out;
    }
    case JSON_TRUE:
    case JSON_NULL:
        return 4;
    case JSON_FALSE:
        return 5;
    default:
        return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

/* ---------------------------------------------------------------- literals and input coercion */

static bool parse_int_text(const char *s, json_int_t *out)
{
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = v;
    return true;
}

/* graphql-js valueFromASTUntyped (custom scalars: JSON, DateTime). */
static json_t *untyped_from_ast(const ea_gql__value *v, const json_t *vars)
{
    switch (v->kind) {
    case EA_GQL__V_VARIABLE: {
        json_t *x = vars ? json_object_get(vars, v->str) : NULL;
        return x ? json_incref(x) : NULL;
    }
    case EA_GQL__V_INT: {
        errno = 0;
        long long n = strtoll(v->str, NULL, 10);
        if (errno == 0)
            return json_integer(n);
        return json_real(strtod(v->str, NULL));
    }
    case EA_GQL__V_FLOAT:
        return json_real(strtod(v->str, NULL));
    case EA_GQL__V_STRING:
        return json_stringn(v->str, v->len);
    case EA_GQL__V_ENUM:
        return json_string(v->str);
    case EA_GQL__V_BOOLEAN:
        return json_boolean(v->boolean);
    case EA_GQL__V_NULL:
        return json_null();
    case EA_GQL__V_LIST: {
        json_t *arr = json_array();
        for (const ea_gql__value *it = v->items; it; it = it->next) {
            json_t *e = untyped_from_ast(it, vars);
            json_array_append_new(arr, e ? e : json_null());
        }
        return arr;
    }
    case EA_GQL__V_OBJECT: {
        json_t *obj = json_object();
        for (const ea_gql__objfield *f = v->fields; f; f = f->next) {
            json_t *e = untyped_from_ast(f->value, vars);
            if (e)
                json_object_set_new(obj, f->name, e);
        }
        return obj;
    }
    }
    return NULL;
}

static bool missing_var(const ea_gql__value *v, const json_t *vars)
{
    return v->kind == EA_GQL__V_VARIABLE && (vars == NULL || json_object_get(vars, v->str) == NULL);
}

json_t *ea_gql__value_from_ast(const ea_gql__value *v, const ea_gql__tref *t, const json_t *vars)
{
    if (v->kind == EA_GQL__V_VARIABLE) {
        json_t *x = vars ? json_object_get(vars, v->str) : NULL;
        if (x == NULL)
            return NULL;
        if (json_is_null(x) && t->kind == EA_GQL__TR_NON_NULL)
            return NULL;
        return json_incref(x);
    }
    if (t->kind == EA_GQL__TR_NON_NULL) {
        if (v->kind == EA_GQL__V_NULL)
            return NULL;
        return ea_gql__value_from_ast(v, t->of, vars);
    }
    if (v->kind == EA_GQL__V_NULL)
        return json_null();
    if (t->kind == EA_GQL__TR_LIST) {
        if (v->kind != EA_GQL__V_LIST) {
            json_t *one = ea_gql__value_from_ast(v, t->of, vars);
            if (one == NULL)
                return NULL;
            json_t *arr = json_array();
            json_array_append_new(arr, one);
            return arr;
        }
        json_t *arr = json_array();
        for (const ea_gql__value *it = v->items; it; it = it->next) {
            json_t *e;
            if (missing_var(it, vars)) {
                if (t->of->kind == EA_GQL__TR_NON_NULL)
                    goto bad_list;
                e = json_null();
            } else if ((e = ea_gql__value_from_ast(it, t->of, vars)) == NULL) {
                goto bad_list;
            }
            json_array_append_new(arr, e);
        }
        return arr;
    bad_list:
        json_decref(arr);
        return NULL;
    }
    const ea_gql__type *nt = t->named;
    if (nt->kind == EA_GQL__K_INPUT) {
        if (v->kind != EA_GQL__V_OBJECT)
            return NULL;
        json_t *obj = json_object();
        for (size_t i = 0; i < nt->ninputs; i++) {
            const ea_gql__ival *fd = &nt->inputs[i];
            const ea_gql__objfield *f = v->fields;
            while (f && strcmp(f->name, fd->name) != 0)
                f = f->next;
            if (f == NULL || missing_var(f->value, vars)) {
                if (fd->defval) {
                    json_t *dv = ea_gql__value_from_ast(fd->defval, fd->type, NULL);
                    if (dv)
                        json_object_set_new(obj, fd->name, dv);
                } else if (fd->type->kind == EA_GQL__TR_NON_NULL) {
                    json_decref(obj);
                    return NULL;
                }
                continue;
            }
            json_t *fv = ea_gql__value_from_ast(f->value, fd->type, vars);
            if (fv == NULL) {
                json_decref(obj);
                return NULL;
            }
            json_object_set_new(obj, fd->name, fv);
        }
        return obj;
    }
    if (nt->kind == EA_GQL__K_ENUM) {
        if (v->kind != EA_GQL__V_ENUM || ea_gql__enum_value(nt, v->str) == NULL)
            return NULL;
        return json_string(v->str);
    }
    switch (nt->scalar) {
    case EA_GQL__S_INT: {
        json_int_t n;
        if (v->kind != EA_GQL__V_INT || !parse_int_text(v->str, &n))
            return NULL;
        return json_integer(n);
    }
    case EA_GQL__S_FLOAT:
        if (v->kind != EA_GQL__V_INT && v->kind != EA_GQL__V_FLOAT)
            return NULL;
        return json_real(strtod(v->str, NULL));
    case EA_GQL__S_STRING:
        return v->kind == EA_GQL__V_STRING ? json_stringn(v->str, v->len) : NULL;
    case EA_GQL__S_BOOLEAN:
        return v->kind == EA_GQL__V_BOOLEAN ? json_boolean(v->boolean) : NULL;
    case EA_GQL__S_ID:
        if (v->kind == EA_GQL__V_STRING)
            return json_stringn(v->str, v->len);
        if (v->kind == EA_GQL__V_INT)
            return json_string(v->str);
        return NULL;
    case EA_GQL__S_CUSTOM:
        return untyped_from_ast(v, vars);
    }
    return NULL;
}

/* Input coercion of a JSON variable value (graphql-js coerceInputValue). */
typedef struct coerce_ctx {
    exec_ctx *x;
    const ea_gql__vardef *vd;
    bool failed;
} coerce_ctx;

typedef struct ipath {
    const struct ipath *prev;
    const char *key;
    size_t index;
} ipath;

static void print_ipath(ea_buf *b, const ipath *p)
{
    if (p == NULL)
        return;
    print_ipath(b, p->prev);
    if (p->key)
        ea_buf_printf(b, ".%s", p->key);
    else
        ea_buf_printf(b, "[%zu]", p->index);
}

static void coerce_error(coerce_ctx *c, const ipath *p, const json_t *invalid, const char *msg)
{
    ea_buf b;
    ea_buf_init_arena(&b, c->x->a, c->x->text_max);
    ea_buf_printf(&b, "Variable \"$%s\" got invalid value ", c->vd->name);
    ea_gql__inspect_json(&b, invalid);
    if (p) {
        ea_buf_printf(&b, " at \"%s", c->vd->name);
        print_ipath(&b, p);
        ea_buf_puts(&b, "\"");
    }
    ea_buf_puts(&b, "; ");
    ea_buf_puts(&b, msg);
    add_error(c->x, ea_buf_str(&b), &c->vd->loc, NULL, "BAD_USER_INPUT");
    c->failed = true;
}

static const char *inspect_str(exec_ctx *x, const json_t *v)
{
    ea_buf b;
    ea_buf_init_arena(&b, x->a, x->text_max);
    ea_gql__inspect_json(&b, v);
    return ea_buf_str(&b);
}

static bool json_integral(const json_t *v, double *out)
{
    double d;
    if (json_is_integer(v))
        d = (double)json_integer_value(v);
    else if (json_is_real(v))
        d = json_real_value(v);
    else
        return false;
    *out = d;
    return isfinite(d) && floor(d) == d;
}

/* A number as an Int (both directions): the integer, or NULL with graphql-js's message about
 * `shown` (the value as it was given) in b. */
static json_t *int32_of(exec_ctx *x, ea_buf *b, const json_t *n, const json_t *shown)
{
    double d;
    if (!json_integral(n, &d))
        ea_buf_printf(b, "Int cannot represent non-integer value: %s", inspect_str(x, shown));
    else if (d < INT32_MIN || d > INT32_MAX)
        ea_buf_printf(b, "Int cannot represent non 32-bit signed integer value: %s",
                      inspect_str(x, shown));
    else
        return json_integer((json_int_t)d);
    return NULL;
}

/* An ID's value (both directions; a String's too when serialized): a string as it is, an
 * integer as its decimal text; NULL for anything else. */
static json_t *id_of(const json_t *v)
{
    if (json_is_string(v))
        return json_incref((json_t *)v);
    if (!json_is_integer(v))
        return NULL;
    char text[32];
    snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return json_string(text);
}

static json_t *coerce_leaf(coerce_ctx *c, const ea_gql__type *t, const json_t *v, const ipath *p)
{
    ea_arena *a = c->x->a;
    ea_buf b;
    ea_buf_init_arena(&b, a, c->x->text_max);
    if (t->kind == EA_GQL__K_ENUM) {
        if (!json_is_string(v)) {
            ea_buf_printf(&b, "Enum \"%s\" cannot represent non-string value: %s.", t->name,
                          inspect_str(c->x, v));
        } else if (ea_gql__enum_value(t, json_string_value(v)) == NULL) {
            const char **names = ea_arena_alloc(a, sizeof(char *) * (t->nvalues + 1));
            for (size_t i = 0; names && i < t->nvalues; i++)
                names[i] = t->values[i].name;
            ea_buf_printf(&b, "Value \"%s\" does not exist in \"%s\" enum.%s", json_string_value(v),
                          t->name,
                          names ? ea_gql__did_you_mean(a, json_string_value(v), names, t->nvalues,
                                                       "the enum value")
                                : "");
        } else {
            return json_incref((json_t *)v);
        }
        coerce_error(c, p, v, ea_buf_str(&b));
        return NULL;
    }
    switch (t->scalar) {
    case EA_GQL__S_INT: {
        json_t *r = int32_of(c->x, &b, v, v);
        if (r != NULL)
            return r;
        break;
    }
    case EA_GQL__S_FLOAT:
        if (json_is_number(v))
            return json_real(json_number_value(v));
        ea_buf_printf(&b, "Float cannot represent non numeric value: %s", inspect_str(c->x, v));
        break;
    case EA_GQL__S_STRING:
        if (json_is_string(v))
            return json_incref((json_t *)v);
        ea_buf_printf(&b, "String cannot represent a non string value: %s", inspect_str(c->x, v));
        break;
    case EA_GQL__S_BOOLEAN:
        if (json_is_boolean(v))
            return json_incref((json_t *)v);
        ea_buf_printf(&b, "Boolean cannot represent a non boolean value: %s", inspect_str(c->x, v));
        break;
    case EA_GQL__S_ID: {
        json_t *r = id_of(v);
        if (r != NULL)
            return r;
        ea_buf_printf(&b, "ID cannot represent value: %s", inspect_str(c->x, v));
        break;
    }
    case EA_GQL__S_CUSTOM:
        return json_incref((json_t *)v);
    }
    coerce_error(c, p, v, ea_buf_str(&b));
    return NULL;
}

static json_t *coerce_input(coerce_ctx *c, const ea_gql__tref *t, const json_t *v, const ipath *p)
{
    ea_arena *a = c->x->a;
    if (t->kind == EA_GQL__TR_NON_NULL) {
        if (json_is_null(v)) {
            ea_buf b;
            ea_buf_init_arena(&b, a, c->x->text_max);
            ea_buf_printf(&b, "Expected non-nullable type \"%s\" not to be null.",
                          ea_gql__tref_str(a, t));
            coerce_error(c, p, v, ea_buf_str(&b));
            return NULL;
        }
        return coerce_input(c, t->of, v, p);
    }
    if (json_is_null(v))
        return json_null();
    if (t->kind == EA_GQL__TR_LIST) {
        if (!json_is_array(v)) {
            json_t *one = coerce_input(c, t->of, v, p);
            return one ? json_pack("[o]", one) : NULL;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            ipath ip = {p, NULL, i};
            json_t *e = coerce_input(c, t->of, json_array_get(v, i), &ip);
            json_array_append_new(arr, e ? e : json_null());
        }
        return arr;
    }
    const ea_gql__type *nt = t->named;
    if (nt->kind != EA_GQL__K_INPUT)
        return coerce_leaf(c, nt, v, p);
    if (!json_is_object(v)) {
        ea_buf b;
        ea_buf_init_arena(&b, a, c->x->text_max);
        ea_buf_printf(&b, "Expected type \"%s\" to be an object.", nt->name);
        coerce_error(c, p, v, ea_buf_str(&b));
        return NULL;
    }
    json_t *obj = json_object();
    for (size_t i = 0; i < nt->ninputs; i++) {
        const ea_gql__ival *fd = &nt->inputs[i];
        json_t *fv = json_object_get(v, fd->name);
        if (fv == NULL) {
            if (fd->defval) {
                json_t *dv = ea_gql__value_from_ast(fd->defval, fd->type, NULL);
                if (dv)
                    json_object_set_new(obj, fd->name, dv);
            } else if (fd->type->kind == EA_GQL__TR_NON_NULL) {
                ea_buf b;
                ea_buf_init_arena(&b, a, c->x->text_max);
                ea_buf_printf(&b, "Field \"%s\" of required type \"%s\" was not provided.",
                              fd->name, ea_gql__tref_str(a, fd->type));
                coerce_error(c, p, v, ea_buf_str(&b));
            }
            continue;
        }
        ipath ip = {p, fd->name, 0};
        json_t *cv = coerce_input(c, fd->type, fv, &ip);
        if (cv)
            json_object_set_new(obj, fd->name, cv);
    }
    const char *k;
    json_t *fv;
    json_object_foreach((json_t *)v, k, fv)
    {
        if (ea_gql__ival_find(nt->inputs, nt->ninputs, k))
            continue;
        const char **names = ea_arena_alloc(a, sizeof(char *) * (nt->ninputs + 1));
        for (size_t i = 0; names && i < nt->ninputs; i++)
            names[i] = nt->inputs[i].name;
        ea_buf b;
        ea_buf_init_arena(&b, a, c->x->text_max);
        ea_buf_printf(&b, "Field \"%s\" is not defined by type \"%s\".%s", k, nt->name,
                      names ? ea_gql__did_you_mean(a, k, names, nt->ninputs, NULL) : "");
        coerce_error(c, p, v, ea_buf_str(&b));
    }
    return obj;
}

/* CoerceVariableValues. Returns 0, or -1 with errors recorded. */
static int coerce_variables(exec_ctx *x, const json_t *given)
{
    x->vars = json_object();
    if (given != NULL && !json_is_object(given)) {
        add_error(x,
                  "Variables must be provided as an Object where each property is a variable "
                  "value.",
                  NULL, NULL, "BAD_USER_INPUT");
        return -1;
    }
    int rc = 0;
    for (const ea_gql__vardef *vd = x->op->vars; vd; vd = vd->next) {
        ea_gql__tref *t = ea_gql__tref_from_ast(x->s, x->a, vd->type);
        ea_buf b;
        ea_buf_init_arena(&b, x->a, x->text_max);
        if (t == NULL || !ea_gql__type_is_input(ea_gql__tref_named(t))) {
            ea_buf_printf(&b,
                          "Variable \"$%s\" expected value of type \"%s\" which cannot be "
                          "used as an input type.",
                          vd->name, ea_gql__typeref_str(x->a, vd->type));
            add_error(x, ea_buf_str(&b), &vd->loc, NULL, "BAD_USER_INPUT");
            rc = -1;
            continue;
        }
        json_t *v = given ? json_object_get(given, vd->name) : NULL;
        if (v == NULL && vd->defval) {
            json_t *dv = ea_gql__value_from_ast(vd->defval, t, NULL);
            if (dv)
                json_object_set_new(x->vars, vd->name, dv);
            continue;
        }
        if ((v == NULL || json_is_null(v)) && t->kind == EA_GQL__TR_NON_NULL) {
            const char *ts = ea_gql__tref_str(x->a, t);
            if (v == NULL)
                ea_buf_printf(&b, "Variable \"$%s\" of required type \"%s\" was not provided.",
                              vd->name, ts);
            else
                ea_buf_printf(&b, "Variable \"$%s\" of non-null type \"%s\" must not be null.",
                              vd->name, ts);
            add_error(x, ea_buf_str(&b), &vd->loc, NULL, "BAD_USER_INPUT");
            rc = -1;
            continue;
        }
        if (v == NULL)
            continue;
        if (json_is_null(v)) {
            json_object_set_new(x->vars, vd->name, json_null());
            continue;
        }
        coerce_ctx c = {x, vd, false};
        json_t *cv = coerce_input(&c, t, v, NULL);
        if (c.failed) {
            json_decref(cv);
            rc = -1;
            continue;
        }
        if (cv)
            json_object_set_new(x->vars, vd->name, cv);
    }
    return rc;
}

/* CoerceArgumentValues. Returns a new object, or NULL with an error recorded. */
static json_t *coerce_args(exec_ctx *x, const ea_gql__ival *defs, size_t n,
                           const ea_gql__arg *given, const ea_gql__loc *loc, const ea_gql__path *p)
{
    json_t *out = json_object();
    ea_buf b;
    ea_buf_init_arena(&b, x->a, x->text_max);
    for (size_t i = 0; i < n; i++) {
        const ea_gql__ival *ad = &defs[i];
        const ea_gql__arg *arg = given;
        while (arg && strcmp(arg->name, ad->name) != 0)
            arg = arg->next;
        bool has_value = arg != NULL;
        if (arg && arg->value->kind == EA_GQL__V_VARIABLE) {
            json_t *vv = json_object_get(x->vars, arg->value->str);
            has_value = vv != NULL;
        }
        if (!has_value) {
            if (ad->defval) {
                json_t *dv = ea_gql__value_from_ast(ad->defval, ad->type, NULL);
                if (dv)
                    json_object_set_new(out, ad->name, dv);
            } else if (ad->type->kind == EA_GQL__TR_NON_NULL) {
                if (arg)
                    ea_buf_printf(&b,
                                  "Argument \"%s\" of required type \"%s\" was provided the "
                                  "variable \"$%s\" which was not provided a runtime value.",
                                  ad->name, ea_gql__tref_str(x->a, ad->type), arg->value->str);
                else
                    ea_buf_printf(&b,
                                  "Argument \"%s\" of required type \"%s\" was not "
                                  "provided.",
                                  ad->name, ea_gql__tref_str(x->a, ad->type));
                goto fail;
            }
            continue;
        }
        json_t *v = ea_gql__value_from_ast(arg->value, ad->type, x->vars);
        if (v == NULL) {
            if (arg->value->kind == EA_GQL__V_VARIABLE)
                ea_buf_printf(&b, "Argument \"%s\" of non-null type \"%s\" must not be null.",
                              ad->name, ea_gql__tref_str(x->a, ad->type));
            else {
                ea_buf_printf(&b, "Argument \"%s\" has invalid value ", ad->name);
                ea_gql__print_value(&b, arg->value);
                ea_buf_puts(&b, ".");
            }
            goto fail;
        }
        json_object_set_new(out, ad->name, v);
    }
    return out;
fail:
    add_error(x, ea_buf_str(&b), loc, p, "BAD_USER_INPUT");
    json_decref(out);
    return NULL;
}

/* ---------------------------------------------------------------- CollectFields */

/* @skip/@include with the coerced variables. */
static bool should_include(exec_ctx *x, const ea_gql__directive *dirs)
{
    for (const ea_gql__directive *d = dirs; d; d = d->next) {
        bool skip = strcmp(d->name, "skip") == 0;
        if (!skip && strcmp(d->name, "include") != 0)
            continue;
        for (const ea_gql__arg *a = d->args; a; a = a->next) {
            if (strcmp(a->name, "if") != 0)
                continue;
            bool cond = false;
            if (a->value->kind == EA_GQL__V_BOOLEAN)
                cond = a->value->boolean;
            else if (a->value->kind == EA_GQL__V_VARIABLE)
                cond = json_is_true(json_object_get(x->vars, a->value->str));
            if (skip && cond)
                return false;
            if (!skip && !cond)
                return false;
        }
    }
    return true;
}

static bool type_applies(const ea_gql_schema *s, const char *cond, const ea_gql__type *obj)
{
    if (cond == NULL)
        return true;
    const ea_gql__type *t = ea_gql__schema_type(s, cond);
    if (t == NULL)
        return false;
    if (t == obj)
        return true;
    return ea_gql__type_is_abstract(t) && ea_gql__type_possible(t, obj);
}

static int collect(exec_ctx *x, const ea_gql__type *obj, const ea_gql__selset *ss, cfields *cf)
{
    for (const ea_gql__sel *s = ss->first; s; s = s->next) {
        if (!should_include(x, s->directives))
            continue;
        if (s->kind == EA_GQL__SEL_FIELD) {
            const char *key = s->alias ? s->alias : s->name;
            cfield *f = NULL;
            for (size_t i = 0; i < cf->n; i++) {
                if (strcmp(cf->items[i].key, key) == 0) {
                    f = &cf->items[i];
                    break;
                }
            }
            if (f == NULL) {
                cf->items = ea_arena_grow(x->a, cf->items, sizeof(cfield), cf->n, &cf->cap);
                if (cf->items == NULL)
                    return -1;
                f = &cf->items[cf->n++];
                memset(f, 0, sizeof(*f));
                f->key = key;
                /* a valid document selects one field name per response key and parent type */
                f->def = ea_gql__field_def(x->s, obj, s->name);
            }
            f->nodes = ea_arena_grow(x->a, f->nodes, sizeof(ea_gql__sel *), f->n, &f->cap);
            if (f->nodes == NULL)
                return -1;
            f->nodes[f->n++] = s;
        } else if (s->kind == EA_GQL__SEL_INLINE) {
            if (!type_applies(x->s, s->type_cond, obj))
                continue;
            if (collect(x, obj, s->selset, cf) < 0)
                return -1;
        } else {
            bool seen = false;
            for (size_t i = 0; i < cf->nvisited; i++)
                seen |= strcmp(cf->visited[i], s->name) == 0;
            if (seen)
                continue;
            cf->visited =
                ea_arena_grow(x->a, cf->visited, sizeof(char *), cf->nvisited, &cf->capvisited);
            if (cf->visited == NULL)
                return -1;
            cf->visited[cf->nvisited++] = s->name;
            const ea_gql__def *fr = ea_gql__doc_fragment(x->d, s->name);
            if (fr == NULL || !type_applies(x->s, fr->type_cond, obj))
                continue;
            if (collect(x, obj, fr->selset, cf) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- leaf serialization */

static json_t *serialize_leaf(exec_ctx *x, const ea_gql__type *t, const json_t *v, const char **err)
{
    ea_buf b;
    ea_buf_init_arena(&b, x->a, x->text_max);
    double d;
    if (t->kind == EA_GQL__K_ENUM) {
        if (json_is_string(v) && ea_gql__enum_value(t, json_string_value(v)))
            return json_incref((json_t *)v);
        ea_buf_printf(&b, "Enum \"%s\" cannot represent value: %s", t->name, inspect_str(x, v));
        *err = ea_buf_str(&b);
        return NULL;
    }
    switch (t->scalar) {
    case EA_GQL__S_INT: {
        json_t *num = NULL;
        if (json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
            json_integer_value(v) <= INT32_MAX)
            return json_incref((json_t *)v); /* already what the result would hold */
        if (json_is_boolean(v))
            return json_integer(json_is_true(v));
        if (json_is_string(v) && json_string_length(v) > 0) {
            char *end;
            d = strtod(json_string_value(v), &end);
            if (*end == '\0')
                num = json_real(d);
        }
        json_t *r = int32_of(x, &b, num ? num : v, v);
        json_decref(num);
        if (r != NULL)
            return r;
        break;
    }
    case EA_GQL__S_FLOAT:
        if (json_is_boolean(v))
            return json_integer(json_is_true(v));
        if (json_is_integer(v))
            return json_incref((json_t *)v);
        if (json_is_real(v) && isfinite(json_real_value(v)))
            return json_incref((json_t *)v);
        if (json_is_string(v) && json_string_length(v) > 0) {
            char *end;
            d = strtod(json_string_value(v), &end);
            if (*end == '\0' && isfinite(d))
                return json_real(d);
        }
        ea_buf_printf(&b, "Float cannot represent non numeric value: %s", inspect_str(x, v));
        break;
    case EA_GQL__S_STRING:
    case EA_GQL__S_ID: {
        json_t *r = id_of(v);
        if (r != NULL)
            return r;
        if (t->scalar == EA_GQL__S_STRING) {
            if (json_is_boolean(v))
                return json_string(json_is_true(v) ? "true" : "false");
            if (json_is_real(v)) {
                ea_gql__js_number(&b, json_real_value(v));
                return json_string(ea_buf_str(&b));
            }
            ea_buf_printf(&b, "String cannot represent value: %s", inspect_str(x, v));
        } else {
            ea_buf_printf(&b, "ID cannot represent value: %s", inspect_str(x, v));
        }
        break;
    }
    case EA_GQL__S_BOOLEAN:
        if (json_is_boolean(v))
            return json_incref((json_t *)v);
        if (json_is_number(v) && isfinite(json_number_value(v)))
            return json_boolean(json_number_value(v) != 0);
        ea_buf_printf(&b, "Boolean cannot represent a non boolean value: %s", inspect_str(x, v));
        break;
    case EA_GQL__S_CUSTOM:
        return json_incref((json_t *)v);
    }
    *err = ea_buf_str(&b);
    return NULL;
}

/* ---------------------------------------------------------------- execution */

static json_t *exec_fields(exec_ctx *x, const ea_gql__type *obj, const json_t *value, cfields *cf,
                           const ea_gql__path *p);

typedef struct field_info {
    const ea_gql__type *parent;
    const ea_gql__field *def;
    const ea_gql__sel *const *nodes;
    size_t n;
    cfield *f; /* holds the sub-selection cache */
} field_info;

/* The sub-selections of fi's nodes collected for runtime type obj, from the cache or collected
 * now. NULL when out of memory. */
static cfields *sub_fields(exec_ctx *x, const field_info *fi, const ea_gql__type *obj)
{
    for (subsel *s = fi->f->sub; s; s = s->next) {
        if (s->type == obj)
            return &s->cf;
    }
    subsel *s = ea_arena_alloc(x->a, sizeof(*s));
    if (s == NULL)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->type = obj;
    for (size_t i = 0; i < fi->n; i++) {
        if (fi->nodes[i]->selset && collect(x, obj, fi->nodes[i]->selset, &s->cf) < 0)
            return NULL;
    }
    s->next = fi->f->sub;
    fi->f->sub = s;
    return &s->cf;
}

static json_t *complete_value(exec_ctx *x, const field_info *fi, const ea_gql__tref *t,
                              const json_t *v, const ea_gql__path *p)
{
    if (t->kind == EA_GQL__TR_NON_NULL) {
        json_t *r = complete_value(x, fi, t->of, v, p);
        if (r == NULL)
            return NULL;
        if (json_is_null(r)) {
            json_decref(r);
            ea_buf b;
            ea_buf_init_arena(&b, x->a, x->text_max);
            ea_buf_printf(&b, "Cannot return null for non-nullable field %s.%s.", fi->parent->name,
                          fi->def->name);
            add_error(x, ea_buf_str(&b), &fi->nodes[0]->loc, p, "INTERNAL_SERVER_ERROR");
            return NULL;
        }
        return r;
    }
    if (v == NULL || json_is_null(v))
        return json_null();
    if (t->kind == EA_GQL__TR_LIST) {
        if (!json_is_array(v)) {
            ea_buf b;
            ea_buf_init_arena(&b, x->a, x->text_max);
            ea_buf_printf(&b, "Expected Iterable, but did not find one for field \"%s.%s\".",
                          fi->parent->name, fi->def->name);
            add_error(x, ea_buf_str(&b), &fi->nodes[0]->loc, p, "INTERNAL_SERVER_ERROR");
            return NULL;
        }
        json_t *arr = json_array();
        charge_bytes(x, 2 + (json_array_size(v) > 0 ? json_array_size(v) - 1 : 0));
        for (size_t i = 0; i < json_array_size(v); i++) {
            ea_gql__path ip = {p, NULL, i};
            json_t *r = x->stopped ? NULL : complete_value(x, fi, t->of, json_array_get(v, i), &ip);
            if (x->stopped || (r == NULL && t->of->kind == EA_GQL__TR_NON_NULL)) {
                json_decref(r);
                json_decref(arr);
                return NULL;
            }
            if (r == NULL)
                r = json_null();
            if (json_is_null(r))
                charge_bytes(x, 4);
            json_array_append_new(arr, r);
        }
        return arr;
    }
    const ea_gql__type *nt = t->named;
    if (ea_gql__type_is_leaf(nt)) {
        const char *err = NULL;
        json_t *r = serialize_leaf(x, nt, v, &err);
        if (r == NULL)
            add_error(x, err, &fi->nodes[0]->loc, p, "INTERNAL_SERVER_ERROR");
        else if (x->l != NULL)
            charge_bytes(x, value_bytes(r));
        return r;
    }
    const ea_gql__type *obj = nt;
    if (ea_gql__type_is_abstract(nt)) {
        const char *tn = json_string_value(json_object_get(v, "__typename"));
        /* the types already cached for this key are the ones earlier values resolved to: look
         * there before scanning every type of the schema */
        const ea_gql__type *rt = NULL;
        for (const subsel *c = fi->f->sub; tn && c && rt == NULL; c = c->next) {
            if (strcmp(c->type->name, tn) == 0)
                rt = c->type;
        }
        if (rt == NULL && tn)
            rt = ea_gql__schema_type(x->s, tn);
        ea_buf b;
        ea_buf_init_arena(&b, x->a, x->text_max);
        if (tn == NULL) {
            ea_buf_printf(&b,
                          "Abstract type \"%s\" must resolve to an Object type at runtime for "
                          "field \"%s.%s\". Either the \"%s\" type should provide a "
                          "\"resolveType\" function or each possible type should provide an "
                          "\"isTypeOf\" function.",
                          nt->name, fi->parent->name, fi->def->name, nt->name);
        } else if (rt == NULL || rt->kind != EA_GQL__K_OBJECT) {
            ea_buf_printf(&b,
                          "Abstract type \"%s\" was resolved to a type \"%s\" that does not exist "
                          "inside the schema.",
                          nt->name, tn);
        } else if (!ea_gql__type_possible(nt, rt)) {
            ea_buf_printf(&b, "Runtime Object type \"%s\" is not a possible type for \"%s\".",
                          rt->name, nt->name);
        } else {
            obj = rt;
        }
        if (obj == nt) {
            add_error(x, ea_buf_str(&b), &fi->nodes[0]->loc, p, "INTERNAL_SERVER_ERROR");
            return NULL;
        }
    }
    cfields *cf = sub_fields(x, fi, obj);
    if (cf == NULL)
        return NULL;
    return exec_fields(x, obj, v, cf, p);
}

/* __typename of obj: one JSON string per type and execution, shared by every object in the
 * response, like the values resolvers hand out by reference (invariant 4). */
static json_t *typename_value(exec_ctx *x, const ea_gql__type *obj, cfield *f)
{
    if (f->typename_val == NULL) {
        json_t *v = json_object_get(x->typenames, obj->name);
        if (v == NULL) {
            v = json_string(obj->name);
            if (v == NULL || json_object_set_new_nocheck(x->typenames, obj->name, v) < 0)
                return NULL;
        }
        f->typename_val = v;
    }
    return json_incref(f->typename_val);
}

/* Resolves and completes one response key. Returns NULL when a non-null field failed. */
static json_t *exec_field(exec_ctx *x, const ea_gql__type *obj, const json_t *value, cfield *f,
                          const ea_gql__path *p)
{
    const ea_gql__sel *node = f->nodes[0];
    const ea_gql__field *def = f->def;
    if (def == NULL)
        return json_null(); /* cannot happen in a validated document */
    bool introspection = def != x->s->f_typename &&
                         (obj->introspection || def == x->s->f_schema || def == x->s->f_type);
    if (!charge_field(x, introspection))
        return NULL; /* stopped: unwind (invariant 6) */
    if (def == x->s->f_typename) {
        charge_bytes(x, strlen(obj->name) + 2);
        return typename_value(x, obj, f);
    }
    field_info fi = {obj, def, f->nodes, f->n, f};
    /* without argument definitions coercion always yields {}; skip building one per value */
    json_t *args = def->nargs == 0
                       ? json_incref(x->no_args)
                       : coerce_args(x, def->args, def->nargs, node->args, &node->loc, p);
    json_t *resolved = NULL;
    if (args == NULL)
        goto failed;
    if (introspection) {
        resolved = ea_gql__introspect_resolve(x->s, obj, def, value, args, x->a);
    } else if (def->resolver) {
        json_t *pj = path_json(p);
        ea_gql_field_ctx ctx = {x->request_ctx, value, args, obj->name, def->name, f->key, pj};
        ea_gql_error err;
        memset(&err, 0, sizeof(err));
        int rc = def->resolver(&ctx, &resolved, &err);
        json_decref(pj);
        if (rc != 0) {
            json_decref(resolved);
            err.message[sizeof(err.message) - 1] = '\0';
            err.code[sizeof(err.code) - 1] = '\0';
            add_error_ext(x, err.message[0] ? err.message : "internal error", &node->loc, p,
                          err.code[0] ? err.code : "INTERNAL_SERVER_ERROR", err.extensions);
            goto failed;
        }
        json_decref(err.extensions); /* set on success: not used */
    } else {
        json_t *pv = json_is_object(value) ? json_object_get(value, def->name) : NULL;
        resolved = pv ? json_incref(pv) : NULL;
    }
    json_decref(args);
    json_t *r = complete_value(x, &fi, def->type, resolved, p);
    json_decref(resolved);
    if (r == NULL && def->type->kind != EA_GQL__TR_NON_NULL)
        r = json_null();
    return r;
failed:
    json_decref(args);
    return def->type->kind == EA_GQL__TR_NON_NULL ? NULL : json_null();
}

static json_t *exec_fields(exec_ctx *x, const ea_gql__type *obj, const json_t *value, cfields *cf,
                           const ea_gql__path *p)
{
    json_t *out = json_object();
    charge_bytes(x, 2);
    for (size_t i = 0; i < cf->n; i++) {
        ea_gql__path fp = {p, cf->items[i].key, 0};
        json_t *r = exec_field(x, obj, value, &cf->items[i], &fp);
        if (r == NULL || x->stopped) {
            json_decref(r);
            json_decref(out);
            return NULL;
        }
        /* "key": and the comma before it; null here, other values charged where completed */
        charge_bytes(x, strlen(cf->items[i].key) + 3 + (i > 0) + (json_is_null(r) ? 4 : 0));
        /* keys are GraphQL names (ASCII, checked by the lexer): skip jansson's UTF-8 check */
        json_object_set_new_nocheck(out, cf->items[i].key, r);
    }
    return out;
}

/* ---------------------------------------------------------------- cost */

/* The cost walks the operation the way execution will: CollectFields at each level (skip and
 * include applied, each fragment spread once per selection set, same response keys merged), so
 * it counts the fields that would resolve for one object per level. An abstract type costs as
 * much as its most expensive possible type. */
typedef struct cost_ctx {
    exec_ctx *x;
    const ea_gql_limits *l;
    size_t work; /* fields visited; a walk past EA_GQL__COST_WORK_MAX is priced LONG_MAX */
} cost_ctx;

/* Fragments can fan out exponentially when the depth limit is off; the walk stops there. */
#define EA_GQL__COST_WORK_MAX 100000

static long sat_add(long a, long b)
{
    return a > LONG_MAX - b ? LONG_MAX : a + b;
}

static long fields_cost(cost_ctx *c, const ea_gql__type *t, const ea_gql__sel *const *nodes,
                        size_t n, int depth);

static long collected_cost(cost_ctx *c, const ea_gql__type *t, const cfields *cf, int depth)
{
    exec_ctx *x = c->x;
    long total = 0;
    for (size_t i = 0; i < cf->n; i++) {
        if (++c->work > EA_GQL__COST_WORK_MAX)
            return LONG_MAX;
        const ea_gql__sel *s = cf->items[i].nodes[0];
        const ea_gql__field *def = cf->items[i].def;
        if (def == NULL || def == x->s->f_typename || def == x->s->f_schema || def == x->s->f_type)
            continue; /* meta and introspection fields are free */
        long fc = 1;
        if (c->l->cost_fn) {
            size_t mark = json_array_size(x->errors);
            json_t *args = coerce_args(x, def->args, def->nargs, s->args, &s->loc, NULL);
            /* argument errors surface again during execution, where they belong */
            while (json_array_size(x->errors) > mark)
                json_array_remove(x->errors, mark);
            fc = c->l->cost_fn(t->name, def->name, args, c->l->cost_ud);
            json_decref(args);
            if (fc < 0)
                fc = 0;
        }
        total = sat_add(total, fc);
        const ea_gql__type *nt = ea_gql__tref_named(def->type);
        if (ea_gql__type_is_composite(nt))
            total =
                sat_add(total, fields_cost(c, nt, cf->items[i].nodes, cf->items[i].n, depth + 1));
    }
    return total;
}

static long fields_cost(cost_ctx *c, const ea_gql__type *t, const ea_gql__sel *const *nodes,
                        size_t n, int depth)
{
    if (depth > EA_GQL__MAX_NESTING)
        return 0;
    if (ea_gql__type_is_abstract(t)) {
        long best = 0;
        for (size_t i = 0; i < t->npossible; i++) {
            long v = fields_cost(c, t->possible[i], nodes, n, depth);
            if (v > best)
                best = v;
        }
        return best;
    }
    cfields cf;
    memset(&cf, 0, sizeof(cf));
    for (size_t i = 0; i < n; i++) {
        if (nodes[i]->selset && collect(c->x, t, nodes[i]->selset, &cf) < 0)
            return 0;
    }
    return collected_cost(c, t, &cf, depth);
}

/* ---------------------------------------------------------------- operations */

static const ea_gql__def *find_op(const ea_gql_document *d, const char *name, json_t **errors)
{
    const ea_gql__def *op = NULL;
    char msg[300];
    if (name == NULL || name[0] == '\0') {
        if (d->nops == 1)
            return d->ops[0];
        snprintf(msg, sizeof(msg), "%s",
                 d->nops == 0 ? "Must provide an operation."
                              : "Must provide operation name if query contains multiple "
                                "operations.");
    } else {
        for (size_t i = 0; i < d->nops; i++) {
            if (d->ops[i]->name && strcmp(d->ops[i]->name, name) == 0)
                op = d->ops[i];
        }
        if (op)
            return op;
        snprintf(msg, sizeof(msg), "Unknown operation named \"%.200s\".", name);
    }
    if (errors) {
        *errors = json_array();
        json_array_append_new(*errors,
                              ea_gql__error_new(msg, NULL, 0, NULL, "OPERATION_NOT_FOUND"));
    }
    return NULL;
}

int ea_gql_operation_type(const ea_gql_document *d, const char *operation_name,
                          ea_gql_op_type *type, json_t **errors)
{
    const ea_gql__def *op = find_op(d, operation_name, errors);
    if (op == NULL)
        return -1;
    *type = op->op;
    return 0;
}

static const ea_gql__type *root_type(const ea_gql_schema *s, const ea_gql__def *op)
{
    return op->op == EA_GQL_OP_QUERY      ? s->query
           : op->op == EA_GQL_OP_MUTATION ? s->mutation
                                          : s->subscription;
}

/* Shared setup: operation, root type, coerced variables. Returns 0 or -1 (x->errors set). */
static int exec_begin(exec_ctx *x, const ea_gql_schema *s, const ea_gql_document *d,
                      const char *operation_name, const json_t *variables, size_t text_max,
                      const ea_gql__type **root)
{
    memset(x, 0, sizeof(*x));
    x->text_max = text_max;
    x->s = s;
    x->d = d;
    x->errors = json_array();
    x->no_args = json_object();
    x->typenames = json_object();
    x->a = ea_arena_new(16 * 1024);
    if (x->a == NULL || x->no_args == NULL || x->typenames == NULL) {
        add_error(x, "out of memory", NULL, NULL, "INTERNAL_SERVER_ERROR");
        return -1;
    }
    json_t *operr = NULL;
    x->op = find_op(d, operation_name, &operr);
    if (x->op == NULL) {
        json_array_extend(x->errors, operr);
        json_decref(operr);
        return -1;
    }
    *root = root_type(s, x->op);
    if (*root == NULL) {
        static const char *const names[] = {"query", "mutation", "subscription"};
        char msg[100];
        snprintf(msg, sizeof(msg), "Schema is not configured to execute %s operation.",
                 names[x->op->op]);
        add_error(x, msg, &x->op->loc, NULL, "BAD_REQUEST");
        return -1;
    }
    return coerce_variables(x, variables);
}

static void exec_end(exec_ctx *x)
{
    json_decref(x->vars);
    json_decref(x->errors);
    json_decref(x->no_args);
    json_decref(x->typenames);
    json_decref(x->stop_error);
    ea_arena_free(x->a);
}

int ea_gql_subscription_field(const ea_gql_schema *s, const ea_gql_document *d,
                              const char *operation_name, const json_t *variables,
                              const char **field_name, json_t **args, json_t **errors)
{
    exec_ctx x;
    const ea_gql__type *root = NULL;
    *args = NULL;
    *errors = NULL;
    int rc = -1;
    if (exec_begin(&x, s, d, operation_name, variables, ea_gql__text_max(NULL), &root) < 0)
        goto out;
    if (x.op->op != EA_GQL_OP_SUBSCRIPTION) {
        add_error(&x, "The operation is not a subscription.", &x.op->loc, NULL, "BAD_REQUEST");
        goto out;
    }
    cfields cf;
    memset(&cf, 0, sizeof(cf));
    if (collect(&x, root, x.op->selset, &cf) < 0 || cf.n == 0) {
        add_error(&x, "The subscription selects no field.", &x.op->loc, NULL, "BAD_REQUEST");
        goto out;
    }
    const ea_gql__sel *node = cf.items[0].nodes[0];
    const ea_gql__field *def = cf.items[0].def;
    if (def == NULL) {
        add_error(&x, "Unknown subscription field.", &node->loc, NULL, "BAD_REQUEST");
        goto out;
    }
    ea_gql__path p = {NULL, cf.items[0].key, 0};
    *args = coerce_args(&x, def->args, def->nargs, node->args, &node->loc, &p);
    if (*args == NULL)
        goto out;
    *field_name = def->name; /* lives in the schema */
    rc = 0;
out:
    if (rc != 0) {
        *errors = x.errors;
        x.errors = NULL;
    }
    exec_end(&x);
    return rc;
}

json_t *ea_gql_execute(const ea_gql_schema *s, const ea_gql_document *d, const char *operation_name,
                       const json_t *variables, const json_t *root_value, void *request_ctx,
                       const ea_gql_limits *limits, bool *request_error)
{
    return ea_gql_execute_counted(s, d, operation_name, variables, root_value, request_ctx, limits,
                                  request_error, NULL);
}

json_t *ea_gql_execute_counted(const ea_gql_schema *s, const ea_gql_document *d,
                               const char *operation_name, const json_t *variables,
                               const json_t *root_value, void *request_ctx,
                               const ea_gql_limits *limits, bool *request_error,
                               ea_gql_exec_stats *stats)
{
    exec_ctx x;
    const ea_gql__type *root = NULL;
    json_t *resp = json_object();
    bool req_err = true;
    if (exec_begin(&x, s, d, operation_name, variables, ea_gql__text_max(limits), &root) < 0)
        goto out;
    x.request_ctx = request_ctx;
    x.l = limits;
    if (limits && limits->max_cost > 0) {
        cost_ctx c = {&x, limits, 0};
        cfields rootcf;
        memset(&rootcf, 0, sizeof(rootcf));
        long cost = 0;
        if (collect(&x, root, x.op->selset, &rootcf) == 0)
            cost = collected_cost(&c, root, &rootcf, 0);
        if (cost > limits->max_cost) {
            char msg[160];
            snprintf(msg, sizeof(msg), "Query cost %ld exceeds the maximum cost of %ld.", cost,
                     limits->max_cost);
            add_error_ext(&x, msg, &x.op->loc, NULL, "COST_LIMIT",
                          json_pack("{s:I,s:I}", "cost", (json_int_t)cost, "maxCost",
                                    (json_int_t)limits->max_cost));
            goto out;
        }
    }
    req_err = false;
    json_t *empty = NULL;
    if (root_value == NULL)
        root_value = empty = json_object();
    cfields cf;
    memset(&cf, 0, sizeof(cf));
    json_t *data = NULL;
    if (collect(&x, root, x.op->selset, &cf) == 0)
        data = exec_fields(&x, root, root_value, &cf, NULL);
    json_decref(empty);
    if (x.stopped) {
        /* invariant 6: the partial result and its field errors go; the limit is the answer */
        json_decref(data);
        json_array_clear(x.errors);
        json_array_append(x.errors, x.stop_error);
        req_err = true;
        goto out;
    }
    if (json_array_size(x.errors) > 0)
        json_object_set(resp, "errors", x.errors);
    json_object_set_new(resp, "data", data ? data : json_null());
out:
    if (req_err)
        json_object_set(resp, "errors", x.errors);
    if (request_error)
        *request_error = req_err;
    if (stats != NULL) {
        stats->work = x.work;
        stats->bytes = x.bytes;
        stats->stopped = x.stopped;
    }
    exec_end(&x);
    return resp;
}
