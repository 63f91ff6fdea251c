// catalog.test.mjs — lib/catalog through both front doors on the real stack (issues 18 and 13):
// the same bad inputs through `analytics-admin` and GraphQL give the same message (CLI exit 2 ⇔
// BAD_USER_INPUT, exit 1 ⇔ NOT_FOUND/CONFLICT) and change nothing; metric names live in one
// namespace (automatic counts keep their event's exact name, a definition never takes a seen
// event's name unless it is its count, an event arriving under a defined name never merges into
// it: it counts as "<name> (event)"); delete and rename from GraphQL and the CLI, with rollups,
// alerts, dashboard charts and cached answers following; unknown names are NOT_FOUND with
// suggestions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN, env, freshTenant, ingest, graphql, waitFor } from './lib/stack.mjs';

const HOUR = 3600000;
const iso = (ms) => new Date(ms).toISOString();
// one range for the whole file, so repeated questions share a cache entry
const T0 = Date.now();
const RANGE = { s: iso(Math.floor(T0 / HOUR) * HOUR - 2 * HOUR), e: iso(T0 + 2 * HOUR) };

// analytics-admin with args: {status, out, err, first} (first = the first stderr line).
function cli(...args) {
  const r = spawnSync(`${BIN}/analytics-admin`, args, { encoding: 'utf8', env });
  return { status: r.status, out: r.stdout, err: r.stderr, first: r.stderr.split('\n')[0] };
}

const DEFINE = `mutation($t: String!, $in: MetricInput!) { defineMetric(tenant: $t, input: $in) { name eventName aggregation property dimensions cardinalityCap } }`;
const METRICS = `query($t: String!, $n: String!, $s: DateTime!, $e: DateTime!) { metrics(tenant: $t, name: $n, startTime: $s, endTime: $e) { value } }`;
const DELETE = `mutation($t: String!, $n: String!) { deleteMetric(tenant: $t, name: $n) { name eventName } }`;
const RENAME = `mutation($t: String!, $n: String!, $to: String!) { renameMetric(tenant: $t, name: $n, newName: $to) { name eventName } }`;

// A metric's total over the last hours, or the GraphQL error.
async function total(t, name) {
  const g = await graphql(t.key, METRICS, { t: t.id, n: name, ...RANGE });
  if (g.json.errors) return { error: g.json.errors[0] };
  return { value: g.json.data.metrics.reduce((s, p) => s + p.value, 0), cache: g.headers.get('x-cache') };
}

async function waitTotal(t, name, want, ms = 15000) {
  const ok = await waitFor(async () => (await total(t, name)).value === want, ms, 150);
  assert.ok(ok, `${name} did not reach ${want}: ${JSON.stringify(await total(t, name))}`);
}

// One bad request through both doors: same message, matching kind, nothing changed.
async function same(t, gqlQuery, vars, cliArgs, code) {
  const g = await graphql(t.key, gqlQuery, { t: t.id, ...vars });
  assert.ok(g.json.errors, `GraphQL accepted ${JSON.stringify(vars)}: ${g.text}`);
  const ge = g.json.errors[0];
  const c = cli(...cliArgs);
  assert.equal(ge.extensions.code, code, g.text);
  assert.equal(c.status, code === 'BAD_USER_INPUT' ? 2 : 1, `CLI ${cliArgs.join(' ')}: ${c.err}`);
  assert.equal(c.first, ge.message, `CLI and GraphQL disagree for ${cliArgs.join(' ')}`);
  assert.ok(!/violates|constraint|relation|syntax|SQLSTATE/i.test(ge.message), `database text leaked: ${ge.message}`);
  return ge.message;
}

test('the same bad input through the CLI and GraphQL: the same message, nothing changed', async () => {
  const t = freshTenant();
  const def = (input, cliExtra) => [DEFINE, { in: { eventName: 'e', ...input } },
    ['metric', 'define', '--tenant', t.id, '--event', input.eventName ?? 'e', ...cliExtra]];
  const cases = [
    def({ name: '' }, ['--name', '']),
    def({ name: 'bad name!' }, ['--name', 'bad name!']),
    def({ name: 'Order Completed' }, ['--name', 'Order Completed']),
    def({ name: '1st' }, ['--name', '1st']),
    def({ name: 'x'.repeat(65) }, ['--name', 'x'.repeat(65)]),
    def({ name: 'm', eventName: '' }, ['--name', 'm']),
    def({ name: 'm', aggregation: 'median' }, ['--name', 'm', '--aggregation', 'median']),
    def({ name: 'm', aggregation: 'sum' }, ['--name', 'm', '--aggregation', 'sum']),
    def({ name: 'm', property: 'amount' }, ['--name', 'm', '--property', 'amount']),
    def({ name: 'm', dimensions: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] }, ['--name', 'm', '--dimensions', 'a,b,c,d,e,f,g,h,i']),
    def({ name: 'm', dimensions: ['plan', 'plan'] }, ['--name', 'm', '--dimensions', 'plan,plan']),
    // an empty dimension name: GraphQL ["a", ""], the CLI "a,"
    def({ name: 'm', dimensions: ['a', ''] }, ['--name', 'm', '--dimensions', 'a,']),
    def({ name: 'm', cardinalityCap: 0 }, ['--name', 'm', '--cardinality-cap', '0']),
    def({ name: 'm', cardinalityCap: 1000001 }, ['--name', 'm', '--cardinality-cap', '1000001']),
  ];
  const seen = new Set();
  for (const [q, vars, args] of cases) seen.add(await same(t, q, vars, args, 'BAD_USER_INPUT'));
  assert.equal(seen.size, cases.length, 'every case has its own message');
  assert.ok([...seen].some((m) => m.startsWith('invalid metric name ""')));
  assert.ok([...seen].includes('aggregation count takes no property (it counts events)'));

  const KEY = `mutation($t: String!, $s: [String!]!, $r: Int, $n: String) { createApiKey(tenant: $t, scopes: $s, rateLimit: $r, name: $n) { key } }`;
  const keyCases = [
    [{ s: [] }, ['--scopes', '']],
    [{ s: ['root'] }, ['--scopes', 'root']],
    [{ s: ['read', 'read'] }, ['--scopes', 'read,read']],
    [{ s: ['read'], r: 0 }, ['--scopes', 'read', '--rate-limit', '0']],
    [{ s: ['read'], n: '' }, ['--scopes', 'read', '--name', '']],
    [{ s: ['read'], n: 'x'.repeat(201) }, ['--scopes', 'read', '--name', 'x'.repeat(201)]],
  ];
  for (const [vars, args] of keyCases) await same(t, KEY, vars, ['key', 'create', '--tenant', t.id, ...args], 'BAD_USER_INPUT');
  const REVOKE = `mutation($t: String!, $k: ID!) { revokeApiKey(tenant: $t, keyId: $k) { keyId } }`;
  await same(t, REVOKE, { k: 'zzz' }, ['key', 'revoke', 'zzz'], 'BAD_USER_INPUT');

  // delete / rename: unknown metric, bad and taken new names
  let g = await graphql(t.key, DEFINE, { t: t.id, in: { name: 'signups', eventName: 'signup' } });
  assert.equal(g.json.errors, undefined, g.text);
  assert.equal(cli('metric', 'define', '--tenant', t.id, '--name', 'visits', '--event', 'visit').status, 0);
  const msg = await same(t, DELETE, { n: 'signupz' }, ['metric', 'delete', '--tenant', t.id, '--name', 'signupz'], 'NOT_FOUND');
  assert.match(msg, /did you mean "signups"\?$/);
  await same(t, RENAME, { n: 'signups', to: 'Sign Ups' }, ['metric', 'rename', '--tenant', t.id, '--name', 'signups', '--to', 'Sign Ups'], 'BAD_USER_INPUT');
  await same(t, RENAME, { n: 'signups', to: 'visits' }, ['metric', 'rename', '--tenant', t.id, '--name', 'signups', '--to', 'visits'], 'CONFLICT');
  await same(t, RENAME, { n: 'nope', to: 'fine' }, ['metric', 'rename', '--tenant', t.id, '--name', 'nope', '--to', 'fine'], 'NOT_FOUND');
  g = await graphql(t.key, `mutation($t: String!) { createAlert(tenant: $t, input: {name: "many", metric: "signups", comparator: GT, threshold: 5}) { id } }`, { t: t.id });
  assert.equal(g.json.errors, undefined, g.text);
  const inUse = await same(t, DELETE, { n: 'signups' }, ['metric', 'delete', '--tenant', t.id, '--name', 'signups'], 'CONFLICT');
  assert.match(inUse, /used by alert "many"/);

  // nothing of the refused requests was stored
  g = await graphql(t.key, `query($t: String!) { metricDefinitions(tenant: $t) { name } apiKeys(tenant: $t) { keyId } alerts(tenant: $t) { metric } }`, { t: t.id });
  assert.deepEqual(g.json.data.metricDefinitions.map((d) => d.name), ['signups', 'visits']);
  assert.equal(g.json.data.apiKeys.length, 1);
  assert.deepEqual(g.json.data.alerts.map((a) => a.metric), ['signups']);
});

test('one namespace: exact event names, no hijacked names, shadowed events never merge', async () => {
  const t = freshTenant();
  let r = await ingest(t.key, [{ event: 'Order Completed', total: 3 }, { event: 'signup', plan: 'pro' }, { event: 'signup', plan: 'free' }]);
  assert.equal(r.status, 202, r.text);
  await waitTotal(t, 'Order Completed', 1); // Segment-style name, exactly as sent
  await waitTotal(t, 'signup', 2);

  // a seen event's name is refused for anything but that event's count
  await same(t, DEFINE, { in: { name: 'signup', eventName: 'purchase', aggregation: 'sum', property: 'amount' } },
    ['metric', 'define', '--tenant', t.id, '--name', 'signup', '--event', 'purchase', '--aggregation', 'sum', '--property', 'amount'], 'CONFLICT');
  await same(t, DEFINE, { in: { name: 'signup', eventName: 'purchase' } },
    ['metric', 'define', '--tenant', t.id, '--name', 'signup', '--event', 'purchase'], 'CONFLICT');
  let g = await graphql(t.key, DEFINE, { t: t.id, in: { name: 'signup', eventName: 'signup', dimensions: ['plan'] } });
  assert.equal(g.json.errors, undefined, g.text); // the count of that same event: allowed
  r = await ingest(t.key, { event: 'signup', plan: 'pro' });
  await waitTotal(t, 'signup', 3); // the definition continues the count

  // a name defined before its event arrives: the event counts as "<name> (event)", never into it
  g = await graphql(t.key, DEFINE, { t: t.id, in: { name: 'revenue', eventName: 'purchase', aggregation: 'sum', property: 'amount' } });
  assert.equal(g.json.errors, undefined, g.text);
  r = await ingest(t.key, [{ event: 'purchase', amount: 10 }, { event: 'purchase', amount: 5 }, { event: 'revenue', amount: 1000 }]);
  assert.equal(r.status, 202, r.text);
  await waitTotal(t, 'revenue (event)', 1);
  await waitTotal(t, 'revenue', 15);
  assert.equal((await total(t, 'purchase')).value, 2);

  // rename from GraphQL: rows, alerts and charts follow; the name's events get it back
  g = await graphql(t.key, `mutation($t: String!) { createAlert(tenant: $t, input: {name: "big", metric: "revenue", comparator: GT, threshold: 100}) { id } saveDashboard(tenant: $t, name: "Money", layout: {charts: [{metric: "revenue"}, {metric: "signup"}]}) { id } }`, { t: t.id });
  assert.equal(g.json.errors, undefined, g.text);
  for (let i = 0; i < 2; i++) assert.equal((await total(t, 'revenue')).value, 15); // now cached
  assert.equal((await total(t, 'revenue')).cache, 'HIT');
  g = await graphql(t.key, RENAME, { t: t.id, n: 'revenue', to: 'sales' });
  assert.deepEqual(g.json.data?.renameMetric, { name: 'sales', eventName: 'purchase' }, g.text);
  assert.equal((await total(t, 'sales')).value, 15);
  const back = await total(t, 'revenue'); // the cached sum is gone: it is the event's count again
  assert.equal(back.value, 1, JSON.stringify(back));
  assert.equal((await total(t, 'revenue (event)')).error?.extensions.code, 'NOT_FOUND');
  g = await graphql(t.key, `query($t: String!) { alerts(tenant: $t) { metric } dashboards(tenant: $t) { layout } metricDefinitions(tenant: $t) { name } }`, { t: t.id });
  assert.deepEqual(g.json.data.alerts.map((a) => a.metric), ['sales']);
  assert.deepEqual(g.json.data.dashboards[0].layout.charts.map((c) => c.metric), ['sales', 'signup']);
  assert.deepEqual(g.json.data.metricDefinitions.map((d) => d.name).sort(), ['sales', 'signup']);
  // new events follow the new names at once
  r = await ingest(t.key, [{ event: 'purchase', amount: 1 }, { event: 'revenue' }]);
  await waitTotal(t, 'sales', 16);
  await waitTotal(t, 'revenue', 2);

  // rename and delete from the CLI; the alert must go first
  for (let i = 0; i < 2; i++) assert.equal((await total(t, 'sales')).value, 16); // cached
  let c = cli('metric', 'rename', '--tenant', t.id, '--name', 'sales', '--to', 'turnover');
  assert.equal(c.status, 0, c.err);
  assert.equal(c.err, '', 'the change was announced on the change feed');
  assert.equal((await total(t, 'turnover')).value, 16);
  // the CLI announces on the change feed: graphql-api drops the cached answer as it arrives
  assert.ok(await waitFor(async () => (await total(t, 'sales')).error?.extensions.code === 'NOT_FOUND', 5000, 50),
    'the cached answer of the old name was not dropped');
  c = cli('metric', 'delete', '--tenant', t.id, '--name', 'turnover');
  assert.equal(c.status, 1);
  assert.match(c.first, /^could not delete metric "turnover": used by alert "big"/);
  // (no deleteAlert yet: the alert is removed in SQL to exercise the delete itself)
  spawnSync('psql', [env.DATABASE_URL, '-XAtqc', `DELETE FROM alerts WHERE tenant_id = '${t.id}'`]);
  for (let i = 0; i < 2; i++) assert.equal((await total(t, 'turnover')).value, 16);
  c = cli('metric', 'delete', '--tenant', t.id, '--name', 'turnover');
  assert.equal(c.status, 0, c.err);
  // rows deleted and the cached answer dropped
  assert.ok(await waitFor(async () => (await total(t, 'turnover')).error?.extensions.code === 'NOT_FOUND', 5000, 50),
    `turnover still answers: ${JSON.stringify(await total(t, 'turnover'))}`);
  assert.equal(spawnSync('psql', [env.DATABASE_URL, '-XAtqc', `SELECT count(*) FROM rollups_hourly WHERE tenant_id = '${t.id}' AND metric = 'turnover'`], { encoding: 'utf8' }).stdout.trim(), '0');

  // deleting the count of its own event keeps the rows: they are the event's count
  g = await graphql(t.key, DELETE, { t: t.id, n: 'signup' });
  assert.deepEqual(g.json.data?.deleteMetric, { name: 'signup', eventName: 'signup' }, g.text);
  assert.equal((await total(t, 'signup')).value, 3);
  r = await ingest(t.key, { event: 'signup' });
  await waitTotal(t, 'signup', 4);
});

test('metrics(name) of an unknown name is NOT_FOUND naming it, with close names', async () => {
  const t = freshTenant();
  let g = await graphql(t.key, DEFINE, { t: t.id, in: { name: 'page_views', eventName: 'page_view', dimensions: ['page'] } });
  assert.equal(g.json.errors, undefined, g.text);
  // the event a definition counts is a metric before its first event (an empty series)
  assert.deepEqual(await total(t, 'page_view'), { value: 0, cache: 'MISS' });
  const e = (await total(t, 'page_veiws')).error;
  assert.equal(e.extensions.code, 'NOT_FOUND');
  assert.equal(e.message, `unknown metric "page_veiws": no definition and no event of that name in tenant "${t.id}"; did you mean "page_views" or "page_view"?`);
  assert.deepEqual(e.path, ['metrics']);
  const far = (await total(t, 'zzzzzzzz')).error;
  assert.equal(far.extensions.code, 'NOT_FOUND');
  assert.ok(!far.message.includes('did you mean'), far.message);
  // an empty series of a real metric is still an empty list, not an error
  g = await graphql(t.key, METRICS, { t: t.id, n: 'page_views', s: '2020-01-01T00:00:00Z', e: '2020-01-02T00:00:00Z' });
  assert.deepEqual(g.json.data, { metrics: [] });
  assert.equal(g.json.errors, undefined);
  assert.equal(g.json.extensions.cacheHit, false);
  // another tenant's names are not suggested
  const other = freshTenant();
  const o = (await total(other, 'page_veiws')).error;
  assert.equal(o.extensions.code, 'NOT_FOUND');
  assert.ok(!o.message.includes('did you mean'), o.message);
});

// The recount job is queued in the define transaction: the mutation's answer is that job, never
// null ("never recomputed") nor the previous definition's job.
test('defineMetric answers the recount it queued: pending, progress 0', async () => {
  const t = freshTenant();
  const Q = `mutation($t: String!, $in: MetricInput!) { defineMetric(tenant: $t, input: $in) {
    name backfill { state progress daysDone daysTotal events error } } }`;
  const DEFS = `query($t: String!) { metricDefinitions(tenant: $t) { name backfill { state daysTotal } } }`;
  for (const input of [{ name: 'spend', eventName: 'purchase', aggregation: 'sum', property: 'amount' },
    { name: 'spend', eventName: 'purchase', aggregation: 'max', property: 'amount' }]) {
    const g = await graphql(t.key, Q, { t: t.id, in: input });
    assert.equal(g.json.errors, undefined, g.text);
    const b = g.json.data.defineMetric.backfill;
    assert.ok(b !== null, `defineMetric answered backfill: null: ${g.text}`);
    assert.equal(b.state, 'pending', g.text);
    assert.equal(b.progress, 0);
    assert.equal(b.daysDone, 0);
    assert.equal(b.events, 0);
    assert.equal(b.error, null);
    assert.ok(b.daysTotal > 0, g.text);
    // the same job as a query right after shows (the worker may have started it since)
    const d = await graphql(t.key, DEFS, { t: t.id });
    assert.equal(d.json.data.metricDefinitions.find((m) => m.name === 'spend').backfill.daysTotal, b.daysTotal);
  }
});

test('a tenant has at most 1000 active API keys: both doors refuse the next with the same message', async () => {
  const t = freshTenant(); // its own key is active key 1
  const psql = (q) => spawnSync('psql', [env.DATABASE_URL, '-XAtqc', q], { encoding: 'utf8' });
  // 999 more active keys and one revoked one, written directly (1000 bcrypts would take minutes)
  const ins = psql(`INSERT INTO api_keys (key_id, tenant_id, secret_hash, scopes, revoked_at)
    SELECT 'cap' || substr(md5('${t.id}' || i), 1, 9), '${t.id}', 'x', '{read}', CASE WHEN i = 0 THEN now() END
    FROM generate_series(0, 999) i`);
  assert.equal(ins.status, 0, ins.stderr);
  const KEY = `mutation($t: String!, $s: [String!]!) { createApiKey(tenant: $t, scopes: $s) { key } }`;
  const msg = await same(t, KEY, { s: ['read'] }, ['key', 'create', '--tenant', t.id, '--scopes', 'read'], 'LIMIT_EXCEEDED');
  assert.match(msg, /has 1000 active keys, the most it may have \(1000\); revoke/);
  assert.equal(psql(`SELECT count(*) FROM api_keys WHERE tenant_id = '${t.id}'`).stdout.trim(), '1001', 'a key was added');
  // one revoked: room for exactly one more
  psql(`UPDATE api_keys SET revoked_at = now() WHERE key_id = 'cap' || substr(md5('${t.id}' || 1), 1, 9)`);
  const g = await graphql(t.key, KEY, { t: t.id, s: ['read'] });
  assert.ok(g.json.data?.createApiKey?.key, g.text);
  const c = cli('key', 'create', '--tenant', t.id, '--scopes', 'read');
  assert.equal(c.status, 1, c.err);
  assert.match(c.first, /has 1000 active keys/);
});
