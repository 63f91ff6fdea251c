// sample_data.test.mjs — `analytics-admin seed --sample-days N` (issue 15): sample events go
// through the real path (ingest API → Kafka → worker), every one is counted once, a second load
// changes nothing (same event_ids), the metrics it defines answer, and its own key is revoked.
// Runs in a fresh tenant (--tenant) so the demo tenant's data is left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BIN, INGEST, env, freshTenant, graphql } from './lib/stack.mjs';

const DAY = 86_400_000;
const T = freshTenant('ingest,read,admin');

function loadSample(days) {
  const out = execFileSync(`${BIN}/analytics-admin`, ['seed', '--sample-days', String(days), '--tenant', T.id],
    { encoding: 'utf8', env: { ...env, INGEST_URL: INGEST }, timeout: 240_000 });
  const accepted = Number(out.match(/(\d+) accepted, (\d+) rejected/)?.[1]);
  const stored = Number(out.match(/(\d+) events of the sample stored by the worker/)?.[1]);
  return { out, accepted, stored };
}

async function daily(name) {
  const now = Date.now();
  const g = await graphql(T.key, `query($t: String!, $n: String!, $s: DateTime!, $e: DateTime!) {
    metrics(tenant: $t, name: $n, startTime: $s, endTime: $e, granularity: DAY) { timestamp value dimensions } }`,
  { t: T.id, n: name, s: new Date(Math.floor(now / DAY) * DAY - 3 * DAY).toISOString(), e: new Date(now + DAY).toISOString() });
  assert.equal(g.json?.errors, undefined, g.text);
  return g.json.data.metrics;
}
const total = (pts) => pts.reduce((a, p) => a + p.value, 0);
const psql = (sql) => execFileSync('psql', ['-XAtq', env.DATABASE_URL, '-c', sql], { encoding: 'utf8' }).trim();

test('two days of sample events are counted once each, and a second load changes nothing', async () => {
  const first = loadSample(2);
  assert.ok(first.accepted > 1000, `only ${first.accepted} events accepted:\n${first.out}`);
  assert.match(first.out, /, 0 rejected/);
  // all within the worker's lateness: every accepted event is stored
  assert.equal(first.stored, first.accepted, first.out);
  const views = total(await daily('page_view'));
  const signups = total(await daily('signup'));
  const purchases = total(await daily('purchase'));
  assert.equal(views + signups + purchases, first.accepted);
  assert.ok(signups > 0 && purchases > 0 && views > 20 * signups, `views ${views}, signups ${signups}, purchases ${purchases}`);

  // the defined metrics: revenue is the exact sum of the purchases' amounts, by currency
  const revenue = await daily('revenue');
  const rawSum = Number(psql(`SELECT sum((properties->>'amount')::numeric) FROM raw_events WHERE tenant_id = '${T.id}' AND event_name = 'purchase'`));
  assert.equal(total(revenue), rawSum);
  const byCurrency = await graphql(T.key, `query($t: String!, $s: DateTime!, $e: DateTime!) {
    metrics(tenant: $t, name: "signups", startTime: $s, endTime: $e, granularity: DAY, groupBy: ["plan"]) { value dimensions } }`,
  { t: T.id, s: new Date(Date.now() - 3 * DAY).toISOString(), e: new Date(Date.now() + DAY).toISOString() });
  // by plan, equal to the stored signups (which plans appear is random: 2 days may hold no "pro")
  const byPlan = {};
  for (const p of byCurrency.json.data.metrics) byPlan[p.dimensions.plan] = (byPlan[p.dimensions.plan] ?? 0) + p.value;
  const rawPlans = Object.fromEntries(psql(`SELECT properties->>'plan', count(*) FROM raw_events WHERE tenant_id = '${T.id}' AND event_name = 'signup' GROUP BY 1`)
    .split('\n').filter(Boolean).map((l) => { const [k, n] = l.split('|'); return [k, Number(n)]; }));
  assert.ok(Object.keys(rawPlans).length > 0, 'no signups stored');
  assert.deepEqual(byPlan, rawPlans, 'signups by plan differ from the stored signups');

  // again: same ids, nothing counted twice
  const second = loadSample(2);
  assert.ok(second.accepted >= first.accepted);
  assert.equal(total(await daily('page_view')) + total(await daily('signup')) + total(await daily('purchase')),
    second.accepted, 'events of the second load (a superset of the first) counted once');

  // the loader's keys are revoked; the tenant's own key is untouched
  const keys = psql(`SELECT coalesce(name, '') || ':' || (revoked_at IS NOT NULL) FROM api_keys WHERE tenant_id = '${T.id}' ORDER BY created_at`).split('\n');
  assert.deepEqual(keys.filter((k) => k.startsWith('sample-data')), ['sample-data:true', 'sample-data:true']);
  assert.ok(keys.some((k) => k.endsWith(':false')), 'the test key is still active');
});

test('bad arguments are usage errors and change nothing', () => {
  for (const args of [['--sample-days', '0'], ['--sample-days', '31'], ['--sample-days', 'x'], ['--tenant', T.id],
    ['--sample-days', '1', '--tenant', 'Bad Id']]) {
    let code = 0;
    try { execFileSync(`${BIN}/analytics-admin`, ['seed', ...args], { env, stdio: 'pipe' }); } catch (e) { code = e.status; }
    assert.equal(code, 2, `seed ${args.join(' ')}`);
  }
  let code = 0;
  try {
    execFileSync(`${BIN}/analytics-admin`, ['seed', '--sample-days', '1', '--tenant', 'no-such-tenant-x'], { env, stdio: 'pipe' });
  } catch (e) { code = e.status; }
  assert.equal(code, 1, 'a missing tenant is a runtime error');
});
