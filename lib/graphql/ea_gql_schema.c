/*
 * ea_gql_schema.c — builds the immutable schema model from SDL: the built-in prelude (scalars,
 * @include/@skip/@deprecated/@specifiedBy, the __ introspection types) plus the service's SDL,
 * with extensions merged, names resolved, root types found, possible types of interfaces and
 * unions computed and the usual schema rules checked. Also the type helpers every later stage
 * uses (field lookup with meta fields, input/output/composite tests, sub-typing, printing type
 * references). Not for: resolving values (ea_gql_execute.c).
 */
#include "ea_gql_int.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- lookups and type helpers */

ea_gql__type *ea_gql__schema_type(const ea_gql_schema *s, const char *name)
{
    for (size_t i = 0; i < s->ntypes; i++) {
        const ea_gql__type *t = s->types[i];
        /* like graphql-js, a built-in scalar nothing uses is not part of the schema */
        if (strcmp(t->name, name) == 0 && !t->hidden &&
            (s->building || !t->builtin || t->referenced))
            return s->types[i];
    }
    return NULL;
}

const ea_gql__field *ea_gql__type_field(const ea_gql__type *t, const char *name)
{
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < t->nfields; i++) {
        if (strcmp(t->fields[i].name, name) == 0)
            return &t->fields[i];
    }
    return NULL;
}

const ea_gql__field *ea_gql__field_def(const ea_gql_schema *s, const ea_gql__type *parent,
                                       const char *name)
{
    if (parent == NULL)
        return NULL;
    if (name[0] == '_' && name[1] == '_') {
        if (strcmp(name, "__typename") == 0 && ea_gql__type_is_composite(parent))
            return s->f_typename;
        if (parent == s->query && strcmp(name, "__schema") == 0)
            return s->f_schema;
        if (parent == s->query && strcmp(name, "__type") == 0)
            return s->f_type;
    }
    if (parent->kind != EA_GQL__K_OBJECT && parent->kind != EA_GQL__K_INTERFACE)
        return NULL;
    return ea_gql__type_field(parent, name);
}

const ea_gql__ival *ea_gql__ival_find(const ea_gql__ival *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    }
    return NULL;
}

const ea_gql__dirdef *ea_gql__schema_directive(const ea_gql_schema *s, const char *name)
{
    for (size_t i = 0; i < s->ndirs; i++) {
        if (strcmp(s->dirs[i].name, name) == 0)
            return &s->dirs[i];
    }
    return NULL;
}

const ea_gql__enumval *ea_gql__enum_value(const ea_gql__type *t, const char *name)
{
    for (size_t i = 0; i < t->nvalues; i++) {
        if (strcmp(t->values[i].name, name) == 0)
            return &t->values[i];
    }
    return NULL;
}

bool ea_gql__type_is_input(const ea_gql__type *t)
{
    return t &&
           (t->kind == EA_GQL__K_SCALAR || t->kind == EA_GQL__K_ENUM || t->kind == EA_GQL__K_INPUT);
}

bool ea_gql__type_is_output(const ea_gql__type *t)
{
    return t && t->kind != EA_GQL__K_INPUT;
}

bool ea_gql__type_is_composite(const ea_gql__type *t)
{
    return t && (t->kind == EA_GQL__K_OBJECT || t->kind == EA_GQL__K_INTERFACE ||
                 t->kind == EA_GQL__K_UNION);
}

bool ea_gql__type_is_abstract(const ea_gql__type *t)
{
    return t && (t->kind == EA_GQL__K_INTERFACE || t->kind == EA_GQL__K_UNION);
}

bool ea_gql__type_is_leaf(const ea_gql__type *t)
{
    return t && (t->kind == EA_GQL__K_SCALAR || t->kind == EA_GQL__K_ENUM);
}

bool ea_gql__type_possible(const ea_gql__type *t, const ea_gql__type *o)
{
    if (t == o)
        return true;
    for (size_t i = 0; i < t->npossible; i++) {
        if (t->possible[i] == o)
            return true;
    }
    return false;
}

const ea_gql__type *ea_gql__tref_named(const ea_gql__tref *r)
{
    while (r && r->kind != EA_GQL__TR_NAMED)
        r = r->of;
    return r ? r->named : NULL;
}

ea_gql__tref *ea_gql__tref_from_ast(const ea_gql_schema *s, ea_arena *a, const ea_gql__typeref *ast)
{
    if (ast->kind == EA_GQL__TR_NAMED) {
        ea_gql__type *t = ea_gql__schema_type(s, ast->name);
        return t ? &t->self : NULL;
    }
    ea_gql__tref *of = ea_gql__tref_from_ast(s, a, ast->of);
    if (of == NULL)
        return NULL;
    ea_gql__tref *r = ea_arena_calloc(a, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->kind = ast->kind;
    r->of = of;
    return r;
}

/* Prints a type reference from its wrappers (outermost first) and the named type's name:
 * LIST → "[...]", NON_NULL → "...!". One printer for the schema's refs and the AST's. */
static void ref_print(ea_buf *b, const ea_gql__tr_kind *k, size_t n, const char *name)
{
    if (n == 0) {
        ea_buf_puts(b, name);
    } else if (k[0] == EA_GQL__TR_LIST) {
        ea_buf_putc(b, '[');
        ref_print(b, k + 1, n - 1, name);
        ea_buf_putc(b, ']');
    } else {
        ref_print(b, k + 1, n - 1, name);
        ea_buf_putc(b, '!');
    }
}

static const char *ref_str(ea_arena *a, const ea_gql__tr_kind *k, size_t n, const char *name)
{
    ea_buf b;
    ea_buf_init_arena(&b, a, EA_GQL__TEXT_MAX);
    ref_print(&b, k, n, name);
    return ea_buf_str(&b);
}

/* Wrappers nest at most EA_GQL__MAX_NESTING deep (the parser's cap), so they fit an array. */
const char *ea_gql__tref_str(ea_arena *a, const ea_gql__tref *r)
{
    ea_gql__tr_kind k[EA_GQL__MAX_NESTING + 1];
    size_t n = 0;
    for (; r->kind != EA_GQL__TR_NAMED && n <= EA_GQL__MAX_NESTING; r = r->of)
        k[n++] = r->kind;
    return ref_str(a, k, n, r->kind == EA_GQL__TR_NAMED ? r->named->name : "?");
}

const char *ea_gql__typeref_str(ea_arena *a, const ea_gql__typeref *r)
{
    ea_gql__tr_kind k[EA_GQL__MAX_NESTING + 1];
    size_t n = 0;
    for (; r->kind != EA_GQL__TR_NAMED && n <= EA_GQL__MAX_NESTING; r = r->of)
        k[n++] = r->kind;
    return ref_str(a, k, n, r->kind == EA_GQL__TR_NAMED ? r->name : "?");
}

bool ea_gql__tref_equal(const ea_gql__tref *a, const ea_gql__tref *b)
{
    while (a && b) {
        if (a->kind != b->kind)
            return false;
        if (a->kind == EA_GQL__TR_NAMED)
            return a->named == b->named;
        a = a->of, b = b->of;
    }
    return a == b;
}

bool ea_gql__tref_subtype(const ea_gql__tref *sub, const ea_gql__tref *super)
{
    if (ea_gql__tref_equal(sub, super))
        return true;
    if (super->kind == EA_GQL__TR_NON_NULL) {
        if (sub->kind == EA_GQL__TR_NON_NULL)
            return ea_gql__tref_subtype(sub->of, super->of);
        return false;
    }
    if (sub->kind == EA_GQL__TR_NON_NULL)
        return ea_gql__tref_subtype(sub->of, super);
    if (super->kind == EA_GQL__TR_LIST)
        return sub->kind == EA_GQL__TR_LIST && ea_gql__tref_subtype(sub->of, super->of);
    if (sub->kind == EA_GQL__TR_LIST)
        return false;
    return ea_gql__type_is_abstract(super->named) && sub->named->kind == EA_GQL__K_OBJECT &&
           ea_gql__type_possible(super->named, sub->named);
}

/* ---------------------------------------------------------------- building */

typedef struct builder {
    ea_gql_schema *s;
    char *err;
    size_t errlen;
    bool failed;
    size_t cap_types;
} builder;

static int berr(builder *b, ea_gql__loc loc, const char *fmt, const char *a1, const char *a2)
{
    if (!b->failed) {
        char msg[256];
        snprintf(msg, sizeof(msg), fmt, a1, a2);
        if (loc.line > 0)
            snprintf(b->err, b->errlen, "%s (line %u, column %u)", msg, loc.line, loc.col);
        else
            snprintf(b->err, b->errlen, "%s", msg);
    }
    b->failed = true;
    return -1;
}

static int add_type(builder *b, ea_gql__type *t)
{
    ea_gql_schema *s = b->s;
    if (s->ntypes == b->cap_types) {
        size_t cap = b->cap_types ? b->cap_types * 2 : 32;
        ea_gql__type **nt = ea_arena_alloc(s->arena, sizeof(*nt) * cap);
        if (nt == NULL)
            return -1;
        if (s->ntypes)
            memcpy(nt, s->types, sizeof(*nt) * s->ntypes);
        s->types = nt;
        b->cap_types = cap;
    }
    s->types[s->ntypes++] = t;
    return 0;
}

static ea_gql__kind kind_of_def(ea_gql__def_kind k)
{
    switch (k) {
    case EA_GQL__D_OBJECT:
        return EA_GQL__K_OBJECT;
    case EA_GQL__D_INTERFACE:
        return EA_GQL__K_INTERFACE;
    case EA_GQL__D_UNION:
        return EA_GQL__K_UNION;
    case EA_GQL__D_ENUM:
        return EA_GQL__K_ENUM;
    case EA_GQL__D_INPUT:
        return EA_GQL__K_INPUT;
    default:
        return EA_GQL__K_SCALAR;
    }
}

static bool is_typedef(const ea_gql__def *d)
{
    return d->kind >= EA_GQL__D_SCALAR && d->kind <= EA_GQL__D_INPUT;
}

/* Reads @deprecated(reason:) from a directive list. */
static void read_deprecated(const ea_gql__directive *dirs, bool *dep, const char **reason)
{
    for (const ea_gql__directive *d = dirs; d; d = d->next) {
        if (strcmp(d->name, "deprecated") != 0)
            continue;
        *dep = true;
        *reason = "No longer supported";
        for (const ea_gql__arg *a = d->args; a; a = a->next) {
            if (strcmp(a->name, "reason") == 0 && a->value->kind == EA_GQL__V_STRING)
                *reason = a->value->str;
        }
    }
}

static ea_gql__tref *resolve_ref(builder *b, const ea_gql__typeref *r, bool input,
                                 const char *where)
{
    ea_gql_schema *s = b->s;
    ea_gql__tref *t = ea_gql__tref_from_ast(s, s->arena, r);
    if (t == NULL) {
        const ea_gql__typeref *n = r;
        while (n->kind != EA_GQL__TR_NAMED)
            n = n->of;
        berr(b, n->loc, "Unknown type \"%s\".%s", n->name, "");
        return NULL;
    }
    const ea_gql__type *nt = ea_gql__tref_named(t);
    if (input && !ea_gql__type_is_input(nt)) {
        berr(b, r->loc, "The type of %s must be Input Type but got: %s.", where,
             ea_gql__tref_str(s->arena, t));
        return NULL;
    }
    if (!input && !ea_gql__type_is_output(nt)) {
        berr(b, r->loc, "The type of %s must be Output Type but got: %s.", where,
             ea_gql__tref_str(s->arena, t));
        return NULL;
    }
    return t;
}

static size_t count_ivals(const ea_gql__ivaldef *v)
{
    size_t n = 0;
    for (; v; v = v->next)
        n++;
    return n;
}

static int build_ivals(builder *b, const ea_gql__ivaldef *defs, ea_gql__ival **out, size_t *n,
                       const char *owner)
{
    ea_gql_schema *s = b->s;
    size_t cnt = count_ivals(defs);
    *out = ea_arena_calloc(s->arena, sizeof(ea_gql__ival) * (cnt ? cnt : 1));
    *n = 0;
    if (*out == NULL)
        return -1;
    for (const ea_gql__ivaldef *d = defs; d; d = d->next) {
        if (ea_gql__ival_find(*out, *n, d->name))
            return berr(b, d->loc, "Argument or input field \"%s.%s\" is defined twice.", owner,
                        d->name);
        ea_gql__ival *v = &(*out)[(*n)++];
        v->name = d->name;
        v->desc = d->desc;
        v->defval = d->defval;
        char where[200];
        snprintf(where, sizeof(where), "%s.%s", owner, d->name);
        if ((v->type = resolve_ref(b, d->type, true, where)) == NULL)
            return -1;
        read_deprecated(d->directives, &v->deprecated, &v->dep_reason);
    }
    return 0;
}

static int append_possible(ea_arena *a, ea_gql__type *t, ea_gql__type *o)
{
    if (ea_gql__type_possible(t, o) && t != o)
        return 0;
    ea_gql__type **np = ea_arena_alloc(a, sizeof(*np) * (t->npossible + 1));
    if (np == NULL)
        return -1;
    if (t->npossible)
        memcpy(np, t->possible, sizeof(*np) * t->npossible);
    np[t->npossible++] = o;
    t->possible = np;
    return 0;
}

/* Fills one type from its definition and every extension of it. */
static int build_type(builder *b, ea_gql__type *t, ea_gql__def *const *defs, size_t ndefs)
{
    ea_gql_schema *s = b->s;
    size_t nf = 0, ni = 0, nv = 0;
    for (size_t i = 0; i < ndefs; i++) {
        for (const ea_gql__fielddef *f = defs[i]->fields; f; f = f->next)
            nf++;
        ni += count_ivals(defs[i]->ivals);
        for (const ea_gql__namelist *n = defs[i]->names; n; n = n->next)
            nv++;
    }
    t->fields = ea_arena_calloc(s->arena, sizeof(ea_gql__field) * (nf + 1));
    t->values = ea_arena_calloc(s->arena, sizeof(ea_gql__enumval) * (nv + 1));
    t->interfaces = ea_arena_calloc(s->arena, sizeof(ea_gql__type *) * (nv + 1));
    t->inputs = ea_arena_calloc(s->arena, sizeof(ea_gql__ival) * (ni + 1));
    if (!t->fields || !t->values || !t->interfaces || !t->inputs)
        return -1;
    for (size_t i = 0; i < ndefs; i++) {
        const ea_gql__def *d = defs[i];
        for (const ea_gql__directive *dir = d->directives; dir; dir = dir->next) {
            if (strcmp(dir->name, "specifiedBy") == 0 && dir->args &&
                dir->args->value->kind == EA_GQL__V_STRING)
                t->specified_by = dir->args->value->str;
        }
        for (const ea_gql__fielddef *fd = d->fields; fd; fd = fd->next) {
            if (ea_gql__type_field(t, fd->name))
                return berr(b, fd->loc, "Field \"%s.%s\" can only be defined once.", t->name,
                            fd->name);
            ea_gql__field *f = &t->fields[t->nfields++];
            f->name = fd->name;
            f->desc = fd->desc;
            char where[200];
            snprintf(where, sizeof(where), "%s.%s", t->name, fd->name);
            if ((f->type = resolve_ref(b, fd->type, false, where)) == NULL)
                return -1;
            if (build_ivals(b, fd->args, &f->args, &f->nargs, where) < 0)
                return -1;
            read_deprecated(fd->directives, &f->deprecated, &f->dep_reason);
        }
        if (d->kind == EA_GQL__D_INPUT) {
            ea_gql__ival *v;
            size_t n;
            if (build_ivals(b, d->ivals, &v, &n, t->name) < 0)
                return -1;
            for (size_t k = 0; k < n; k++) {
                if (ea_gql__ival_find(t->inputs, t->ninputs, v[k].name))
                    return berr(b, d->loc, "Input field \"%s.%s\" can only be defined once.",
                                t->name, v[k].name);
                t->inputs[t->ninputs++] = v[k];
            }
        }
        for (const ea_gql__namelist *n = d->names; n; n = n->next) {
            if (d->kind == EA_GQL__D_ENUM) {
                if (ea_gql__enum_value(t, n->name))
                    return berr(b, n->loc, "Enum value \"%s.%s\" can only be defined once.",
                                t->name, n->name);
                ea_gql__enumval *ev = &t->values[t->nvalues++];
                ev->name = n->name;
                ev->desc = n->desc;
                read_deprecated(n->directives, &ev->deprecated, &ev->dep_reason);
                continue;
            }
            ea_gql__type *ref = ea_gql__schema_type(s, n->name);
            if (ref == NULL)
                return berr(b, n->loc, "Unknown type \"%s\".%s", n->name, "");
            if (d->kind == EA_GQL__D_UNION) {
                if (ref->kind != EA_GQL__K_OBJECT)
                    return berr(b, n->loc,
                                "Union type %s can only include Object types, it cannot include "
                                "%s.",
                                t->name, ref->name);
                if (append_possible(s->arena, t, ref) < 0)
                    return -1;
            } else {
                if (ref->kind != EA_GQL__K_INTERFACE)
                    return berr(b, n->loc,
                                "Type %s must only implement Interface types, it cannot "
                                "implement %s.",
                                t->name, ref->name);
                t->interfaces[t->ninterfaces++] = ref;
            }
        }
    }
    return 0;
}

static int check_type(builder *b, ea_gql__type *t)
{
    if ((t->kind == EA_GQL__K_OBJECT || t->kind == EA_GQL__K_INTERFACE) && t->nfields == 0 &&
        !t->hidden)
        return berr(b, (ea_gql__loc){0, 0}, "Type %s must define one or more fields.%s", t->name,
                    "");
    if (t->kind == EA_GQL__K_INPUT && t->ninputs == 0)
        return berr(b, (ea_gql__loc){0, 0},
                    "Input Object type %s must define one or more fields.%s", t->name, "");
    if (t->kind == EA_GQL__K_ENUM && t->nvalues == 0)
        return berr(b, (ea_gql__loc){0, 0}, "Enum type %s must define one or more values.%s",
                    t->name, "");
    if (t->kind == EA_GQL__K_UNION && t->npossible == 0)
        return berr(b, (ea_gql__loc){0, 0}, "Union type %s must define one or more member types.%s",
                    t->name, "");
    /* an object must provide every field of its interfaces */
    for (size_t i = 0; i < t->ninterfaces; i++) {
        const ea_gql__type *it = t->interfaces[i];
        for (size_t k = 0; k < it->nfields; k++) {
            const ea_gql__field *f = ea_gql__type_field(t, it->fields[k].name);
            if (f == NULL) {
                char tmp[200];
                snprintf(tmp, sizeof(tmp), "%s.%s", it->name, it->fields[k].name);
                return berr(b, (ea_gql__loc){0, 0},
                            "Interface field %s expected but %s does not "
                            "provide it.",
                            tmp, t->name);
            }
            if (!ea_gql__tref_subtype(f->type, it->fields[k].type))
                return berr(b, (ea_gql__loc){0, 0},
                            "Interface field %s.%s is not matched by the implementing type.",
                            it->name, it->fields[k].name);
        }
    }
    return 0;
}

static void mark_ref(const ea_gql__tref *r)
{
    ea_gql__type *t = (ea_gql__type *)ea_gql__tref_named(r);
    if (t)
        t->referenced = true;
}

static int build_directive(builder *b, const ea_gql__def *d)
{
    ea_gql_schema *s = b->s;
    if (ea_gql__schema_directive(s, d->name))
        return berr(b, d->name_loc, "There can be only one directive named \"@%s\".%s", d->name,
                    "");
    ea_gql__dirdef *dd = &s->dirs[s->ndirs++];
    dd->name = d->name;
    dd->desc = d->desc;
    dd->repeatable = d->repeatable;
    char where[140];
    snprintf(where, sizeof(where), "@%s", d->name);
    if (build_ivals(b, d->ivals, &dd->args, &dd->nargs, where) < 0)
        return -1;
    for (const ea_gql__namelist *n = d->names; n; n = n->next) {
        for (int i = 0; i < EA_GQL__DL_COUNT; i++) {
            if (strcmp(ea_gql__dirloc_names[i], n->name) == 0 && !(dd->locations & (1u << i))) {
                dd->locations |= 1u << i;
                dd->order[dd->norder++] = (uint8_t)i;
            }
        }
    }
    return 0;
}

static const ea_gql__def *const *collect_defs(ea_arena *a, const ea_gql__def *list1,
                                              const ea_gql__def *list2, size_t *n)
{
    size_t cnt = 0;
    for (const ea_gql__def *d = list1; d; d = d->next)
        cnt++;
    for (const ea_gql__def *d = list2; d; d = d->next)
        cnt++;
    const ea_gql__def **arr = ea_arena_alloc(a, sizeof(*arr) * (cnt + 1));
    if (arr == NULL)
        return NULL;
    cnt = 0;
    /* user definitions first so the listed type order starts with the service's types */
    for (const ea_gql__def *d = list2; d; d = d->next)
        arr[cnt++] = d;
    for (const ea_gql__def *d = list1; d; d = d->next)
        arr[cnt++] = d;
    *n = cnt;
    return arr;
}

static ea_gql_schema *build(builder *b, const ea_gql__def *prelude, const ea_gql__def *user)
{
    ea_gql_schema *s = b->s;
    size_t nd;
    const ea_gql__def *const *defs = collect_defs(s->arena, prelude, user, &nd);
    if (defs == NULL)
        return NULL;
    size_t nuser = 0;
    for (const ea_gql__def *d = user; d; d = d->next)
        nuser++;
    /* pass 1: create named types */
    for (size_t i = 0; i < nd; i++) {
        const ea_gql__def *d = defs[i];
        bool is_user = i < nuser;
        if (d->kind == EA_GQL__D_OPERATION || d->kind == EA_GQL__D_FRAGMENT) {
            berr(b, d->loc, "%s definitions are not allowed in a schema.%s",
                 d->kind == EA_GQL__D_OPERATION ? "Operation" : "Fragment", "");
            return NULL;
        }
        if (!is_typedef(d) || d->extension)
            continue;
        if (is_user && d->name[0] == '_' && d->name[1] == '_') {
            berr(b, d->name_loc,
                 "Name \"%s\" must not begin with \"__\", which is reserved by GraphQL "
                 "introspection.%s",
                 d->name, "");
            return NULL;
        }
        if (ea_gql__schema_type(s, d->name)) {
            berr(b, d->name_loc, "There can be only one type named \"%s\".%s", d->name, "");
            return NULL;
        }
        ea_gql__type *t = ea_arena_calloc(s->arena, sizeof(*t));
        if (t == NULL)
            return NULL;
        t->kind = kind_of_def(d->kind);
        t->name = d->name;
        t->desc = d->desc;
        t->self.kind = EA_GQL__TR_NAMED;
        t->self.named = t;
        t->introspection = !is_user && d->name[0] == '_' && d->name[1] == '_';
        t->hidden = !is_user && strcmp(d->name, "__Meta") == 0;
        if (t->kind == EA_GQL__K_SCALAR) {
            static const char *const names[] = {"", "Int", "Float", "String", "Boolean", "ID"};
            for (int k = 1; k <= 5; k++) {
                if (!is_user && strcmp(d->name, names[k]) == 0) {
                    t->scalar = (ea_gql__scalar_id)k;
                    t->builtin = true;
                }
            }
        }
        if (add_type(b, t) < 0)
            return NULL;
    }
    /* pass 2: fields, values, members, each with its extensions */
    const ea_gql__def **group = ea_arena_alloc(s->arena, sizeof(*group) * (nd + 1));
    if (group == NULL)
        return NULL;
    for (size_t i = 0; i < s->ntypes; i++) {
        ea_gql__type *t = s->types[i];
        size_t ng = 0;
        for (size_t k = 0; k < nd; k++) {
            if (!is_typedef(defs[k]) || strcmp(defs[k]->name, t->name) != 0)
                continue;
            if (defs[k]->extension && kind_of_def(defs[k]->kind) != t->kind) {
                berr(b, defs[k]->name_loc, "Cannot extend non-matching type \"%s\".%s", t->name,
                     "");
                return NULL;
            }
            group[ng++] = defs[k];
        }
        if (build_type(b, t, (ea_gql__def *const *)group, ng) < 0)
            return NULL;
    }
    for (size_t k = 0; k < nd; k++) {
        if (is_typedef(defs[k]) && defs[k]->extension && !ea_gql__schema_type(s, defs[k]->name)) {
            berr(b, defs[k]->name_loc, "Cannot extend type \"%s\" because it is not defined.%s",
                 defs[k]->name, "");
            return NULL;
        }
    }
    /* directives */
    size_t ndirs = 0;
    for (size_t i = 0; i < nd; i++)
        ndirs += defs[i]->kind == EA_GQL__D_DIRECTIVE;
    s->dirs = ea_arena_calloc(s->arena, sizeof(ea_gql__dirdef) * (ndirs + 1));
    if (s->dirs == NULL)
        return NULL;
    /* built-in directives are listed first, like graphql-js */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nd; i++) {
            if (defs[i]->kind == EA_GQL__D_DIRECTIVE && (i >= nuser) == (pass == 0) &&
                build_directive(b, defs[i]) < 0)
                return NULL;
        }
    }
    /* interfaces know their implementations */
    for (size_t i = 0; i < s->ntypes; i++) {
        ea_gql__type *t = s->types[i];
        for (size_t k = 0; k < t->ninterfaces; k++) {
            if (t->kind == EA_GQL__K_OBJECT && append_possible(s->arena, t->interfaces[k], t) < 0)
                return NULL;
        }
    }
    /* root operation types */
    bool have_schema_def = false;
    for (size_t i = 0; i < nd; i++) {
        if (defs[i]->kind != EA_GQL__D_SCHEMA)
            continue;
        if (!defs[i]->extension) {
            if (have_schema_def) {
                berr(b, defs[i]->loc, "Must provide only one schema definition.%s%s", "", "");
                return NULL;
            }
            have_schema_def = true;
            s->desc = defs[i]->desc;
        }
        for (const ea_gql__namelist *n = defs[i]->names; n; n = n->next) {
            ea_gql__type *t = ea_gql__schema_type(s, n->name);
            if (t == NULL || t->kind != EA_GQL__K_OBJECT) {
                berr(b, n->loc, "Root type \"%s\" must be an existing Object type.%s", n->name, "");
                return NULL;
            }
            if (n->op == EA_GQL_OP_QUERY)
                s->query = t;
            else if (n->op == EA_GQL_OP_MUTATION)
                s->mutation = t;
            else
                s->subscription = t;
        }
    }
    if (!have_schema_def) {
        ea_gql__type *q = ea_gql__schema_type(s, "Query"), *m = ea_gql__schema_type(s, "Mutation"),
                     *sub = ea_gql__schema_type(s, "Subscription");
        s->query = q && q->kind == EA_GQL__K_OBJECT ? q : NULL;
        s->mutation = m && m->kind == EA_GQL__K_OBJECT ? m : NULL;
        s->subscription = sub && sub->kind == EA_GQL__K_OBJECT ? sub : NULL;
    }
    if (s->query == NULL) {
        berr(b, (ea_gql__loc){0, 0}, "Query root type must be provided.%s%s", "", "");
        return NULL;
    }
    for (size_t i = 0; i < s->ntypes; i++) {
        ea_gql__type *t = s->types[i];
        if (check_type(b, t) < 0)
            return NULL;
        for (size_t k = 0; k < t->nfields; k++) {
            mark_ref(t->fields[k].type);
            for (size_t j = 0; j < t->fields[k].nargs; j++)
                mark_ref(t->fields[k].args[j].type);
        }
        for (size_t k = 0; k < t->ninputs; k++)
            mark_ref(t->inputs[k].type);
    }
    for (size_t i = 0; i < s->ndirs; i++) {
        for (size_t j = 0; j < s->dirs[i].nargs; j++)
            mark_ref(s->dirs[i].args[j].type);
    }
    /* meta fields live on the hidden __Meta holder */
    ea_gql__type *meta = NULL;
    for (size_t i = 0; i < s->ntypes; i++) {
        if (s->types[i]->hidden)
            meta = s->types[i];
    }
    if (meta == NULL)
        return NULL;
    s->f_schema = (ea_gql__field *)ea_gql__type_field(meta, "__schema");
    s->f_type = (ea_gql__field *)ea_gql__type_field(meta, "__type");
    s->f_typename = (ea_gql__field *)ea_gql__type_field(meta, "__typename");
    return s;
}

ea_gql_schema *ea_gql_schema_parse(const char *sdl, char *errbuf, size_t errlen)
{
    char dummy[8];
    if (errbuf == NULL || errlen == 0) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    errbuf[0] = '\0';
    ea_arena *a = ea_arena_new(64 * 1024);
    ea_gql_schema *s = a ? ea_arena_calloc(a, sizeof(*s)) : NULL;
    if (s == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        ea_arena_free(a);
        return NULL;
    }
    s->arena = a;
    ea_gql__parse_result pre, usr;
    if (ea_gql__parse(a, ea_gql__prelude_sdl, strlen(ea_gql__prelude_sdl), 0, &pre) !=
        EA_GQL__PARSE_OK) {
        snprintf(errbuf, errlen, "internal: prelude: %s", pre.err);
        goto fail;
    }
    if (sdl == NULL)
        sdl = "";
    if (ea_gql__parse(a, sdl, strlen(sdl), 0, &usr) != EA_GQL__PARSE_OK) {
        snprintf(errbuf, errlen, "%s (line %u, column %u)", usr.err, usr.err_loc.line,
                 usr.err_loc.col);
        goto fail;
    }
    builder b = {s, errbuf, errlen, false, 0};
    s->building = true;
    ea_gql_schema *built = build(&b, pre.defs, usr.defs);
    s->building = false;
    if (built == NULL) {
        if (!b.failed)
            snprintf(errbuf, errlen, "out of memory");
        goto fail;
    }
    return s;
fail:
    ea_arena_free(a);
    return NULL;
}

void ea_gql_schema_free(ea_gql_schema *s)
{
    if (s != NULL)
        ea_arena_free(s->arena);
}

int ea_gql_schema_set_resolver(ea_gql_schema *s, const char *type, const char *field,
                               ea_gql_resolver_fn fn)
{
    ea_gql__type *t = ea_gql__schema_type(s, type);
    if (t == NULL || t->introspection)
        return -1;
    ea_gql__field *f = (ea_gql__field *)ea_gql__type_field(t, field);
    if (f == NULL)
        return -1;
    f->resolver = fn;
    return 0;
}
