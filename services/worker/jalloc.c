/*
 * jalloc.c — jansson allocation hooks: the arena of the current decode scope, else malloc.
 * See jalloc.h for the lifetime rule that makes the no-op free safe.
 */
#include "jalloc.h"

#include <jansson.h>
#include <stdlib.h>

static bool installed;
static _Thread_local ea_arena *scope; /* non-NULL between wk_jalloc_begin and _end */

static void *jmalloc(size_t n)
{
    return scope != NULL ? ea_arena_alloc(scope, n) : malloc(n);
}

static void jfree(void *p)
{
    /* in scope, every pointer jansson frees was allocated in scope (a tree decoded in scope
     * is only freed there, or dropped with the arena): nothing to do */
    if (scope == NULL)
        free(p);
}

void wk_jalloc_install(void)
{
    json_set_alloc_funcs(jmalloc, jfree);
    installed = true;
}

bool wk_jalloc_begin(ea_arena *a)
{
    if (!installed)
        return false;
    scope = a;
    return true;
}

void wk_jalloc_end(void)
{
    scope = NULL;
}
