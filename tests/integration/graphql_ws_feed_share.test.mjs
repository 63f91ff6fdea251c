// graphql_ws_feed_share.test.mjs — one tenant's slow change-feed re-reads cannot hold another
// tenant's pushes (services/graphql-api/wsfeed.c; red-team pass: every tenant's re-reads shared
// ONE database thread, and 10 raw-event subscriptions of one key stopped another tenant's pushes
// for minutes, also after the attacker left). A lock the test holds on one day's raw_events
// partition makes the attacker's re-reads wait, as a 30-day raw scan would: the attacker's
// subscriptions group by a property that is not a dimension (raw events) and it ingests two events
// three days apart, so a re-read of the whole span between them needs the locked day. The victim
// (another tenant, a rollup subscription) must still get its push within a few seconds; once the
// attacker closed its sockets, its re-reads still waiting are dropped, not run: two HTTP
// breakdowns of the attacker's own two keys over the same span wait on the lock too and hold its
// tenant's share of the pool, so its re-reads wait for their turn (after the change, a re-read
// reads only the changed buckets and would not wait on the lock by itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { env, BIN, admin, freshTenant, ingest, waitFor, sleep, freePort } from './lib/stack.mjs';

const HOUR = 3600000;
const DAY = 24 * HOUR;
const iso = (ms) => new Date(ms).toISOString();
const SUB = `subscription($t: String!, $g: [String!], $f: JSON) {
  metricUpdated(tenant: $t, name: "hit", groupBy: $g, filter: $f) { timestamp value dimensions }
}`;

function psql(sql) {
  return execFileSync('psql', ['-XAtq', env.DATABASE_URL, '-c', sql], { encoding: 'utf8' }).trim();
}

function newKey(tenant, scopes) {
  const out = admin('key', 'create', '--tenant', tenant, '--scopes', scopes).trim().split('\n');
  return out[out.length - 1].trim();
}

async function metric(port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

test("a tenant's re-reads blocked in PostgreSQL leave another tenant's pushes on time; re-reads of ended subscriptions are dropped", async () => {
  const port = await freePort();
  // the default 4 threads (1 per client, 2 per tenant); a lock wait ends after 20 s at most
  const proc = spawn(`${BIN}/graphql-api`, [], {
    env: { ...env, GRAPHQL_PORT: String(port), GRAPHQL_REUSEPORT: 'false', GRAPHQL_WORKERS: '4', GRAPHQL_STATEMENT_TIMEOUT_MS: '20000', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const url = `ws://127.0.0.1:${port}/graphql`;
  const clients = [];
  const client = (key) => {
    const c = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0, lazy: false });
    clients.push(c);
    return c;
  };
  const barrier = (c) => new Promise((res, rej) => c.subscribe({ query: '{ __typename }' }, { next: () => {}, error: rej, complete: res }));
  let locker = null;
  try {
    assert.ok(await waitFor(async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), 10000));
    const evil = freshTenant();
    const victim = freshTenant();
    const evil2 = newKey(evil.id, 'read');
    const now = Date.now();
    const h0 = Math.floor(now / HOUR) * HOUR;
    const old = h0 - 3 * DAY;
    // the day between the attacker's two events: its raw_events partition is what the lock holds
    const day = psql(`SELECT ea_partition_name('raw_events', 'day', '${iso(h0 - 2 * DAY)}'::timestamptz)`);
    assert.ok(psql(`SELECT to_regclass('${day}') IS NOT NULL`) === 't', `partition ${day} missing`);
    for (const t of [evil, victim]) assert.equal((await ingest(t.key, { event: 'hit', u: 'a', n: 1, timestamp: iso(h0 + 1000) })).status, 202);

    const got = [];
    const victimC = client(victim.key);
    victimC.subscribe({ query: SUB, variables: { t: victim.id } }, {
      next: (v) => got.push({ at: Date.now(), v }), error: (e) => got.push({ at: Date.now(), error: e }), complete: () => {},
    });
    await barrier(victimC);
    // three raw-event keys of the attacker: grouped by a property, each with its own filter
    const evilC = client(evil.key);
    const evilErr = [];
    for (const n of [1, 2, 3]) {
      evilC.subscribe({ query: SUB, variables: { t: evil.id, g: ['u'], f: { n: [n] } } }, {
        next: () => {}, error: (e) => evilErr.push(e), complete: () => {},
      });
    }
    await barrier(evilC);
    assert.deepEqual(evilErr, []);
    // the victim's subscription works before the attack
    assert.equal((await ingest(victim.key, { event: 'hit', timestamp: iso(h0 + 2000) })).status, 202);
    assert.ok(await waitFor(async () => got.some((x) => x.v?.data?.metricUpdated?.value === 2), 10000), `no push before the attack: ${JSON.stringify(got)}`);

    locker = spawn('psql', ['-XAtq', env.DATABASE_URL], { stdio: ['pipe', 'pipe', 'inherit'] });
    locker.stdin.write(`BEGIN; LOCK TABLE ${day} IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n`);
    await new Promise((r) => locker.stdout.once('data', r));
    // the attacker's own share of the pool (2 threads per tenant) held by two slow breakdowns
    const http = [evil.key, evil2].map((k) => fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${k}` },
      body: JSON.stringify({ query: `{ metrics(tenant: "${evil.id}", name: "hit", groupBy: ["u"], startTime: "${iso(old)}", endTime: "${iso(h0 + HOUR)}") { value } }` }),
    }).then((r) => r.status, (e) => String(e)));
    await sleep(1000);
    const queries0 = await metric(port, 'graphql_ws_change_queries_total');
    // the attack: two events three days apart for every key, twice (the second waits behind the first)
    for (let i = 0; i < 2; i++) {
      const evs = [1, 2, 3].flatMap((n) => [{ event: 'hit', u: 'b', n, timestamp: iso(h0 + 3000 + i) }, { event: 'hit', u: 'b', n, timestamp: iso(old + 1000 + i) }]);
      assert.equal((await ingest(evil.key, evs)).status, 202);
      await sleep(1000);
    }
    // the victim's change: pushed within a few seconds of its ingest
    const acked = Date.now();
    assert.equal((await ingest(victim.key, { event: 'hit', timestamp: iso(h0 + 4000) })).status, 202);
    const three = await waitFor(async () => got.some((x) => x.v?.data?.metricUpdated?.value === 3), 5000, 20);
    const late = got.find((x) => x.v?.data?.metricUpdated?.value === 3);
    console.log(`victim push ${late ? late.at - acked : 'none'} ms after its ingest while the attacker's re-reads wait on the lock`);
    assert.ok(three, `the victim's push did not come within 5 s while another tenant's re-reads were blocked: ${JSON.stringify(got.slice(-3))}`);

    // the attacker leaves; its re-reads still waiting for their turn are dropped, not run
    await evilC.dispose();
    await sleep(500);
    locker.stdin.end('ROLLBACK;\n');
    await new Promise((r) => locker.on('exit', r));
    locker = null;
    assert.deepEqual(await Promise.all(http), [200, 200]);
    assert.ok(await waitFor(async () => (await metric(port, 'graphql_ws_change_rereads_dropped_total')) >= 3, 10000), 'the re-reads of ended subscriptions were not dropped');
    await sleep(500);
    const ran = (await metric(port, 'graphql_ws_change_queries_total')) - queries0;
    console.log(`re-reads run meanwhile: ${ran}, dropped: ${await metric(port, 'graphql_ws_change_rereads_dropped_total')}`);
    // only the victim's: none of the attacker's three keys was read after its sockets closed
    assert.equal(ran, 1, `${ran} re-reads ran: the ended subscriptions' were not dropped`);
  } finally {
    if (locker) locker.kill();
    for (const c of clients) await c.dispose().catch(() => {});
    proc.kill();
    await new Promise((r) => proc.on('exit', r));
  }
});
