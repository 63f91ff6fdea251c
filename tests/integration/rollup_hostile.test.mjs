// rollup_hostile.test.mjs — events crafted against the worker's rollups, sent through the public
// ingest API (any holder of an ingest key, which ships inside apps, can send them).
//   (a) the cardinality cap holds for long values: a metric with --cardinality-cap 3 and 20
//       events whose dimension values are distinct and ~1.2 KB long keeps 3 values and folds the
//       17 others into "__other__", every event counted. Found by the red-team pass: values over
//       ~1 KB were admitted without being counted towards the cap (lib/rollup's staging key had
//       a fixed 1 KB buffer), so each one got rows of its own in the 15-minute, hourly and daily
//       tables — cap 3, 50 long values: 50 rows in each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { admin, freshTenant, ingest, graphql, waitFor } from './lib/stack.mjs';

test('(a) the cardinality cap counts long dimension values too', async () => {
  const t = freshTenant();
  admin('metric', 'define', '--tenant', t.id, '--name', 'capped', '--event', 'long_page',
    '--dimensions', 'page', '--cardinality-cap', '3');
  const events = [];
  for (let i = 0; i < 20; i++) {
    events.push({ event: 'long_page', event_id: `long-${i}`, page: `/${i}/${randomBytes(600).toString('hex')}` });
  }
  const r = await ingest(t.key, events);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.accepted, 20);

  const now = Date.now();
  const q = `query($t: String!, $s: DateTime!, $e: DateTime!) {
    metrics(tenant: $t, name: "capped", startTime: $s, endTime: $e, groupBy: ["page"]) { value dimensions } }`;
  const vars = { t: t.id, s: new Date(now - 2 * 3600e3).toISOString(), e: new Date(now + 2 * 3600e3).toISOString() };
  let points = [];
  const counted = await waitFor(async () => {
    const g = await graphql(t.key, q, vars);
    points = g.json?.data?.metrics ?? [];
    return points.reduce((a, p) => a + p.value, 0) === 20;
  }, 60000, 500);
  assert.ok(counted, `all 20 events counted by the worker (got ${JSON.stringify(points.map((p) => [String(p.dimensions.page).slice(0, 8), p.value]))})`);
  const named = new Set(points.map((p) => p.dimensions.page).filter((v) => v !== '__other__'));
  const other = points.filter((p) => p.dimensions.page === '__other__').reduce((a, p) => a + p.value, 0);
  assert.equal(named.size, 3, `3 distinct values kept under the cap of 3 (got ${named.size})`);
  assert.equal(other, 17, 'the 17 other values are folded into __other__');
});
