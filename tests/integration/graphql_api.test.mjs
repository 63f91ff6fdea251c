// graphql_api.test.mjs — graphql-api against the real stack (ingest → Kafka → worker →
// PostgreSQL → graphql-api, Redis): exact metric values per aggregation, groupBy/filter/time
// zone checks, mutations (dashboards, alerts, API keys) with bad input changing nothing, the
// Redis cache (hit, invalidation by a restated bucket, Redis stopped), limits and the
// cross-tenant matrix (every tenant- or id-taking operation → FORBIDDEN, nothing leaked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { env, freshTenant, ingest, graphql, waitFor, sleep, GRAPHQL } from './lib/stack.mjs';
import { redis, REDIS_PORT } from './lib/gql.mjs';

const METRICS = `query M($t: String!, $n: String!, $s: DateTime!, $e: DateTime!, $g: [String!],
  $gran: Granularity, $tz: String, $f: JSON) {
  metrics(tenant: $t, name: $n, startTime: $s, endTime: $e, groupBy: $g, granularity: $gran,
          timezone: $tz, filter: $f) { timestamp value dimensions revision final }
}`;
const DEFINE = `mutation D($t: String!, $in: MetricInput!) { defineMetric(tenant: $t, input: $in) { name dimensions } }`;

const HOUR = 3600000;
const prevHour = () => Math.floor(Date.now() / HOUR) * HOUR - HOUR;
const iso = (ms) => new Date(ms).toISOString();

async function define(t, input) {
  const g = await graphql(t.key, DEFINE, { t: t.id, in: input });
  assert.equal(g.json.errors, undefined, g.text);
}

async function series(t, vars) {
  const g = await graphql(t.key, METRICS, { t: t.id, ...vars });
  assert.equal(g.status, 200, g.text);
  return g;
}

// graphql-api's /metrics as { name: value } (unlabelled lines only)
async function gqlMetrics() {
  const text = await (await fetch(`${GRAPHQL}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^(graphql_[a-z_]+) (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

function byDim(points, k) {
  return Object.fromEntries(points.map((p) => [p.dimensions[k], p.value]));
}

test('metrics: exact values per aggregation, groupBy, filter, time zones; bad arguments refused', async () => {
  const t = freshTenant();
  await define(t, { name: 'page_views', eventName: 'page_view', dimensions: ['page', 'country'] });
  await define(t, { name: 'uniq_users', eventName: 'page_view', aggregation: 'unique', property: 'user' });
  await define(t, { name: 'avg_ms', eventName: 'page_view', aggregation: 'avg', property: 'ms', dimensions: ['page'] });
  await define(t, { name: 'max_ms', eventName: 'page_view', aggregation: 'max', property: 'ms' });
  const h = prevHour();
  const ev = (m, page, country, user, ms) => ({ event: 'page_view', timestamp: iso(h + m * 60000), page, country, user, ms });
  const res = await ingest(t.key, [ev(5, '/a', 'de', 'u1', 10), ev(10, '/a', 'fr', 'u2', 20),
    ev(15, '/b', 'de', 'u1', 30), ev(20, '/a', 'de', 'u3', 40), ev(25, '/b', 'us', 'u2', 50)]);
  assert.equal(res.status, 202, res.text);
  const range = { s: iso(h), e: iso(h + HOUR - 1) };
  const ok = await waitFor(async () => {
    const g = await series(t, { n: 'page_view', ...range });
    return g.json.data?.metrics?.[0]?.value === 5;
  }, 10000);
  assert.ok(ok, 'the 5 events did not appear within 10 s');

  let g = await series(t, { n: 'page_views', g: ['page'], ...range });
  assert.deepEqual(byDim(g.json.data.metrics, 'page'), { '/a': 3, '/b': 2 });
  for (const p of g.json.data.metrics) {
    assert.equal(p.timestamp, iso(h));
    assert.equal(typeof p.revision, 'number');
    assert.equal(typeof p.final, 'boolean');
  }
  g = await series(t, { n: 'page_views', g: ['page'], f: { country: 'de' }, ...range });
  assert.deepEqual(byDim(g.json.data.metrics, 'page'), { '/a': 2, '/b': 1 });
  g = await series(t, { n: 'page_views', g: ['country', 'page'], ...range });
  assert.equal(g.json.data.metrics.length, 4); // (de,/a) (fr,/a) (de,/b) (us,/b)
  g = await series(t, { n: 'uniq_users', ...range });
  assert.equal(g.json.data.metrics.length, 1);
  assert.equal(g.json.data.metrics[0].value, 3); // u1 u2 u3, HLL merge in C
  g = await series(t, { n: 'avg_ms', g: ['page'], ...range });
  const avg = byDim(g.json.data.metrics, 'page');
  assert.ok(Math.abs(avg['/a'] - 70 / 3) < 1e-9, JSON.stringify(avg));
  assert.equal(avg['/b'], 40);
  g = await series(t, { n: 'max_ms', ...range });
  assert.equal(g.json.data.metrics[0].value, 50);

  // days: UTC from the daily rollups, local days in a :30 zone and a DST zone
  for (const tz of ['UTC', 'Asia/Kolkata', 'America/New_York']) {
    g = await series(t, { n: 'page_views', gran: 'DAY', tz, ...range });
    assert.equal(g.json.errors, undefined, g.text);
    const total = g.json.data.metrics.reduce((s, p) => s + p.value, 0);
    assert.equal(total, 5, `${tz}: ${g.text}`);
  }

  // groupBy and filter on a property that is not a dimension: answered from raw events
  g = await series(t, { n: 'page_views', g: ['nope'], ...range });
  assert.equal(g.json.errors, undefined, g.text);
  assert.deepEqual(g.json.data.metrics.map((p) => [p.dimensions, p.value]), [[{ nope: null }, 5]]);
  assert.equal(g.json.extensions.metrics[0].source, 'raw_events');
  g = await series(t, { n: 'page_views', f: { nope: 1 }, ...range });
  assert.deepEqual(g.json.data.metrics, []);
  // unknown zones, a filter that is not an object: BAD_USER_INPUT
  for (const vars of [{ tz: 'Mars/Olympus_Mons' }, { f: [1] }, { tz: 'UTC+5' }]) {
    g = await series(t, { n: 'page_views', ...range, ...vars });
    assert.equal(g.json.data, null, g.text);
    assert.equal(g.json.errors[0].extensions.code, 'BAD_USER_INPUT', g.text);
    assert.ok(g.json.errors[0].message.length > 10);
  }
  g = await series(t, { n: 'page_views', s: iso(h + HOUR), e: iso(h) });
  assert.equal(g.json.errors[0].extensions.code, 'BAD_USER_INPUT');
});

test('mutations: dashboards, alerts, API keys; bad input gets a clear error and changes nothing', async () => {
  const t = freshTenant();
  await define(t, { name: 'signups', eventName: 'signup', dimensions: ['plan'] });
  const layout = { charts: [{ metric: 'signups', groupBy: ['plan'], granularity: 'DAY', timezone: 'Europe/Berlin', timeRange: { last: '30d' } }] };
  let g = await graphql(t.key, `mutation($t: String!, $l: JSON!) { saveDashboard(tenant: $t, name: "Growth", layout: $l) { id name layout tenant } }`, { t: t.id, l: layout });
  assert.equal(g.json.errors, undefined, g.text);
  assert.deepEqual(g.json.data.saveDashboard.layout, layout);
  for (const bad of [{ charts: [{ groupBy: ['plan'] }] }, { charts: 'x' }, { charts: [{ metric: 'signups', granularity: 'WEEK' }] }]) {
    g = await graphql(t.key, `mutation($t: String!, $l: JSON!) { saveDashboard(tenant: $t, name: "Bad", layout: $l) { id } }`, { t: t.id, l: bad });
    assert.equal(g.json.errors[0].extensions.code, 'BAD_USER_INPUT', g.text);
  }
  g = await graphql(t.key, `query($t: String!) { dashboards(tenant: $t) { name layout } }`, { t: t.id });
  assert.deepEqual(g.json.data.dashboards.map((d) => d.name), ['Growth']);

  const ALERT = `mutation($t: String!, $in: AlertInput!) { createAlert(tenant: $t, input: $in) { id name metric filter comparator threshold granularity enabled } }`;
  g = await graphql(t.key, ALERT, { t: t.id, in: { name: 'many signups', metric: 'signups', filter: { plan: 'pro' }, comparator: 'GT', threshold: 100.5, granularity: 'DAY' } });
  assert.equal(g.json.errors, undefined, g.text);
  assert.deepEqual(g.json.data.createAlert.filter, { plan: 'pro' });
  assert.equal(g.json.data.createAlert.threshold, 100.5);
  for (const bad of [{ metric: 'nope' }, { filter: { country: 'de' } }]) {
    g = await graphql(t.key, ALERT, { t: t.id, in: { name: 'bad', metric: 'signups', comparator: 'LT', threshold: 1, ...bad } });
    assert.equal(g.json.errors[0].extensions.code, 'BAD_USER_INPUT', g.text);
  }
  g = await graphql(t.key, ALERT, { t: t.id, in: { name: 'bad', metric: 'signups', comparator: 'ABOUT', threshold: 1 } });
  assert.equal(g.json.errors[0].extensions.code, 'BAD_USER_INPUT', g.text); // enum coercion
  g = await graphql(t.key, `query($t: String!) { alerts(tenant: $t) { name } }`, { t: t.id });
  assert.deepEqual(g.json.data.alerts.map((a) => a.name), ['many signups']);

  // API keys: shown once, usable, listed without the secret, revocable; bad scopes refused
  g = await graphql(t.key, `mutation($t: String!) { createApiKey(tenant: $t, scopes: ["read", "ingest"], name: "ci") { key apiKey { keyId scopes name revokedAt } } }`, { t: t.id });
  assert.equal(g.json.errors, undefined, g.text);
  const created = g.json.data.createApiKey;
  assert.match(created.key, /^ak_[0-9a-f]{12}_[0-9a-f]{32}$/);
  assert.deepEqual(created.apiKey.scopes, ['read', 'ingest']);
  const me = await graphql(created.key, '{ me { kind keyId scopes tenants { id } } }');
  assert.equal(me.json.data.me.keyId, created.apiKey.keyId);
  assert.deepEqual(me.json.data.me.tenants.map((x) => x.id), [t.id]);
  g = await graphql(t.key, `mutation($t: String!) { createApiKey(tenant: $t, scopes: ["root"]) { key } }`, { t: t.id });
  assert.equal(g.json.errors[0].extensions.code, 'BAD_USER_INPUT');
  g = await graphql(t.key, `query($t: String!) { apiKeys(tenant: $t) { keyId } }`, { t: t.id });
  assert.equal(g.json.data.apiKeys.length, 2); // the fixture key and "ci"; the refused one is absent
  assert.ok(!g.text.includes(created.key.slice(-32)), 'the secret is never listed');
  g = await graphql(t.key, `mutation($t: String!, $k: ID!) { revokeApiKey(tenant: $t, keyId: $k) { keyId revokedAt } }`, { t: t.id, k: created.apiKey.keyId });
  assert.equal(g.json.errors, undefined, g.text);
  assert.ok(g.json.data.revokeApiKey.revokedAt);
  const refused = await ingest(created.key, { event: 'signup' }); // never cached by ingest: refused at once
  assert.equal(refused.status, 401);

  // a read-only key may read but not mutate
  const ro = freshTenant('read');
  g = await graphql(ro.key, `mutation($t: String!, $l: JSON!) { saveDashboard(tenant: $t, name: "x", layout: $l) { id } }`, { t: ro.id, l: { charts: [] } });
  assert.equal(g.json.errors[0].extensions.code, 'FORBIDDEN');
  g = await graphql(ro.key, `query($t: String!) { dashboards(tenant: $t) { id } }`, { t: ro.id });
  assert.deepEqual(g.json.data.dashboards, []);
});

test('cache: a repeated query is a hit; a late event restating a bucket shows at once', async () => {
  const t = freshTenant();
  const h = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR; // closed once the watermark passes it
  const res = await ingest(t.key, { event: 'late_evt', timestamp: iso(h + 60000) });
  assert.equal(res.status, 202, res.text);
  const vars = { n: 'late_evt', s: iso(h), e: iso(h + HOUR - 1) };
  const closed = await waitFor(async () => {
    const g = await series(t, vars);
    const p = g.json.data?.metrics?.[0];
    return p && p.value === 1 && p.final ? p : null;
  }, 20000, 250);
  assert.ok(closed, 'the bucket was not closed within 20 s');
  let g = await series(t, vars);
  g = await series(t, vars);
  assert.equal(g.headers.get('x-cache'), 'HIT');
  assert.equal(g.json.extensions.cacheHit, true);
  assert.equal(g.json.data.metrics[0].value, 1);
  // /metrics shows what the cache holds, and that nothing waits for a thread now
  const m1 = await gqlMetrics();
  for (const k of ['graphql_cache_series', 'graphql_cache_bytes'])
    assert.ok(m1[k] >= 1, `${k} = ${m1[k]} with a cached series`);
  assert.equal(m1.graphql_operations_queued, 0);
  assert.equal(m1.graphql_operations_waiting, 0);
  assert.ok(m1.graphql_cache_invalidations_total >= 0 && m1.graphql_ws_connections >= 0, JSON.stringify(m1));

  const res2 = await ingest(t.key, { event: 'late_evt', timestamp: iso(h + 120000) });
  assert.equal(res2.status, 202);
  const restated = await waitFor(async () => {
    const x = await series(t, vars);
    return x.json.data.metrics[0].value === 2 ? x : null;
  }, 10000, 100);
  assert.ok(restated, 'the restated bucket did not show within 10 s');
  const p = restated.json.data.metrics[0];
  assert.ok(p.revision >= 1, `revision ${p.revision}`);
  g = await series(t, vars);
  assert.equal(g.headers.get('x-cache'), 'HIT');
  assert.equal(g.json.data.metrics[0].value, 2);
  assert.equal(g.json.data.metrics[0].revision, p.revision);
  const m2 = await gqlMetrics();
  assert.ok(m2.graphql_cache_invalidations_total > m1.graphql_cache_invalidations_total,
    `the restatement's change was not counted: ${m1.graphql_cache_invalidations_total} -> ${m2.graphql_cache_invalidations_total}`);
});

test('cache: with Redis stopped the answers come from the database, and caching resumes after', async () => {
  const t = freshTenant();
  const h = prevHour();
  assert.equal((await ingest(t.key, [{ event: 'rd', timestamp: iso(h + 60000) }, { event: 'rd', timestamp: iso(h + 120000) }])).status, 202);
  const vars = { n: 'rd', s: iso(h), e: iso(h + HOUR - 1) };
  assert.ok(await waitFor(async () => (await series(t, vars)).json.data?.metrics[0]?.value === 2, 10000));
  const stackDir = env.STACK_DIR;
  const flushes = (await gqlMetrics()).graphql_cache_flushes_total;
  redis('shutdown', 'nosave');
  try {
    // graphql-api learns that the feed dropped when its pub/sub thread reads the connection's end
    // (pubsub.c); until then a repeat may be a HIT, as fresh as one served just before the drop
    // (changes published before it are ahead of the end on the same socket). On a loaded machine
    // that thread can wake after the next request (2 HITs in 3 runs of a red-team pass), so wait
    // for the first MISS — briefly: a HIT that outlives the drop by 2 s fails here.
    const noticed = await waitFor(async () => (await series(t, vars)).headers.get('x-cache') === 'MISS', 2000, 20);
    assert.ok(noticed, 'graphql-api still served cached answers 2 s after Redis stopped');
    for (let i = 0; i < 3; i++) {
      const g = await series(t, vars);
      assert.equal(g.json.errors, undefined, g.text);
      assert.equal(g.json.data.metrics[0].value, 2);
      assert.equal(g.headers.get('x-cache'), 'MISS');
      assert.equal(g.json.extensions.cacheHit, false);
    }
    const ready = await fetch(`${GRAPHQL}/readyz`).then((r) => r.json());
    assert.equal(ready.redis, false);
  } finally {
    // the stack's own settings file: port, directories and the password (scripts/stack.sh)
    execFileSync('redis-server', [`${stackDir}/redis/redis.conf`]);
  }
  assert.ok(await waitFor(async () => redis('ping') === 'PONG', 5000));
  const hit = await waitFor(async () => (await series(t, vars)).headers.get('x-cache') === 'HIT', 10000, 300);
  assert.ok(hit, 'caching did not resume after Redis came back');
  // the feed went down and came back: the cache was dropped at least once (down, and again when live)
  assert.ok((await gqlMetrics()).graphql_cache_flushes_total > flushes);
});

test('cache: a Redis that stops answering without closing the connection is noticed within seconds', async () => {
  // SIGSTOP: the process keeps its sockets open and answers nothing (as a dropped route or a
  // managed Redis's failover looks). graphql-api's pub/sub thread PINGs a quiet subscription
  // every second and gives up on it one second after an unanswered PING (pubsub.c); before that,
  // only TCP keepalive (tens of seconds) ended the cached answers.
  const t = freshTenant();
  const h = prevHour();
  assert.equal((await ingest(t.key, [{ event: 'rs', timestamp: iso(h + 60000) }])).status, 202);
  const vars = { n: 'rs', s: iso(h), e: iso(h + HOUR - 1) };
  assert.ok(await waitFor(async () => (await series(t, vars)).json.data?.metrics[0]?.value === 1, 10000));
  assert.ok(await waitFor(async () => (await series(t, vars)).headers.get('x-cache') === 'HIT', 10000, 200),
    'no cached answer to start from');
  const pid = Number(readFileSync(`${env.STACK_DIR}/run/redis.pid`, 'utf8').trim());
  process.kill(pid, 'SIGSTOP');
  const stoppedAt = Date.now();
  let missAfter = null;
  try {
    const noticed = await waitFor(async () => (await series(t, vars)).headers.get('x-cache') === 'MISS', 6000, 100);
    missAfter = Date.now() - stoppedAt;
    assert.ok(noticed, 'graphql-api still served cached answers 6 s after Redis stopped answering');
    const g = await series(t, vars);
    assert.equal(g.json.data.metrics[0].value, 1, g.text);
    assert.equal(g.headers.get('x-cache'), 'MISS');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  console.log(`# first MISS ${missAfter} ms after Redis stopped answering`);
  const hit = await waitFor(async () => (await series(t, vars)).headers.get('x-cache') === 'HIT', 15000, 300);
  assert.ok(hit, 'caching did not resume after Redis answered again');
});

test('limits: aliases, tokens, cost and the per-key query rate limit', async () => {
  const t = freshTenant();
  await define(t, { name: 'x', eventName: 'x_evt' }); // a metric of the tenant: no NOT_FOUND
  const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: me { kind }`).join(' ');
  let g = await graphql(t.key, `{ ${aliases} }`);
  assert.equal(g.json.errors[0].extensions.code, 'ALIAS_LIMIT', g.text);
  g = await graphql(t.key, `{ ${Array.from({ length: 700 }, () => 'me { kind }').join(' ')} }`);
  assert.equal(g.json.errors[0].extensions.code, 'TOKEN_LIMIT', g.text);
  // 17521 hours: the cost counts the buckets a table can hold (issue 14), so it runs
  g = await series(t, { n: 'x', s: '2024-01-01T00:00:00Z', e: '2026-01-01T00:00:00Z' });
  assert.equal(g.json.errors, undefined, g.text);
  const many = Array.from({ length: 15 }, (_, i) => `m${i}: metrics(tenant: "${t.id}", name: "x", startTime: "${iso(Date.now() - 80 * 24 * HOUR)}", endTime: "${iso(Date.now())}") { value }`).join(' ');
  g = await graphql(t.key, `{ ${many} }`);
  assert.equal(g.json.errors[0].extensions.code, 'COST_LIMIT', g.text);
  assert.equal(g.json.data, undefined);
  const now = Date.now();
  g = await series(t, { n: 'x', s: iso(now - 400 * 24 * HOUR), e: iso(now), gran: 'DAY' }); // 401 days: allowed
  assert.equal(g.json.errors, undefined, g.text);

  g = await graphql(t.key, `mutation($t: String!) { createApiKey(tenant: $t, scopes: ["read"], rateLimit: 3) { key } }`, { t: t.id });
  const limited = g.json.data.createApiKey.key;
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push((await graphql(limited, '{ me { kind } }')).status);
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  const r = await graphql(limited, '{ me { kind } }');
  assert.equal(r.json.errors[0].extensions.code, 'RATE_LIMITED');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
});

test('cross-tenant matrix: every operation naming another tenant or its ids is FORBIDDEN and leaks nothing', async () => {
  const a = freshTenant();
  const b = freshTenant();
  await define(b, { name: 'secret_metric', eventName: 'secret', dimensions: ['x'] });
  let g = await graphql(b.key, `mutation($t: String!) { saveDashboard(tenant: $t, name: "B's", layout: {charts: []}) { id } createAlert(tenant: $t, input: {name: "B", metric: "secret_metric", comparator: GT, threshold: 1}) { id } createApiKey(tenant: $t, scopes: ["read"]) { apiKey { keyId } } }`, { t: b.id });
  assert.equal(g.json.errors, undefined, g.text);
  const bKeyId = g.json.data.createApiKey.apiKey.keyId;
  // B's own answer is in the response cache; the same text and variables from A must not get it
  const secretQ = `query($t: String!) { metrics(tenant: $t, name: "secret_metric", startTime: "2026-01-01T00:00:00Z", endTime: "2026-01-02T00:00:00Z") { value } }`;
  for (let i = 0; i < 2; i++) assert.equal((await graphql(b.key, secretQ, { t: b.id })).json.errors, undefined);
  assert.equal((await graphql(b.key, secretQ, { t: b.id })).headers.get('x-cache'), 'HIT');
  g = await graphql(a.key, secretQ, { t: b.id });
  assert.equal(g.json.data, null, g.text);
  assert.equal(g.json.errors[0].extensions.code, 'FORBIDDEN');
  assert.notEqual(g.headers.get('x-cache'), 'HIT');
  const ops = [
    ['metrics', `query($t: String!) { metrics(tenant: $t, name: "secret_metric", startTime: "2026-01-01T00:00:00Z", endTime: "2026-01-02T00:00:00Z") { value } }`],
    ['metricDefinitions', `query($t: String!) { metricDefinitions(tenant: $t) { name } }`],
    ['dashboards', `query($t: String!) { dashboards(tenant: $t) { id name } }`],
    ['alerts', `query($t: String!) { alerts(tenant: $t) { id name } }`],
    ['apiKeys', `query($t: String!) { apiKeys(tenant: $t) { keyId } }`],
    ['defineMetric', `mutation($t: String!) { defineMetric(tenant: $t, input: {name: "evil", eventName: "e"}) { name } }`],
    ['saveDashboard', `mutation($t: String!) { saveDashboard(tenant: $t, name: "evil", layout: {charts: []}) { id } }`],
    ['createAlert', `mutation($t: String!) { createAlert(tenant: $t, input: {name: "evil", metric: "secret_metric", comparator: GT, threshold: 1}) { id } }`],
    ['createApiKey', `mutation($t: String!) { createApiKey(tenant: $t, scopes: ["admin"]) { key } }`],
    ['revokeApiKey', `mutation($t: String!, $k: ID!) { revokeApiKey(tenant: $t, keyId: $k) { keyId } }`],
  ];
  for (const [name, q] of ops) {
    g = await graphql(a.key, q, { t: b.id, k: bKeyId });
    assert.equal(g.status, 200, `${name}: ${g.text}`);
    assert.equal(g.json.data, null, `${name}: ${g.text}`);
    assert.equal(g.json.errors.length, 1, name);
    assert.equal(g.json.errors[0].extensions.code, 'FORBIDDEN', `${name}: ${g.text}`);
    assert.ok(!g.text.includes('secret_metric') || name === 'metrics' || name === 'createAlert', `${name} leaked`);
    assert.ok(!g.text.includes(bKeyId) || name === 'revokeApiKey', `${name} leaked a key id`);
  }
  // B's key id under A's own tenant: not found, and B's key stays valid
  g = await graphql(a.key, `mutation($k: ID!, $t: String!) { revokeApiKey(tenant: $t, keyId: $k) { keyId } }`, { t: a.id, k: bKeyId });
  assert.equal(g.json.errors[0].extensions.code, 'NOT_FOUND');
  g = await graphql(b.key, `query($t: String!) { apiKeys(tenant: $t) { keyId revokedAt } dashboards(tenant: $t) { name } alerts(tenant: $t) { name } metricDefinitions(tenant: $t) { name } }`, { t: b.id });
  assert.equal(g.json.data.apiKeys.find((k) => k.keyId === bKeyId).revokedAt, null);
  assert.deepEqual(g.json.data.dashboards.map((d) => d.name), ["B's"]);
  assert.deepEqual(g.json.data.alerts.map((d) => d.name), ['B']);
  assert.deepEqual(g.json.data.metricDefinitions.map((d) => d.name), ['secret_metric']);
  // and A saw none of it
  g = await graphql(a.key, `query($t: String!) { dashboards(tenant: $t) { name } alerts(tenant: $t) { name } metricDefinitions(tenant: $t) { name } }`, { t: a.id });
  assert.deepEqual(g.json.data, { dashboards: [], alerts: [], metricDefinitions: [] });
});

test('limits from config: GRAPHQL_MAX_DEPTH and GRAPHQL_INTROSPECTION=false (a second graphql-api process)', async () => {
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('./lib/stack.mjs');
  const port = Number(env.GRAPHQL_PORT || 3002) + 20;
  const proc = spawn(`${BIN}/graphql-api`, [], {
    env: { ...env, GRAPHQL_PORT: String(port), GRAPHQL_REUSEPORT: 'false', GRAPHQL_MAX_DEPTH: '2', GRAPHQL_INTROSPECTION: 'false', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    const url = `http://127.0.0.1:${port}/graphql`;
    const up = await waitFor(async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 10000);
    assert.ok(up, 'second graphql-api did not start');
    const t = freshTenant();
    const ask = async (query) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` }, body: JSON.stringify({ query }) })).json();
    assert.deepEqual((await ask('{ me { kind } }')).data, { me: { kind: 'api_key' } });
    let r = await ask('{ me { tenants { id } } }');
    assert.equal(r.errors[0].extensions.code, 'DEPTH_LIMIT', JSON.stringify(r));
    r = await ask('{ __schema { types { name } } }');
    assert.equal(r.errors[0].extensions.code, 'INTROSPECTION_DISABLED', JSON.stringify(r));
    r = await ask('{ __typename }');
    assert.deepEqual(r.data, { __typename: 'Query' });
    // the default process still allows introspection
    const g = await graphql(t.key, '{ __schema { queryType { name } } }');
    assert.equal(g.json.data.__schema.queryType.name, 'Query');
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
});
