// graphql_zones.test.mjs — metrics in a time zone against the real stack: hours and days of a
// zone equal the truth computed here from the events sent (Intl's view of the zone), for every
// aggregation, with and without groupBy and a filter. Zones of whole-hour offsets over the range
// (Europe/Berlin, America/New_York, Australia/Lord_Howe at +11 in its summer) are answered from
// the hourly rollups and their totals by SQL in series.c; zones of other offsets (Asia/Kolkata
// +5:30, Asia/Kathmandu +5:45, Pacific/Chatham +13:45) by ea_metric_series from the 15-minute
// rollups: both must agree with the truth, and an hour of a whole-hour zone is the UTC hour. (No
// DST change falls within the raw retention every test event must be in: worker_timezones, whose
// events go to Kafka directly, checks graphql-api's New York days and hours across one.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshTenant, ingest, graphql, waitFor } from './lib/stack.mjs';

const HOUR = 3600000;
const iso = (ms) => new Date(ms).toISOString();
const METRICS = `query M($t: String!, $n: String!, $s: DateTime!, $e: DateTime!, $g: [String!],
  $gran: Granularity, $tz: String, $f: JSON) {
  metrics(tenant: $t, name: $n, startTime: $s, endTime: $e, groupBy: $g, granularity: $gran,
          timezone: $tz, filter: $f) { timestamp value dimensions final }
}`;
const DEFINE = `mutation D($t: String!, $in: MetricInput!) { defineMetric(tenant: $t, input: $in) { name } }`;
const AGGS = [['z_count', 'count'], ['z_sum', 'sum', 'amount'], ['z_avg', 'avg', 'amount'],
  ['z_min', 'min', 'amount'], ['z_max', 'max', 'amount'], ['z_users', 'unique', 'user']];

// The local bucket of an instant in a zone, as a key a point's timestamp maps to as well: the
// local date (DAY) or local date, hour and offset (HOUR: a repeated hour at a DST change is two
// buckets).
function localKey(ms, tz, day) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23',
    timeZoneName: 'longOffset',
  }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const date = `${parts.year}-${parts.month}-${parts.day}`;
  return day ? date : `${date} ${parts.hour} ${parts.timeZoneName}`;
}

function truthOf(events, agg, prop, tz, day, groupBy, filter) {
  const acc = new Map();
  for (const e of events) {
    if (filter && Object.entries(filter).some(([k, v]) => e.properties[k] !== v)) continue;
    const g = groupBy.length ? JSON.stringify({ [groupBy[0]]: e.properties[groupBy[0]] }) : '{}';
    const key = `${localKey(e.ts, tz, day)}|${g}`;
    const a = acc.get(key) ?? { n: 0, sum: 0, min: Infinity, max: -Infinity, users: new Set() };
    a.n++;
    if (prop === 'amount') {
      a.sum += e.properties.amount;
      a.min = Math.min(a.min, e.properties.amount);
      a.max = Math.max(a.max, e.properties.amount);
    }
    a.users.add(e.properties.user);
    acc.set(key, a);
  }
  const out = {};
  for (const [key, a] of acc) {
    out[key] = agg === 'count' ? a.n : agg === 'sum' ? a.sum : agg === 'avg' ? a.sum / a.n
      : agg === 'min' ? a.min : agg === 'max' ? a.max : a.users.size;
  }
  return out;
}

function answerOf(points, tz, day) {
  const out = {};
  for (const p of points) {
    const key = `${localKey(Date.parse(p.timestamp), tz, day)}|${JSON.stringify(p.dimensions)}`;
    assert.equal(out[key], undefined, `two points for ${key}`);
    out[key] = p.value;
  }
  return out;
}

async function series(t, vars) {
  const g = await graphql(t.key, METRICS, { t: t.id, ...vars });
  assert.equal(g.status, 200, g.text);
  assert.equal(g.json.errors, undefined, g.text);
  return g.json.data.metrics;
}

test('hours and days in a zone equal the truth for every aggregation, groupBy and filter', async () => {
  const t = freshTenant();
  for (const [name, agg, prop] of AGGS) {
    const g = await graphql(t.key, DEFINE, { t: t.id, in: { name, eventName: 'z', aggregation: agg, property: prop, dimensions: ['page', 'country'] } });
    assert.equal(g.json.errors, undefined, g.text);
  }
  // four UTC days ending yesterday's midnight (so every day is over and behind the watermark, at
  // any time of day the test runs), 5 events an hour at minutes 7, 19, 31, 43, 55: every local
  // hour of a +5:30 or +5:45 zone holds events from two UTC hours
  const t0 = Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR - 120 * HOUR;
  const events = [];
  for (let h = 0; h < 96; h++) {
    for (let k = 0; k < 5; k++) {
      const i = h * 5 + k;
      events.push({
        ts: t0 + h * HOUR + (7 + 12 * k) * 60000,
        properties: { page: `/p${i % 3}`, country: ['de', 'us'][i % 2], user: `u${i % 17}`, amount: (i % 11) + 0.25 },
      });
    }
  }
  for (let i = 0; i < events.length; i += 100) {
    const batch = events.slice(i, i + 100).map((e) => ({ event: 'z', timestamp: iso(e.ts), ...e.properties }));
    const res = await ingest(t.key, batch);
    assert.equal(res.status, 202, res.text);
  }
  // and one event now: the group watermark passes the days above, so they close
  assert.equal((await ingest(t.key, { event: 'z_now' })).status, 202);
  const range = { s: iso(t0), e: iso(t0 + 96 * HOUR - 1) };
  const counted = await waitFor(async () => {
    const pts = await series(t, { n: 'z_count', ...range, gran: 'DAY' });
    return pts.reduce((s, p) => s + p.value, 0) === events.length && pts.every((p) => p.final);
  }, 30000, 250);
  assert.ok(counted, `the ${events.length} events were not counted and closed within 30 s`);

  let compared = 0;
  // a range in the middle of the events: the local hours and days it touches (whole buckets are
  // answered) lie within the events sent, so the truth of each is known
  const S = t0 + 24 * HOUR, E = t0 + 72 * HOUR - 1;
  // Lord Howe is +11 in its summer (whole hours), +10:30 in winter; Chatham +13:45 in its summer
  for (const tz of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Asia/Kathmandu', 'Pacific/Chatham', 'UTC']) {
    for (const day of [false, true]) {
      const touched = new Set([localKey(E, tz, day)]);
      for (let ms = S; ms <= E; ms += 15 * 60000) touched.add(localKey(ms, tz, day));
      for (const [name, agg, prop] of AGGS) {
        for (const [groupBy, filter] of [[[], null], [['page'], null], [[], { country: 'de' }], [['country'], { page: '/p1' }]]) {
          const what = `${tz} ${day ? 'DAY' : 'HOUR'} ${name} ${JSON.stringify(groupBy)} ${JSON.stringify(filter)}`;
          const pts = await series(t, { n: name, s: iso(S), e: iso(E), gran: day ? 'DAY' : 'HOUR', tz, g: groupBy, f: filter });
          const got = answerOf(pts, tz, day);
          const want = Object.fromEntries(Object.entries(truthOf(events, agg, prop, tz, day, groupBy, filter))
            .filter(([k]) => touched.has(k.split('|')[0])));
          assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: buckets and groups`);
          for (const [k, b] of Object.entries(want)) {
            const a = got[k];
            const ok = agg === 'unique' ? Math.abs(a - b) <= Math.max(1, b * 0.02) : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
            assert.ok(ok, `${what} ${k}: ${a}, truth ${b}`);
            compared++;
          }
          assert.ok(pts.every((p) => p.final), `${what}: a closed past bucket is not final`);
        }
      }
    }
  }
  assert.ok(compared > 2000, `only ${compared} values compared`);

  // an hour of a whole-hour zone is the UTC hour: the same points
  const q = { n: 'z_sum', ...range, gran: 'HOUR', g: ['page'] };
  assert.deepEqual(await series(t, { ...q, tz: 'Europe/Berlin' }), await series(t, { ...q, tz: 'UTC' }));
});

test('hours in a zone before the hourly retention are refused with what to send instead', async () => {
  const t = freshTenant();
  assert.equal((await ingest(t.key, { event: 'old_q' })).status, 202);
  // an event's count exists once the worker counted it
  assert.ok(await waitFor(async () => (await graphql(t.key, METRICS, { t: t.id, n: 'old_q', s: iso(Date.now() - HOUR), e: iso(Date.now()) })).json.errors === undefined, 20000, 200),
    'old_q was not counted within 20 s');
  for (const tz of ['Europe/Berlin', 'Asia/Kolkata']) {
    // from year 1: before, ea_metric_series walked every quarter hour since then (17-21 s) first
    const g = await graphql(t.key, METRICS, { t: t.id, n: 'old_q', s: '0001-01-01T00:00:00Z', e: iso(Date.now()), gran: 'HOUR', tz });
    assert.equal(g.status, 200, g.text);
    const e = g.json.errors?.[0];
    assert.equal(e?.extensions?.code, 'BAD_USER_INPUT', g.text);
    assert.match(e.message, new RegExp(`hours in ${tz} are kept \\d+ days`), g.text);
    const retry = Date.parse(e.extensions.retryWith.startTime);
    assert.ok(retry > Date.now() - 100 * 24 * HOUR && retry < Date.now(), g.text);
    // and the start it suggests is answered
    const ok = await graphql(t.key, METRICS, { t: t.id, n: 'old_q', s: e.extensions.retryWith.startTime, e: iso(Date.now()), gran: 'HOUR', tz });
    assert.equal(ok.json.errors, undefined, ok.text);
  }
});
