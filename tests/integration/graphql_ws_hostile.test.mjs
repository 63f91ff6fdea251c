// graphql_ws_hostile.test.mjs — the WebSocket at /graphql against hostile clients (issue 12,
// items 3-5), on the real test stack: a signed-in user's cookie does not authenticate a socket
// opened from another origin (another port of the same host included); mutations are refused
// over a socket; a socket that never sends connection_init loses its TCP connection; sockets
// per client address and per key are capped (second graphql-api processes with small caps);
// operations on a socket count against the key's query rate limit; a subscription id long
// enough to overflow a close frame's reason still gets its 4409 close; a revoked key and a
// logged-out session close their open sockets with 4403; a change message costs one re-read per
// subscription key, off the event loop, however many subscriptions share it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { env, BIN, GRAPHQL, freshTenant, graphql, ingest, waitFor } from './lib/stack.mjs';
import { WS_URL, rawSocket as rawSocket_, closeWithin } from './lib/gql.mjs';
import { Browser, providerLogin } from './lib/browser.mjs';
import { startService, killAll } from './lib/procs.mjs';
import { readFileSync } from 'node:fs';

// every socket a test opens is dropped at the end, so a failing test cannot keep the file alive
const live = [];
const rawSocket = (...a) => { const s = rawSocket_(...a); live.push(s.ws); return s; };
after(() => {
  for (const ws of live) ws.terminate();
  return killAll();
});

const PORT = Number(env.GRAPHQL_PORT || 3002);

// A socket with extra upgrade headers (Origin, Cookie); records messages and the close.
function socket(url, headers = {}) {
  const ws = new WebSocket(url, ['graphql-transport-ws'], { headers });
  live.push(ws);
  const messages = [];
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise((resolve, reject) => {
    ws.on('open', () => resolve({ ok: true }));
    ws.on('unexpected-response', (req, res) => resolve({ ok: false, status: res.statusCode }));
    ws.on('error', reject);
  });
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  const next = async (pred, ms = 3000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = messages.find(pred);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  };
  return { ws, messages, closed, opened, next, send: (o) => ws.send(JSON.stringify(o)) };
}

async function signedInCookie() {
  const b = new Browser();
  const { callbackUrl, body } = await providerLogin(b, GRAPHQL, { returnTo: '/' });
  assert.ok(callbackUrl, `the provider did not redirect to the callback: ${body}`);
  const res = await b.fetch(callbackUrl);
  assert.equal(res.status, 302);
  const v = b.get('ea_session');
  assert.ok(v, 'signed in');
  return `ea_session=${v}`;
}

// A second graphql-api on the test stack with extra settings; stopped by the returned function.
async function secondApi(offset, extra) {
  const port = PORT + offset;
  const proc = spawn(`${BIN}/graphql-api`, [], {
    env: { ...env, GRAPHQL_PORT: String(port), GRAPHQL_REUSEPORT: 'false', LOG_LEVEL: 'warn', ...extra },
    stdio: 'ignore',
  });
  const up = await waitFor(async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 10000);
  assert.ok(up, 'second graphql-api did not start');
  return {
    url: `ws://127.0.0.1:${port}/graphql`, port,
    stop: async () => { proc.kill('SIGTERM'); await new Promise((r) => proc.on('exit', r)); },
  };
}

test('a session cookie authenticates a socket only from the server\'s own origin (or no Origin)', async () => {
  const cookie = await signedInCookie();
  const cases = [
    ['another port of the same host', `http://127.0.0.1:${PORT + 1}`, 4403],
    ['another site', 'https://evil.example', 4403],
    ['an opaque origin', 'null', 4403],
    ['the server itself', `http://127.0.0.1:${PORT}`, 'ack'],
    ['no Origin (not a browser)', undefined, 'ack'],
  ];
  for (const [what, origin, want] of cases) {
    const s = socket(WS_URL, { cookie, ...(origin ? { origin } : {}) });
    assert.ok((await s.opened).ok);
    s.send({ type: 'connection_init' });
    if (want === 'ack') {
      assert.ok(await s.next((m) => m.type === 'connection_ack'), `${what}: no ack`);
      // the session is really in use: it reads the user's own tenant
      s.send({ id: 'q', type: 'subscribe', payload: { query: '{ me { kind name } }' } });
      const n = await s.next((m) => m.id === 'q');
      assert.equal(n.type, 'next', JSON.stringify(n));
      assert.equal(n.payload.data.me.kind, 'user');
      s.ws.close();
    } else {
      const c = await closeWithin(s, 3000);
      assert.equal(c.code, want, `${what}: ${JSON.stringify(c)} ${JSON.stringify(s.messages)}`);
      assert.match(c.reason, /Origin/);
      assert.equal(s.messages.length, 0);
    }
  }
  // a key in connection_init still works from another origin: only the ambient cookie is refused
  const t = freshTenant('read');
  const s = socket(WS_URL, { cookie, origin: 'https://evil.example' });
  assert.ok((await s.opened).ok);
  s.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
  assert.ok(await s.next((m) => m.type === 'connection_ack'));
  s.ws.close();
});

test('mutations are refused over a socket and change nothing', async () => {
  const t = freshTenant('ingest,read,admin');
  const keysBefore = (await graphql(t.key, 'query($t: String!) { apiKeys(tenant: $t) { keyId } }', { t: t.id })).json.data.apiKeys.length;
  const s = rawSocket();
  await s.opened;
  s.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
  assert.ok(await s.next((m) => m.type === 'connection_ack'));
  s.send({ id: 'm', type: 'subscribe', payload: { query: `mutation($t: String!) { createApiKey(tenant: $t, scopes: ["ingest","read","admin"]) { key } }`, variables: { t: t.id } } });
  const e = await s.next((m) => m.id === 'm');
  assert.equal(e?.type, 'error', JSON.stringify(e));
  assert.equal(e.payload[0].extensions.code, 'METHOD_NOT_ALLOWED');
  assert.match(e.payload[0].message, /POST \/graphql/);
  // a document with a query and a mutation: the mutation by name is refused, the query runs
  const doc = 'query Q { me { kind } } mutation M($t: String!) { defineMetric(tenant: $t, input: {name: "x", eventName: "x"}) { name } }';
  s.send({ id: 'n', type: 'subscribe', payload: { query: doc, operationName: 'M', variables: { t: t.id } } });
  assert.equal((await s.next((m) => m.id === 'n'))?.payload?.[0]?.extensions?.code, 'METHOD_NOT_ALLOWED');
  s.send({ id: 'q', type: 'subscribe', payload: { query: doc, operationName: 'Q' } });
  assert.deepEqual((await s.next((m) => m.id === 'q' && m.type === 'next'))?.payload?.data, { me: { kind: 'api_key' } });
  s.ws.close();
  const after = await graphql(t.key, 'query($t: String!) { apiKeys(tenant: $t) { keyId } metricDefinitions(tenant: $t) { name } }', { t: t.id });
  assert.equal(after.json.data.apiKeys.length, keysBefore, 'a key was created over the socket');
  assert.ok(!after.json.data.metricDefinitions.some((d) => d.name === 'x'));
});

test('a socket that never sends connection_init loses its TCP connection after the 4408 close', async () => {
  // a raw client: upgrades, then neither sends connection_init nor answers the close frame
  const sock = net.connect(PORT, '127.0.0.1');
  live.push({ terminate: () => sock.destroy() });
  await new Promise((r, j) => { sock.on('connect', r); sock.on('error', j); });
  const key = randomBytes(16).toString('base64');
  sock.write(`GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`);
  let bytes = Buffer.alloc(0);
  sock.on('data', (d) => { bytes = Buffer.concat([bytes, d]); });
  const t0 = Date.now();
  const ended = await new Promise((resolve) => {
    sock.on('close', () => resolve(Date.now() - t0));
    setTimeout(() => resolve(null), 10000);
  });
  const text = bytes.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 101/);
  const close = bytes.indexOf(Buffer.from([0x88])); // FIN + close opcode
  assert.ok(close > 0, 'no close frame before the end');
  assert.equal(bytes.readUInt16BE(close + 2), 4408);
  assert.notEqual(ended, null, 'the server kept the TCP connection open 10 s after its 4408');
  console.log(`TCP connection closed ${ended} ms after the upgrade (init timeout 3 s + 1 s grace)`);
  sock.destroy();
});

test('a subscription id too long for a close reason still gets its 4409 close', async () => {
  const t = freshTenant('read');
  for (const id of ['x'.repeat(94), 'é'.repeat(70), `${'a'.repeat(121)}😀`]) {
    const s = rawSocket();
    await s.opened;
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
    assert.ok(await s.next((m) => m.type === 'connection_ack'));
    const sub = { id, type: 'subscribe', payload: { query: 'subscription($t: String!) { alertFired(tenant: $t) { alertId } }', variables: { t: t.id } } };
    s.send(sub);
    s.send({ id: 'barrier', type: 'subscribe', payload: { query: '{ __typename }' } });
    assert.ok(await s.next((m) => m.id === 'barrier' && m.type === 'complete'));
    s.send(sub); // the same id again
    const c = await closeWithin(s, 3000);
    assert.equal(c.code, 4409, `id of ${Buffer.byteLength(id)} bytes: ${JSON.stringify(c)}`);
    assert.ok(Buffer.byteLength(c.reason) <= 123, `reason of ${Buffer.byteLength(c.reason)} bytes`);
    assert.match(c.reason, /^Subscriber for /);
    assert.ok(!c.reason.includes('\ufffd'), 'the reason was cut inside a character');
  }
});

test('operations on a socket count against the key\'s query rate limit, shared with HTTP', async () => {
  const t = freshTenant('read,admin');
  const g = await graphql(t.key, 'mutation($t: String!) { createApiKey(tenant: $t, scopes: ["read"], rateLimit: 4) { key } }', { t: t.id });
  const limited = g.json.data.createApiKey.key;
  const s = rawSocket();
  await s.opened;
  s.send({ type: 'connection_init', payload: { authorization: `Bearer ${limited}` } });
  assert.ok(await s.next((m) => m.type === 'connection_ack'));
  const codes = [];
  for (let i = 0; i < 6; i++) {
    s.send({ id: `q${i}`, type: 'subscribe', payload: { query: '{ me { kind } }' } });
    const m = await s.next((x) => x.id === `q${i}` && (x.type === 'next' || x.type === 'error'));
    codes.push(m.type === 'next' ? 'ok' : m.payload[0].extensions.code);
  }
  assert.deepEqual(codes, ['ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
  s.ws.close();
  // the same budget: HTTP is limited too now
  const h = await graphql(limited, '{ me { kind } }');
  assert.equal(h.status, 429, h.text);
});

test('sockets per client address and per key are capped (GRAPHQL_WS_MAX_PER_ADDRESS=3, GRAPHQL_WS_MAX_PER_PRINCIPAL=2)', async () => {
  const api = await secondApi(23, { GRAPHQL_WS_MAX_PER_ADDRESS: '3', GRAPHQL_WS_MAX_PER_PRINCIPAL: '2' });
  const open = [];
  try {
    const t = freshTenant('read');
    const u = freshTenant('read');
    const init = async (s, key) => {
      s.send({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } });
      return Promise.race([s.next((m) => m.type === 'connection_ack', 3000).then((m) => (m ? 'ack' : 'none')),
        s.closed.then((c) => c.code)]);
    };
    for (const key of [t.key, t.key]) {
      const s = socket(api.url);
      open.push(s);
      assert.ok((await s.opened).ok);
      assert.equal(await init(s, key), 'ack');
    }
    // a third socket of the same key: over the per-key cap
    const third = socket(api.url);
    open.push(third);
    assert.ok((await third.opened).ok);
    assert.equal(await init(third, t.key), 1008);
    assert.match((await third.closed).reason, /Too many connections/);
    await new Promise((r) => setTimeout(r, 200)); // the server has seen the close too
    // another key from the same address: the third socket of this address is fine...
    const other = socket(api.url);
    open.push(other);
    assert.ok((await other.opened).ok);
    assert.equal(await init(other, u.key), 'ack');
    // ...the fourth is refused before the upgrade
    const fourth = socket(api.url);
    open.push(fourth);
    const o = await fourth.opened;
    assert.equal(o.ok, false);
    assert.equal(o.status, 429);
    // closing one frees a place
    open[0].ws.close();
    await open[0].closed;
    await new Promise((r) => setTimeout(r, 200));
    const again = socket(api.url);
    open.push(again);
    assert.ok((await again.opened).ok);
    assert.equal(await init(again, t.key), 'ack');
  } finally {
    for (const s of open) s.ws.terminate();
    await api.stop();
  }
});

// Waits for connection_ack (true) or the close code; for sockets that are expected to work.
async function initWith(s, payload) {
  s.send({ type: 'connection_init', ...(payload ? { payload } : {}) });
  return Promise.race([s.next((m) => m.type === 'connection_ack', 5000).then((m) => Boolean(m)), s.closed.then((c) => c.code)]);
}

test('a revoked key closes its open socket with 4403 within KEY_CACHE_TTL_S (2 s here)', async () => {
  const api = await startService('graphql-api', { KEY_CACHE_TTL_S: '2' });
  const t = freshTenant('read,admin');
  const g = await graphql(t.key, 'mutation($t: String!) { createApiKey(tenant: $t, scopes: ["read"]) { key apiKey { keyId } } }', { t: t.id });
  const { key, apiKey: { keyId } } = g.json.data.createApiKey;
  const s = socket(`ws://127.0.0.1:${api.port}/graphql`);
  assert.ok((await s.opened).ok);
  assert.equal(await initWith(s, { authorization: `Bearer ${key}` }), true);
  s.send({ id: 'a', type: 'subscribe', payload: { query: 'subscription($t: String!) { alertFired(tenant: $t) { alertId } }', variables: { t: t.id } } });
  s.send({ id: 'q', type: 'subscribe', payload: { query: '{ me { kind } }' } });
  assert.equal((await s.next((m) => m.id === 'q'))?.type, 'next');
  await new Promise((r) => setTimeout(r, 2500)); // the socket outlives a re-check while valid
  assert.equal(s.ws.readyState, WebSocket.OPEN);
  const r = await graphql(t.key, 'mutation($t: String!, $k: ID!) { revokeApiKey(tenant: $t, keyId: $k) { keyId } }', { t: t.id, k: keyId });
  assert.equal(r.json.errors, undefined, r.text);
  const t0 = Date.now();
  const c = await closeWithin(s, 10000);
  const ms = Date.now() - t0;
  assert.equal(c.code, 4403, `${JSON.stringify(c)} after ${ms} ms`);
  assert.match(c.reason, /revoked/);
  // the bound: the key's cache entry (≤ TTL old) plus one re-check period (1 s) and a lookup
  assert.ok(ms <= 2000 + 1000 + 2000, `closed ${ms} ms after the revocation`);
  console.log(`socket of the revoked key closed with 4403 ${ms} ms after revokeApiKey (KEY_CACHE_TTL_S=2)`);
});

test('a logged-out session closes its open socket with 4403; another session of the user stays', async () => {
  const secret = readFileSync(`${env.STACK_DIR}/session.secret`, 'utf8').trim();
  const api = await startService('graphql-api', { KEY_CACHE_TTL_S: '2', SESSION_SECRET: secret });
  const url = `ws://127.0.0.1:${api.port}/graphql`;
  const cookie = await signedInCookie();
  const other = await signedInCookie(); // a second session of the same user: logging out one keeps the other
  const s = socket(url, { cookie });
  const o = socket(url, { cookie: other });
  assert.ok((await s.opened).ok && (await o.opened).ok);
  assert.equal(await initWith(s), true);
  assert.equal(await initWith(o), true);
  s.send({ id: 'q', type: 'subscribe', payload: { query: '{ me { kind } }' } });
  assert.equal((await s.next((m) => m.id === 'q'))?.payload?.data?.me?.kind, 'user');
  const out = await fetch(`${GRAPHQL}/auth/logout`, { method: 'POST', headers: { cookie } });
  assert.equal(out.status, 200);
  const t0 = Date.now();
  const c = await closeWithin(s, 10000);
  const ms = Date.now() - t0;
  assert.equal(c.code, 4403, `${JSON.stringify(c)} after ${ms} ms`);
  assert.match(c.reason, /session ended/);
  assert.ok(ms <= 1000 + 2000, `closed ${ms} ms after the logout`);
  console.log(`socket of the logged-out session closed with 4403 ${ms} ms after /auth/logout`);
  assert.equal(o.ws.readyState, WebSocket.OPEN, 'the other session was closed too');
  o.send({ id: 'q', type: 'subscribe', payload: { query: '{ me { kind } }' } });
  assert.equal((await o.next((m) => m.id === 'q'))?.type, 'next');
  o.ws.close();
});

test('fan-out: 200 subscriptions of one key cost one re-read per change message, off the loop', async () => {
  const t = freshTenant();
  const d = await graphql(t.key, 'mutation($t: String!) { defineMetric(tenant: $t, input: {name: "clicks", eventName: "click", dimensions: ["button"]}) { name } }', { t: t.id });
  assert.equal(d.json.errors, undefined, d.text);
  const N = 200, B = 24, HOUR = 3600000;
  const SUB = 'subscription($t: String!) { metricUpdated(tenant: $t, name: "clicks", groupBy: ["button"]) { timestamp value dimensions } }';
  const seen = Array.from({ length: N }, () => new Map()); // `${timestamp}|${button}` -> last value
  const socks = [];
  for (let k = 0; k * 40 < N; k++) {
    const s = rawSocket();
    await s.opened;
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
    assert.ok(await s.next((m) => m.type === 'connection_ack'));
    s.ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'next' && m.id.startsWith('s')) {
        const p = m.payload.data.metricUpdated;
        seen[Number(m.id.slice(1))].set(`${p.timestamp}|${p.dimensions.button}`, p.value);
      }
    });
    for (let i = k * 40; i < Math.min(N, (k + 1) * 40); i++)
      s.send({ id: `s${i}`, type: 'subscribe', payload: { query: SUB, variables: { t: t.id } } });
    s.send({ id: 'barrier', type: 'subscribe', payload: { query: '{ __typename }' } });
    assert.ok(await s.next((m) => m.id === 'barrier' && m.type === 'complete'));
    assert.equal(s.messages.filter((m) => m.type === 'error').length, 0, JSON.stringify(s.messages));
    socks.push(s);
  }
  const counters = async () => {
    const text = await (await fetch(`${GRAPHQL}/metrics`)).text();
    const get = (n) => Number((text.match(new RegExp(`^${n} (\\d+)$`, 'm')) || [])[1]);
    return { messages: get('graphql_ws_change_messages_total'), queries: get('graphql_ws_change_queries_total') };
  };
  const before = await counters();
  // probes: does the fan-out hold the event loop? (before: one query per subscription and bucket)
  let probing = true, worst = 0;
  const probe = (async () => {
    while (probing) {
      const t0 = Date.now();
      await graphql(t.key, '{ __typename }');
      worst = Math.max(worst, Date.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const h0 = Math.floor(Date.now() / HOUR) * HOUR;
  const events = [];
  for (let b = 1; b <= B; b++)
    for (const button of ['buy', 'cancel'])
      events.push({ event: 'click', button, timestamp: new Date(h0 - b * HOUR + 60000).toISOString() });
  const res = await ingest(t.key, events);
  assert.equal(res.status, 202, res.text);
  const acked = Date.now();
  const want = (m) => m.size === 2 * B && [...m.values()].every((v) => v === 1);
  const all = await waitFor(async () => seen.every(want), 30000, 20);
  const ms = Date.now() - acked;
  probing = false;
  await probe;
  await new Promise((r) => setTimeout(r, 500));
  const after_ = await counters();
  for (const s of socks) s.ws.close();
  const missing = seen.filter((m) => !want(m)).length;
  assert.ok(all, `${missing} of ${N} subscriptions lack some of the ${2 * B} points`);
  const messages = after_.messages - before.messages, queries = after_.queries - before.queries;
  console.log(`fan-out: ${N} subscriptions x ${2 * B} points in ${ms} ms; ${messages} change messages, ${queries} re-reads; ` +
    `slowest { __typename } meanwhile ${worst} ms`);
  assert.ok(messages >= 1, 'no change message counted');
  assert.ok(queries >= 1 && queries <= messages, `${queries} re-reads for ${messages} messages of one key`);
  assert.ok(worst < 2000, `a { __typename } waited ${worst} ms during the fan-out`);
});
