// ingest_faults.test.mjs — issue 3's durability proofs against the real test stack, with extra
// ingest-api processes started here (the stack's environment, own ports, own settings):
//   (a) Kafka faults through the dev broker's control socket (request errors, a broker down, all
//       brokers down): every event answered 202 is in the topic exactly once (consumed with
//       kcat); every event answered `unavailable` is retry-safe — retrying it with the same
//       event_id after recovery leaves exactly one counted event in the worker's rollup (rollups_hourly, psql);
//       with Kafka down a request gets 503 within INGEST_PRODUCE_TIMEOUT_MS and /readyz is 503
//       (asked off the loop: /readyz requests never hold /healthz);
//   (b) one key's rate limit shared by two ingest instances: admitted ≤ limit + refill;
//   (c) SIGTERM with requests in flight: every one is answered, the process exits 0.
// The broker is shared with the rest of the suite: every fault is undone in a finally block.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { admin, env, BIN, waitFor, sleep, startIngest, killChildren } from './lib/stack.mjs';

const PRODUCE_TIMEOUT_MS = 1500;

function ctl(...cmds) {
  return execFileSync(`${BIN}/kafka-dev-broker`, ['--ctl', env.KAFKA_CONTROL, ...cmds], { encoding: 'utf8' });
}

after(() => {
  killChildren();
  try { ctl('all-up', 'rtt -1 0', 'clear-errors Produce'); } catch { /* best effort */ }
});

async function post(url, key, body) {
  const res = await fetch(`${url}/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* asserted by callers */ }
  return { status: res.status, json, text, headers: res.headers };
}

function tenantWithMetric(event, rateLimit) {
  const id = `t-${randomBytes(5).toString('hex')}`;
  admin('tenant', 'create', id, '--id', id);
  const args = ['key', 'create', '--tenant', id, '--scopes', 'ingest,read'];
  if (rateLimit) args.push('--rate-limit', String(rateLimit));
  const out = admin(...args).trim().split('\n');
  admin('metric', 'define', '--tenant', id, '--name', `${event}_total`, '--event', event);
  return { id, key: out[out.length - 1].trim() };
}

// event_id → how many messages the topic holds for it (tenant's messages only).
function kafkaIds(tenant) {
  const out = execFileSync('kcat', ['-C', '-b', env.KAFKA_BROKERS, '-t', env.KAFKA_TOPIC || 'events',
    '-o', 'beginning', '-e', '-q', '-f', '%k\n'], { encoding: 'utf8', timeout: 60000, maxBuffer: 1 << 28 });
  const ids = new Map();
  for (const k of out.split('\n')) {
    if (!k.startsWith(`${tenant}/`)) continue;
    const id = k.slice(tenant.length + 1);
    ids.set(id, (ids.get(id) || 0) + 1);
  }
  return ids;
}

// The worker's total for metric `name` (every hourly bucket of the tenant), read with psql:
// the rollup table is what the worker commits together with its Kafka offsets.
async function rollupTotal(t, name) {
  assert.match(t.id, /^[a-z0-9-]+$/);
  assert.match(name, /^[a-z0-9_]+$/);
  const out = execFileSync('psql', [env.DATABASE_URL, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c',
    `SELECT coalesce(sum(cnt), 0) FROM rollups_hourly WHERE tenant_id = '${t.id}' AND metric = '${name}'`],
  { encoding: 'utf8' });
  return Number(out.trim());
}

// Sends `events` in batches of `size`, concurrently; returns {accepted:Set, unavailable:Set, statuses}.
async function sendAll(url, key, events, size) {
  const accepted = new Set(), unavailable = new Set(), statuses = [];
  const batches = [];
  for (let i = 0; i < events.length; i += size) batches.push(events.slice(i, i + size));
  await Promise.all(batches.map(async (b) => {
    const r = await post(url, key, b);
    statuses.push(r.status);
    assert.ok([202, 503].includes(r.status), `unexpected ${r.status}: ${r.text}`);
    assert.equal(r.json.results.length, b.length, r.text);
    for (const x of r.json.results) {
      assert.equal(x.event_id, b[x.index].event_id);
      if (x.status === 'accepted') accepted.add(x.event_id);
      else {
        assert.equal(x.code, 'unavailable', r.text);
        unavailable.add(x.event_id);
      }
    }
    if (r.status === 503) {
      assert.equal(r.json.error.code, 'unavailable');
      assert.equal(r.json.accepted, 0);
    } else {
      assert.ok(r.json.accepted > 0);
    }
  }));
  return { accepted, unavailable, statuses };
}

const mkEvents = (name, n, ts) => Array.from({ length: n }, (_, i) => ({
  event: name, event_id: `${name}-${i}-${randomBytes(4).toString('hex')}`, timestamp: ts, i,
}));

test('(a) produce request errors: every 202 event is in the topic exactly once', async () => {
  const ing = await startIngest({ INGEST_PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS) });
  const t = tenantWithMetric('fault_req');
  const ts = Date.now();
  const events = mkEvents('fault_req', 200, ts);
  let res;
  try {
    assert.match(ctl('request-errors Produce 5 NOT_LEADER_FOR_PARTITION'), /^ok/);
    res = await sendAll(ing.url, t.key, events, 10);
  } finally {
    ctl('clear-errors Produce');
  }
  console.log(`# request errors: ${res.accepted.size} accepted, ${res.unavailable.size} unavailable`);
  // the idempotent producer retries NOT_LEADER: nothing is lost, nothing duplicated
  assert.equal(res.accepted.size + res.unavailable.size, events.length);
  assert.ok(res.accepted.size > 0);
  const inTopic = await waitFor(() => {
    const ids = kafkaIds(t.id);
    return [...res.accepted].every((id) => ids.has(id)) ? ids : null;
  }, 10000, 500);
  assert.ok(inTopic, 'some acknowledged events are missing from the topic');
  for (const id of res.accepted) assert.equal(inTopic.get(id), 1, `event ${id} is in the topic ${inTopic.get(id)} times`);
  for (const id of inTopic.keys()) assert.ok(res.accepted.has(id) || res.unavailable.has(id), `unknown id ${id}`);
  // retry what was unavailable; the rollup then counts every event exactly once
  if (res.unavailable.size > 0) {
    const again = await sendAll(ing.url, t.key, events.filter((e) => res.unavailable.has(e.event_id)), 10);
    assert.equal(again.unavailable.size, 0);
  }
  const total = await waitFor(async () => {
    const v = await rollupTotal(t, 'fault_req_total');
    return v >= events.length ? v : null;
  }, 30000, 500);
  assert.equal(total, events.length, 'rollup total');
  ing.child.kill('SIGTERM');
  assert.deepEqual(await ing.exited, { code: 0, signal: null });
});

test('(a) a broker down: 202 events exactly once, unavailable events retry-safe, rollup exact', async () => {
  const ing = await startIngest({ INGEST_PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS) });
  const t = tenantWithMetric('fault_down');
  const ts = Date.now();
  const events = mkEvents('fault_down', 150, ts);
  // the broker leading partition 0 (leaders are random at broker start; one broker may lead none)
  const status = JSON.parse(ctl('status').replace(/^ok /, ''));
  const leader = status.topics.find((x) => x.name === (env.KAFKA_TOPIC || 'events')).leaders[0];
  assert.ok(leader >= 1, ctl('status'));
  let res;
  const t0 = Date.now();
  try {
    assert.match(ctl(`broker-down ${leader}`), /^ok/);
    res = await sendAll(ing.url, t.key, events, 5);
  } finally {
    ctl(`broker-up ${leader}`);
  }
  const took = Date.now() - t0;
  console.log(`# broker ${leader} down: ${res.accepted.size} accepted, ${res.unavailable.size} unavailable, answered in ${took} ms`);
  assert.equal(res.accepted.size + res.unavailable.size, events.length);
  // the down broker leads at least one of the 3 partitions: its events time out; partitions
  // led by the others (when there are any) succeed
  assert.ok(res.unavailable.size > 0, 'no event was unavailable with a broker down');
  if (status.topics[0].leaders.some((l) => l !== leader)) assert.ok(res.accepted.size > 0, 'no event was accepted');
  assert.ok(took < PRODUCE_TIMEOUT_MS + 5000, `answers took ${took} ms`);

  const ids = await waitFor(() => {
    const m = kafkaIds(t.id);
    return [...res.accepted].every((id) => m.has(id)) ? m : null;
  }, 10000, 500);
  assert.ok(ids, 'some acknowledged events are missing from the topic');
  for (const id of res.accepted) assert.equal(ids.get(id), 1, `event ${id} is in the topic ${ids.get(id)} times`);

  // after recovery, retry every unavailable event with its event_id (some may already be in
  // Kafka: the worker's dedup must count them once)
  const retry = events.filter((e) => res.unavailable.has(e.event_id));
  const again = await waitFor(async () => {
    const r = await sendAll(ing.url, t.key, retry, 5);
    return r.unavailable.size === 0 ? r : null;
  }, 30000, 1000);
  assert.ok(again, 'retries still unavailable after the broker came back');
  const ids2 = await waitFor(() => {
    const m = kafkaIds(t.id);
    return events.every((e) => m.has(e.event_id)) ? m : null;
  }, 10000, 500);
  assert.ok(ids2, 'retried events are missing from the topic');
  const total = await waitFor(async () => {
    const v = await rollupTotal(t, 'fault_down_total');
    return v >= events.length ? v : null;
  }, 40000, 500);
  assert.equal(total, events.length, 'every event counted exactly once');
  await sleep(1500); // a late duplicate would show up now
  assert.equal(await rollupTotal(t, 'fault_down_total'), events.length);
  ing.child.kill('SIGTERM');
  assert.deepEqual(await ing.exited, { code: 0, signal: null });
});

test('(a) Kafka down: 503 unavailable within INGEST_PRODUCE_TIMEOUT_MS, /readyz 503, then recovery', async () => {
  const ing = await startIngest({ INGEST_PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS) });
  const t = tenantWithMetric('fault_all');
  const ts = Date.now();
  const events = mkEvents('fault_all', 3, ts);
  try {
    assert.match(ctl('all-down'), /^ok/);
    const t0 = Date.now();
    const r = await post(ing.url, t.key, events);
    const took = Date.now() - t0;
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error.code, 'unavailable');
    assert.equal(r.json.accepted, 0);
    assert.equal(r.headers.get('retry-after'), '1');
    for (const x of r.json.results) assert.equal(x.code, 'unavailable');
    // message.timeout.ms bounds the wait; allow scheduling slack on a busy machine
    assert.ok(took >= PRODUCE_TIMEOUT_MS - 100 && took < PRODUCE_TIMEOUT_MS + 1500, `503 after ${took} ms`);
    const ready = await fetch(`${ing.url}/readyz`);
    assert.equal(ready.status, 503);
    const body = await ready.json();
    assert.equal(body.kafka, false);
    // /readyz asks Kafka off the loop (readyz.c): eight at once while every broker is down do
    // not hold /healthz (each metadata request may block up to 1 s); past the 1 s for which an
    // answer is reused, so they share one new check
    await sleep(1100);
    const r0 = Date.now();
    const readies = Array.from({ length: 8 }, () => fetch(`${ing.url}/readyz`).then(async (x) => ({ status: x.status, body: await x.json(), ms: Date.now() - r0 })));
    await sleep(50);
    const h0 = Date.now();
    assert.equal((await fetch(`${ing.url}/healthz`)).status, 200);
    const healthMs = Date.now() - h0;
    const answers = await Promise.all(readies);
    console.log(`# Kafka down: /healthz in ${healthMs} ms while 8 /readyz waited; /readyz answered in ${answers.map((x) => x.ms).join(', ')} ms`);
    assert.ok(healthMs < 500, `/healthz took ${healthMs} ms behind /readyz`);
    for (const x of answers) {
      assert.equal(x.status, 503);
      assert.equal(x.body.kafka, false);
      assert.ok(x.ms < 3000, `/readyz took ${x.ms} ms`);
    }
  } finally {
    ctl('all-up');
  }
  const ok = await waitFor(async () => (await fetch(`${ing.url}/readyz`)).status === 200, 20000, 250);
  assert.ok(ok, '/readyz did not recover');
  const r2 = await waitFor(async () => {
    const r = await post(ing.url, t.key, events);
    return r.status === 202 && r.json.accepted === 3 ? r : null;
  }, 20000, 500);
  assert.ok(r2, 'retry after recovery was not accepted');
  const total = await waitFor(async () => {
    const v = await rollupTotal(t, 'fault_all_total');
    return v >= 3 ? v : null;
  }, 40000, 500);
  assert.equal(total, 3);
  ing.child.kill('SIGTERM');
  assert.deepEqual(await ing.exited, { code: 0, signal: null });
});

test('(b) one key, two ingest instances sharing Redis: admitted ≤ limit + refill', async () => {
  const LIMIT = 30; // per minute; bucket = limit (RATE_LIMIT_BURST=0)
  const a = await startIngest({ RATE_LIMIT_BURST: '0' });
  const b = await startIngest({ RATE_LIMIT_BURST: '0' });
  const t = tenantWithMetric('rl_ev', LIMIT);
  const t0 = Date.now();
  const send = (i) => post(i % 2 ? a.url : b.url, t.key, { event: 'rl_ev', event_id: `rl-${i}` }).then((r) => ({ i, r }));
  // a few in turn (both instances admit from the full bucket), then a concurrent burst
  const results = [];
  for (let i = 0; i < 10; i++) results.push(await send(i));
  for (const x of results) assert.equal(x.r.status, 202, x.r.text);
  results.push(...await Promise.all(Array.from({ length: 110 }, (_, k) => send(10 + k))));
  const elapsedMin = (Date.now() - t0) / 60000;
  console.log(`# rate limit ${LIMIT}/min over two instances: ${results.filter(({ r }) => r.status === 202).length} of 120 admitted in ${(elapsedMin * 60).toFixed(1)} s`);
  const admitted = results.filter(({ r }) => r.status === 202);
  const limited = results.filter(({ r }) => r.status === 429);
  assert.equal(admitted.length + limited.length, 120, results.map(({ r }) => r.status).join(','));
  const bound = LIMIT + Math.ceil(elapsedMin * LIMIT);
  assert.ok(admitted.length <= bound, `admitted ${admitted.length} > ${bound}`);
  assert.ok(admitted.length >= LIMIT - 1, `admitted only ${admitted.length}`);
  // both instances admitted some and refused some: they spend one shared bucket
  for (const parity of [0, 1]) {
    assert.ok(admitted.some(({ i }) => i % 2 === parity));
    assert.ok(limited.some(({ i }) => i % 2 === parity));
  }
  for (const { r } of limited) {
    assert.equal(r.json.error.code, 'rate_limited');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal(r.headers.get('ratelimit-limit'), String(LIMIT));
    assert.equal(r.headers.get('ratelimit-remaining'), '0');
  }
  for (const x of [a, b]) {
    x.child.kill('SIGTERM');
    assert.deepEqual(await x.exited, { code: 0, signal: null });
  }
});

test('(c) SIGTERM with requests in flight: every request answered 202, exit 0', async () => {
  const ing = await startIngest();
  const t = tenantWithMetric('term_ev');
  const ts = Date.now();
  const events = mkEvents('term_ev', 20, ts);
  let results;
  try {
    // slow Kafka down so the requests are still waiting for acknowledgements at SIGTERM
    assert.match(ctl('rtt -1 800'), /^ok/);
    const pending = events.map((e) => post(ing.url, t.key, e));
    await sleep(300);
    ing.child.kill('SIGTERM');
    results = await Promise.all(pending);
  } finally {
    ctl('rtt -1 0');
  }
  for (const r of results) {
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.accepted, 1);
  }
  assert.deepEqual(await ing.exited, { code: 0, signal: null });
  // it no longer accepts connections
  await assert.rejects(fetch(`${ing.url}/healthz`));
  const ids = kafkaIds(t.id);
  for (const e of events) assert.equal(ids.get(e.event_id), 1);
});
