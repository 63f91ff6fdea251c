// every_event_counts.test.mjs — issue 13 on the real stack (ingest → Kafka → worker →
// PostgreSQL → GraphQL): every event ingest acknowledges is counted exactly once up to the raw
// retention (lib/rollup's one age rule), restating the closed day it lands in; an event re-sent
// with the same event_id weeks later still counts once; anything older is refused per event
// with too_old naming the limit, and dead letters hold nothing the client was told was
// accepted. Defining or changing a metric recomputes it from raw events over the retention as a
// background job whose progress GraphQL shows (MetricDefinition.backfill), exactly while live
// events keep flowing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { env, freshTenant, ingest, graphql, waitFor } from './lib/stack.mjs';

const DAY = 86400000;
const iso = (ms) => new Date(ms).toISOString();
const sql = (q) => execFileSync('psql', ['-X', '-q', '-At', env.DATABASE_URL, '-c', q], { encoding: 'utf8' }).trim();

const SERIES = `query($t: String!, $n: String!, $s: DateTime!, $e: DateTime!) {
  metrics(tenant: $t, name: $n, startTime: $s, endTime: $e, granularity: DAY) { timestamp value revision final } }`;
const DEFS = `query($t: String!) { metricDefinitions(tenant: $t) { name backfill { state progress daysDone daysTotal events error } } }`;
const DEFINE = `mutation($t: String!, $in: MetricInput!) { defineMetric(tenant: $t, input: $in) { name } }`;

// A metric's DAY points; none while its first event is not counted yet (NOT_FOUND until then).
async function series(t, name, from, to) {
  const g = await graphql(t.key, SERIES, { t: t.id, n: name, s: iso(from), e: iso(to) });
  if (g.json.errors && g.json.errors[0].extensions.code === 'NOT_FOUND') return [];
  assert.ok(!g.json.errors, g.text);
  return g.json.data.metrics;
}
const total = (points) => points.reduce((s, p) => s + p.value, 0);

// The worker's count of events it dropped as duplicates (its /metrics).
async function duplicates() {
  const text = await (await fetch(`http://127.0.0.1:${env.WORKER_PORT}/metrics`)).text();
  const m = text.match(/^worker_events_duplicate_total (\d+)/m);
  return m ? Number(m[1]) : 0;
}

test('an event 20 days old is counted once, restating its closed day; a re-send weeks later counts once; older than the retention is too_old', async () => {
  const t = freshTenant();
  const now = Date.now();
  const old = now - 20 * DAY;
  // 20 days old: accepted and counted (its day is long closed: the row is created closed,
  // revision 1)
  let r = await ingest(t.key, [
    { event: 'purchase', event_id: 'p-old', timestamp: iso(old), amount: 5 },
    { event: 'purchase', event_id: 'p-edge', timestamp: iso(now - 29 * DAY), amount: 7 },
    { event: 'purchase', event_id: 'p-too-old', timestamp: iso(now - 31 * DAY), amount: 9 },
  ]);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.accepted, 2, r.text);
  const refused = r.json.results.find((x) => x.event_id === 'p-too-old');
  assert.equal(refused.status, 'rejected');
  assert.equal(refused.code, 'too_old');
  assert.match(refused.error, /30 days/, 'the message names the limit');
  assert.ok(await waitFor(async () => total(await series(t, 'purchase', now - 30 * DAY, now)) === 2, 30000, 200),
    'both acknowledged events are counted');
  // its day is closed (behind the group watermark) ...
  const point = async () => (await series(t, 'purchase', old, old)).find((p) => Date.parse(p.timestamp) <= old);
  assert.ok(await waitFor(async () => (await point())?.final, 30000, 200), `the day closes: ${JSON.stringify(await point())}`);
  const before = await point();
  // ... and another event of that day, 20 days late, restates it: revision + 1
  r = await ingest(t.key, [{ event: 'purchase', event_id: 'p-old-2', timestamp: iso(old + 1000), amount: 6 }]);
  assert.equal(r.status, 202, r.text);
  assert.ok(await waitFor(async () => (await point())?.value === 2, 30000, 200), 'the late event is counted');
  const after = await point();
  assert.ok(after.revision === before.revision + 1 && after.final, `restated: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);

  // the same event_id again (a client re-sending its history): acknowledged, counted once
  const dupes = await duplicates();
  r = await ingest(t.key, [{ event: 'purchase', event_id: 'p-old', timestamp: iso(old), amount: 5 }]);
  assert.equal(r.status, 202, r.text);
  assert.ok(await waitFor(async () => (await duplicates()) > dupes, 30000, 200),
    'the worker saw the re-send (and dropped it as a duplicate)');
  assert.equal(total(await series(t, 'purchase', now - 30 * DAY, now)), 3, 'the re-send is not counted again');
  // nothing the client was told was accepted is a dead letter
  assert.equal(sql(`SELECT count(*) FROM dead_letters WHERE tenant_id = '${t.id}'`), '0');
  // the dedup key of the old event is kept for the whole retention: as if the first copy had
  // been counted 20 days ago, a copy sent now is still recognised
  assert.equal(sql(`UPDATE event_dedup SET seen_at = now() - interval '20 days' WHERE tenant_id = '${t.id}' AND event_id = 'p-old' RETURNING 1`), '1');
  const dupes2 = await duplicates();
  r = await ingest(t.key, [{ event: 'purchase', event_id: 'p-old', timestamp: iso(old), amount: 5 }]);
  assert.equal(r.status, 202, r.text);
  assert.ok(await waitFor(async () => (await duplicates()) > dupes2, 30000, 200), 'the re-send 20 days later is a duplicate');
  assert.equal(total(await series(t, 'purchase', now - 30 * DAY, now)), 3, 'still counted once');
  const metrics = await (await fetch(`http://127.0.0.1:${env.WORKER_PORT}/metrics`)).text();
  assert.match(metrics, /^worker_events_dead_lettered_total/m, '/metrics counts dead letters');
});

test('defining a metric recomputes it from raw events over the retention, in the background, exactly while live events flow', async () => {
  const t = freshTenant();
  const now = Date.now();
  // purchases over the last 12 days, ingested before the definition exists
  const before = [];
  let truth = 0;
  for (let d = 0; d < 12; d++)
    for (let i = 0; i < 5; i++) {
      const amount = (d * 5 + i) + 0.25;
      truth += amount;
      before.push({ event: 'buy', event_id: `b-${d}-${i}`, timestamp: iso(now - d * DAY - i * 60000), amount });
    }
  let r = await ingest(t.key, before);
  assert.equal(r.status, 202, r.text);
  assert.ok(await waitFor(async () => total(await series(t, 'buy', now - 13 * DAY, now)) === before.length, 30000, 200),
    'the purchases are counted');

  const d = await graphql(t.key, DEFINE, { t: t.id, in: { name: 'spend', eventName: 'buy', aggregation: 'sum', property: 'amount' } });
  assert.ok(!d.json.errors, d.text);
  // live events while the job runs: counted once, with the recomputed past
  const live = [];
  for (let i = 0; i < 20; i++) {
    live.push({ event: 'buy', event_id: `live-${i}`, amount: 1.5 });
    truth += 1.5;
  }
  r = await ingest(t.key, live);
  assert.equal(r.status, 202, r.text);

  // the job: visible in GraphQL with its progress, done in the end
  const states = new Set();
  let last;
  const done = await waitFor(async () => {
    const g = await graphql(t.key, DEFS, { t: t.id });
    assert.ok(!g.json.errors, g.text);
    last = g.json.data.metricDefinitions.find((m) => m.name === 'spend').backfill;
    if (last) states.add(last.state);
    return last && last.state === 'done';
  }, 120000, 200);
  assert.ok(done, `the recomputation did not finish: ${JSON.stringify(last)}`);
  assert.equal(last.progress, 1);
  assert.equal(last.daysDone, last.daysTotal);
  assert.ok(last.daysTotal >= 29, `the whole raw retention: ${last.daysTotal} days`);
  assert.ok(last.events >= before.length, `raw events read: ${last.events}`);

  const sum = async () => total(await series(t, 'spend', now - 13 * DAY, now + DAY));
  assert.ok(await waitFor(async () => Math.abs((await sum()) - truth) < 1e-9, 30000, 200),
    `spend = ${await sum()}, truth ${truth}`);
  // per day too: the oldest day holds exactly its five purchases
  const oldest = (await series(t, 'spend', now - 11 * DAY, now - 11 * DAY)).reduce((s, p) => s + p.value, 0);
  const want = [0, 1, 2, 3, 4].reduce((s, i) => s + (11 * 5 + i) + 0.25, 0);
  assert.equal(oldest, want);

  // changing the definition recomputes again (a newer job supersedes any older one)
  const c = await graphql(t.key, DEFINE, { t: t.id, in: { name: 'spend', eventName: 'buy', aggregation: 'max', property: 'amount' } });
  assert.ok(!c.json.errors, c.text);
  assert.ok(await waitFor(async () => {
    const g = await graphql(t.key, DEFS, { t: t.id });
    return g.json.data.metricDefinitions.find((m) => m.name === 'spend').backfill?.state === 'done';
  }, 120000, 200), 'the change was recomputed');
  const top = await series(t, 'spend', now - 11 * DAY, now - 11 * DAY);
  assert.equal(top.reduce((m, p) => Math.max(m, p.value), 0), 11 * 5 + 4 + 0.25, 'max of the oldest day');
});

test('values are exact decimals: 9.99 stays 9.99, a sum of 10,000 prices equals the decimal sum, avg rounds once', async () => {
  const t = freshTenant();
  for (const input of [
    { name: 'rev', eventName: 'order', aggregation: 'sum', property: 'price' },
    { name: 'top', eventName: 'order', aggregation: 'max', property: 'price' },
    { name: 'cheap', eventName: 'order', aggregation: 'min', property: 'price' },
    { name: 'one', eventName: 'single', aggregation: 'sum', property: 'price' },
    { name: 'mean', eventName: 'trio', aggregation: 'avg', property: 'v' },
  ]) {
    const d = await graphql(t.key, DEFINE, { t: t.id, in: input });
    assert.ok(!d.json.errors, d.text);
  }
  const now = Date.now();
  // 10,000 random prices with two decimals (some as numeric strings), in cents for the truth
  let cents = 0n, maxc = -1, minc = Infinity;
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let batch = 0; batch < 10; batch++) {
    const events = [];
    for (let i = 0; i < 1000; i++) {
      const c = Math.floor(rnd() * 1000000); // 0.00 .. 9999.99
      cents += BigInt(c);
      maxc = Math.max(maxc, c);
      minc = Math.min(minc, c);
      const text = `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;
      events.push({ event: 'order', event_id: `o-${batch}-${i}`, timestamp: iso(now - 60000), price: i % 10 === 0 ? text : Number(text) });
    }
    const r = await ingest(t.key, events);
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.accepted, 1000, r.text);
  }
  let r = await ingest(t.key, [
    { event: 'single', event_id: 's1', price: 9.99 },
    { event: 'trio', event_id: 'v1', v: 1 }, { event: 'trio', event_id: 'v2', v: 2 }, { event: 'trio', event_id: 'v3', v: 2 },
  ]);
  assert.equal(r.status, 202, r.text);
  const decimal = (c) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;
  const want = decimal(cents);
  // the raw text of GraphQL's answer: the number as printed, not as JS reads it
  const rawValue = async (name) => {
    const g = await graphql(t.key, SERIES, { t: t.id, n: name, s: iso(now - DAY), e: iso(now + DAY) });
    assert.ok(!g.json.errors, g.text);
    const m = g.text.match(/"value":(-?[0-9.eE+-]+)/);
    return m ? m[1] : null;
  };
  assert.ok(await waitFor(async () => (await rawValue('rev')) === want, 60000, 250),
    `rev = ${await rawValue('rev')}, the decimal sum is ${want}`);
  // stored exactly too: numeric, every digit
  assert.equal(sql(`SELECT sum FROM rollups_daily WHERE tenant_id = '${t.id}' AND metric = 'rev'`), want);
  assert.equal(Number(await rawValue('top')), maxc / 100);
  assert.equal(Number(await rawValue('cheap')), minc / 100);
  assert.ok(await waitFor(async () => (await rawValue('one')) === '9.99', 30000, 200), `9.99 came back as ${await rawValue('one')}`);
  assert.equal(sql(`SELECT sum FROM rollups_hourly WHERE tenant_id = '${t.id}' AND metric = 'one'`), '9.99');
  // avg = 5 / 3, rounded once at the end (15 significant digits)
  assert.ok(await waitFor(async () => (await rawValue('mean')) === '1.66666666666667', 30000, 200),
    `avg came back as ${await rawValue('mean')}`);
});
