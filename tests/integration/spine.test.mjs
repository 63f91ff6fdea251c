// spine.test.mjs — issue 2's end-to-end path against the real stack: POST events to
// ingest-api → Kafka (dev broker) → worker → PostgreSQL → graphql-api answers exact counts.
// Also: invalid JSON and wrong keys get JSON errors and nothing reaches Kafka.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, freshTenant, ingest, graphql, kafkaCount, waitFor } from './lib/stack.mjs';

const QUERY = `query Q($tenant: String!, $start: DateTime!, $end: DateTime!) {
  metrics(tenant: $tenant, name: "page_views", startTime: $start, endTime: $end, groupBy: ["page"]) {
    timestamp value dimensions revision final
  }
}`;

test('three page_views for two pages are counted exactly per page and hour', async () => {
  const t = freshTenant();
  admin('metric', 'define', '--tenant', t.id, '--name', 'page_views', '--event', 'page_view',
    '--dimensions', 'page');
  const hour = Math.floor(Date.now() / 3600000) * 3600000 - 3600000; // the previous hour
  const ts = (m) => new Date(hour + m * 60000).toISOString();
  const res = await ingest(t.key, [
    { event: 'page_view', page: '/pricing', timestamp: ts(5) },
    { event: 'page_view', page: '/pricing', timestamp: ts(10) },
    { event: 'page_view', page: '/docs', timestamp: ts(15) },
  ]);
  assert.equal(res.status, 202, res.text);
  assert.equal(res.json.accepted, 3);
  assert.equal(res.json.rejected, 0);
  assert.equal(res.json.results.length, 3);
  for (const r of res.json.results) assert.equal(r.status, 'accepted');

  const vars = { tenant: t.id, start: new Date(hour).toISOString(), end: new Date(hour + 3599999).toISOString() };
  const points = await waitFor(async () => {
    const g = await graphql(t.key, QUERY, vars);
    assert.equal(g.status, 200, g.text);
    const p = g.json.data?.metrics ?? [];
    const total = p.reduce((s, x) => s + x.value, 0);
    return total === 3 ? p : null;
  }, 5000);
  assert.ok(points, 'counts did not appear within 5 s');
  const byPage = Object.fromEntries(points.map((p) => [p.dimensions.page, p]));
  assert.equal(byPage['/pricing'].value, 2);
  assert.equal(byPage['/docs'].value, 1);
  for (const p of points) assert.equal(p.timestamp, new Date(hour).toISOString());
  assert.equal(kafkaCount(t.id), 3);
});

test('invalid JSON gets 400 with a byte offset and nothing reaches Kafka', async () => {
  const t = freshTenant();
  const res = await ingest(t.key, '{"event": "page_view", }');
  assert.equal(res.status, 400);
  assert.equal(res.json.error.code, 'invalid_json');
  assert.equal(typeof res.json.error.offset, 'number');
  assert.ok(res.json.error.message.length > 0);
  assert.equal(kafkaCount(t.id), 0);
});

test('wrong, missing and revoked keys get 401 JSON errors on ingest and graphql, and nothing reaches Kafka', async () => {
  const t = freshTenant();
  const wrong = t.key.slice(0, -4) + (t.key.endsWith('0000') ? '1111' : '0000');
  // a real key of the tenant, revoked before its first use (so no cache holds it; revocation of a
  // cached key within KEY_CACHE_TTL_S: key_revocation.test.mjs)
  const revokedKey = admin('key', 'create', '--tenant', t.id, '--scopes', 'ingest,read').trim().split('\n').pop().trim();
  assert.match(admin('key', 'revoke', revokedKey.slice(3, 15)), /revoked api key/);
  for (const key of [wrong, null, 'not-a-key', 'ak_000000000000_00000000000000000000000000000000', revokedKey]) {
    const res = await ingest(key, { event: 'page_view' });
    assert.equal(res.status, 401, `key ${key}: ${res.text}`);
    assert.equal(res.json.error.code, 'unauthorized');
    const g = await graphql(key, '{ me { kind } }');
    assert.equal(g.status, 401, `graphql, key ${key}: ${g.text}`);
  }
  // the tenant's valid key still works on both
  assert.equal((await graphql(t.key, '{ me { kind } }')).json.data.me.kind, 'api_key');
  assert.equal(kafkaCount(t.id), 0);
});

test('a key without ingest scope gets 403', async () => {
  const t = freshTenant('read');
  const res = await ingest(t.key, { event: 'page_view' });
  assert.equal(res.status, 403);
  assert.equal(res.json.error.code, 'forbidden');
});

test('graphql refuses another tenant\'s data with FORBIDDEN and no data', async () => {
  const a = freshTenant();
  const b = freshTenant();
  const g = await graphql(a.key, QUERY, { tenant: b.id, start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' });
  assert.equal(g.status, 200);
  assert.equal(g.json.data, null);
  assert.equal(g.json.errors[0].extensions.code, 'FORBIDDEN');
});
