// ws_fanout.mjs — measures the change-feed fan-out of graphql-api's subscriptions (not a test: it
// measures, asserts nothing). N metricUpdated subscriptions on the same metric and groupBy (one
// key, ceil(N/40) sockets), then each round one ingest batch touching B hourly buckets (two
// groups each): how long from the ingest's 202 until every subscription had its 2·B pushes,
// how long a `{ __typename }` POST waited meanwhile (probes every 20 ms: does the fan-out block
// the event loop?), and — from graphql-api's /metrics when it has the counters — change
// messages and PostgreSQL queries spent on them.
//
//   node bench/ws_fanout.mjs GRAPHQL_URL INGEST_URL BIN_DIR [N=200] [B=48] [ROUNDS=3]
// Prints one JSON line: {subscriptions, buckets, rounds, push_ms:[...], push_p50_ms,
// probe_max_ms:[...], queries, messages, ...}.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(HERE, '../tests/package.json'));
const WebSocket = require('ws');

const [GQL, INGEST, BIN, N0, B0, R0] = process.argv.slice(2);
const N = Number(N0 || 200), B = Number(B0 || 48), ROUNDS = Number(R0 || 3);
const HOUR = 3600000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function admin(...args) {
  return execFileSync(`${BIN}/analytics-admin`, args, { encoding: 'utf8' });
}

async function gql(key, query, variables = {}) {
  const res = await fetch(`${GQL}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }) });
  return res.json();
}

async function metrics() {
  const res = await fetch(`${GQL}/metrics`).catch(() => null);
  if (!res || !res.ok) return null;
  const out = {};
  for (const l of (await res.text()).split('\n')) {
    const m = l.match(/^(graphql_ws_[a-z_]+) (\d+)/);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const tenant = `wsbench-${randomBytes(4).toString('hex')}`;
admin('tenant', 'create', tenant, '--id', tenant);
const out = admin('key', 'create', '--tenant', tenant, '--scopes', 'ingest,read,admin', '--rate-limit', '1000000').trim().split('\n');
const key = out[out.length - 1].trim();
let r = await gql(key, `mutation($t: String!) { defineMetric(tenant: $t, input: {name: "clicks", eventName: "click", dimensions: ["button"]}) { name } }`, { t: tenant });
if (r.errors) throw new Error(JSON.stringify(r.errors));

// N subscriptions, 40 per socket (GRAPHQL_WS_MAX_SUBSCRIPTIONS is 50, the barrier query needs room)
const SUB = 'subscription($t: String!) { metricUpdated(tenant: $t, name: "clicks", groupBy: ["button"]) { timestamp value dimensions } }';
const pushes = new Array(N).fill(0);
const lastAt = new Array(N).fill(0);
const sockets = [];
for (let s = 0; s * 40 < N; s++) {
  const ws = new WebSocket(`${GQL.replace(/^http/, 'ws')}/graphql`, ['graphql-transport-ws']);
  await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
  const acked = new Promise((res) => ws.on('message', (d) => { if (JSON.parse(d).type === 'connection_ack') res(); }));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }));
  await acked;
  ws.on('message', (d) => {
    const m = JSON.parse(d);
    if (m.type === 'next' && m.id.startsWith('s')) {
      const i = Number(m.id.slice(1));
      pushes[i]++;
      lastAt[i] = Date.now();
    } else if (m.type === 'error') {
      console.error(JSON.stringify(m));
    }
  });
  for (let i = s * 40; i < Math.min(N, (s + 1) * 40); i++)
    ws.send(JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query: SUB, variables: { t: tenant } } }));
  sockets.push(ws);
}
// barrier: a query on every socket after its subscribes has answered
await Promise.all(sockets.map((ws, k) => new Promise((res) => {
  ws.on('message', (d) => { const m = JSON.parse(d); if (m.id === `b${k}` && m.type === 'complete') res(); });
  ws.send(JSON.stringify({ id: `b${k}`, type: 'subscribe', payload: { query: '{ __typename }' } }));
})));
await sleep(500);

const before = await metrics();
const pushMs = [], probeMax = [], complete = [];
for (let round = 0; round < ROUNDS; round++) {
  pushes.fill(0);
  const h0 = Math.floor(Date.now() / HOUR) * HOUR;
  const events = [];
  for (let b = 1; b <= B; b++) {
    for (const button of ['buy', 'cancel'])
      events.push({ event: 'click', button, timestamp: new Date(h0 - b * HOUR + 60000 + round * 1000).toISOString() });
  }
  // probes: one { __typename } at a time, every 20 ms, while the round runs
  let probing = true, worst = 0;
  const probe = (async () => {
    while (probing) {
      const t = Date.now();
      await gql(key, '{ __typename }');
      worst = Math.max(worst, Date.now() - t);
      await sleep(20);
    }
  })();
  const res = await fetch(`${INGEST}/ingest`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(events) });
  if (res.status !== 202) throw new Error(`ingest ${res.status}: ${await res.text()}`);
  const acked = Date.now();
  const want = 2 * B;
  const end = acked + 120000;
  while (Date.now() < end && pushes.some((p) => p < want)) await sleep(10);
  probing = false;
  await probe;
  complete.push(pushes.every((p) => p >= want));
  pushMs.push(Math.max(...lastAt) - acked);
  probeMax.push(worst);
  await sleep(1500); // late restatements of the round settle
}
const after = await metrics();
for (const ws of sockets) ws.close();
const d = (k) => (before && after && k in after ? after[k] - (before[k] || 0) : null);
console.log(JSON.stringify({
  subscriptions: N, buckets: B, rounds: ROUNDS, all_pushes_arrived: complete,
  push_ms: pushMs, push_p50_ms: median(pushMs), probe_max_ms: probeMax, probe_p50_max_ms: median(probeMax),
  messages: d('graphql_ws_change_messages_total'), queries: d('graphql_ws_change_queries_total'),
  pushes: d('graphql_ws_pushes_total'),
}));
process.exit(0);
