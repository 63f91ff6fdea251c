/*
 * ea_gql_introspect.c — the resolvers of introspection (the __ types themselves are SDL in
 * ea_gql_prelude.c, parsed into every schema, so validation and execution treat introspection
 * like any other selection). Introspection values are JSON objects that carry a pointer into the
 * (immutable) schema under a private key; each field is computed on demand from the schema model,
 * which keeps the cyclic __Type graph lazy. Output is shaped for graphql-js buildClientSchema:
 * OBJECT interfaces are [] (never null), defaultValue is a GraphQL literal, every type is listed.
 * Not for: the switch that turns introspection off (ea_gql_prepare.c enforces it).
 */
#include "ea_gql_int.h"

#include <stddef.h>
#include <string.h>

#define PTR_KEY "\x01gql"

static json_t *wrap(const void *p)
{
    if (p == NULL)
        return json_null();
    return json_pack("{s:I}", PTR_KEY, (json_int_t)(intptr_t)p);
}

static const void *unwrap(const json_t *v)
{
    json_t *x = json_object_get(v, PTR_KEY);
    return x ? (const void *)(intptr_t)json_integer_value(x) : NULL;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static bool include_deprecated(const json_t *args)
{
    return json_is_true(json_object_get(args, "includeDeprecated"));
}

static json_t *list_type(const ea_gql__type *t)
{
    return wrap(&t->self);
}

static json_t *resolve_schema(const ea_gql_schema *s, const char *f)
{
    if (strcmp(f, "description") == 0)
        return str_or_null(s->desc);
    if (strcmp(f, "types") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < s->ntypes; i++) {
            const ea_gql__type *t = s->types[i];
            if (t->hidden || (t->builtin && !t->referenced))
                continue;
            json_array_append_new(arr, list_type(t));
        }
        return arr;
    }
    if (strcmp(f, "queryType") == 0)
        return list_type(s->query);
    if (strcmp(f, "mutationType") == 0)
        return s->mutation ? list_type(s->mutation) : json_null();
    if (strcmp(f, "subscriptionType") == 0)
        return s->subscription ? list_type(s->subscription) : json_null();
    if (strcmp(f, "directives") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < s->ndirs; i++)
            json_array_append_new(arr, wrap(&s->dirs[i]));
        return arr;
    }
    return json_null();
}

/* The n structs of `stride` bytes at items (fields, input values, enum values), wrapped; those
 * whose bool member at dep_off is set (deprecated) only when incl_dep. */
static json_t *wrapped_list(const void *items, size_t n, size_t stride, size_t dep_off,
                            bool incl_dep)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *item = (const char *)items + i * stride;
        if (*(const bool *)(item + dep_off) && !incl_dep)
            continue;
        json_array_append_new(arr, wrap(item));
    }
    return arr;
}

static json_t *ivals_list(const ea_gql__ival *v, size_t n, bool incl_dep)
{
    return wrapped_list(v, n, sizeof(*v), offsetof(ea_gql__ival, deprecated), incl_dep);
}

static json_t *types_list(ea_gql__type *const *types, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, list_type(types[i]));
    return arr;
}

static json_t *resolve_type(const ea_gql_schema *s, const ea_gql__tref *r, const char *f,
                            const json_t *args)
{
    static const char *const kinds[] = {"SCALAR", "OBJECT", "INTERFACE",
                                        "UNION",  "ENUM",   "INPUT_OBJECT"};
    const ea_gql__type *t = r->kind == EA_GQL__TR_NAMED ? r->named : NULL;
    if (strcmp(f, "kind") == 0) {
        if (t == NULL)
            return json_string(r->kind == EA_GQL__TR_LIST ? "LIST" : "NON_NULL");
        return json_string(kinds[t->kind]);
    }
    if (strcmp(f, "ofType") == 0)
        return t ? json_null() : wrap(r->of);
    if (t == NULL)
        return json_null();
    if (strcmp(f, "name") == 0)
        return json_string(t->name);
    if (strcmp(f, "description") == 0)
        return str_or_null(t->desc);
    if (strcmp(f, "specifiedByURL") == 0)
        return str_or_null(t->kind == EA_GQL__K_SCALAR ? t->specified_by : NULL);
    if (strcmp(f, "fields") == 0) {
        if (t->kind != EA_GQL__K_OBJECT && t->kind != EA_GQL__K_INTERFACE)
            return json_null();
        return wrapped_list(t->fields, t->nfields, sizeof(*t->fields),
                            offsetof(ea_gql__field, deprecated), include_deprecated(args));
    }
    if (strcmp(f, "interfaces") == 0) {
        if (t->kind != EA_GQL__K_OBJECT && t->kind != EA_GQL__K_INTERFACE)
            return json_null();
        return types_list(t->interfaces, t->ninterfaces);
    }
    if (strcmp(f, "possibleTypes") == 0) {
        if (!ea_gql__type_is_abstract(t))
            return json_null();
        return types_list(t->possible, t->npossible);
    }
    if (strcmp(f, "enumValues") == 0) {
        if (t->kind != EA_GQL__K_ENUM)
            return json_null();
        return wrapped_list(t->values, t->nvalues, sizeof(*t->values),
                            offsetof(ea_gql__enumval, deprecated), include_deprecated(args));
    }
    if (strcmp(f, "inputFields") == 0) {
        if (t->kind != EA_GQL__K_INPUT)
            return json_null();
        return ivals_list(t->inputs, t->ninputs, include_deprecated(args));
    }
    (void)s;
    return json_null();
}

/* name, description, isDeprecated and deprecationReason, which __Field, __InputValue and
 * __EnumValue share; NULL when f is none of them. */
static json_t *named_field(const char *f, const char *name, const char *desc, bool dep,
                           const char *reason)
{
    if (strcmp(f, "name") == 0)
        return json_string(name);
    if (strcmp(f, "description") == 0)
        return str_or_null(desc);
    if (strcmp(f, "isDeprecated") == 0)
        return json_boolean(dep);
    if (strcmp(f, "deprecationReason") == 0)
        return str_or_null(dep ? reason : NULL);
    return NULL;
}

json_t *ea_gql__introspect_resolve(const ea_gql_schema *s, const ea_gql__type *parent,
                                   const ea_gql__field *field, const json_t *parent_val,
                                   const json_t *args, ea_arena *a)
{
    const char *f = field->name;
    if (field == s->f_schema)
        return wrap(s);
    if (field == s->f_type) {
        const char *name = json_string_value(json_object_get(args, "name"));
        const ea_gql__type *t = name ? ea_gql__schema_type(s, name) : NULL;
        return t ? list_type(t) : json_null();
    }
    const void *p = unwrap(parent_val);
    if (p == NULL)
        return json_null();
    const char *pn = parent->name;
    if (strcmp(pn, "__Schema") == 0)
        return resolve_schema(p, f);
    if (strcmp(pn, "__Type") == 0)
        return resolve_type(s, p, f, args);
    if (strcmp(pn, "__Field") == 0) {
        const ea_gql__field *x = p;
        json_t *d = named_field(f, x->name, x->desc, x->deprecated, x->dep_reason);
        if (d != NULL)
            return d;
        if (strcmp(f, "args") == 0)
            return ivals_list(x->args, x->nargs, include_deprecated(args));
        if (strcmp(f, "type") == 0)
            return wrap(x->type);
        return json_null();
    }
    if (strcmp(pn, "__InputValue") == 0) {
        const ea_gql__ival *x = p;
        json_t *d = named_field(f, x->name, x->desc, x->deprecated, x->dep_reason);
        if (d != NULL)
            return d;
        if (strcmp(f, "type") == 0)
            return wrap(x->type);
        if (strcmp(f, "defaultValue") == 0) {
            if (x->defval == NULL)
                return json_null();
            ea_buf b;
            ea_buf_init_arena(&b, a, EA_GQL__TEXT_MAX);
            if (x->defval->kind == EA_GQL__V_STRING && x->defval->block)
                ea_gql__print_string(&b, x->defval->str, x->defval->len);
            else
                ea_gql__print_value(&b, x->defval);
            return json_stringn(ea_buf_str(&b), b.len);
        }
        return json_null();
    }
    if (strcmp(pn, "__EnumValue") == 0) {
        const ea_gql__enumval *x = p;
        json_t *d = named_field(f, x->name, x->desc, x->deprecated, x->dep_reason);
        return d != NULL ? d : json_null();
    }
    if (strcmp(pn, "__Directive") == 0) {
        const ea_gql__dirdef *x = p;
        if (strcmp(f, "name") == 0 || strcmp(f, "description") == 0)
            return named_field(f, x->name, x->desc, false, NULL);
        if (strcmp(f, "isRepeatable") == 0)
            return json_boolean(x->repeatable);
        if (strcmp(f, "locations") == 0) {
            json_t *arr = json_array();
            for (size_t i = 0; i < x->norder; i++)
                json_array_append_new(arr, json_string(ea_gql__dirloc_names[x->order[i]]));
            return arr;
        }
        if (strcmp(f, "args") == 0)
            return ivals_list(x->args, x->nargs, include_deprecated(args));
        return json_null();
    }
    return json_null();
}
