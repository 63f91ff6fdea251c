// graphql_hostile.test.mjs — graphql-api over HTTP against hostile documents and requests
// (issue 12, items 2 and 7), on the real test stack: the fragment fan-out document inside
// introspection is refused with WORK_LIMIT quickly and the process's memory stays where it was;
// GraphiQL's full introspection still rebuilds a schema; GRAPHQL_MAX_WORK and
// GRAPHQL_MAX_RESPONSE_BYTES are read from the environment (a second graphql-api process); a key
// without the read scope (an ingest key shipped in an app) gets FORBIDDEN for everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { getIntrospectionQuery, buildClientSchema } from 'graphql';
import { env, BIN, GRAPHQL, freshTenant, graphql, waitFor } from './lib/stack.mjs';
import { rawSocket, closeWithin } from './lib/gql.mjs';

// The document of the issue: every fragment spreads the next one three times per level inside
// __Type (fields { type { ...H ofType { ...H ofType { ...H } } } }), so the answer grows ×3.6
// per level; introspection is exempt from the depth limit so GraphiQL works. 9 levels: 832
// bytes of query, a 20 MB answer and +350 MB of RSS before the work budget.
function fanOut(levels) {
  const parts = ['{ __schema { types { ...H1 } } }'];
  for (let k = 1; k < levels; k++) {
    const n = `H${k + 1}`;
    parts.push(`fragment H${k} on __Type { name kind fields { type { ...${n} ofType { ...${n} ofType { ...${n} } } } } }`);
  }
  parts.push(`fragment H${levels} on __Type { name }`);
  return parts.join(' ');
}

const pid = () => Number(readFileSync(`${env.STACK_DIR}/run/graphql-api.pid`, 'utf8').trim());
function memKb(p, field) {
  const m = readFileSync(`/proc/${p}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return Number(m[1]);
}

test('the fragment fan-out inside introspection is refused with WORK_LIMIT, fast, with bounded memory', async () => {
  const t = freshTenant('read');
  const p = pid();
  await graphql(t.key, '{ __typename }'); // warm: key cache, connections
  const rssBefore = memKb(p, 'VmRSS');
  writeFileSync(`/proc/${p}/clear_refs`, '5'); // reset the peak (VmHWM) to the current RSS
  for (const levels of [9, 12]) {
    const q = fanOut(levels);
    const t0 = Date.now();
    const g = await graphql(t.key, q);
    const ms = Date.now() - t0;
    assert.equal(g.status, 200, g.text.slice(0, 300));
    assert.equal(g.json.data, undefined, `an answer came back: ${g.text.length} bytes`);
    assert.equal(g.json.errors.length, 1);
    assert.equal(g.json.errors[0].extensions.code, 'WORK_LIMIT', g.text.slice(0, 300));
    assert.match(g.json.errors[0].message, /budget of \d+ units/);
    assert.ok(g.text.length < 2000, `${g.text.length} bytes`);
    // before the budget: 2.1 s for 9 levels, 12 levels ≈ 1.2 GB; a loose bound, not a benchmark
    assert.ok(ms < 5000, `${levels} levels took ${ms} ms`);
    console.log(`${levels}-level fan-out (${q.length} bytes): WORK_LIMIT in ${ms} ms`);
  }
  const peak = memKb(p, 'VmHWM');
  const rssAfter = memKb(p, 'VmRSS');
  console.log(`graphql-api RSS ${rssBefore} kB before, peak ${peak} kB, ${rssAfter} kB after`);
  assert.ok(peak - rssBefore < 64 * 1024, `peak RSS grew by ${peak - rssBefore} kB`);
  assert.ok(rssAfter - rssBefore < 32 * 1024, `RSS grew by ${rssAfter - rssBefore} kB and stayed`);
  // the process still answers
  const ok = await graphql(t.key, '{ __typename }');
  assert.deepEqual(ok.json.data, { __typename: 'Query' });
});

test("GraphiQL's introspection query (every option) still runs and rebuilds the schema", async () => {
  const t = freshTenant('read');
  const q = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true,
    schemaDescription: true, inputValueDeprecation: true });
  const g = await graphql(t.key, q);
  assert.equal(g.json.errors, undefined, g.text.slice(0, 500));
  const schema = buildClientSchema(g.json.data);
  assert.ok(schema.getQueryType().getFields().metrics);
  assert.ok(schema.getSubscriptionType().getFields().metricUpdated);
});

test('GRAPHQL_MAX_WORK and GRAPHQL_MAX_RESPONSE_BYTES come from the environment (a second graphql-api)', async () => {
  const port = Number(env.GRAPHQL_PORT || 3002) + 22;
  const proc = spawn(`${BIN}/graphql-api`, [], {
    env: { ...env, GRAPHQL_PORT: String(port), GRAPHQL_REUSEPORT: 'false', GRAPHQL_MAX_WORK: '2000',
      GRAPHQL_MAX_RESPONSE_BYTES: '4096', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    assert.ok(await waitFor(async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 10000),
      'second graphql-api did not start');
    const t = freshTenant();
    // a 6 kB dashboard layout, saved through the stack's own graphql-api
    const layout = { charts: Array.from({ length: 40 }, (_, i) => ({ metric: `metric_${i}`, title: 'x'.repeat(120) })) };
    const saved = await graphql(t.key, 'mutation($t: String!, $l: JSON!) { saveDashboard(tenant: $t, name: "big", layout: $l) { id } }', { t: t.id, l: layout });
    assert.equal(saved.json.errors, undefined, saved.text);
    const ask = async (query) => (await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
      body: JSON.stringify({ query, variables: { t: t.id } }) })).json();
    assert.deepEqual((await ask('{ me { kind } }')).data, { me: { kind: 'api_key' } });
    // 2000 units = 40 introspection fields: the type list with kinds needs ~4,650
    let r = await ask('{ __schema { types { name kind } } }');
    assert.equal(r.errors?.[0]?.extensions?.code, 'WORK_LIMIT', JSON.stringify(r).slice(0, 300));
    assert.equal(r.data, undefined);
    // three fields of work, over 4096 bytes
    r = await ask('query($t: String!) { dashboards(tenant: $t) { name layout } }');
    assert.equal(r.errors?.[0]?.extensions?.code, 'RESPONSE_TOO_LARGE', JSON.stringify(r).slice(0, 300));
    assert.match(r.errors[0].message, /larger than the maximum of 4096 bytes/);
    assert.equal(r.data, undefined);
    r = await ask('query($t: String!) { dashboards(tenant: $t) { name } }');
    assert.deepEqual(r.data, { dashboards: [{ name: 'big' }] });
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
});

test('security headers on every answer; the dashboard runs under its CSP and cannot be framed', async () => {
  const t = freshTenant('read');
  const auth = { authorization: `Bearer ${t.key}` };
  const common = (res, what) => {
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
    assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
    assert.match(res.headers.get('content-security-policy') || '', /frame-ancestors 'none'/, what);
  };
  const api = (res, what) => {
    common(res, what);
    assert.equal(res.headers.get('cache-control'), 'no-store', what);
    assert.match(res.headers.get('content-security-policy'), /default-src 'none'/, what);
  };
  // GET /graphql answers hold a tenant's data: no browser or proxy may keep them
  let res = await fetch(`${GRAPHQL}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: auth });
  assert.equal(res.status, 200);
  api(res, 'GET /graphql');
  res = await fetch(`${GRAPHQL}/graphql`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
  api(res, 'POST /graphql');
  res = await fetch(`${GRAPHQL}/graphql?query=${encodeURIComponent('{ __typename }')}`);
  assert.equal(res.status, 401);
  api(res, '401');
  res = await fetch(`${GRAPHQL}/healthz`);
  api(res, '/healthz');
  res = await fetch(`${GRAPHQL}/auth/login?return_to=%2F`, { redirect: 'manual' });
  api(res, '/auth/login');
  // GET /graphql for a browser redirects to /graphiql, a page of the dashboard build: build it
  // first (a fresh checkout has no web/dist yet; this file runs before tests/e2e)
  const { ensureWebBuild, launch, APP } = await import('../e2e/browser.mjs');
  ensureWebBuild();
  res = await fetch(`${GRAPHQL}/graphql`, { headers: { accept: 'text/html' } });
  assert.match(res.headers.get('content-type'), /text\/html/);
  common(res, 'GraphiQL');
  assert.equal(res.headers.get('content-security-policy').match(/default-src/g).length, 1, 'one policy, not two');
  res = await fetch(`${GRAPHQL}/`);
  assert.match(res.headers.get('content-type'), /text\/html/);
  common(res, 'dashboard');
  assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
  assert.match(res.headers.get('content-security-policy'), /connect-src 'self'/);

  // in Chromium: the dashboard loads and signs in with a key under its policy, with no violation;
  // a page of another origin that frames it gets nothing
  const b = await launch();
  try {
    const violations = [];
    b.page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
    await b.page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await b.page.goto(`${APP}/`);
    await b.page.getByTestId('sign-in').waitFor({ timeout: 15000 });
    violations.push(...await b.page.evaluate(() => window.__csp));
    assert.deepEqual(violations, []);
    await b.page.setContent(`<iframe id="f" src="${APP}/" width="400" height="300"></iframe>`);
    await new Promise((r) => setTimeout(r, 1500));
    const frame = b.page.frames().find((f) => f !== b.page.mainFrame());
    const rendered = frame ? await frame.evaluate(() => document.getElementById('root') !== null).catch(() => false) : false;
    assert.equal(rendered, false, 'the dashboard rendered inside a frame of another origin');
  } finally {
    await b.close();
  }
});

test('a key without the read scope gets FORBIDDEN for everything, over HTTP and WebSocket; `me` leaks no tenant', async () => {
  const t = freshTenant('ingest,read,admin');
  for (const scopes of ['ingest', 'admin', 'ingest,admin']) {
    const g = await graphql(t.key, 'mutation($t: String!, $s: [String!]!) { createApiKey(tenant: $t, scopes: $s) { key } }', { t: t.id, s: scopes.split(',') });
    assert.equal(g.json.errors, undefined, g.text);
    const key = g.json.data.createApiKey.key;
    for (const query of ['{ me { kind keyId scopes tenants { id name } } }', '{ __typename }', '{ __schema { queryType { name } } }',
      `{ metricDefinitions(tenant: "${t.id}") { name } }`]) {
      const r = await graphql(key, query);
      assert.equal(r.status, 403, `${scopes} ${query}: ${r.text}`);
      assert.equal(r.json.errors[0].extensions.code, 'FORBIDDEN', `${scopes} ${query}`);
      assert.equal(r.json.data, undefined);
      assert.ok(!r.text.includes(t.id), `${scopes}: the answer names the tenant: ${r.text}`);
    }
    // WebSocket: connection_init with the key is refused (4403), nothing acknowledged
    const s = rawSocket();
    await s.opened;
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } });
    const c = await closeWithin(s, 5000);
    assert.equal(c.code, 4403, `${scopes}: ${JSON.stringify(c)}`);
    assert.equal(s.messages.find((m) => m.type === 'connection_ack'), undefined);
  }
  // the read scope is what graphql-api takes: the same query answers a read key
  const r = await graphql(t.key, '{ me { kind tenants { id } } }');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.data.me.tenants.map((x) => x.id), [t.id]);
});
