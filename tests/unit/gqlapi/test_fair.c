/*
 * test_fair.c — graphql-api's per-client share of the worker pool (fair.c), without a pool: a
 * fake start() that records what was submitted and can refuse. What is checked: a client and a
 * tenant never have more than their share on the pool, the rest wait in order and start as places
 * free, a tenant's waiting clients take turns, a full line is refused, a cancelled job never
 * starts, a refused start answers through refused(), and clients and tenants that went idle are
 * forgotten (ASan/LeakSanitizer in the asan phase: the case that freed a tenant while its client
 * was still in use is test_done_frees_in_order).
 */
#include "../ea_test.h"
#include "fair.h"

#include <stdlib.h>
#include <string.h>

typedef struct job {
    gql_fair_ticket t; /* first */
    int id;
    bool started, refused;
} job;

static int order[64], norder;
static bool pool_full;

static ea_rc start(gql_fair_ticket *t)
{
    job *j = (job *)t;
    if (pool_full)
        return EA_ERR_LIMIT;
    j->started = true;
    order[norder++] = j->id;
    return EA_OK;
}

static void refused(gql_fair_ticket *t)
{
    ((job *)t)->refused = true;
}

static gql_fair_owner owner(const char *key, const char *tenant)
{
    gql_fair_owner o;
    snprintf(o.client, sizeof(o.client), "c:%s", key);
    snprintf(o.group, sizeof(o.group), "g:%s", tenant);
    return o;
}

static void init(job *js, size_t n)
{
    memset(js, 0, n * sizeof(*js));
    for (size_t i = 0; i < n; i++) {
        js[i].id = (int)i;
        js[i].t.start = start;
        js[i].t.refused = refused;
    }
    norder = 0;
    pool_full = false;
}

/* 4 workers: 1 per key, 2 per tenant */
static void test_shares(void)
{
    job js[8];
    init(js, 8);
    gql_fair *f = gql_fair_new(0, 0, 4, 3);
    gql_fair_owner a1 = owner("a1", "A"), a2 = owner("a2", "A"), a3 = owner("a3", "A");
    gql_fair_owner v = owner("v", "V");
    EA_CHECK(gql_fair_submit(f, &js[0].t, &a1) == EA_OK && js[0].started);
    EA_CHECK(gql_fair_submit(f, &js[1].t, &a1) == EA_OK && !js[1].started); /* a1's share: 1 */
    EA_CHECK(gql_fair_submit(f, &js[2].t, &a1) == EA_OK && !js[2].started);
    EA_CHECK(gql_fair_submit(f, &js[4].t, &a2) == EA_OK && js[4].started);
    EA_CHECK(gql_fair_submit(f, &js[5].t, &a3) == EA_OK && !js[5].started); /* A's share: 2 */
    EA_CHECK(gql_fair_submit(f, &js[6].t, &v) == EA_OK && js[6].started);   /* V has its own */
    EA_CHECK(gql_fair_submit(f, &js[3].t, &v) == EA_ERR_LIMIT); /* 3 wait: every line is full */
    EA_CHECK(gql_fair_waiting(f) == 3);
    /* a1's job ends: A's place goes to the next client in turn (a1 waited first, then a3) */
    gql_fair_done(f, &js[0].t);
    EA_CHECK(js[1].started && !js[5].started);
    gql_fair_done(f, &js[4].t); /* a2 ends: a3's turn (a1 is at its share) */
    EA_CHECK(js[5].started && !js[2].started);
    gql_fair_done(f, &js[1].t);
    EA_CHECK(js[2].started);
    EA_CHECK(gql_fair_waiting(f) == 0);
    gql_fair_done(f, &js[2].t);
    gql_fair_done(f, &js[5].t);
    gql_fair_done(f, &js[6].t);
    gql_fair_done(f, &js[6].t); /* twice: ignored */
    EA_CHECK(norder == 6);
    gql_fair_free(f);
}

static void test_cancel_and_refuse(void)
{
    job js[5];
    init(js, 5);
    gql_fair *f = gql_fair_new(1, 1, 4, 8);
    gql_fair_owner a = owner("a", "A");
    EA_CHECK(gql_fair_submit(f, &js[0].t, &a) == EA_OK && js[0].started);
    EA_CHECK(gql_fair_submit(f, &js[1].t, &a) == EA_OK);
    EA_CHECK(gql_fair_submit(f, &js[2].t, &a) == EA_OK);
    EA_CHECK(gql_fair_submit(f, &js[3].t, &a) == EA_OK);
    EA_CHECK(gql_fair_cancel(f, &js[2].t));  /* the client left while waiting */
    EA_CHECK(!gql_fair_cancel(f, &js[2].t)); /* not waiting any more */
    EA_CHECK(!gql_fair_cancel(f, &js[0].t)); /* on the pool: its done() comes */
    pool_full = true;                        /* the pool refuses the next one: refused() */
    gql_fair_done(f, &js[0].t);
    EA_CHECK(js[1].refused && js[3].refused && !js[2].started && !js[2].refused);
    EA_CHECK(gql_fair_waiting(f) == 0);
    /* refused at submit: the caller answers, nothing kept */
    EA_CHECK(gql_fair_submit(f, &js[4].t, &a) == EA_ERR_LIMIT && !js[4].refused);
    pool_full = false;
    EA_CHECK(gql_fair_submit(f, &js[4].t, &a) == EA_OK && js[4].started);
    gql_fair_done(f, &js[4].t);
    gql_fair_free(f);
}

/* the last job of a tenant ends while another of its clients waits and is refused: the tenant
 * and both clients are forgotten, in an order that touches nothing freed */
static void test_done_frees_in_order(void)
{
    job js[3];
    init(js, 3);
    gql_fair *f = gql_fair_new(1, 1, 4, 8);
    gql_fair_owner a = owner("a", "A"), b = owner("b", "A");
    EA_CHECK(gql_fair_submit(f, &js[0].t, &a) == EA_OK && js[0].started);
    EA_CHECK(gql_fair_submit(f, &js[1].t, &b) == EA_OK && !js[1].started);
    pool_full = true;
    gql_fair_done(f, &js[0].t);
    EA_CHECK(js[1].refused);
    pool_full = false;
    EA_CHECK(gql_fair_submit(f, &js[2].t, &b) == EA_OK && js[2].started);
    gql_fair_done(f, &js[2].t);
    EA_CHECK(gql_fair_waiting(f) == 0);
    gql_fair_free(f);
}

/* shutting down: waiting jobs are refused; the pool's last done()s pass NULL */
static void test_free_refuses_waiting(void)
{
    job js[2];
    init(js, 2);
    gql_fair *f = gql_fair_new(1, 1, 1, 8);
    gql_fair_owner a = owner("a", "A");
    EA_CHECK(gql_fair_submit(f, &js[0].t, &a) == EA_OK && js[0].started);
    EA_CHECK(gql_fair_submit(f, &js[1].t, &a) == EA_OK && !js[1].started);
    gql_fair_free(f);
    EA_CHECK(js[1].refused);
    gql_fair_done(NULL, &js[0].t);
    EA_CHECK(!gql_fair_cancel(NULL, &js[1].t));
}

EA_TEST_MAIN(EA_TEST(test_shares), EA_TEST(test_cancel_and_refuse),
             EA_TEST(test_done_frees_in_order), EA_TEST(test_free_refuses_waiting))
