// graphql_breakdown.test.mjs — breakdowns by any property (issue 14) against the real stack: a
// groupBy/filter key that is not a declared dimension is answered from raw events, and its
// numbers equal the truth computed here from the events sent, and equal what the rollups answer
// for the same values under a declared dimension (the SQL form of lib/rollup's rules, migration
// 0015, agrees with the C the worker runs: canonical dimension values — 1.0 is 1, missing is
// null —, which property values are numbers, the unique hash), in UTC hours and in a zone's
// days; the groups of a bucket past GRAPHQL_RAW_GROUP_CAP fold into "__other__" with totals kept;
// the answer says which source served it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { env, BIN, GRAPHQL, freshTenant, ingest, graphql, waitFor, freePort } from './lib/stack.mjs';

const HOUR = 3600000;
const iso = (ms) => new Date(ms).toISOString();
const METRICS = `query M($t: String!, $n: String!, $s: DateTime!, $e: DateTime!, $g: [String!],
  $gran: Granularity, $tz: String, $f: JSON) {
  metrics(tenant: $t, name: $n, startTime: $s, endTime: $e, groupBy: $g, granularity: $gran,
          timezone: $tz, filter: $f) { timestamp value dimensions }
}`;
const DEFINE = `mutation D($t: String!, $in: MetricInput!) { defineMetric(tenant: $t, input: $in) { name } }`;

async function series(t, vars, url = `${GRAPHQL}/graphql`) {
  const res = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
    body: JSON.stringify({ query: METRICS, variables: { t: t.id, ...vars } }),
  });
  const json = await res.json();
  assert.equal(json.errors, undefined, JSON.stringify(json.errors));
  return json;
}

// the answer's total, -1 while it is an error (a metric before its first event is NOT_FOUND)
async function sum(t, vars) {
  try {
    return (await series(t, vars)).data.metrics.reduce((s, p) => s + p.value, 0);
  } catch {
    return -1;
  }
}

// {"<timestamp>|<value of key>": value} of an answer, the group's value under `key`
function table(json, key) {
  const out = {};
  for (const p of json.data.metrics) out[`${p.timestamp}|${JSON.stringify(p.dimensions[key] ?? null)}`] = p.value;
  return out;
}

function close(a, b) {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

test('a property that is not a dimension is answered from raw events, equal to the truth and to the rollups of a declared dimension', async () => {
  const t = freshTenant();
  for (const [name, agg, prop] of [['orders', 'count'], ['revenue', 'sum', 'amount'], ['avg_amount', 'avg', 'amount'],
    ['min_amount', 'min', 'amount'], ['max_amount', 'max', 'amount'], ['buyers', 'unique', 'user']]) {
    const g = await graphql(t.key, DEFINE, { t: t.id, in: { name, eventName: 'order', aggregation: agg, property: prop, dimensions: ['plan'] } });
    assert.equal(g.json.errors, undefined, g.text);
  }
  // plan is a declared dimension; plan_copy carries the same value and is not
  const h = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;
  const plans = ['free', 'pro', 'team', 1, 1.0, true, null, undefined];
  const amounts = [9.99, '19.99', 5, 'abc', undefined, -2.5, '1e2', '.5', ' 7', '0x1A'];
  const events = [];
  for (let i = 0; i < 160; i++) {
    const plan = plans[i % plans.length];
    const e = { event: 'order', timestamp: iso(h + (i % 3) * HOUR + i * 1000), user: `u${i % 23}` };
    if (plan !== undefined) { e.plan = plan; e.plan_copy = plan; }
    const a = amounts[(i * 7) % amounts.length];
    if (a !== undefined) e.amount = a;
    events.push(e);
  }
  assert.equal((await ingest(t.key, events)).status, 202);
  const range = { s: iso(h), e: iso(h + 3 * HOUR - 1) };
  assert.ok(await waitFor(async () => (await sum(t, { n: 'orders', ...range })) === 160, 20000),
    'the 160 events did not arrive');

  // the truth, from the events sent (canonical group: 1 and 1.0 are one group, missing is null)
  const truth = {};
  const num = (v) => typeof v === 'number' ? v : typeof v === 'string' && /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$/.test(v) ? Number(v) : undefined;
  for (const e of events) {
    const key = `${iso(Math.floor(Date.parse(e.timestamp) / HOUR) * HOUR)}|${JSON.stringify(e.plan_copy ?? null)}`;
    const x = (truth[key] ??= { n: 0, sum: 0, c: 0, min: Infinity, max: -Infinity, users: new Set() });
    x.n++;
    x.users.add(e.user);
    const a = num(e.amount);
    if (a !== undefined) { x.c++; x.sum += a; x.min = Math.min(x.min, a); x.max = Math.max(x.max, a); }
  }
  const want = {
    orders: (x) => x.n, revenue: (x) => x.c ? x.sum : undefined, avg_amount: (x) => x.c ? x.sum / x.c : undefined,
    min_amount: (x) => x.c ? x.min : undefined, max_amount: (x) => x.c ? x.max : undefined, buyers: (x) => x.users.size,
  };
  for (const [name, f] of Object.entries(want)) {
    const raw = await series(t, { n: name, g: ['plan_copy'], ...range });
    assert.equal(raw.extensions.metrics[0].source, 'raw_events', name);
    const rolled = await series(t, { n: name, g: ['plan'], ...range });
    assert.equal(rolled.extensions.metrics[0].source, 'rollups', name);
    const r = table(raw, 'plan_copy'), d = table(rolled, 'plan');
    assert.deepEqual(Object.keys(r).sort(), Object.keys(d).sort(), `${name}: the same groups on both paths`);
    for (const k of Object.keys(r)) {
      assert.ok(close(r[k], d[k]), `${name} ${k}: raw ${r[k]} vs rollups ${d[k]}`);
      const w = f(truth[k]);
      if (name === 'buyers') assert.ok(Math.abs(r[k] - w) <= Math.max(1, w * 0.02), `${name} ${k}: ${r[k]} vs ${w}`);
      else if (w !== undefined) assert.ok(close(r[k], w), `${name} ${k}: ${r[k]} vs truth ${w}`);
    }
  }
  // filters on a property (one value, any of several), and local days in a :30 zone
  for (const [rawf, dimf] of [[{ plan_copy: 'pro' }, { plan: 'pro' }], [{ plan_copy: ['pro', 'team'] }, { plan: ['pro', 'team'] }], [{ plan_copy: 1 }, { plan: 1 }]]) {
    const a = await series(t, { n: 'revenue', f: rawf, ...range });
    const b = await series(t, { n: 'revenue', f: dimf, ...range });
    assert.equal(a.extensions.metrics[0].source, 'raw_events');
    assert.deepEqual(a.data.metrics.map((p) => [p.timestamp, p.value]), b.data.metrics.map((p) => [p.timestamp, p.value]), JSON.stringify(rawf));
    assert.ok(a.data.metrics.length > 0);
  }
  for (const tz of ['Asia/Kolkata', 'America/New_York']) {
    const a = await series(t, { n: 'orders', g: ['plan_copy'], gran: 'DAY', tz, ...range });
    const b = await series(t, { n: 'orders', g: ['plan'], gran: 'DAY', tz, ...range });
    assert.deepEqual(table(a, 'plan_copy'), table(b, 'plan'), tz);
  }
  // the same answer twice: the second from the cache, the source kept
  const again = await series(t, { n: 'orders', g: ['plan_copy'], ...range });
  assert.equal(again.extensions.cache, 'HIT');
  assert.equal(again.extensions.metrics[0].source, 'raw_events');
});

test('groups of a bucket past GRAPHQL_RAW_GROUP_CAP fold into "__other__", totals kept', async () => {
  const port = await freePort();
  const proc = spawn(`${BIN}/graphql-api`, [], {
    env: { ...env, GRAPHQL_PORT: String(port), GRAPHQL_REUSEPORT: 'false', GRAPHQL_RAW_GROUP_CAP: '2', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    assert.ok(await waitFor(async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 10000));
    const t = freshTenant();
    const h = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    const events = [];
    for (const [plan, n] of [['a', 5], ['b', 4], ['c', 2], ['d', 1]]) for (let i = 0; i < n; i++) events.push({ event: 'signup', plan, timestamp: iso(h + i * 1000) });
    assert.equal((await ingest(t.key, events)).status, 202);
    const range = { s: iso(h), e: iso(h + HOUR - 1) };
    assert.ok(await waitFor(async () => (await sum(t, { n: 'signup', ...range })) === 12, 20000));
    const g = await series(t, { n: 'signup', g: ['plan'], ...range }, `http://127.0.0.1:${port}/graphql`);
    const got = Object.fromEntries(g.data.metrics.map((p) => [p.dimensions.plan, p.value]));
    assert.deepEqual(got, { a: 5, b: 4, __other__: 3 });
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
});
