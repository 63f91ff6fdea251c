/*
 * ea_gql_validate.c — the validation rules of the GraphQL spec as graphql-js 16 implements them
 * (specifiedRules), with the same messages and locations:
 *   ExecutableDefinitions, UniqueOperationNames, LoneAnonymousOperation, SingleFieldSubscriptions,
 *   KnownTypeNames, FragmentsOnCompositeTypes, VariablesAreInputTypes, ScalarLeafs,
 *   FieldsOnCorrectType, UniqueFragmentNames, KnownFragmentNames, NoUnusedFragments,
 *   PossibleFragmentSpreads, NoFragmentCycles, UniqueVariableNames, NoUndefinedVariables,
 *   NoUnusedVariables, KnownDirectives, UniqueDirectivesPerLocation, KnownArgumentNames,
 *   UniqueArgumentNames, ValuesOfCorrectType, ProvidedRequiredArguments,
 *   VariablesInAllowedPosition, OverlappingFieldsCanBeMerged, UniqueInputFieldNames.
 * graphql-js runs every rule in one traversal; here one typed walk per definition does the
 * node-local rules in the same order, variable rules run when an operation is left (over the
 * usages of the operation and of every fragment it reaches), fragment rules at the end. The walk
 * reads the document and the schema only; scratch memory comes from a private arena.
 * Not for: limits (ea_gql_prepare.c) or execution-time coercion (ea_gql_execute.c).
 */
#include "ea_gql_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct usage {
    const ea_gql__value *var;
    const ea_gql__tref *type; /* expected input type, NULL when unknown */
    bool loc_default;         /* the argument or input field has a default value */
} usage;

typedef struct vctx {
    const ea_gql_schema *s;
    const ea_gql_document *d;
    json_t *errors;
    ea_arena *a;
    size_t text_max; /* cap of each message (ea_gql__text_max) */
    bool report;     /* false while a fragment is walked only for its variable usages */
    usage *usages;
    size_t nusages, capusages;
    /* OverlappingFieldsCanBeMerged state shared over the document */
    struct fmap_cache *fcache;
    struct pairset *pairs;
    bool has_cycles;     /* fragment cycles: the merge check is skipped (it would not end) */
    size_t merge_budget; /* field comparisons left before the document is deemed too complex */
    bool merge_exhausted;
} vctx;

/* Field-pair comparisons OverlappingFieldsCanBeMerged may make for one document; a document
 * within the token limit needs far fewer, a hostile one is rejected instead of burning CPU. */
#define EA_GQL__MERGE_BUDGET 50000

#define CANDS(arr, n, expr)                                                                        \
    const char **arr = ea_arena_alloc(v->a, sizeof(char *) * ((n) + 1));                           \
    if (arr)                                                                                       \
        for (size_t i_ = 0; i_ < (n); i_++)                                                        \
    arr[i_] = (expr)

static void report(vctx *v, const char *msg, const ea_gql__loc *locs, size_t n)
{
    if (!v->report)
        return;
    if (json_array_size(v->errors) >= EA_GQL__MAX_VALIDATION_ERRORS) {
        return;
    }
    json_array_append_new(v->errors,
                          ea_gql__error_new(msg, locs, n, NULL, "GRAPHQL_VALIDATION_FAILED"));
    if (json_array_size(v->errors) == EA_GQL__MAX_VALIDATION_ERRORS)
        json_array_append_new(v->errors,
                              ea_gql__error_new("Too many validation errors, error limit reached. "
                                                "Validation aborted.",
                                                NULL, 0, NULL, "GRAPHQL_VALIDATION_FAILED"));
}

static void report1(vctx *v, ea_gql__loc loc, ea_buf *b)
{
    report(v, ea_buf_str(b), &loc, 1);
}

static void report2(vctx *v, ea_gql__loc l1, ea_gql__loc l2, ea_buf *b)
{
    ea_gql__loc locs[2] = {l1, l2};
    report(v, ea_buf_str(b), locs, 2);
}

static ea_buf sb(vctx *v)
{
    ea_buf b;
    ea_buf_init_arena(&b, v->a, v->text_max);
    return b;
}

/* Type names graphql-js would suggest from (the schema's type map). */
static const char *type_suggestions(vctx *v, const char *name)
{
    const ea_gql_schema *s = v->s;
    CANDS(names, s->ntypes, s->types[i_]->name);
    if (names == NULL)
        return "";
    size_t m = 0;
    for (size_t i = 0; i < s->ntypes; i++) {
        const ea_gql__type *t = s->types[i];
        if (!t->hidden && (!t->builtin || t->referenced))
            names[m++] = t->name;
    }
    return ea_gql__did_you_mean(v->a, name, names, m, NULL);
}

/* KnownTypeNames on a named type reference. Returns the type or NULL. */
static const ea_gql__type *known_type(vctx *v, const char *name, ea_gql__loc loc)
{
    const ea_gql__type *t = ea_gql__schema_type(v->s, name);
    if (t == NULL) {
        ea_buf b = sb(v);
        ea_buf_printf(&b, "Unknown type \"%s\".%s", name, type_suggestions(v, name));
        report1(v, loc, &b);
    }
    return t;
}

static void known_typeref(vctx *v, const ea_gql__typeref *r)
{
    while (r->kind != EA_GQL__TR_NAMED)
        r = r->of;
    known_type(v, r->name, r->loc);
}

/* ---------------------------------------------------------------- values */

static const char *print_value(vctx *v, const ea_gql__value *val)
{
    ea_buf b = sb(v);
    ea_gql__print_value(&b, val);
    return ea_buf_str(&b);
}

static const ea_gql__tref *nullable(const ea_gql__tref *t)
{
    return t && t->kind == EA_GQL__TR_NON_NULL ? t->of : t;
}

/* graphql-js isValidValueNode for a literal at a position of type t. */
static void check_leaf_literal(vctx *v, const ea_gql__value *val, const ea_gql__tref *t)
{
    if (t == NULL)
        return;
    const ea_gql__type *nt = ea_gql__tref_named(t);
    ea_buf b = sb(v);
    if (!ea_gql__type_is_leaf(nt)) {
        ea_buf_printf(&b, "Expected value of type \"%s\", found %s.", ea_gql__tref_str(v->a, t),
                      print_value(v, val));
        report1(v, val->loc, &b);
        return;
    }
    if (nt->kind == EA_GQL__K_ENUM) {
        CANDS(names, nt->nvalues, nt->values[i_].name);
        if (val->kind != EA_GQL__V_ENUM) {
            const char *ps = print_value(v, val);
            ea_buf_printf(
                &b, "Enum \"%s\" cannot represent non-enum value: %s.%s", nt->name, ps,
                names ? ea_gql__did_you_mean(v->a, ps, names, nt->nvalues, "the enum value") : "");
        } else if (ea_gql__enum_value(nt, val->str) == NULL) {
            ea_buf_printf(
                &b, "Value \"%s\" does not exist in \"%s\" enum.%s", val->str, nt->name,
                names ? ea_gql__did_you_mean(v->a, val->str, names, nt->nvalues, "the enum value")
                      : "");
        } else {
            return;
        }
        report1(v, val->loc, &b);
        return;
    }
    switch (nt->scalar) {
    case EA_GQL__S_INT:
        if (val->kind != EA_GQL__V_INT) {
            ea_buf_printf(&b, "Int cannot represent non-integer value: %s", print_value(v, val));
        } else {
            errno = 0;
            long long n = strtoll(val->str, NULL, 10);
            if (errno == 0 && n >= INT32_MIN && n <= INT32_MAX)
                return;
            ea_buf_printf(&b, "Int cannot represent non 32-bit signed integer value: %s", val->str);
        }
        break;
    case EA_GQL__S_FLOAT:
        if (val->kind == EA_GQL__V_INT || val->kind == EA_GQL__V_FLOAT)
            return;
        ea_buf_printf(&b, "Float cannot represent non numeric value: %s", print_value(v, val));
        break;
    case EA_GQL__S_STRING:
        if (val->kind == EA_GQL__V_STRING)
            return;
        ea_buf_printf(&b, "String cannot represent a non string value: %s", print_value(v, val));
        break;
    case EA_GQL__S_BOOLEAN:
        if (val->kind == EA_GQL__V_BOOLEAN)
            return;
        ea_buf_printf(&b, "Boolean cannot represent a non boolean value: %s", print_value(v, val));
        break;
    case EA_GQL__S_ID:
        if (val->kind == EA_GQL__V_STRING || val->kind == EA_GQL__V_INT)
            return;
        ea_buf_printf(&b, "ID cannot represent a non-string and non-integer value: %s",
                      print_value(v, val));
        break;
    case EA_GQL__S_CUSTOM:
        return; /* valueFromASTUntyped accepts every literal */
    }
    report1(v, val->loc, &b);
}

static void add_usage(vctx *v, const ea_gql__value *var, const ea_gql__tref *t, bool loc_default)
{
    v->usages = ea_arena_grow(v->a, v->usages, sizeof(usage), v->nusages, &v->capusages);
    if (v->usages == NULL)
        return;
    usage u = {var, t, loc_default};
    v->usages[v->nusages++] = u;
}

/* Walks a value at a position of type t (NULL: unknown). check: ValuesOfCorrectType still
 * applies (graphql-js skips the subtree once it reported on it). */
static void walk_value(vctx *v, const ea_gql__value *val, const ea_gql__tref *t, bool loc_default,
                       bool check)
{
    switch (val->kind) {
    case EA_GQL__V_VARIABLE:
        add_usage(v, val, t, loc_default);
        return;
    case EA_GQL__V_NULL:
        if (check && t && t->kind == EA_GQL__TR_NON_NULL) {
            ea_buf b = sb(v);
            ea_buf_printf(&b, "Expected value of type \"%s\", found null.",
                          ea_gql__tref_str(v->a, t));
            report1(v, val->loc, &b);
        }
        return;
    case EA_GQL__V_LIST: {
        const ea_gql__tref *lt = nullable(t);
        const ea_gql__tref *item = lt && lt->kind == EA_GQL__TR_LIST ? lt->of : lt;
        if (check && (lt == NULL || lt->kind != EA_GQL__TR_LIST)) {
            check_leaf_literal(v, val, t);
            check = false;
        }
        for (const ea_gql__value *it = val->items; it; it = it->next)
            walk_value(v, it, item, false, check);
        return;
    }
    case EA_GQL__V_OBJECT: {
        const ea_gql__type *nt = t ? ea_gql__tref_named(t) : NULL;
        bool is_input = nt && nt->kind == EA_GQL__K_INPUT;
        if (check) {
            if (!is_input) {
                check_leaf_literal(v, val, t);
                check = false;
            } else {
                for (size_t i = 0; i < nt->ninputs; i++) {
                    const ea_gql__ival *fd = &nt->inputs[i];
                    if (fd->type->kind != EA_GQL__TR_NON_NULL || fd->defval)
                        continue;
                    const ea_gql__objfield *f = val->fields;
                    while (f && strcmp(f->name, fd->name) != 0)
                        f = f->next;
                    if (f == NULL) {
                        ea_buf b = sb(v);
                        ea_buf_printf(&b,
                                      "Field \"%s.%s\" of required type \"%s\" was not "
                                      "provided.",
                                      nt->name, fd->name, ea_gql__tref_str(v->a, fd->type));
                        report1(v, val->loc, &b);
                    }
                }
            }
        }
        for (const ea_gql__objfield *f = val->fields; f; f = f->next) {
            const ea_gql__ival *fd =
                is_input ? ea_gql__ival_find(nt->inputs, nt->ninputs, f->name) : NULL;
            if (check && fd == NULL && is_input) {
                CANDS(names, nt->ninputs, nt->inputs[i_].name);
                ea_buf b = sb(v);
                ea_buf_printf(
                    &b, "Field \"%s\" is not defined by type \"%s\".%s", f->name, nt->name,
                    names ? ea_gql__did_you_mean(v->a, f->name, names, nt->ninputs, NULL) : "");
                report1(v, f->loc, &b);
            }
            /* UniqueInputFieldNames */
            for (const ea_gql__objfield *g = val->fields; g != f; g = g->next) {
                if (strcmp(g->name, f->name) == 0) {
                    ea_buf b = sb(v);
                    ea_buf_printf(&b, "There can be only one input field named \"%s\".", f->name);
                    report2(v, g->loc, f->loc, &b);
                    break;
                }
            }
            walk_value(v, f->value, fd ? fd->type : NULL, fd && fd->defval, check);
        }
        return;
    }
    default:
        if (check)
            check_leaf_literal(v, val, t);
        return;
    }
}

/* ---------------------------------------------------------------- arguments, directives */

static void unique_args(vctx *v, const ea_gql__arg *args)
{
    for (const ea_gql__arg *a = args; a; a = a->next) {
        bool first = true, dup = false;
        for (const ea_gql__arg *b = args; b != a; b = b->next)
            first &= strcmp(a->name, b->name) != 0;
        if (!first)
            continue;
        size_t n = 0;
        for (const ea_gql__arg *b = a; b; b = b->next)
            n += strcmp(a->name, b->name) == 0;
        dup = n > 1;
        if (!dup)
            continue;
        ea_gql__loc *locs = ea_arena_alloc(v->a, sizeof(ea_gql__loc) * n);
        if (locs == NULL)
            return;
        n = 0;
        for (const ea_gql__arg *b = a; b; b = b->next) {
            if (strcmp(a->name, b->name) == 0)
                locs[n++] = b->loc;
        }
        ea_buf b = sb(v);
        ea_buf_printf(&b, "There can be only one argument named \"%s\".", a->name);
        report(v, ea_buf_str(&b), locs, n);
    }
}

/* Arguments of a field (owner_type non-NULL) or a directive (dir_name non-NULL). */
static void walk_args(vctx *v, const ea_gql__arg *args, const ea_gql__ival *defs, size_t ndefs,
                      bool known_owner, const char *owner_type, const char *owner_name)
{
    for (const ea_gql__arg *a = args; a; a = a->next) {
        const ea_gql__ival *ad = known_owner ? ea_gql__ival_find(defs, ndefs, a->name) : NULL;
        if (known_owner && ad == NULL) {
            CANDS(names, ndefs, defs[i_].name);
            const char *dym = names ? ea_gql__did_you_mean(v->a, a->name, names, ndefs, NULL) : "";
            ea_buf b = sb(v);
            if (owner_type)
                ea_buf_printf(&b, "Unknown argument \"%s\" on field \"%s.%s\".%s", a->name,
                              owner_type, owner_name, dym);
            else
                ea_buf_printf(&b, "Unknown argument \"%s\" on directive \"@%s\".%s", a->name,
                              owner_name, dym);
            report1(v, a->loc, &b);
        }
        walk_value(v, a->value, ad ? ad->type : NULL, ad && ad->defval, true);
    }
}

static void required_args(vctx *v, const ea_gql__arg *args, const ea_gql__ival *defs, size_t ndefs,
                          bool is_field, const char *owner, ea_gql__loc loc)
{
    for (size_t i = 0; i < ndefs; i++) {
        const ea_gql__ival *ad = &defs[i];
        if (ad->type->kind != EA_GQL__TR_NON_NULL || ad->defval)
            continue;
        const ea_gql__arg *a = args;
        while (a && strcmp(a->name, ad->name) != 0)
            a = a->next;
        if (a)
            continue;
        ea_buf b = sb(v);
        if (is_field)
            ea_buf_printf(&b,
                          "Field \"%s\" argument \"%s\" of type \"%s\" is required, but it "
                          "was not provided.",
                          owner, ad->name, ea_gql__tref_str(v->a, ad->type));
        else
            ea_buf_printf(&b,
                          "Directive \"@%s\" argument \"%s\" of type \"%s\" is required, but "
                          "it was not provided.",
                          owner, ad->name, ea_gql__tref_str(v->a, ad->type));
        report1(v, loc, &b);
    }
}

/* UniqueDirectivesPerLocation, at the owner node. */
static void unique_directives(vctx *v, const ea_gql__directive *dirs)
{
    for (const ea_gql__directive *d = dirs; d; d = d->next) {
        const ea_gql__dirdef *dd = ea_gql__schema_directive(v->s, d->name);
        if (dd == NULL || dd->repeatable)
            continue;
        for (const ea_gql__directive *e = dirs; e != d; e = e->next) {
            if (strcmp(e->name, d->name) == 0) {
                ea_buf b = sb(v);
                ea_buf_printf(&b, "The directive \"@%s\" can only be used once at this location.",
                              d->name);
                report2(v, e->loc, d->loc, &b);
                break;
            }
        }
    }
}

static void walk_directives(vctx *v, const ea_gql__directive *dirs, int location)
{
    for (const ea_gql__directive *d = dirs; d; d = d->next) {
        const ea_gql__dirdef *dd = ea_gql__schema_directive(v->s, d->name);
        ea_buf b = sb(v);
        if (dd == NULL) {
            ea_buf_printf(&b, "Unknown directive \"@%s\".", d->name);
            report1(v, d->loc, &b);
        } else if (!(dd->locations & (1u << location))) {
            ea_buf_printf(&b, "Directive \"@%s\" may not be used on %s.", d->name,
                          ea_gql__dirloc_names[location]);
            report1(v, d->loc, &b);
        }
        unique_args(v, d->args);
        walk_args(v, d->args, dd ? dd->args : NULL, dd ? dd->nargs : 0, dd != NULL, NULL, d->name);
        if (dd)
            required_args(v, d->args, dd->args, dd->nargs, false, d->name, d->loc);
    }
}

/* ---------------------------------------------------------------- OverlappingFieldsCanBeMerged */

typedef struct ofield {
    const char *key;
    const ea_gql__type *parent;
    const ea_gql__sel *node;
    const ea_gql__field *def;
} ofield;

typedef struct fmap {
    ofield *f;
    size_t n, cap;
    const char **frags;
    size_t nfrags, capfrags;
} fmap;

/* fields and fragment names per selection set, in an open-addressing table keyed by pointer */
typedef struct fmap_cache {
    const ea_gql__selset **keys;
    fmap **vals;
    size_t n, cap;
} fmap_cache;

typedef struct pairset {
    const char *a, *b;
    bool excl;
    struct pairset *next;
} pairset;

typedef struct conflict {
    const char *key;
    const char *reason;    /* a leaf reason, or NULL with subs */
    struct conflict *subs; /* sub-conflicts */
    size_t nsubs;
    const ea_gql__sel **f1, **f2;
    size_t n1, n2;
} conflict;

typedef struct clist {
    conflict *c;
    size_t n, cap;
} clist;

static void fields_and_frags(vctx *v, const ea_gql__type *parent, const ea_gql__selset *ss, fmap *m)
{
    for (const ea_gql__sel *s = ss->first; s; s = s->next) {
        if (s->kind == EA_GQL__SEL_FIELD) {
            const ea_gql__field *def = NULL;
            if (parent && (parent->kind == EA_GQL__K_OBJECT || parent->kind == EA_GQL__K_INTERFACE))
                def = ea_gql__type_field(parent, s->name);
            m->f = ea_arena_grow(v->a, m->f, sizeof(ofield), m->n, &m->cap);
            if (m->f == NULL)
                return;
            ofield of = {s->alias ? s->alias : s->name, parent, s, def};
            m->f[m->n++] = of;
        } else if (s->kind == EA_GQL__SEL_SPREAD) {
            bool seen = false;
            for (size_t i = 0; i < m->nfrags; i++)
                seen |= strcmp(m->frags[i], s->name) == 0;
            if (seen)
                continue;
            m->frags = ea_arena_grow(v->a, m->frags, sizeof(char *), m->nfrags, &m->capfrags);
            if (m->frags == NULL)
                return;
            m->frags[m->nfrags++] = s->name;
        } else {
            const ea_gql__type *t = s->type_cond ? ea_gql__schema_type(v->s, s->type_cond) : parent;
            fields_and_frags(v, t, s->selset, m);
        }
    }
}

static size_t ptr_hash(const void *p, size_t cap)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 7) & (cap - 1);
}

static int fcache_grow(vctx *v, fmap_cache *c)
{
    size_t cap = c->cap ? c->cap * 2 : 64;
    const ea_gql__selset **keys = ea_arena_calloc(v->a, sizeof(*keys) * cap);
    fmap **vals = ea_arena_calloc(v->a, sizeof(*vals) * cap);
    if (keys == NULL || vals == NULL)
        return -1;
    for (size_t i = 0; i < c->cap; i++) {
        if (c->keys[i] == NULL)
            continue;
        size_t h = ptr_hash(c->keys[i], cap);
        while (keys[h])
            h = (h + 1) & (cap - 1);
        keys[h] = c->keys[i];
        vals[h] = c->vals[i];
    }
    c->keys = keys, c->vals = vals, c->cap = cap;
    return 0;
}

static fmap *get_fmap(vctx *v, const ea_gql__type *parent, const ea_gql__selset *ss)
{
    fmap_cache *c = v->fcache;
    if (c == NULL && (c = v->fcache = ea_arena_calloc(v->a, sizeof(*c))) == NULL)
        return NULL;
    if (c->cap) {
        for (size_t h = ptr_hash(ss, c->cap); c->keys[h]; h = (h + 1) & (c->cap - 1)) {
            if (c->keys[h] == ss)
                return c->vals[h];
        }
    }
    if ((c->n + 1) * 2 > c->cap && fcache_grow(v, c) < 0)
        return NULL;
    fmap *m = ea_arena_calloc(v->a, sizeof(*m));
    if (m == NULL)
        return NULL;
    fields_and_frags(v, parent, ss, m);
    size_t h = ptr_hash(ss, c->cap);
    while (c->keys[h])
        h = (h + 1) & (c->cap - 1);
    c->keys[h] = ss;
    c->vals[h] = m;
    c->n++;
    return m;
}

static fmap *fragment_fmap(vctx *v, const char *name)
{
    const ea_gql__def *fr = ea_gql__doc_fragment(v->d, name);
    if (fr == NULL)
        return NULL;
    return get_fmap(v, ea_gql__schema_type(v->s, fr->type_cond), fr->selset);
}

static bool pairs_has(vctx *v, const char *a, const char *b, bool excl)
{
    for (pairset *p = v->pairs; p; p = p->next) {
        if ((strcmp(p->a, a) == 0 && strcmp(p->b, b) == 0) ||
            (strcmp(p->a, b) == 0 && strcmp(p->b, a) == 0))
            return excl ? true : p->excl == excl;
    }
    return false;
}

static void pairs_add(vctx *v, const char *a, const char *b, bool excl)
{
    for (pairset *p = v->pairs; p; p = p->next) {
        if ((strcmp(p->a, a) == 0 && strcmp(p->b, b) == 0) ||
            (strcmp(p->a, b) == 0 && strcmp(p->b, a) == 0)) {
            p->excl = excl;
            return;
        }
    }
    pairset *p = ea_arena_calloc(v->a, sizeof(*p));
    if (p == NULL)
        return;
    p->a = a, p->b = b, p->excl = excl;
    p->next = v->pairs;
    v->pairs = p;
}

static void cl_push(vctx *v, clist *l, conflict c)
{
    l->c = ea_arena_grow(v->a, l->c, sizeof(conflict), l->n, &l->cap);
    if (l->c)
        l->c[l->n++] = c;
}

static bool same_args(vctx *v, const ea_gql__sel *a, const ea_gql__sel *b)
{
    size_t na = 0, nb = 0;
    for (const ea_gql__arg *x = a->args; x; x = x->next)
        na++;
    for (const ea_gql__arg *x = b->args; x; x = x->next)
        nb++;
    if (na != nb)
        return false;
    for (const ea_gql__arg *x = a->args; x; x = x->next) {
        const ea_gql__arg *y = b->args;
        while (y && strcmp(y->name, x->name) != 0)
            y = y->next;
        if (y == NULL || strcmp(print_value(v, x->value), print_value(v, y->value)) != 0)
            return false;
    }
    return true;
}

static bool types_conflict(const ea_gql__tref *a, const ea_gql__tref *b)
{
    if (a->kind == EA_GQL__TR_LIST)
        return b->kind == EA_GQL__TR_LIST ? types_conflict(a->of, b->of) : true;
    if (b->kind == EA_GQL__TR_LIST)
        return true;
    if (a->kind == EA_GQL__TR_NON_NULL)
        return b->kind == EA_GQL__TR_NON_NULL ? types_conflict(a->of, b->of) : true;
    if (b->kind == EA_GQL__TR_NON_NULL)
        return true;
    if (ea_gql__type_is_leaf(a->named) || ea_gql__type_is_leaf(b->named))
        return a->named != b->named;
    return false;
}

static void between_sub(vctx *v, clist *out, bool excl, const ea_gql__type *p1,
                        const ea_gql__selset *s1, const ea_gql__type *p2, const ea_gql__selset *s2);

static bool find_conflict(vctx *v, bool parent_excl, const char *key, const ofield *f1,
                          const ofield *f2, conflict *out)
{
    if (v->merge_budget == 0) {
        v->merge_exhausted = true;
        return false;
    }
    v->merge_budget--;
    bool excl = parent_excl ||
                (f1->parent != f2->parent && f1->parent && f2->parent &&
                 f1->parent->kind == EA_GQL__K_OBJECT && f2->parent->kind == EA_GQL__K_OBJECT);
    memset(out, 0, sizeof(*out));
    out->key = key;
    ea_buf b = sb(v);
    if (!excl) {
        if (strcmp(f1->node->name, f2->node->name) != 0) {
            ea_buf_printf(&b, "\"%s\" and \"%s\" are different fields", f1->node->name,
                          f2->node->name);
            out->reason = ea_buf_str(&b);
        } else if (!same_args(v, f1->node, f2->node)) {
            out->reason = "they have differing arguments";
        }
    }
    const ea_gql__tref *t1 = f1->def ? f1->def->type : NULL, *t2 = f2->def ? f2->def->type : NULL;
    if (out->reason == NULL && t1 && t2 && types_conflict(t1, t2)) {
        ea_buf_printf(&b, "they return conflicting types \"%s\" and \"%s\"",
                      ea_gql__tref_str(v->a, t1), ea_gql__tref_str(v->a, t2));
        out->reason = ea_buf_str(&b);
    }
    if (out->reason) {
        out->f1 = ea_arena_alloc(v->a, sizeof(ea_gql__sel *));
        out->f2 = ea_arena_alloc(v->a, sizeof(ea_gql__sel *));
        if (!out->f1 || !out->f2)
            return false;
        out->f1[0] = f1->node, out->f2[0] = f2->node;
        out->n1 = out->n2 = 1;
        return true;
    }
    if (f1->node->selset && f2->node->selset) {
        clist subs = {0};
        between_sub(v, &subs, excl, ea_gql__tref_named(t1), f1->node->selset,
                    ea_gql__tref_named(t2), f2->node->selset);
        if (subs.n == 0)
            return false;
        size_t n1 = 1, n2 = 1;
        for (size_t i = 0; i < subs.n; i++)
            n1 += subs.c[i].n1, n2 += subs.c[i].n2;
        out->f1 = ea_arena_alloc(v->a, sizeof(ea_gql__sel *) * n1);
        out->f2 = ea_arena_alloc(v->a, sizeof(ea_gql__sel *) * n2);
        if (!out->f1 || !out->f2)
            return false;
        out->f1[out->n1++] = f1->node;
        out->f2[out->n2++] = f2->node;
        for (size_t i = 0; i < subs.n; i++) {
            memcpy(out->f1 + out->n1, subs.c[i].f1, sizeof(ea_gql__sel *) * subs.c[i].n1);
            out->n1 += subs.c[i].n1;
            memcpy(out->f2 + out->n2, subs.c[i].f2, sizeof(ea_gql__sel *) * subs.c[i].n2);
            out->n2 += subs.c[i].n2;
        }
        out->subs = subs.c;
        out->nsubs = subs.n;
        return true;
    }
    return false;
}

static void conflicts_between(vctx *v, clist *out, bool excl, const fmap *m1, const fmap *m2)
{
    for (size_t i = 0; i < m1->n; i++) {
        /* keys in first-seen order of m1 */
        bool first = true;
        for (size_t k = 0; k < i && first; k++)
            first = strcmp(m1->f[k].key, m1->f[i].key) != 0;
        if (!first)
            continue;
        const char *key = m1->f[i].key;
        for (size_t a = i; a < m1->n; a++) {
            if (strcmp(m1->f[a].key, key) != 0)
                continue;
            for (size_t b = 0; b < m2->n; b++) {
                conflict c;
                if (strcmp(m2->f[b].key, key) == 0 &&
                    find_conflict(v, excl, key, &m1->f[a], &m2->f[b], &c))
                    cl_push(v, out, c);
            }
        }
    }
}

static void conflicts_within(vctx *v, clist *out, const fmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        bool first = true;
        for (size_t k = 0; k < i && first; k++)
            first = strcmp(m->f[k].key, m->f[i].key) != 0;
        if (!first)
            continue;
        const char *key = m->f[i].key;
        for (size_t a = i; a < m->n; a++) {
            if (strcmp(m->f[a].key, key) != 0)
                continue;
            for (size_t b = a + 1; b < m->n; b++) {
                conflict c;
                if (strcmp(m->f[b].key, key) == 0 &&
                    find_conflict(v, false, key, &m->f[a], &m->f[b], &c))
                    cl_push(v, out, c);
            }
        }
    }
}

static void fields_and_fragment(vctx *v, clist *out, bool excl, const fmap *m, const char *frag)
{
    const fmap *m2 = fragment_fmap(v, frag);
    if (m2 == NULL || m2 == m)
        return;
    conflicts_between(v, out, excl, m, m2);
    for (size_t i = 0; i < m2->nfrags; i++) {
        if (pairs_has(v, m2->frags[i], frag, excl))
            continue;
        pairs_add(v, m2->frags[i], frag, excl);
        fields_and_fragment(v, out, excl, m, m2->frags[i]);
    }
}

static void between_fragments(vctx *v, clist *out, bool excl, const char *f1, const char *f2)
{
    if (strcmp(f1, f2) == 0 || pairs_has(v, f1, f2, excl))
        return;
    pairs_add(v, f1, f2, excl);
    const fmap *m1 = fragment_fmap(v, f1), *m2 = fragment_fmap(v, f2);
    if (m1 == NULL || m2 == NULL)
        return;
    conflicts_between(v, out, excl, m1, m2);
    for (size_t i = 0; i < m2->nfrags; i++)
        between_fragments(v, out, excl, f1, m2->frags[i]);
    for (size_t i = 0; i < m1->nfrags; i++)
        between_fragments(v, out, excl, m1->frags[i], f2);
}

static void between_sub(vctx *v, clist *out, bool excl, const ea_gql__type *p1,
                        const ea_gql__selset *s1, const ea_gql__type *p2, const ea_gql__selset *s2)
{
    const fmap *m1 = get_fmap(v, p1, s1), *m2 = get_fmap(v, p2, s2);
    if (m1 == NULL || m2 == NULL)
        return;
    conflicts_between(v, out, excl, m1, m2);
    for (size_t i = 0; i < m2->nfrags; i++)
        fields_and_fragment(v, out, excl, m1, m2->frags[i]);
    for (size_t i = 0; i < m1->nfrags; i++)
        fields_and_fragment(v, out, excl, m2, m1->frags[i]);
    for (size_t i = 0; i < m1->nfrags; i++) {
        for (size_t k = 0; k < m2->nfrags; k++)
            between_fragments(v, out, excl, m1->frags[i], m2->frags[k]);
    }
}

static void reason_message(ea_buf *b, const conflict *c)
{
    if (c->reason) {
        ea_buf_puts(b, c->reason);
        return;
    }
    for (size_t i = 0; i < c->nsubs; i++) {
        if (i)
            ea_buf_puts(b, " and ");
        ea_buf_printf(b, "subfields \"%s\" conflict because ", c->subs[i].key);
        reason_message(b, &c->subs[i]);
    }
}

static void overlapping_fields(vctx *v, const ea_gql__type *parent, const ea_gql__selset *ss)
{
    if (!v->report || v->has_cycles || v->merge_exhausted)
        return;
    const fmap *m = get_fmap(v, parent, ss);
    if (m == NULL)
        return;
    clist out = {0};
    conflicts_within(v, &out, m);
    for (size_t i = 0; i < m->nfrags; i++) {
        fields_and_fragment(v, &out, false, m, m->frags[i]);
        for (size_t k = i + 1; k < m->nfrags; k++)
            between_fragments(v, &out, false, m->frags[i], m->frags[k]);
    }
    for (size_t i = 0; i < out.n; i++) {
        const conflict *c = &out.c[i];
        ea_buf b = sb(v);
        ea_buf_printf(&b, "Fields \"%s\" conflict because ", c->key);
        reason_message(&b, c);
        ea_buf_puts(&b, ". Use different aliases on the fields to fetch both if this was "
                        "intentional.");
        size_t n = c->n1 + c->n2;
        ea_gql__loc *locs = ea_arena_alloc(v->a, sizeof(ea_gql__loc) * n);
        if (locs == NULL)
            return;
        for (size_t k = 0; k < c->n1; k++)
            locs[k] = c->f1[k]->loc;
        for (size_t k = 0; k < c->n2; k++)
            locs[c->n1 + k] = c->f2[k]->loc;
        report(v, ea_buf_str(&b), locs, n);
    }
    if (v->merge_exhausted)
        report(v, "Document is too complex to validate: too many fields to compare for merging.",
               &ss->loc, 1);
}

/* ---------------------------------------------------------------- selections */

static bool types_overlap(const ea_gql__type *a, const ea_gql__type *b)
{
    if (a == b)
        return true;
    if (ea_gql__type_is_abstract(a)) {
        if (ea_gql__type_is_abstract(b)) {
            for (size_t i = 0; i < a->npossible; i++) {
                if (ea_gql__type_possible(b, a->possible[i]))
                    return true;
            }
            return false;
        }
        return ea_gql__type_possible(a, b);
    }
    if (ea_gql__type_is_abstract(b))
        return ea_gql__type_possible(b, a);
    return false;
}

static void walk_selset(vctx *v, const ea_gql__type *parent, const ea_gql__selset *ss);

static void field_suggestions(vctx *v, ea_buf *b, const ea_gql__type *t, const char *name)
{
    if (ea_gql__type_is_abstract(t)) {
        /* getSuggestedTypeNames: possible types and their interfaces having the field */
        size_t cap = t->npossible * 4 + 4, n = 0;
        const ea_gql__type **types = ea_arena_alloc(v->a, sizeof(*types) * cap);
        int *count = ea_arena_calloc(v->a, sizeof(int) * cap);
        if (types == NULL || count == NULL)
            return;
        for (size_t i = 0; i < t->npossible; i++) {
            const ea_gql__type *p = t->possible[i];
            if (!ea_gql__type_field(p, name))
                continue;
            const ea_gql__type *add[64];
            size_t nadd = 0;
            add[nadd++] = p;
            for (size_t k = 0; k < p->ninterfaces && nadd < 64; k++) {
                if (ea_gql__type_field(p->interfaces[k], name))
                    add[nadd++] = p->interfaces[k];
            }
            for (size_t k = 0; k < nadd; k++) {
                size_t j = 0;
                while (j < n && types[j] != add[k])
                    j++;
                if (j == n) {
                    if (n == cap)
                        break;
                    types[n] = add[k];
                    count[n++] = 0;
                }
                count[j]++;
            }
        }
        /* sort by usage count, interfaces before their implementations, then name */
        for (size_t i = 1; i < n; i++) {
            for (size_t k = i; k > 0; k--) {
                const ea_gql__type *x = types[k - 1], *y = types[k];
                int cx = count[k - 1], cy = count[k];
                int cmp = cy - cx;
                if (cmp == 0) {
                    if (x->kind == EA_GQL__K_INTERFACE && ea_gql__type_possible(x, y))
                        cmp = -1;
                    else if (y->kind == EA_GQL__K_INTERFACE && ea_gql__type_possible(y, x))
                        cmp = 1;
                    else
                        cmp = ea_gql__natural_compare(x->name, y->name);
                }
                if (cmp <= 0)
                    break;
                types[k - 1] = y, types[k] = x;
                count[k - 1] = cy, count[k] = cx;
            }
        }
        if (n > 0) {
            CANDS(names, n, types[i_]->name);
            if (names)
                ea_buf_puts(
                    b, ea_gql__did_you_mean_list(v->a, names, n, "to use an inline fragment on"));
            return;
        }
    }
    if (t->kind == EA_GQL__K_OBJECT || t->kind == EA_GQL__K_INTERFACE) {
        CANDS(names, t->nfields, t->fields[i_].name);
        if (names)
            ea_buf_puts(b, ea_gql__did_you_mean(v->a, name, names, t->nfields, NULL));
    }
}

static void walk_field(vctx *v, const ea_gql__type *parent, const ea_gql__sel *s)
{
    const ea_gql__field *def = ea_gql__field_def(v->s, parent, s->name);
    /* ScalarLeafs */
    if (def) {
        const ea_gql__type *nt = ea_gql__tref_named(def->type);
        ea_buf b = sb(v);
        if (ea_gql__type_is_leaf(nt) && s->selset) {
            ea_buf_printf(&b,
                          "Field \"%s\" must not have a selection since type \"%s\" has no "
                          "subfields.",
                          s->name, ea_gql__tref_str(v->a, def->type));
            report1(v, s->selset->loc, &b);
        } else if (!ea_gql__type_is_leaf(nt) && !s->selset) {
            ea_buf_printf(&b,
                          "Field \"%s\" of type \"%s\" must have a selection of subfields. "
                          "Did you mean \"%s { ... }\"?",
                          s->name, ea_gql__tref_str(v->a, def->type), s->name);
            report1(v, s->loc, &b);
        }
    }
    /* FieldsOnCorrectType */
    if (parent && def == NULL) {
        ea_buf b = sb(v);
        ea_buf_printf(&b, "Cannot query field \"%s\" on type \"%s\".", s->name, parent->name);
        field_suggestions(v, &b, parent, s->name);
        report1(v, s->loc, &b);
    }
    unique_directives(v, s->directives);
    unique_args(v, s->args);
    walk_args(v, s->args, def ? def->args : NULL, def ? def->nargs : 0, def != NULL,
              parent ? parent->name : "", s->name);
    walk_directives(v, s->directives, EA_GQL__DL_FIELD);
    if (s->selset) {
        const ea_gql__type *nt = def ? ea_gql__tref_named(def->type) : NULL;
        walk_selset(v, ea_gql__type_is_composite(nt) ? nt : NULL, s->selset);
    }
    if (def)
        required_args(v, s->args, def->args, def->nargs, true, def->name, s->loc);
}

static void walk_selset(vctx *v, const ea_gql__type *parent, const ea_gql__selset *ss)
{
    overlapping_fields(v, parent, ss);
    for (const ea_gql__sel *s = ss->first; s; s = s->next) {
        if (s->kind == EA_GQL__SEL_FIELD) {
            walk_field(v, parent, s);
            continue;
        }
        if (s->kind == EA_GQL__SEL_INLINE) {
            const ea_gql__type *t = parent;
            if (s->type_cond) {
                t = ea_gql__schema_type(v->s, s->type_cond);
                ea_buf b = sb(v);
                if (t && !ea_gql__type_is_composite(t)) {
                    ea_buf_printf(&b, "Fragment cannot condition on non composite type \"%s\".",
                                  s->type_cond);
                    report1(v, s->type_cond_loc, &b);
                }
            }
            if (t && parent && ea_gql__type_is_composite(t) && !types_overlap(t, parent)) {
                ea_buf b = sb(v);
                ea_buf_printf(&b,
                              "Fragment cannot be spread here as objects of type \"%s\" can "
                              "never be of type \"%s\".",
                              parent->name, t->name);
                report1(v, s->loc, &b);
            }
            unique_directives(v, s->directives);
            if (s->type_cond)
                known_type(v, s->type_cond, s->type_cond_loc);
            walk_directives(v, s->directives, EA_GQL__DL_INLINE_FRAGMENT);
            walk_selset(v, ea_gql__type_is_composite(t) ? t : NULL, s->selset);
            continue;
        }
        const ea_gql__def *fr = ea_gql__doc_fragment(v->d, s->name);
        ea_buf b = sb(v);
        if (fr == NULL) {
            ea_buf_printf(&b, "Unknown fragment \"%s\".", s->name);
            report1(v, s->name_loc, &b);
        } else {
            const ea_gql__type *ft = ea_gql__schema_type(v->s, fr->type_cond);
            if (ft && parent && ea_gql__type_is_composite(ft) && !types_overlap(ft, parent)) {
                ea_buf_printf(&b,
                              "Fragment \"%s\" cannot be spread here as objects of type "
                              "\"%s\" can never be of type \"%s\".",
                              s->name, parent->name, ft->name);
                report1(v, s->loc, &b);
            }
        }
        unique_directives(v, s->directives);
        walk_directives(v, s->directives, EA_GQL__DL_FRAGMENT_SPREAD);
    }
}

/* ---------------------------------------------------------------- fragments and operations */

/* graphql-js getFragmentSpreads: spreads of a selection set, not entering fragments. */
static size_t fragment_spreads(vctx *v, const ea_gql__selset *root, const ea_gql__sel ***out)
{
    size_t n = 0, cap = 0, nstack = 0, capstack = 0;
    const ea_gql__sel **spreads = NULL;
    const ea_gql__selset **stack = NULL;
    stack = ea_arena_grow(v->a, stack, sizeof(*stack), nstack, &capstack);
    if (stack == NULL)
        return 0;
    stack[nstack++] = root;
    while (nstack > 0) {
        const ea_gql__selset *ss = stack[--nstack];
        for (const ea_gql__sel *s = ss->first; s; s = s->next) {
            if (s->kind == EA_GQL__SEL_SPREAD) {
                spreads = ea_arena_grow(v->a, spreads, sizeof(*spreads), n, &cap);
                if (spreads == NULL)
                    return 0;
                spreads[n++] = s;
            } else if (s->selset) {
                stack = ea_arena_grow(v->a, stack, sizeof(*stack), nstack, &capstack);
                if (stack == NULL)
                    return 0;
                stack[nstack++] = s->selset;
            }
        }
    }
    *out = spreads;
    return n;
}

/* getRecursivelyReferencedFragments; returns the count and the fragments in *out. */
static size_t referenced_fragments(vctx *v, const ea_gql__selset *root, const ea_gql__def ***out)
{
    size_t n = 0, cap = 0, nstack = 0, capstack = 0;
    const ea_gql__def **frags = NULL;
    const ea_gql__selset **stack = ea_arena_grow(v->a, NULL, sizeof(*stack), 0, &capstack);
    if (stack == NULL)
        return 0;
    stack[nstack++] = root;
    while (nstack > 0) {
        const ea_gql__selset *ss = stack[--nstack];
        const ea_gql__sel **spreads = NULL;
        size_t ns = fragment_spreads(v, ss, &spreads);
        for (size_t i = 0; i < ns; i++) {
            bool seen = false;
            for (size_t k = 0; k < n && !seen; k++)
                seen = strcmp(frags[k]->name, spreads[i]->name) == 0;
            if (seen)
                continue;
            const ea_gql__def *fr = ea_gql__doc_fragment(v->d, spreads[i]->name);
            if (fr == NULL)
                continue;
            frags = ea_arena_grow(v->a, frags, sizeof(*frags), n, &cap);
            stack = ea_arena_grow(v->a, stack, sizeof(*stack), nstack, &capstack);
            if (frags == NULL || stack == NULL)
                return 0;
            frags[n++] = fr;
            stack[nstack++] = fr->selset;
        }
    }
    *out = frags;
    return n;
}

typedef struct cycle_state {
    const char **visited;
    size_t nvisited, capvisited;
    const ea_gql__sel **path;
    size_t npath, cappath;
    const char **idx_names; /* spreadPathIndexByName */
    size_t *idx;
    size_t nidx, capidx, capidx2;
} cycle_state;

static long cycle_index(cycle_state *c, const char *name)
{
    for (size_t i = 0; i < c->nidx; i++) {
        if (strcmp(c->idx_names[i], name) == 0)
            return (long)c->idx[i];
    }
    return -1;
}

static void detect_cycles(vctx *v, cycle_state *c, const ea_gql__def *fr)
{
    for (size_t i = 0; i < c->nvisited; i++) {
        if (strcmp(c->visited[i], fr->name) == 0)
            return;
    }
    c->visited = ea_arena_grow(v->a, c->visited, sizeof(char *), c->nvisited, &c->capvisited);
    if (c->visited == NULL)
        return;
    c->visited[c->nvisited++] = fr->name;
    const ea_gql__sel **spreads = NULL;
    size_t ns = fragment_spreads(v, fr->selset, &spreads);
    if (ns == 0)
        return;
    c->idx_names = ea_arena_grow(v->a, c->idx_names, sizeof(char *), c->nidx, &c->capidx);
    c->idx = ea_arena_grow(v->a, c->idx, sizeof(size_t), c->nidx, &c->capidx2);
    if (c->idx_names == NULL || c->idx == NULL)
        return;
    c->idx_names[c->nidx] = fr->name;
    c->idx[c->nidx++] = c->npath;
    for (size_t i = 0; i < ns; i++) {
        const ea_gql__sel *sp = spreads[i];
        long ci = cycle_index(c, sp->name);
        c->path = ea_arena_grow(v->a, c->path, sizeof(ea_gql__sel *), c->npath, &c->cappath);
        if (c->path == NULL)
            return;
        c->path[c->npath++] = sp;
        if (ci < 0) {
            const ea_gql__def *next = ea_gql__doc_fragment(v->d, sp->name);
            if (next)
                detect_cycles(v, c, next);
        } else {
            size_t len = c->npath - (size_t)ci;
            ea_gql__loc *locs = ea_arena_alloc(v->a, sizeof(ea_gql__loc) * len);
            ea_buf b = sb(v);
            ea_buf_printf(&b, "Cannot spread fragment \"%s\" within itself", sp->name);
            for (size_t k = 0; k + 1 < len; k++)
                ea_buf_printf(&b, "%s\"%s\"", k == 0 ? " via " : ", ",
                              c->path[(size_t)ci + k]->name);
            ea_buf_puts(&b, ".");
            if (locs) {
                for (size_t k = 0; k < len; k++)
                    locs[k] = c->path[(size_t)ci + k]->loc;
                report(v, ea_buf_str(&b), locs, len);
            }
        }
        c->npath--;
    }
    /* spreadPathIndexByName[fragmentName] = undefined */
    for (size_t i = 0; i < c->nidx; i++) {
        if (strcmp(c->idx_names[i], fr->name) == 0) {
            c->idx_names[i] = c->idx_names[c->nidx - 1];
            c->idx[i] = c->idx[c->nidx - 1];
            c->nidx--;
            break;
        }
    }
}

/* SingleFieldSubscriptions: top-level response keys of a subscription. */
static void sub_collect(vctx *v, const ea_gql__type *root, const ea_gql__selset *ss,
                        const ea_gql__sel ***f, size_t *n, size_t *cap, const char ***seen,
                        size_t *nseen, size_t *capseen)
{
    for (const ea_gql__sel *s = ss->first; s; s = s->next) {
        bool skip = false;
        for (const ea_gql__directive *d = s->directives; d; d = d->next) {
            if (d->args && d->args->value->kind == EA_GQL__V_BOOLEAN) {
                if (strcmp(d->name, "skip") == 0 && d->args->value->boolean)
                    skip = true;
                if (strcmp(d->name, "include") == 0 && !d->args->value->boolean)
                    skip = true;
            }
        }
        if (skip)
            continue;
        if (s->kind == EA_GQL__SEL_FIELD) {
            *f = ea_arena_grow(v->a, *f, sizeof(ea_gql__sel *), *n, cap);
            if (*f == NULL)
                return;
            (*f)[(*n)++] = s;
        } else if (s->kind == EA_GQL__SEL_INLINE) {
            const ea_gql__type *t = s->type_cond ? ea_gql__schema_type(v->s, s->type_cond) : root;
            if (t == root || (t && ea_gql__type_is_abstract(t) && ea_gql__type_possible(t, root)))
                sub_collect(v, root, s->selset, f, n, cap, seen, nseen, capseen);
        } else {
            bool was = false;
            for (size_t i = 0; i < *nseen; i++)
                was |= strcmp((*seen)[i], s->name) == 0;
            if (was)
                continue;
            *seen = ea_arena_grow(v->a, *seen, sizeof(char *), *nseen, capseen);
            if (*seen == NULL)
                return;
            (*seen)[(*nseen)++] = s->name;
            const ea_gql__def *fr = ea_gql__doc_fragment(v->d, s->name);
            if (fr == NULL)
                continue;
            const ea_gql__type *t = ea_gql__schema_type(v->s, fr->type_cond);
            if (t == root || (t && ea_gql__type_is_abstract(t) && ea_gql__type_possible(t, root)))
                sub_collect(v, root, fr->selset, f, n, cap, seen, nseen, capseen);
        }
    }
}

static void single_field_subscription(vctx *v, const ea_gql__def *op)
{
    const ea_gql__type *root = v->s->subscription;
    if (root == NULL)
        return;
    const ea_gql__sel **f = NULL;
    const char **seen = NULL;
    size_t n = 0, cap = 0, nseen = 0, capseen = 0;
    sub_collect(v, root, op->selset, &f, &n, &cap, &seen, &nseen, &capseen);
    /* group by response key, keep first-seen order */
    size_t nkeys = 0;
    ea_gql__loc *extra = ea_arena_alloc(v->a, sizeof(ea_gql__loc) * (n + 1));
    if (extra == NULL)
        return;
    size_t nextra = 0;
    const char *first_key = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *key = f[i]->alias ? f[i]->alias : f[i]->name;
        bool is_new = true;
        for (size_t k = 0; k < i && is_new; k++)
            is_new = strcmp(key, f[k]->alias ? f[k]->alias : f[k]->name) != 0;
        if (is_new)
            nkeys++;
        if (first_key == NULL)
            first_key = key;
    }
    if (nkeys > 1) {
        /* every node of every key but the first, grouped by key */
        for (size_t i = 0; i < n; i++) {
            const char *key = f[i]->alias ? f[i]->alias : f[i]->name;
            bool is_new = true;
            for (size_t k = 0; k < i && is_new; k++)
                is_new = strcmp(key, f[k]->alias ? f[k]->alias : f[k]->name) != 0;
            if (!is_new || strcmp(key, first_key) == 0)
                continue;
            for (size_t k = i; k < n; k++) {
                if (strcmp(key, f[k]->alias ? f[k]->alias : f[k]->name) == 0)
                    extra[nextra++] = f[k]->loc;
            }
        }
        ea_buf b = sb(v);
        if (op->name)
            ea_buf_printf(&b, "Subscription \"%s\" must select only one top level field.",
                          op->name);
        else
            ea_buf_puts(&b, "Anonymous Subscription must select only one top level field.");
        report(v, ea_buf_str(&b), extra, nextra);
    }
    for (size_t i = 0; i < n; i++) {
        const char *key = f[i]->alias ? f[i]->alias : f[i]->name;
        bool is_new = true;
        for (size_t k = 0; k < i && is_new; k++)
            is_new = strcmp(key, f[k]->alias ? f[k]->alias : f[k]->name) != 0;
        if (!is_new || strncmp(f[i]->name, "__", 2) != 0)
            continue;
        nextra = 0;
        for (size_t k = i; k < n; k++) {
            if (strcmp(key, f[k]->alias ? f[k]->alias : f[k]->name) == 0)
                extra[nextra++] = f[k]->loc;
        }
        ea_buf b = sb(v);
        if (op->name)
            ea_buf_printf(&b,
                          "Subscription \"%s\" must not select an introspection top level "
                          "field.",
                          op->name);
        else
            ea_buf_puts(&b, "Anonymous Subscription must not select an introspection top level "
                            "field.");
        report(v, ea_buf_str(&b), extra, nextra);
    }
}

static bool allowed_usage(const ea_gql__tref *var_type, const ea_gql__value *var_default,
                          const ea_gql__tref *loc_type, bool loc_default)
{
    if (loc_type->kind == EA_GQL__TR_NON_NULL && var_type->kind != EA_GQL__TR_NON_NULL) {
        bool var_nn_default = var_default && var_default->kind != EA_GQL__V_NULL;
        if (!var_nn_default && !loc_default)
            return false;
        return ea_gql__tref_subtype(var_type, loc_type->of);
    }
    return ea_gql__tref_subtype(var_type, loc_type);
}

static void variable_rules(vctx *v, const ea_gql__def *op)
{
    /* usages of the operation, then of each fragment it reaches (walked silently) */
    const ea_gql__def **frags = NULL;
    size_t nf = referenced_fragments(v, op->selset, &frags);
    bool saved = v->report;
    v->report = false;
    for (size_t i = 0; i < nf; i++)
        walk_selset(v, ea_gql__schema_type(v->s, frags[i]->type_cond), frags[i]->selset);
    v->report = saved;
    for (size_t i = 0; i < v->nusages; i++) {
        const usage *u = &v->usages[i];
        const ea_gql__vardef *vd = op->vars;
        while (vd && strcmp(vd->name, u->var->str) != 0)
            vd = vd->next;
        if (vd == NULL) {
            ea_buf b = sb(v);
            if (op->name)
                ea_buf_printf(&b, "Variable \"$%s\" is not defined by operation \"%s\".",
                              u->var->str, op->name);
            else
                ea_buf_printf(&b, "Variable \"$%s\" is not defined.", u->var->str);
            report2(v, u->var->loc, op->loc, &b);
        }
    }
    for (const ea_gql__vardef *vd = op->vars; vd; vd = vd->next) {
        bool used = false;
        for (size_t i = 0; i < v->nusages && !used; i++)
            used = strcmp(v->usages[i].var->str, vd->name) == 0;
        if (!used) {
            ea_buf b = sb(v);
            if (op->name)
                ea_buf_printf(&b, "Variable \"$%s\" is never used in operation \"%s\".", vd->name,
                              op->name);
            else
                ea_buf_printf(&b, "Variable \"$%s\" is never used.", vd->name);
            report1(v, vd->loc, &b);
        }
    }
    for (size_t i = 0; i < v->nusages; i++) {
        const usage *u = &v->usages[i];
        const ea_gql__vardef *vd = op->vars;
        while (vd && strcmp(vd->name, u->var->str) != 0)
            vd = vd->next;
        if (vd == NULL || u->type == NULL)
            continue;
        const ea_gql__tref *vt = ea_gql__tref_from_ast(v->s, v->a, vd->type);
        if (vt == NULL || allowed_usage(vt, vd->defval, u->type, u->loc_default))
            continue;
        ea_buf b = sb(v);
        ea_buf_printf(&b,
                      "Variable \"$%s\" of type \"%s\" used in position expecting type "
                      "\"%s\".",
                      u->var->str, ea_gql__tref_str(v->a, vt), ea_gql__tref_str(v->a, u->type));
        report2(v, vd->loc, u->var->loc, &b);
    }
}

static void walk_operation(vctx *v, const ea_gql__def *op, size_t nops,
                           const ea_gql__def *first_same)
{
    ea_buf b = sb(v);
    if (op->name && first_same) {
        ea_buf_printf(&b, "There can be only one operation named \"%s\".", op->name);
        report2(v, first_same->name_loc, op->name_loc, &b);
    }
    if (op->name == NULL && nops > 1) {
        ea_buf b2 = sb(v);
        ea_buf_puts(&b2, "This anonymous operation must be the only defined operation.");
        report1(v, op->loc, &b2);
    }
    if (op->op == EA_GQL_OP_SUBSCRIPTION)
        single_field_subscription(v, op);
    /* UniqueVariableNames */
    for (const ea_gql__vardef *vd = op->vars; vd; vd = vd->next) {
        bool first = true;
        for (const ea_gql__vardef *w = op->vars; w != vd && first; w = w->next)
            first = strcmp(w->name, vd->name) != 0;
        if (!first)
            continue;
        size_t n = 0;
        for (const ea_gql__vardef *w = vd; w; w = w->next)
            n += strcmp(w->name, vd->name) == 0;
        if (n < 2)
            continue;
        ea_gql__loc *locs = ea_arena_alloc(v->a, sizeof(ea_gql__loc) * n);
        if (locs == NULL)
            return;
        n = 0;
        for (const ea_gql__vardef *w = vd; w; w = w->next) {
            if (strcmp(w->name, vd->name) == 0)
                locs[n++] = w->name_loc;
        }
        ea_buf b3 = sb(v);
        ea_buf_printf(&b3, "There can be only one variable named \"$%s\".", vd->name);
        report(v, ea_buf_str(&b3), locs, n);
    }
    unique_directives(v, op->directives);
    v->nusages = 0;
    for (const ea_gql__vardef *vd = op->vars; vd; vd = vd->next) {
        /* VariablesAreInputTypes, then KnownTypeNames inside the type */
        const ea_gql__tref *vt = ea_gql__tref_from_ast(v->s, v->a, vd->type);
        if (vt && !ea_gql__type_is_input(ea_gql__tref_named(vt))) {
            ea_buf b4 = sb(v);
            ea_buf_printf(&b4, "Variable \"$%s\" cannot be non-input type \"%s\".", vd->name,
                          ea_gql__typeref_str(v->a, vd->type));
            report1(v, vd->type->loc, &b4);
        }
        unique_directives(v, vd->directives);
        known_typeref(v, vd->type);
        if (vd->defval)
            walk_value(v, vd->defval,
                       vt && ea_gql__type_is_input(ea_gql__tref_named(vt)) ? vt : NULL, false,
                       true);
        walk_directives(v, vd->directives, EA_GQL__DL_VARIABLE_DEFINITION);
    }
    walk_directives(v, op->directives,
                    op->op == EA_GQL_OP_QUERY      ? EA_GQL__DL_QUERY
                    : op->op == EA_GQL_OP_MUTATION ? EA_GQL__DL_MUTATION
                                                   : EA_GQL__DL_SUBSCRIPTION);
    const ea_gql__type *root = op->op == EA_GQL_OP_QUERY      ? v->s->query
                               : op->op == EA_GQL_OP_MUTATION ? v->s->mutation
                                                              : v->s->subscription;
    walk_selset(v, root, op->selset);
    variable_rules(v, op);
    v->nusages = 0;
}

static void walk_fragment(vctx *v, const ea_gql__def *fr, const ea_gql__def *first_same,
                          cycle_state *cycles)
{
    ea_buf b = sb(v);
    if (first_same) {
        ea_buf_printf(&b, "There can be only one fragment named \"%s\".", fr->name);
        report2(v, first_same->name_loc, fr->name_loc, &b);
    }
    detect_cycles(v, cycles, fr);
    const ea_gql__type *t = ea_gql__schema_type(v->s, fr->type_cond);
    if (t && !ea_gql__type_is_composite(t)) {
        ea_buf b2 = sb(v);
        ea_buf_printf(&b2, "Fragment \"%s\" cannot condition on non composite type \"%s\".",
                      fr->name, fr->type_cond);
        report1(v, fr->type_cond_loc, &b2);
    }
    unique_directives(v, fr->directives);
    known_type(v, fr->type_cond, fr->type_cond_loc);
    walk_directives(v, fr->directives, EA_GQL__DL_FRAGMENT_DEFINITION);
    v->nusages = 0;
    walk_selset(v, ea_gql__type_is_composite(t) ? t : NULL, fr->selset);
    v->nusages = 0;
}

void ea_gql__validate(const ea_gql_schema *s, const ea_gql_document *d, json_t *errors,
                      size_t text_max)
{
    vctx v;
    memset(&v, 0, sizeof(v));
    v.s = s;
    v.d = d;
    v.errors = errors;
    v.text_max = text_max;
    v.report = true;
    v.a = ea_arena_new(32 * 1024);
    if (v.a == NULL) {
        json_array_append_new(
            errors, ea_gql__error_new("out of memory", NULL, 0, NULL, "INTERNAL_SERVER_ERROR"));
        return;
    }
    /* ExecutableDefinitions */
    for (const ea_gql__def *def = d->defs; def; def = def->next) {
        if (def->kind == EA_GQL__D_OPERATION || def->kind == EA_GQL__D_FRAGMENT)
            continue;
        ea_buf b = sb(&v);
        if (def->kind == EA_GQL__D_SCHEMA)
            ea_buf_puts(&b, "The schema definition is not executable.");
        else
            ea_buf_printf(&b, "The \"%s\" definition is not executable.", def->name);
        report1(&v, def->loc, &b);
    }
    v.merge_budget = EA_GQL__MERGE_BUDGET;
    /* a silent NoFragmentCycles pass first: OverlappingFieldsCanBeMerged needs acyclic input */
    cycle_state cycles;
    memset(&cycles, 0, sizeof(cycles));
    json_t *scratch = json_array();
    v.errors = scratch;
    for (size_t i = 0; i < d->nfrags; i++)
        detect_cycles(&v, &cycles, d->frags[i]);
    v.has_cycles = json_array_size(scratch) > 0;
    json_decref(scratch);
    v.errors = errors;
    memset(&cycles, 0, sizeof(cycles));
    for (const ea_gql__def *def = d->defs; def; def = def->next) {
        const ea_gql__def *first_same = NULL;
        for (const ea_gql__def *p = d->defs; p != def && !first_same; p = p->next) {
            if (p->kind == def->kind && p->name && def->name && strcmp(p->name, def->name) == 0)
                first_same = p;
        }
        if (def->kind == EA_GQL__D_OPERATION)
            walk_operation(&v, def, d->nops, first_same);
        else if (def->kind == EA_GQL__D_FRAGMENT)
            walk_fragment(&v, def, first_same, &cycles);
    }
    /* NoUnusedFragments */
    const ea_gql__def **used = NULL;
    size_t nused = 0, capused = 0;
    for (size_t i = 0; i < d->nops; i++) {
        const ea_gql__def **fr = NULL;
        size_t n = referenced_fragments(&v, d->ops[i]->selset, &fr);
        for (size_t k = 0; k < n; k++) {
            used = ea_arena_grow(v.a, used, sizeof(*used), nused, &capused);
            if (used == NULL)
                break;
            used[nused++] = fr[k];
        }
    }
    for (size_t i = 0; i < d->nfrags; i++) {
        bool u = false;
        for (size_t k = 0; k < nused && !u; k++)
            u = strcmp(used[k]->name, d->frags[i]->name) == 0;
        if (!u) {
            ea_buf b = sb(&v);
            ea_buf_printf(&b, "Fragment \"%s\" is never used.", d->frags[i]->name);
            report1(&v, d->frags[i]->loc, &b);
        }
    }
    ea_arena_free(v.a);
}
