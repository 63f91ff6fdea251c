// graphql_totals.test.mjs — issue 14's bucket totals (migration 0016) against the real stack: an
// ungrouped, unfiltered series (read from rollup_totals_*) equals the grouped series summed
// (read from the per-dimension rows) and the truth of the events sent, for count, sum, min, max
// and avg, HOUR and DAY, with the same revision and final flags — after a recount filled the rows
// (REPLACE), after late events restated closed buckets (ADD, one of them a new dimension value),
// after a redefinition deleted every per-page row, and after a rename and a delete; and every
// total equals its rows in SQL (tests/integration/lib/totals.sql).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { env, freshTenant, ingest, graphql, waitFor } from './lib/stack.mjs';

const HOUR = 3600000;
const DAY = 24 * HOUR;
const iso = (ms) => new Date(ms).toISOString();
const sql = (q) => execFileSync('psql', ['-X', '-q', '-At', env.DATABASE_URL, '-c', q], { encoding: 'utf8' }).trim();
const TOTALS_SQL = readFileSync(new URL('./lib/totals.sql', import.meta.url), 'utf8');

const SERIES = `query($t: String!, $n: String!, $s: DateTime!, $e: DateTime!, $g: [String!], $gran: Granularity) {
  metrics(tenant: $t, name: $n, startTime: $s, endTime: $e, groupBy: $g, granularity: $gran) {
    timestamp value dimensions revision final } }`;
const DEFINE = `mutation($t: String!, $in: MetricInput!) { defineMetric(tenant: $t, input: $in) { name } }`;
const DEFS = `query($t: String!) { metricDefinitions(tenant: $t) { name backfill { state } } }`;

const METRICS = [
  { name: 'n_by_page', aggregation: 'count' },
  { name: 'amt_sum', aggregation: 'sum', property: 'amount' },
  { name: 'amt_min', aggregation: 'min', property: 'amount' },
  { name: 'amt_max', aggregation: 'max', property: 'amount' },
  { name: 'amt_avg', aggregation: 'avg', property: 'amount' },
];

async function points(t, n, gran, from, to, groupBy) {
  const g = await graphql(t.key, SERIES, { t: t.id, n, s: iso(from), e: iso(to), g: groupBy, gran });
  assert.ok(!g.json.errors, g.text);
  return g.json.data.metrics;
}

// The truth per bucket from the events sent: count, Σamount in cents, min, max, events with amount.
function truth(events, gran) {
  const step = gran === 'DAY' ? DAY : HOUR;
  const by = new Map();
  for (const e of events) {
    const b = Math.floor(Date.parse(e.timestamp) / step) * step;
    const s = by.get(b) ?? { n: 0, cents: 0, k: 0, min: Infinity, max: -Infinity };
    s.n++;
    if (e.amount !== undefined) {
      s.k++;
      s.cents += Math.round(e.amount * 100);
      s.min = Math.min(s.min, e.amount);
      s.max = Math.max(s.max, e.amount);
    }
    by.set(b, s);
  }
  return by;
}

const near = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

// Ungrouped == grouped summed (per aggregation) == truth, bucket by bucket; revision is the
// highest of the groups', final when every group is final.
async function compare(t, events, gran, from, to, metrics) {
  const tr = truth(events, gran);
  for (const m of metrics) {
    const flat = await points(t, m.name, gran, from, to, []);
    const grouped = m.grouped === false ? null : await points(t, m.name, gran, from, to, ['page']);
    assert.equal(flat.length, [...tr.values()].filter((s) => m.aggregation === 'count' || s.k > 0).length,
      `${m.name} ${gran}: one point per bucket with a value`);
    for (const p of flat) {
      const b = Date.parse(p.timestamp);
      const s = tr.get(b);
      assert.ok(s, `${m.name} ${gran} ${p.timestamp}: a bucket without events`);
      const want = { count: s.n, sum: s.cents / 100, min: s.min, max: s.max, avg: s.cents / 100 / s.k }[m.aggregation];
      assert.ok(near(p.value, want), `${m.name} ${gran} ${p.timestamp}: ${p.value}, truth ${want}`);
      if (!grouped) continue;
      const g = grouped.filter((x) => x.timestamp === p.timestamp);
      assert.ok(g.length > 0, `${m.name} ${gran} ${p.timestamp}: grouped points`);
      const vals = g.map((x) => x.value);
      if (m.aggregation === 'count' || m.aggregation === 'sum')
        assert.ok(near(p.value, vals.reduce((a, v) => a + v, 0)), `${m.name} ${p.timestamp}: ${p.value} vs Σ ${vals}`);
      if (m.aggregation === 'min') assert.equal(p.value, Math.min(...vals), `${m.name} ${p.timestamp}`);
      if (m.aggregation === 'max') assert.equal(p.value, Math.max(...vals), `${m.name} ${p.timestamp}`);
      assert.equal(p.revision, Math.max(...g.map((x) => x.revision)), `${m.name} ${gran} ${p.timestamp}: revision`);
      assert.equal(p.final, g.every((x) => x.final), `${m.name} ${gran} ${p.timestamp}: final`);
    }
  }
}

const totalsOk = () => {
  const [bad, rows] = sql(TOTALS_SQL).split(' ').map(Number);
  assert.equal(bad, 0, 'every bucket total equals its rows');
  assert.ok(rows > 0, 'there are totals');
};

test('an ungrouped series (bucket totals) equals the grouped series summed and the truth, through a recount, restatements and a redefinition', async () => {
  const t = freshTenant();
  const now = Date.now();
  const h0 = Math.floor(now / HOUR) * HOUR;
  // 3 days of history: events in 30 hours, 3 pages, decimal amounts (some events without one,
  // never the first of an hour)
  const events = [];
  for (let i = 0; i < 30; i++) {
    for (let k = 0; k < 1 + (i % 4); k++) {
      const e = { event: 'order', event_id: `o-${i}-${k}`, timestamp: iso(h0 - (4 + 2 * i) * HOUR + k * 60000), page: `/p${(i + k) % 3}` };
      if (k === 0 || (i + k) % 3 !== 0) e.amount = Number(((i * 7 + k * 13) % 50 - 10 + 0.25 * k).toFixed(2));
      events.push(e);
    }
  }
  const r = await ingest(t.key, events);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.accepted, events.length, r.text);
  // defined after the events: each definition's recount writes the rows (REPLACE)
  for (const m of METRICS) {
    const d = await graphql(t.key, DEFINE, { t: t.id, in: { name: m.name, eventName: 'order', aggregation: m.aggregation, property: m.property, dimensions: ['page'] } });
    assert.ok(!d.json.errors, d.text);
  }
  const done = async () => {
    const g = await graphql(t.key, DEFS, { t: t.id });
    return METRICS.every((m) => g.json.data.metricDefinitions.find((x) => x.name === m.name)?.backfill?.state === 'done');
  };
  assert.ok(await waitFor(done, 180000, 300), 'the recounts finished');
  const from = h0 - 4 * DAY, to = h0 + HOUR - 1;
  // live traffic moves the watermark: wait until the past buckets are final
  const live = [];
  assert.ok(await waitFor(async () => {
    const e = { event: 'order', event_id: `live-${live.length}`, timestamp: iso(Date.now()), page: '/p0', amount: 1 };
    if ((await ingest(t.key, e)).status === 202) live.push(e);
    const p = await points(t, 'n_by_page', 'HOUR', from, h0 - 3 * HOUR, []);
    return p.length === 30 && p.every((x) => x.final);
  }, 60000, 300), 'the past hours close');
  const sent = () => events.concat(live);
  // (the open hour may still change between the reads of one comparison: compare the past only)
  const past = () => events;
  await compare(t, past(), 'HOUR', from, h0 - 3 * HOUR, METRICS);
  totalsOk();

  // late events into closed hours (ADD): an existing page and a new one; revisions go up
  const late = [
    { event: 'order', event_id: 'late-1', timestamp: iso(h0 - 10 * HOUR + 5 * 60000), page: '/p1', amount: -20.5 },
    { event: 'order', event_id: 'late-2', timestamp: iso(h0 - 12 * HOUR + 7 * 60000), page: '/new', amount: 99.75 },
  ];
  assert.equal((await ingest(t.key, late)).status, 202);
  events.push(...late);
  const lateHour = iso(h0 - 12 * HOUR);
  assert.ok(await waitFor(async () => {
    const p = (await points(t, 'amt_max', 'HOUR', from, h0 - 3 * HOUR, [])).find((x) => x.timestamp === lateHour);
    return p?.value === 99.75 && p.revision >= 1;
  }, 30000, 200), 'the restated hour shows in the ungrouped series');
  await compare(t, past(), 'HOUR', from, h0 - 3 * HOUR, METRICS);
  totalsOk();
  // DAY over whole days: every event so far, the live ones included once they are all counted
  assert.ok(await waitFor(async () => {
    const p = await points(t, 'n_by_page', 'DAY', from, to, []);
    return p.reduce((a, x) => a + x.value, 0) === sent().length;
  }, 30000, 200), 'every event is counted');
  const liveFrozen = sent();
  await compare(t, liveFrozen, 'DAY', from, to, METRICS);
  totalsOk();

  // a redefinition without the dimension: the recount deletes every per-page row (REPLACE)
  const d = await graphql(t.key, DEFINE, { t: t.id, in: { name: 'amt_sum', eventName: 'order', aggregation: 'sum', property: 'amount', dimensions: [] } });
  assert.ok(!d.json.errors, d.text);
  assert.ok(await waitFor(done, 180000, 300), 'the recount of the redefinition finished');
  assert.equal(sql(`SELECT count(*) FROM rollups_hourly WHERE tenant_id = '${t.id}' AND metric = 'amt_sum' AND dims <> '{}'`), '0');
  await compare(t, past(), 'HOUR', from, h0 - 3 * HOUR, [{ name: 'amt_sum', aggregation: 'sum', grouped: false }]);
  totalsOk();

  // a rename moves the totals with the rows; a delete removes them (lib/catalog)
  const ren = await graphql(t.key, 'mutation($t: String!) { renameMetric(tenant: $t, name: "amt_min", newName: "amt_low") { name } }', { t: t.id });
  assert.ok(!ren.json.errors, ren.text);
  await compare(t, past(), 'HOUR', from, h0 - 3 * HOUR, [{ name: 'amt_low', aggregation: 'min' }]);
  const del = await graphql(t.key, 'mutation($t: String!) { deleteMetric(tenant: $t, name: "amt_max") { name } }', { t: t.id });
  assert.ok(!del.json.errors, del.text);
  assert.equal(sql(`SELECT count(*) FROM rollup_totals_hourly WHERE tenant_id = '${t.id}' AND metric IN ('amt_max', 'amt_min')`), '0');
  totalsOk();
});
