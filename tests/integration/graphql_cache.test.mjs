// graphql_cache.test.mjs — issue 14 against the real stack (ingest → Kafka → worker → PostgreSQL
// → graphql-api, Redis change feed): the cache is by bucket (closed buckets stay cached while
// events flow into the open one, answers still equal the truth, X-Cache and extensions say
// so), a late event restating a cached closed bucket is in the next answer, the README's
// example query runs as printed, a refused query's COST_LIMIT names the fix (and the fix
// works), and nothing that waits on PostgreSQL stalls the event loop (a lock held by the test
// keeps pool threads waiting while `{ __typename }` and cached answers keep coming; a full pool
// answers 503 at once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { env, BIN, GRAPHQL, INGEST, freshTenant, ingest, graphql, waitFor, sleep, freePort } from './lib/stack.mjs';

const HOUR = 3600000;
const iso = (ms) => new Date(ms).toISOString();
const METRICS = `query M($t: String!, $n: String!, $s: DateTime!, $e: DateTime!, $g: [String!],
  $gran: Granularity, $f: JSON) {
  metrics(tenant: $t, name: $n, startTime: $s, endTime: $e, groupBy: $g, granularity: $gran, filter: $f) {
    timestamp value dimensions revision final
  }
}`;

async function series(t, vars, url) {
  const body = JSON.stringify({ query: METRICS, variables: { t: t.id, ...vars } });
  const res = await fetch(url ?? `${GRAPHQL}/graphql`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` }, body,
  });
  const text = await res.text();
  return { status: res.status, xcache: res.headers.get('x-cache'), json: JSON.parse(text), text };
}

const total = (g) => (g.json.data?.metrics ?? []).reduce((s, p) => s + p.value, g.json.data ? 0 : -1);

async function spawnApi(extra) {
  const port = await freePort();
  const proc = spawn(`${BIN}/graphql-api`, [], {
    env: { ...env, GRAPHQL_PORT: String(port), GRAPHQL_REUSEPORT: 'false', LOG_LEVEL: 'warn', ...extra },
    stdio: 'ignore',
  });
  const up = await waitFor(async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 10000);
  assert.ok(up, 'second graphql-api did not start');
  return { url: `http://127.0.0.1:${port}/graphql`, stop: async () => { proc.kill('SIGTERM'); await new Promise((r) => proc.on('exit', r)); } };
}

test('bucket cache: closed buckets stay cached while events flow into the open hour; answers equal the truth; a late event restates its bucket in the next answer', async () => {
  const t = freshTenant();
  const now = Date.now();
  const h0 = Math.floor(now / HOUR) * HOUR;
  // two days of history: 3 events in each of 12 past hours (closed once the watermark passes)
  const past = [];
  for (let i = 0; i < 12; i++) for (let k = 0; k < 3; k++) past.push({ event: 'tick', timestamp: iso(h0 - (4 + 3 * i) * HOUR + k * 60000) });
  assert.equal((await ingest(t.key, past)).status, 202);
  const vars = { n: 'tick', s: iso(h0 - 48 * HOUR), e: iso(h0 + HOUR - 1) };
  // live traffic moves the watermark; wait until the past hours are closed
  const closed = await waitFor(async () => {
    await ingest(t.key, { event: 'tick', timestamp: iso(Date.now()) });
    const g = await series(t, vars);
    const pts = g.json.data?.metrics ?? [];
    return pts.filter((p) => Date.parse(p.timestamp) < h0 - 3 * HOUR).every((p) => p.final) && pts.length >= 12;
  }, 30000, 300);
  assert.ok(closed, 'the past hours were not closed within 30 s');

  // repeated while events flow into the open hour: every answer reads no closed bucket
  let sent = 0, stop = false;
  const flow = (async () => {
    while (!stop) {
      const batch = Array.from({ length: 5 }, () => ({ event: 'tick', timestamp: iso(Date.now()) }));
      if ((await ingest(t.key, batch)).status === 202) sent += 5;
      await sleep(50);
    }
  })();
  const seen = { HIT: 0, PARTIAL: 0, MISS: 0 };
  let closedTotal = null;
  const until = Date.now() + 6000;
  while (Date.now() < until) {
    const g = await series(t, vars);
    assert.equal(g.json.errors, undefined, g.text);
    seen[g.xcache]++;
    assert.equal(g.json.extensions.cache, g.xcache);
    const c = g.json.data.metrics.filter((p) => Date.parse(p.timestamp) < h0 - 3 * HOUR).reduce((s, p) => s + p.value, 0);
    if (closedTotal === null) closedTotal = c;
    assert.equal(c, closedTotal, 'a closed bucket changed without a restatement');
    await sleep(40);
  }
  stop = true;
  await flow;
  const answers = seen.HIT + seen.PARTIAL + seen.MISS;
  console.log(`under live ingest (${sent} events): ${JSON.stringify(seen)} of ${answers} answers`);
  assert.ok(answers >= 20, `only ${answers} answers`);
  assert.ok(seen.HIT / answers >= 0.9, `hit ratio ${seen.HIT}/${answers} under live ingest`);
  assert.equal(closedTotal, 36);

  // once the worker caught up, the (cached) answer equals everything acknowledged
  const expected = await waitFor(async () => {
    const n = Number(execFileSync('psql', ['-XAtq', env.DATABASE_URL, '-c',
      `SELECT count(*) FROM raw_events WHERE tenant_id = '${t.id}'`], { encoding: 'utf8' }).trim());
    const g = await series(t, vars);
    return total(g) === n && n >= 36 + sent ? g : null;
  }, 20000, 200);
  assert.ok(expected, 'the answer never equalled the events stored');
  const again = await series(t, vars);
  assert.equal(again.xcache, 'HIT');
  const ext = again.json.extensions.metrics[0];
  assert.equal(ext.source, 'rollups');
  assert.equal(ext.bucketsFromCache, ext.buckets);

  // a late event in a cached closed hour: the next answers show it, with a higher revision
  const lateHour = h0 - 7 * HOUR;
  const before = again.json.data.metrics.find((p) => p.timestamp === iso(lateHour));
  assert.equal(before.value, 3);
  assert.equal((await ingest(t.key, { event: 'tick', timestamp: iso(lateHour + 30 * 60000) })).status, 202);
  const restated = await waitFor(async () => {
    const g = await series(t, vars);
    const p = g.json.data.metrics.find((x) => x.timestamp === iso(lateHour));
    return p.value === 4 ? { g, p } : null;
  }, 10000, 100);
  assert.ok(restated, 'the restated bucket did not show within 10 s');
  assert.ok(restated.p.revision >= 1, `revision ${restated.p.revision}`);
  // ... and only that bucket was read again: the others stayed cached
  const after = await series(t, vars);
  assert.equal(after.xcache, 'HIT');
  assert.equal(after.json.data.metrics.find((x) => x.timestamp === iso(lateHour)).value, 4);
});

test("the README's example query runs as printed (with the demo key)", async () => {
  // the curl line of README.md "Try it", on this stack's ports
  const readme = readFileSync('README.md', 'utf8');
  const line = readme.split('\n').find((l) => l.includes('metrics(tenant: \\"acme-corp\\"'));
  assert.ok(line, 'the README has no metrics example');
  const body = line.match(/-d '([^']+)'/)[1];
  assert.ok(env.DEMO_KEY, 'the test stack exports DEMO_KEY');
  // a month of page views over 200 pages, hourly: the example's range reaches 2030
  const h0 = Math.floor(Date.now() / HOUR) * HOUR;
  const events = [];
  for (let p = 0; p < 200; p++) events.push({ event: 'page_view', page: `/p${p}`, timestamp: iso(h0 - (2 + (p % 24)) * HOUR) });
  const res = await fetch(`${INGEST}/ingest`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${env.DEMO_KEY}` }, body: JSON.stringify(events) });
  assert.equal(res.status, 202, await res.text());
  const run = async () => {
    const r = await fetch(`${GRAPHQL}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${env.DEMO_KEY}` }, body });
    return { status: r.status, json: await r.json() };
  };
  const got = await waitFor(async () => {
    const r = await run();
    return r.json.data?.metrics?.length >= 200 ? r : null;
  }, 20000, 300);
  assert.ok(got, 'the example did not return the 200 pages');
  assert.equal(got.status, 200);
  assert.equal(got.json.errors, undefined, JSON.stringify(got.json.errors));
  assert.ok(got.json.data.metrics.every((p) => typeof p.dimensions.page === 'string'));
});

test('cost: a refused query says what to change (extensions.suggestion, retryWith), and the change runs', async () => {
  const api = await spawnApi({ GRAPHQL_MAX_ROWS: '1', GRAPHQL_MAX_RAW_ROWS: '1', CACHE_TTL_HOUR_S: '0', CACHE_TTL_DAY_S: '0' });
  try {
    const t = freshTenant();
    const h0 = Math.floor(Date.now() / HOUR) * HOUR;
    const evs = [];
    for (let i = 0; i < 40; i++) evs.push({ event: 'buy', plan: ['free', 'pro'][i % 2], timestamp: iso(h0 - (2 + i) * HOUR) });
    assert.equal((await ingest(t.key, evs)).status, 202);
    assert.ok(await waitFor(async () => total(await series(t, { n: 'buy', s: iso(h0 - 60 * HOUR), e: iso(h0) })) === 40, 20000));
    for (const g of [undefined, ['plan']]) { // rollups, then raw events (plan is no dimension)
      const vars = { n: 'buy', s: iso(h0 - 20 * 24 * HOUR), e: iso(h0), g };
      const r = await series(t, vars, api.url);
      assert.equal(r.status, 200);
      const e = r.json.errors?.[0];
      assert.ok(e, `not refused: ${r.text}`);
      assert.equal(e.extensions.code, 'COST_LIMIT', r.text);
      assert.equal(e.extensions.source, g ? 'raw_events' : 'rollups');
      assert.ok(e.extensions.rows > e.extensions.maxRows);
      assert.equal(typeof e.extensions.suggestion, 'string');
      assert.ok(e.message.includes(e.extensions.suggestion), e.message);
      const retry = e.extensions.retryWith;
      if (retry.granularity) assert.deepEqual(retry, { granularity: 'DAY' }); // rollups only
      else assert.ok(Date.parse(retry.startTime) > Date.parse(vars.s), JSON.stringify(retry));
      if (g) assert.ok(retry.startTime, 'raw events: DAY reads the same events');
      // the dashboard offers retryWith: sending it is not refused
      const again = await series(t, { ...vars, ...(retry.granularity ? { gran: retry.granularity } : { s: retry.startTime }) }, api.url);
      assert.equal(again.json.errors, undefined, again.text);
    }
    // the operation-level cost: very many fields
    const fields = Array.from({ length: 15 }, (_, i) => `a${i}: metrics(tenant: "${t.id}", name: "buy", startTime: "${iso(h0 - 89 * 24 * HOUR)}", endTime: "${iso(h0)}") { value }`).join(' ');
    const many = await graphql(t.key, `{ ${fields} }`);
    assert.equal(many.json.errors[0].extensions.code, 'COST_LIMIT', many.text);
    assert.ok(many.json.errors[0].extensions.cost > many.json.errors[0].extensions.maxCost);
    // the main process (default limits): a month hourly by page runs
    const ok = await series(t, { n: 'buy', s: iso(h0 - 20 * 24 * HOUR), e: iso(h0 + 365 * 24 * HOUR), g: ['plan'] });
    assert.equal(ok.json.errors, undefined, ok.text);
  } finally {
    await api.stop();
  }
});

test('nothing that waits runs on the loop: a lock held on PostgreSQL stalls neither { __typename } nor cached answers; a full pool answers 503 at once', async () => {
  // one client may take both threads here (GRAPHQL_WORKERS_PER_*: graphql_pool_share tests the shares)
  const api = await spawnApi({ GRAPHQL_WORKERS: '2', GRAPHQL_QUEUE_MAX: '2', GRAPHQL_WORKERS_PER_CLIENT: '2', GRAPHQL_WORKERS_PER_TENANT: '2' });
  let locker = null;
  const blocked = [];
  try {
    const cached = freshTenant();
    const h0 = Math.floor(Date.now() / HOUR) * HOUR;
    assert.equal((await ingest(cached.key, { event: 'warm', timestamp: iso(h0 - 2 * HOUR) })).status, 202);
    const cvars = { n: 'warm', s: iso(h0 - 5 * HOUR), e: iso(h0 - HOUR - 1) };
    // cached and closed (the closer's notice of a bucket becoming final drops it once more)
    assert.ok(await waitFor(async () => {
      const g = await series(cached, cvars, api.url);
      return total(g) === 1 && g.xcache === 'HIT' && g.json.data.metrics.every((p) => p.final);
    }, 20000), 'the warm series was not cached and final within 20 s');
    const t = freshTenant();
    assert.equal((await ingest(t.key, { event: 'slow', timestamp: iso(h0 - 2 * HOUR) })).status, 202);
    assert.ok(await waitFor(async () => total(await series(t, { n: 'slow', s: iso(h0 - 3 * HOUR), e: iso(h0) })) === 1, 20000));
    // t's key verified by this process before the lock (bcrypt takes its time on a busy machine)
    assert.equal((await series(t, { n: 'slow', s: iso(h0 - 3 * HOUR), e: iso(h0) }, api.url)).status, 200);
    // the test holds an ACCESS EXCLUSIVE lock on metric_definitions: every metrics miss waits
    locker = spawn('psql', ['-XAtq', env.DATABASE_URL], { stdio: ['pipe', 'pipe', 'inherit'] });
    locker.stdin.write("BEGIN; LOCK TABLE metric_definitions IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n");
    await new Promise((r) => locker.stdout.once('data', r));
    // two threads busy, then two waiting in the queue: the pool is full (sent in two steps, so
    // the threads have taken the first two off the queue)
    for (let i = 0; i < 4; i++) {
      blocked.push(series(t, { n: 'slow', s: iso(h0 - (10 + i) * HOUR), e: iso(h0) }, api.url));
      blocked[i].catch(() => {});
      if (i === 1) await sleep(500);
    }
    await sleep(500);
    const t0 = Date.now();
    const tn = await fetch(api.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${cached.key}` }, body: JSON.stringify({ query: '{ __typename }' }) });
    assert.deepEqual((await tn.json()).data, { __typename: 'Query' });
    const c = await series(cached, cvars, api.url);
    assert.equal(c.xcache, 'HIT');
    assert.equal(total(c), 1);
    const fast = Date.now() - t0;
    assert.ok(fast < 1000, `__typename and a cached answer took ${fast} ms while PostgreSQL was locked`);
    // one more miss: refused at once, not queued
    const t1 = Date.now();
    const busy = await series(t, { n: 'slow', s: iso(h0 - 20 * HOUR), e: iso(h0) }, api.url);
    assert.equal(busy.status, 503, busy.text);
    assert.equal(busy.json.errors[0].extensions.code, 'SERVICE_UNAVAILABLE');
    assert.ok(Date.now() - t1 < 1000);
    let done = false;
    await Promise.race([Promise.allSettled(blocked).then(() => { done = true; }), sleep(300)]);
    assert.ok(!done, 'the blocked queries finished while the lock was held');
    // the lock released: the waiting queries answer, correctly
    locker.stdin.end('ROLLBACK;\n');
    await new Promise((r) => locker.on('exit', r));
    locker = null;
    for (const g of await Promise.all(blocked)) {
      assert.equal(g.json.errors, undefined, g.text);
      assert.equal(total(g), 1);
    }
  } finally {
    if (locker !== null) {
      locker.stdin.end('ROLLBACK;\n');
      await new Promise((r) => locker.on('exit', r));
    }
    await Promise.allSettled(blocked);
    await api.stop();
  }
});
