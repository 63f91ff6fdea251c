// graphql_ws.test.mjs — subscriptions over WebSocket (graphql-transport-ws) against the real
// stack: the graphql-ws client receives metricUpdated after an ingest, alertFired from
// ea:alerts; each close code of the protocol for the message that must cause it; ping/pong;
// error without complete; another tenant's subscription is FORBIDDEN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { freshTenant, ingest, graphql } from './lib/stack.mjs';
import { execFileSync } from 'node:child_process';
import { WS_URL, REDIS_PORT, REDIS_CLI_ENV, ALERTS_CHANNEL, redis, rawSocket, closeWithin } from './lib/gql.mjs';

const HOUR = 3600000;
const SUB = `subscription($t: String!, $n: String!, $g: [String!]) {
  metricUpdated(tenant: $t, name: $n, groupBy: $g) { timestamp value dimensions revision final }
}`;

function client(key) {
  return createClient({ url: WS_URL, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0, lazy: false });
}

test('graphql-ws client: metricUpdated delivers the new bucket value after an ingest; complete stops it', async () => {
  const t = freshTenant();
  await graphql(t.key, `mutation($t: String!) { defineMetric(tenant: $t, input: {name: "clicks", eventName: "click", dimensions: ["button"]}) { name } }`, { t: t.id });
  const c = client(t.key);
  const got = [];
  let unsubscribe = () => {};
  const waitValue = async (pred, ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const hit = got.find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  };
  try {
    unsubscribe = c.subscribe({ query: SUB, variables: { t: t.id, n: 'clicks', g: ['button'] } }, {
      next: (v) => got.push({ at: Date.now(), v }),
      error: (e) => got.push({ at: Date.now(), error: e }),
      complete: () => {},
    });
    await new Promise((r) => setTimeout(r, 500)); // connection_init/ack/subscribe
    // barrier: the server handles a connection's messages in order, so once a query sent after
    // the subscribe has completed, the subscription is registered (a loaded machine once took
    // longer than the 500 ms above, and the change went out before anyone listened)
    await new Promise((res, rej) => c.subscribe({ query: '{ __typename }' }, { next: () => {}, error: rej, complete: res }));
    const hour = Math.floor(Date.now() / HOUR) * HOUR;
    const res = await ingest(t.key, [{ event: 'click', button: 'buy', timestamp: new Date(hour + 1000).toISOString() },
      { event: 'click', button: 'buy', timestamp: new Date(hour + 2000).toISOString() }]);
    assert.equal(res.status, 202);
    const acked = Date.now();
    const two = await waitValue((x) => x.error || x.v.data?.metricUpdated?.value === 2, 5000);
    assert.ok(two, `no metricUpdated with value 2 within 5 s: ${JSON.stringify(got)}`);
    assert.equal(two.error, undefined, JSON.stringify(two.error));
    const latency = two.at - acked;
    console.log(`metricUpdated with the new value ${latency} ms after the ingest was acknowledged`);
    const p = two.v.data.metricUpdated;
    assert.equal(p.timestamp, new Date(hour).toISOString());
    assert.deepEqual(p.dimensions, { button: 'buy' });
    assert.equal(typeof p.revision, 'number');
    assert.ok(latency <= 1000, `pushed ${latency} ms after the ingest was acknowledged`);

    // complete (the client's unsubscribe) stops the pushes for that subscription
    unsubscribe();
    const before = got.length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await ingest(t.key, { event: 'click', button: 'buy', timestamp: new Date(hour + 3000).toISOString() })).status, 202);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(got.length, before, 'a completed subscription still received data');
  } finally {
    unsubscribe();
    await c.dispose();
  }
});

test('alertFired: a message on the alerts channel (ALERTS_CHANNEL) for the tenant reaches its subscribers only', async () => {
  const t = freshTenant();
  const other = freshTenant();
  const s = rawSocket();
  await s.opened;
  s.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
  assert.ok(await s.next((m) => m.type === 'connection_ack'));
  s.send({ id: 'a1', type: 'subscribe', payload: { query: `subscription($t: String!) { alertFired(tenant: $t) { tenant alertId name value dimensions } }`, variables: { t: t.id } } });
  await new Promise((r) => setTimeout(r, 300));
  redis('publish', ALERTS_CHANNEL, JSON.stringify({ tenant: other.id, alert: { id: 9, name: 'not yours' }, value: 1 }));
  redis('publish', ALERTS_CHANNEL, JSON.stringify({ tenant: t.id, alert: { id: 7, name: 'too many errors' }, value: 12.5, dims: { code: '500' } }));
  const m = await s.next((x) => x.type === 'next' && x.id === 'a1');
  assert.ok(m, 'no alertFired');
  assert.deepEqual(m.payload.data.alertFired, { tenant: t.id, alertId: '7', name: 'too many errors', value: 12.5, dimensions: { code: '500' } });
  assert.equal(s.messages.filter((x) => x.type === 'next').length, 1);
  s.ws.close();
});

test('ping/pong echoes the payload; a query over the socket gets next + complete; error is not followed by complete', async () => {
  const t = freshTenant();
  const s = rawSocket();
  await s.opened;
  s.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
  assert.ok(await s.next((m) => m.type === 'connection_ack'));
  s.send({ type: 'ping', payload: { n: 42 } });
  const pong = await s.next((m) => m.type === 'pong');
  assert.deepEqual(pong.payload, { n: 42 });
  s.send({ id: 'q', type: 'subscribe', payload: { query: '{ me { kind } }' } });
  assert.deepEqual((await s.next((m) => m.type === 'next' && m.id === 'q')).payload.data, { me: { kind: 'api_key' } });
  assert.ok(await s.next((m) => m.type === 'complete' && m.id === 'q'));
  s.send({ id: 'bad', type: 'subscribe', payload: { query: 'subscription { nope }' } });
  const err = await s.next((m) => m.type === 'error' && m.id === 'bad');
  assert.equal(err.payload[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
  // a property that is not a dimension is a breakdown from raw events (issue 14): no error; an
  // unknown time zone is BAD_USER_INPUT
  s.send({ id: 'raw', type: 'subscribe', payload: { query: SUB, variables: { t: t.id, n: 'auto_evt', g: ['nope'] } } });
  s.send({ id: 'gb', type: 'subscribe', payload: { query: `subscription($t: String!) { metricUpdated(tenant: $t, name: "auto_evt", timezone: "Mars/Olympus_Mons") { value } }`, variables: { t: t.id } } });
  const gb = await s.next((m) => m.type === 'error' && m.id === 'gb');
  assert.equal(gb.payload[0].extensions.code, 'BAD_USER_INPUT');
  assert.equal(s.messages.filter((m) => m.type === 'error' && m.id === 'raw').length, 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(s.messages.filter((m) => m.type === 'complete' && (m.id === 'bad' || m.id === 'gb')).length, 0);
  // another tenant: FORBIDDEN, nothing delivered
  const other = freshTenant();
  s.send({ id: 'x', type: 'subscribe', payload: { query: SUB, variables: { t: other.id, n: 'clicks' } } });
  const fb = await s.next((m) => m.type === 'error' && m.id === 'x');
  assert.equal(fb.payload[0].extensions.code, 'FORBIDDEN');
  s.send({ id: 'y', type: 'subscribe', payload: { query: `subscription($t: String!) { alertFired(tenant: $t) { tenant } }`, variables: { t: other.id } } });
  assert.equal((await s.next((m) => m.type === 'error' && m.id === 'y')).payload[0].extensions.code, 'FORBIDDEN');
  s.ws.close();
});

async function expectClose(setup, code, ms = 3000) {
  const s = rawSocket(setup.protocols);
  await s.opened;
  if (setup.run) await setup.run(s);
  const c = await closeWithin(s, ms);
  assert.equal(c.code, code, `${setup.name}: closed with ${c.code} ${c.reason ?? ''}`);
  return s;
}

test('close codes: 4400 4401 4403 4406 4408 4409 4429 and 1009 for the messages that cause them', async () => {
  const t = freshTenant();
  const init = (s) => s.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
  const acked = async (s) => { init(s); assert.ok(await s.next((m) => m.type === 'connection_ack')); };
  await expectClose({ name: 'invalid JSON', run: (s) => s.send('{not json') }, 4400);
  await expectClose({ name: 'unknown type', run: async (s) => { await acked(s); s.send({ type: 'next', id: '1', payload: {} }); } }, 4400);
  await expectClose({ name: 'subscribe without id', run: async (s) => { await acked(s); s.send({ type: 'subscribe', payload: { query: '{ me { kind } }' } }); } }, 4400);
  await expectClose({ name: 'subscribe before ack', run: (s) => s.send({ id: '1', type: 'subscribe', payload: { query: '{ me { kind } }' } }) }, 4401);
  await expectClose({ name: 'bad key', run: (s) => s.send({ type: 'connection_init', payload: { authorization: 'Bearer ak_000000000000_00000000000000000000000000000000' } }) }, 4403);
  await expectClose({ name: 'no credentials', run: (s) => s.send({ type: 'connection_init' }) }, 4403);
  await expectClose({ name: 'no subprotocol', protocols: [] }, 4406);
  const t0 = Date.now();
  await expectClose({ name: 'no init' }, 4408, 6000);
  const waited = Date.now() - t0;
  assert.ok(waited >= 2500, `closed after ${waited} ms, before the 3 s init timeout`);
  await expectClose({
    name: 'duplicate id',
    run: async (s) => {
      await acked(s);
      const q = { query: SUB, variables: { t: t.id, n: 'clicks' } };
      s.send({ id: 'same', type: 'subscribe', payload: q });
      s.send({ id: 'same', type: 'subscribe', payload: q });
    },
  }, 4409);
  await expectClose({ name: 'second init', run: async (s) => { await acked(s); init(s); } }, 4429);
  await expectClose({ name: 'frame over the cap', run: async (s) => { await acked(s); s.send({ type: 'ping', payload: { pad: 'x'.repeat(70000) } }); } }, 1009);
});

test('a cap on subscriptions per connection', async () => {
  const t = freshTenant();
  const s = rawSocket();
  await s.opened;
  s.send({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } });
  assert.ok(await s.next((m) => m.type === 'connection_ack'));
  for (let i = 0; i < 51; i++) s.send({ id: `s${i}`, type: 'subscribe', payload: { query: SUB, variables: { t: t.id, n: 'clicks' } } });
  const e = await s.next((m) => m.type === 'error' && m.id === 's50');
  assert.equal(e.payload[0].extensions.code, 'TOO_MANY_SUBSCRIPTIONS');
  assert.equal(s.messages.filter((m) => m.type === 'error').length, 1);
  s.ws.close();
});

test('backpressure: a client that stops reading is dropped once GRAPHQL_WS_MAX_QUEUED bytes wait', async () => {
  const { spawn } = await import('node:child_process');
  const { BIN, env, waitFor } = await import('./lib/stack.mjs');
  const port = Number(env.GRAPHQL_PORT || 3002) + 21;
  const proc = spawn(`${BIN}/graphql-api`, [], {
    env: { ...env, GRAPHQL_PORT: String(port), GRAPHQL_REUSEPORT: 'false', GRAPHQL_WS_MAX_QUEUED: '65536', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    assert.ok(await waitFor(async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 10000));
    const t = freshTenant();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, ['graphql-transport-ws']);
    let nexts = 0;
    let acked;
    const ack = new Promise((r) => { acked = r; });
    const closed = new Promise((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (d) => { const m = JSON.parse(d.toString()); if (m.type === 'connection_ack') acked(); if (m.type === 'next') nexts++; });
    await new Promise((r) => ws.on('open', r));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t.key}` } }));
    await ack;
    ws.send(JSON.stringify({ id: 'a', type: 'subscribe', payload: { query: `subscription($t: String!) { alertFired(tenant: $t) { payload } }`, variables: { t: t.id } } }));
    // the subscription is live once a probe push arrives (its checks run on the worker pool: on a
    // loaded machine a fixed pause was sometimes too short, and the flood below then met no subscriber)
    const publish = (input) => execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', REDIS_PORT], { input, stdio: ['pipe', 'ignore', 'inherit'], env: REDIS_CLI_ENV });
    assert.ok(await waitFor(async () => {
      if (nexts > 0) return true;
      publish(`PUBLISH ${ALERTS_CHANNEL} ${JSON.stringify(JSON.stringify({ tenant: t.id, alert: -1 }))}`);
      await new Promise((r) => setTimeout(r, 200));
      return nexts > 0;
    }, 15000), 'the subscription never received a probe push');
    const probes = nexts;
    ws._socket.pause(); // stop reading: the kernel buffers fill, then the server's queue
    const pad = 'x'.repeat(4000);
    const n = 2500; // ~10 MB of pushes: more than loopback socket buffers hold
    publish(Array.from({ length: n }, (_, i) => `PUBLISH ${ALERTS_CHANNEL} ${JSON.stringify(JSON.stringify({ tenant: t.id, alert: i, pad }))}`).join('\n'));
    // keep not reading until the server has dropped the connection (its gauge falls to 0) or 30 s
    // passed (then the assertion below fails): no fixed wait that a slow machine can outrun
    const connections = async () => Number(((await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).match(/^graphql_ws_connections (\d+)/m) || [])[1]);
    await waitFor(async () => (await connections()) === 0, 30000);
    ws._socket.resume();
    const code = await Promise.race([closed, new Promise((r) => setTimeout(() => r('open'), 20000))]);
    nexts -= probes;
    assert.notEqual(code, 'open', `still open after draining; ${nexts} of ${n} pushes arrived`);
    assert.ok(nexts > 0, 'nothing arrived: the cap, not the socket buffers, stopped the pushes');
    assert.ok(nexts < n, `all ${n} pushes arrived: nothing was dropped`);
    console.log(`slow client dropped (close ${code}) after ${nexts} of ${n} pushes`);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
});
