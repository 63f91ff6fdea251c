// graphql_pool_share.test.mjs — one client cannot take graphql-api's worker pool from the others
// (services/graphql-api/fair.c; red-team pass: four slow raw breakdowns of one key, well inside its
// rate limit, held all four threads for the 30 s statement timeout and another tenant's live
// chart took 55 s). A lock the test holds on metric_definitions makes every metrics miss wait, as
// a slow statement would: an attacker with two keys of its own tenant and a read key of the
// victim's tenant floods misses; the victim (another key of that tenant) still gets a query that
// needs the pool answered at once, the attacker's operations wait in their own lines and all
// answer once the lock is gone, and one that gives up while waiting is dropped cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { env, BIN, admin, freshTenant, ingest, graphql, waitFor, sleep, freePort } from './lib/stack.mjs';

const HOUR = 3600000;
const iso = (ms) => new Date(ms).toISOString();

function newKey(tenant, scopes) {
  const out = admin('key', 'create', '--tenant', tenant, '--scopes', scopes).trim().split('\n');
  return out[out.length - 1].trim();
}

async function post(url, key, query, signal) {
  const res = await fetch(url, {
    method: 'POST', signal,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query }),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

test('a client waits for its own share of the worker pool: a flood of slow misses from two tenants leaves the victim a thread; every waiting operation answers later', async () => {
  const port = await freePort();
  // the defaults of 4 threads: 1 per key, 2 per tenant
  const proc = spawn(`${BIN}/graphql-api`, [], {
    env: { ...env, GRAPHQL_PORT: String(port), GRAPHQL_REUSEPORT: 'false', GRAPHQL_WORKERS: '4', GRAPHQL_QUEUE_MAX: '64', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}/graphql`;
  let locker = null;
  const flood = [];
  try {
    assert.ok(await waitFor(async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 10000));
    const evil = freshTenant();
    const victim = freshTenant();
    const evil2 = newKey(evil.id, 'read');
    const stolen = newKey(victim.id, 'read'); // the attacker's read key of the victim's tenant
    const h0 = Math.floor(Date.now() / HOUR) * HOUR;
    for (const t of [evil, victim]) assert.equal((await ingest(t.key, { event: 'hit', timestamp: iso(h0 - 2 * HOUR) })).status, 202);
    const metricsOf = (t, i) => `{ metrics(tenant: "${t}", name: "hit", startTime: "${iso(h0 - (10 + i) * HOUR)}", endTime: "${iso(h0)}") { value } }`;
    const dashboards = `{ dashboards(tenant: "${victim.id}") { name } }`;
    // every key verified by this process before the lock (bcrypt is slow on a busy machine)
    for (const [k, t] of [[evil.key, evil.id], [evil2, evil.id], [stolen, victim.id]]) {
      assert.ok(await waitFor(async () => (await post(url, k, metricsOf(t, 0))).json.data?.metrics?.length === 1, 20000), 'the event was not counted');
    }
    assert.equal((await post(url, victim.key, dashboards)).json.errors, undefined);
    // the lock: every metrics miss now waits on PostgreSQL, like a 30 s raw-event scan
    locker = spawn('psql', ['-XAtq', env.DATABASE_URL], { stdio: ['pipe', 'pipe', 'inherit'] });
    locker.stdin.write("BEGIN; LOCK TABLE metric_definitions IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n");
    await new Promise((r) => locker.stdout.once('data', r));
    const gaveUp = new AbortController();
    let i = 1;
    for (const [k, t] of [[evil.key, evil.id], [evil2, evil.id], [stolen, victim.id]]) {
      for (let n = 0; n < 4; n++) {
        const p = post(url, k, metricsOf(t, i++), k === evil.key && n === 3 ? gaveUp.signal : undefined);
        p.catch(() => {});
        flood.push({ p, gives_up: k === evil.key && n === 3 });
      }
    }
    await sleep(500);
    gaveUp.abort(); // a client that leaves while its operation waits for its turn
    await sleep(200);
    // the victim: a query that needs a pool thread, answered while the flood waits on the lock
    const t0 = Date.now();
    const v = await post(url, victim.key, dashboards, AbortSignal.timeout(5000)).catch((e) => ({ error: e }));
    const took = Date.now() - t0;
    assert.equal(v.error, undefined, `the victim's query did not answer within 5 s while one attacker flooded the pool (${v.error})`);
    assert.equal(v.json.errors, undefined, v.text);
    assert.ok(took < 2000, `the victim's query took ${took} ms`);
    let done = false;
    await Promise.race([Promise.allSettled(flood.map((f) => f.p)).then(() => { done = true; }), sleep(300)]);
    assert.ok(!done, 'the flood finished while the lock was held');
    // the lock released: every operation that waited (in the pool or in its line) answers
    locker.stdin.end('ROLLBACK;\n');
    await new Promise((r) => locker.on('exit', r));
    locker = null;
    for (const f of flood) {
      if (f.gives_up) continue;
      const g = await f.p;
      assert.equal(g.status, 200, g.text);
      assert.equal(g.json.errors, undefined, g.text);
      assert.equal(g.json.data.metrics.length, 1);
    }
    assert.ok((await fetch(`http://127.0.0.1:${port}/healthz`)).ok);
  } finally {
    if (locker !== null) {
      locker.stdin.end('ROLLBACK;\n');
      await new Promise((r) => locker.on('exit', r));
    }
    await Promise.allSettled(flood.map((f) => f.p));
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
});
