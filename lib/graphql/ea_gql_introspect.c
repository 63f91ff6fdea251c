/*
 * ea_gql_introspect.c — the built-in part of every schema and the resolvers of introspection.
 * The prelude below is SDL parsed into each schema before the service's own: built-in scalars,
 * directives and the __ types, so validation and execution treat introspection like any other
 * selection. Introspection values are JSON objects that carry a pointer into the (immutable)
 * schema under a private key; each field is computed on demand from the schema model, which keeps
 * the cyclic __Type graph lazy. Output is shaped for graphql-js buildClientSchema: OBJECT
 * interfaces are [] (never null), defaultValue is a GraphQL literal, every type is listed.
 * Not for: the switch that turns introspection off (ea_gql_prepare.c enforces it).
 */
#include "ea_gql_int.h"

#include <string.h>

const char ea_gql__prelude_sdl[] =
    "\"The `Int` scalar type represents non-fractional signed whole numeric values. Int can "
    "represent values between -(2^31) and 2^31 - 1.\"\n"
    "scalar Int\n"
    "\"The `Float` scalar type represents signed double-precision fractional values as specified "
    "by [IEEE 754](https://en.wikipedia.org/wiki/IEEE_floating_point).\"\n"
    "scalar Float\n"
    "\"The `String` scalar type represents textual data, represented as UTF-8 character "
    "sequences. The String type is most often used by GraphQL to represent free-form "
    "human-readable text.\"\n"
    "scalar String\n"
    "\"The `Boolean` scalar type represents `true` or `false`.\"\n"
    "scalar Boolean\n"
    "\"The `ID` scalar type represents a unique identifier, often used to refetch an object or as "
    "key for a cache. The ID type appears in a JSON response as a String; however, it is not "
    "intended to be human-readable. When expected as an input type, any string (such as "
    "`\\\"4\\\"`) or integer (such as `4`) input value will be accepted as an ID.\"\n"
    "scalar ID\n"
    "\"Directs the executor to include this field or fragment only when the `if` argument is "
    "true.\"\n"
    "directive @include(\"Included when true.\" if: Boolean!) on FIELD | FRAGMENT_SPREAD | "
    "INLINE_FRAGMENT\n"
    "\"Directs the executor to skip this field or fragment when the `if` argument is true.\"\n"
    "directive @skip(\"Skipped when true.\" if: Boolean!) on FIELD | FRAGMENT_SPREAD | "
    "INLINE_FRAGMENT\n"
    "\"Marks an element of a GraphQL schema as no longer supported.\"\n"
    "directive @deprecated(\"Explains why this element was deprecated, usually also including a "
    "suggestion for how to access supported similar data. Formatted using the Markdown syntax, "
    "as specified by [CommonMark](https://commonmark.org/).\" reason: String = \"No longer "
    "supported\") on FIELD_DEFINITION | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION | "
    "ENUM_VALUE\n"
    "\"Exposes a URL that specifies the behavior of this scalar.\"\n"
    "directive @specifiedBy(\"The URL that specifies the behavior of this scalar.\" url: "
    "String!) on SCALAR\n"
    "\"A GraphQL Schema defines the capabilities of a GraphQL server. It exposes all available "
    "types and directives on the server, as well as the entry points for query, mutation, and "
    "subscription operations.\"\n"
    "type __Schema {\n"
    "  description: String\n"
    "  \"A list of all types supported by this server.\"\n"
    "  types: [__Type!]!\n"
    "  \"The type that query operations will be rooted at.\"\n"
    "  queryType: __Type!\n"
    "  \"If this server supports mutation, the type that mutation operations will be rooted "
    "at.\"\n"
    "  mutationType: __Type\n"
    "  \"If this server support subscription, the type that subscription operations will be "
    "rooted at.\"\n"
    "  subscriptionType: __Type\n"
    "  \"A list of all directives supported by this server.\"\n"
    "  directives: [__Directive!]!\n"
    "}\n"
    "\"The fundamental unit of any GraphQL Schema is the type. There are many kinds of types in "
    "GraphQL as represented by the `__TypeKind` enum.\"\n"
    "type __Type {\n"
    "  kind: __TypeKind!\n"
    "  name: String\n"
    "  description: String\n"
    "  specifiedByURL: String\n"
    "  fields(includeDeprecated: Boolean = false): [__Field!]\n"
    "  interfaces: [__Type!]\n"
    "  possibleTypes: [__Type!]\n"
    "  enumValues(includeDeprecated: Boolean = false): [__EnumValue!]\n"
    "  inputFields(includeDeprecated: Boolean = false): [__InputValue!]\n"
    "  ofType: __Type\n"
    "}\n"
    "\"An enum describing what kind of type a given `__Type` is.\"\n"
    "enum __TypeKind {\n"
    "  \"Indicates this type is a scalar.\" SCALAR\n"
    "  \"Indicates this type is an object. `fields` and `interfaces` are valid fields.\" OBJECT\n"
    "  \"Indicates this type is an interface. `fields`, `interfaces`, and `possibleTypes` are "
    "valid fields.\" INTERFACE\n"
    "  \"Indicates this type is a union. `possibleTypes` is a valid field.\" UNION\n"
    "  \"Indicates this type is an enum. `enumValues` is a valid field.\" ENUM\n"
    "  \"Indicates this type is an input object. `inputFields` is a valid field.\" INPUT_OBJECT\n"
    "  \"Indicates this type is a list. `ofType` is a valid field.\" LIST\n"
    "  \"Indicates this type is a non-null. `ofType` is a valid field.\" NON_NULL\n"
    "}\n"
    "\"Object and Interface types are described by a list of Fields, each of which has a name, "
    "potentially a list of arguments, and a return type.\"\n"
    "type __Field {\n"
    "  name: String!\n"
    "  description: String\n"
    "  args(includeDeprecated: Boolean = false): [__InputValue!]!\n"
    "  type: __Type!\n"
    "  isDeprecated: Boolean!\n"
    "  deprecationReason: String\n"
    "}\n"
    "\"Arguments provided to Fields or Directives and the input fields of an InputObject are "
    "represented as Input Values which describe their type and optionally a default value.\"\n"
    "type __InputValue {\n"
    "  name: String!\n"
    "  description: String\n"
    "  type: __Type!\n"
    "  \"A GraphQL-formatted string representing the default value for this input value.\"\n"
    "  defaultValue: String\n"
    "  isDeprecated: Boolean!\n"
    "  deprecationReason: String\n"
    "}\n"
    "\"One possible value for a given Enum. Enum values are unique values, not a placeholder for "
    "a string or numeric value. However an Enum value is returned in a JSON response as a "
    "string.\"\n"
    "type __EnumValue {\n"
    "  name: String!\n"
    "  description: String\n"
    "  isDeprecated: Boolean!\n"
    "  deprecationReason: String\n"
    "}\n"
    "\"A Directive provides a way to describe alternate runtime execution and type validation "
    "behavior in a GraphQL document.\"\n"
    "type __Directive {\n"
    "  name: String!\n"
    "  description: String\n"
    "  isRepeatable: Boolean!\n"
    "  locations: [__DirectiveLocation!]!\n"
    "  args(includeDeprecated: Boolean = false): [__InputValue!]!\n"
    "}\n"
    "\"A Directive can be adjacent to many parts of the GraphQL language, a "
    "__DirectiveLocation describes one such possible adjacencies.\"\n"
    "enum __DirectiveLocation {\n"
    "  QUERY MUTATION SUBSCRIPTION FIELD FRAGMENT_DEFINITION FRAGMENT_SPREAD INLINE_FRAGMENT\n"
    "  VARIABLE_DEFINITION SCHEMA SCALAR OBJECT FIELD_DEFINITION ARGUMENT_DEFINITION INTERFACE\n"
    "  UNION ENUM ENUM_VALUE INPUT_OBJECT INPUT_FIELD_DEFINITION\n"
    "}\n"
    "type __Meta {\n"
    "  __schema: __Schema!\n"
    "  __type(name: String!): __Type\n"
    "  __typename: String!\n"
    "}\n";

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

static json_t *ivals_list(const ea_gql__ival *v, size_t n, bool incl_dep)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (v[i].deprecated && !incl_dep)
            continue;
        json_array_append_new(arr, wrap(&v[i]));
    }
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
        json_t *arr = json_array();
        bool dep = include_deprecated(args);
        for (size_t i = 0; i < t->nfields; i++) {
            if (t->fields[i].deprecated && !dep)
                continue;
            json_array_append_new(arr, wrap(&t->fields[i]));
        }
        return arr;
    }
    if (strcmp(f, "interfaces") == 0) {
        if (t->kind != EA_GQL__K_OBJECT && t->kind != EA_GQL__K_INTERFACE)
            return json_null();
        json_t *arr = json_array();
        for (size_t i = 0; i < t->ninterfaces; i++)
            json_array_append_new(arr, list_type(t->interfaces[i]));
        return arr;
    }
    if (strcmp(f, "possibleTypes") == 0) {
        if (!ea_gql__type_is_abstract(t))
            return json_null();
        json_t *arr = json_array();
        for (size_t i = 0; i < t->npossible; i++)
            json_array_append_new(arr, list_type(t->possible[i]));
        return arr;
    }
    if (strcmp(f, "enumValues") == 0) {
        if (t->kind != EA_GQL__K_ENUM)
            return json_null();
        json_t *arr = json_array();
        bool dep = include_deprecated(args);
        for (size_t i = 0; i < t->nvalues; i++) {
            if (t->values[i].deprecated && !dep)
                continue;
            json_array_append_new(arr, wrap(&t->values[i]));
        }
        return arr;
    }
    if (strcmp(f, "inputFields") == 0) {
        if (t->kind != EA_GQL__K_INPUT)
            return json_null();
        return ivals_list(t->inputs, t->ninputs, include_deprecated(args));
    }
    (void)s;
    return json_null();
}

static json_t *dep_field(const char *f, bool dep, const char *reason, bool *handled)
{
    *handled = true;
    if (strcmp(f, "isDeprecated") == 0)
        return json_boolean(dep);
    if (strcmp(f, "deprecationReason") == 0)
        return str_or_null(dep ? reason : NULL);
    *handled = false;
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
    bool handled;
    if (strcmp(pn, "__Schema") == 0)
        return resolve_schema(p, f);
    if (strcmp(pn, "__Type") == 0)
        return resolve_type(s, p, f, args);
    if (strcmp(pn, "__Field") == 0) {
        const ea_gql__field *x = p;
        json_t *d = dep_field(f, x->deprecated, x->dep_reason, &handled);
        if (handled)
            return d;
        if (strcmp(f, "name") == 0)
            return json_string(x->name);
        if (strcmp(f, "description") == 0)
            return str_or_null(x->desc);
        if (strcmp(f, "args") == 0)
            return ivals_list(x->args, x->nargs, include_deprecated(args));
        if (strcmp(f, "type") == 0)
            return wrap(x->type);
        return json_null();
    }
    if (strcmp(pn, "__InputValue") == 0) {
        const ea_gql__ival *x = p;
        json_t *d = dep_field(f, x->deprecated, x->dep_reason, &handled);
        if (handled)
            return d;
        if (strcmp(f, "name") == 0)
            return json_string(x->name);
        if (strcmp(f, "description") == 0)
            return str_or_null(x->desc);
        if (strcmp(f, "type") == 0)
            return wrap(x->type);
        if (strcmp(f, "defaultValue") == 0) {
            if (x->defval == NULL)
                return json_null();
            ea_gql__sb b;
            ea_gql__sb_init(&b, a);
            if (x->defval->kind == EA_GQL__V_STRING && x->defval->block)
                ea_gql__print_string(&b, x->defval->str, x->defval->len);
            else
                ea_gql__print_value(&b, x->defval);
            return json_stringn(ea_gql__sb_str(&b), b.len);
        }
        return json_null();
    }
    if (strcmp(pn, "__EnumValue") == 0) {
        const ea_gql__enumval *x = p;
        json_t *d = dep_field(f, x->deprecated, x->dep_reason, &handled);
        if (handled)
            return d;
        if (strcmp(f, "name") == 0)
            return json_string(x->name);
        if (strcmp(f, "description") == 0)
            return str_or_null(x->desc);
        return json_null();
    }
    if (strcmp(pn, "__Directive") == 0) {
        const ea_gql__dirdef *x = p;
        if (strcmp(f, "name") == 0)
            return json_string(x->name);
        if (strcmp(f, "description") == 0)
            return str_or_null(x->desc);
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
