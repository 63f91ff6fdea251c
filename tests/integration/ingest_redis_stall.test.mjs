// ingest_redis_stall.test.mjs — ingest-api never waits for Redis on its event loop (the project's
// rule: no network round trip on a loop; docs/ARCHITECTURE.md "Rate limits"). Two ingest-api
// processes reach a private redis-server through a small TCP proxy in this file that can delay
// Redis's replies; the test also stalls Redis itself with DEBUG SLEEP. While Redis is slow or
// stalled:
//   - GET /healthz keeps answering fast (p95 < 200 ms), and so does a key whose requests find
//     leased tokens, while keys that need a Redis round trip for every request (low limits lease
//     one token at a time) and a browser key (its per-address bucket too) keep sending;
//   - a request that needs a refill waits for it without holding anything else up, and never
//     longer than its deadline (then the local bucket decides, as when Redis is down);
//   - /readyz answers within its own bound and says redis: false while Redis is stalled.
// Afterwards (and after SCRIPT FLUSH) the shared bucket is exact again across the two instances,
// with every request arriving at once.
// On the code before the limiter went off the loop, the slow-reply phase fails: every refill held
// the loop for the reply's delay, so /healthz waited behind them (p95 of several hundred ms).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { admin, sleep } from './lib/stack.mjs';
import { killAll, privateRedis, startService } from './lib/procs.mjs';

const DELAY_MS = 100; // Redis's replies arrive this late (below the limiter's 200 ms timeout)
const BOUND_MS = 200; // p95 bound for what must not wait on Redis (generous: a shared machine)

let redis, proxy;
const sleepers = [];
after(async () => {
  for (const s of sleepers) s.kill('SIGKILL');
  killAll();
  proxy?.close();
  await redis?.stop();
  redis?.cleanup();
});

// A TCP proxy in front of Redis, replies delayed by a number of ms (in order), in a process of
// its own so that the test's busy client loops cannot make its timers late. Control: write
// "delay N" to its stdin.
const PROXY = `
const net = require('net');
let delay = 0;
const server = net.createServer((client) => {
  const upstream = net.connect(Number(process.argv[1]), '127.0.0.1');
  const kill = () => { client.destroy(); upstream.destroy(); };
  client.on('error', kill); upstream.on('error', kill);
  client.on('data', (d) => upstream.write(d));
  upstream.on('data', (d) => { if (delay > 0) setTimeout(() => client.destroyed || client.write(d), delay); else client.write(d); });
  client.on('end', () => upstream.end()); upstream.on('end', () => client.end());
});
process.stdin.on('data', (d) => { const m = /delay (\\d+)/.exec(d.toString()); if (m) { delay = Number(m[1]); console.log('delay ' + delay); } });
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
`;

function redisProxy(target) {
  const child = spawn(process.execPath, ['-e', PROXY, String(target)], { stdio: ['pipe', 'pipe', 'inherit'] });
  sleepers.push(child);
  let out = '';
  const seen = (re) => new Promise((resolve) => {
    const check = () => { const m = re.exec(out); if (m) { child.stdout.off('data', on); resolve(m); } };
    const on = (d) => { out += d; check(); };
    child.stdout.on('data', on);
    check();
  });
  return seen(/port (\d+)/).then((m) => ({
    port: Number(m[1]),
    async delay(ms) { out = ''; child.stdin.write(`delay ${ms}\n`); await seen(new RegExp(`delay ${ms}`)); },
    close() { child.kill('SIGKILL'); },
  }));
}

function newKey(tenant, limit, origins) {
  const args = ['key', 'create', '--tenant', tenant, '--scopes', 'ingest', '--rate-limit', String(limit)];
  if (origins) args.push('--origins', origins);
  return admin(...args).trim().split('\n').pop().trim();
}

async function timed(url, init) {
  const t0 = performance.now();
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, ms: performance.now() - t0, text, headers: r.headers };
}

const post = (base, key, ev, headers = {}) => timed(`${base}/ingest`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
  body: JSON.stringify(ev),
});
const beacon = (base, key, origin, ev) => timed(`${base}/ingest`, {
  method: 'POST', headers: { 'content-type': 'text/plain', origin }, body: JSON.stringify({ ...ev, api_key: key }),
});

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};
const fmt = (xs) => `n=${xs.length} p50=${pct(xs, 0.5).toFixed(1)} p95=${pct(xs, 0.95).toFixed(1)} max=${Math.max(...xs).toFixed(1)} ms`;

// Runs the client loops of one phase for `ms`: latencies of /healthz, the leased key, the
// one-token keys and the browser key, on instance `ing`.
async function traffic(ing, keys, ms, tag) {
  const end = Date.now() + ms;
  const out = { healthz: [], leased: [], single: [], browser: [], statuses: {} };
  const note = (r, what) => { out.statuses[`${what} ${r.status}`] = (out.statuses[`${what} ${r.status}`] || 0) + 1; };
  let n = 0;
  const loop = async (fn) => { while (Date.now() < end) await fn(n++); };
  await Promise.all([
    loop(async () => { const r = await timed(`${ing.url}/healthz`); note(r, 'healthz'); out.healthz.push(r.ms); await sleep(5); }),
    loop(async (i) => { const r = await post(ing.url, keys.leased, { event: 'stall', event_id: `${tag}-l-${i}` }); note(r, 'leased'); out.leased.push(r.ms); }),
    ...keys.single.map((k) => loop(async (i) => {
      const r = await post(ing.url, k, { event: 'stall', event_id: `${tag}-s-${i}` });
      note(r, 'single'); out.single.push(r.ms);
    })),
    loop(async (i) => {
      const r = await beacon(ing.url, keys.browser, keys.origin, { event: 'stall', event_id: `${tag}-b-${i}` });
      note(r, 'browser'); out.browser.push(r.ms);
    }),
  ]);
  return out;
}

test('Redis slow or stalled: nothing on the loop waits for it; limits exact again afterwards', async () => {
  redis = await privateRedis(['--enable-debug-command', 'local']);
  proxy = await redisProxy(redis.port);
  const url = `redis://127.0.0.1:${proxy.port}/0`;
  const extra = { REDIS_URL: url, RATE_LIMIT_BURST: '0', INGEST_BROWSER_RATE_PER_ADDR: '600000', LOG_LEVEL: 'info' };
  const a = await startService('ingest-api', extra);
  const b = await startService('ingest-api', extra);
  const tenant = `t-${randomBytes(5).toString('hex')}`;
  admin('tenant', 'create', tenant, '--id', tenant);
  const origin = 'https://stall.example';
  const keys = {
    leased: newKey(tenant, 6000000), // 100 tokens/ms: leases of 1000 tokens
    single: [1, 2, 3, 4].map(() => newKey(tenant, 1200)), // 0.02 tokens/ms: one token per lease
    browser: newKey(tenant, 6000000, origin),
    origin,
  };
  for (const k of [keys.leased, ...keys.single]) assert.equal((await post(a.url, k, { event: 'warm' })).status, 202);
  assert.equal((await beacon(a.url, keys.browser, origin, { event: 'warm' })).status, 202);
  const base = await traffic(a, keys, 1500, 'base');
  console.log(`# Redis fast: healthz ${fmt(base.healthz)}; leased ${fmt(base.leased)}; single ${fmt(base.single)}`);

  // 1. every Redis reply DELAY_MS late: refills take that long, nothing else may
  await proxy.delay(DELAY_MS);
  const slow = await traffic(a, keys, 4000, 'slow');
  await proxy.delay(0);
  console.log(`# Redis replies ${DELAY_MS} ms late: healthz ${fmt(slow.healthz)}; leased ${fmt(slow.leased)}; `
    + `single ${fmt(slow.single)}; browser ${fmt(slow.browser)}; ${JSON.stringify(slow.statuses)}`);
  assert.ok(pct(slow.healthz, 0.95) < BOUND_MS, `healthz p95 ${pct(slow.healthz, 0.95).toFixed(1)} ms while Redis is slow (${fmt(slow.healthz)})`);
  // the leased key waits only when its lease ran out (every LEASE_MS = 100 ms at this pace): most
  // of its requests are served from the lease, without Redis
  assert.ok(pct(slow.leased, 0.5) < DELAY_MS / 2, `leased-key requests waited for Redis: ${fmt(slow.leased)}`);
  assert.ok(pct(slow.leased, 0.95) < BOUND_MS, `leased-key p95 while Redis is slow: ${fmt(slow.leased)}`);
  // the one-token keys did wait for Redis (each request needs its round trip), and were admitted;
  // a browser request waits for two buckets (the key's, the address's); none past its deadlines
  assert.ok(pct(slow.single, 0.5) >= DELAY_MS * 0.9, `single-token requests did not wait for Redis: ${fmt(slow.single)}`);
  assert.ok(Math.max(...slow.single, ...slow.browser) < 1000, `a request waited too long: single ${fmt(slow.single)}; browser ${fmt(slow.browser)}`);
  assert.deepEqual(Object.keys(slow.statuses).filter((s) => !s.endsWith(' 200') && !s.endsWith(' 202')), []);
  assert.doesNotMatch(a.log(), /local fallback/, 'a slow Redis (within the timeout) is still the shared bucket');

  // 2. Redis itself stalls (DEBUG SLEEP 2, again and again, for 5 s)
  const stallUntil = Date.now() + 5000;
  const sleeper = spawn('bash', ['-c', `while [ $(date +%s%3N) -lt ${stallUntil} ]; do redis-cli -p ${redis.port} DEBUG SLEEP 2 >/dev/null; done`]);
  sleepers.push(sleeper);
  await sleep(100);
  const [stalled, ready, pong] = await Promise.all([
    traffic(a, keys, 4000, 'stall'),
    (async () => { await sleep(1000); return timed(`${a.url}/readyz`); })(),
    (async () => { await sleep(300); return redis.ping(); })(),
  ]);
  assert.equal(pong, false, 'Redis really was stalled (PING got no answer within 1 s)');
  await new Promise((r) => (sleeper.exitCode !== null ? r() : sleeper.on('exit', r)));
  console.log(`# Redis stalled (DEBUG SLEEP 2): healthz ${fmt(stalled.healthz)}; leased ${fmt(stalled.leased)}; `
    + `single ${fmt(stalled.single)}; browser ${fmt(stalled.browser)}; /readyz ${ready.status} in ${ready.ms.toFixed(0)} ms; `
    + `${JSON.stringify(stalled.statuses)}`);
  for (const [what, xs] of Object.entries({ healthz: stalled.healthz, leased: stalled.leased, browser: stalled.browser })) {
    assert.ok(pct(xs, 0.95) < BOUND_MS, `${what} p95 ${pct(xs, 0.95).toFixed(1)} ms while Redis is stalled (${fmt(xs)})`);
  }
  // a request waiting for a refill gives up at its deadline (the limiter's 250 ms) and the local
  // bucket decides: nobody waits for the 2 s stall
  const worst = Math.max(...stalled.single, ...stalled.browser);
  assert.ok(worst < 1000, `a request waited ${worst.toFixed(0)} ms for a stalled Redis`);
  assert.deepEqual(Object.keys(stalled.statuses).filter((s) => !s.endsWith(' 200') && !s.endsWith(' 202')), []);
  assert.match(a.log(), /local fallback/, 'the stalled Redis sent the limiter to its local bucket');
  assert.equal(ready.status, 503, ready.text);
  assert.equal(JSON.parse(ready.text).redis, false, ready.text);
  assert.ok(ready.ms < 1500, `/readyz took ${ready.ms.toFixed(0)} ms`);

  // 3. Redis back: after the limiter's retry delay, one key's bucket is shared exactly by both
  // instances, also when its requests arrive all at once
  await sleep(2500);
  assert.equal((await timed(`${a.url}/readyz`)).status, 200);
  // Redis forgets its scripts (SCRIPT FLUSH): the limiter sends the script whole and goes on
  // with the shared bucket, no fallback
  execFileSync('redis-cli', ['-p', String(redis.port), 'SCRIPT', 'FLUSH']);
  const logAt = [a.log().length, b.log().length];
  const LIMIT = 30;
  const exact = newKey(tenant, LIMIT);
  const t0 = Date.now();
  const answers = await Promise.all(Array.from({ length: 2 * LIMIT }, (_, i) =>
    post(i % 2 ? a.url : b.url, exact, { event: 'exact', event_id: `exact-${i}` })));
  const minutes = (Date.now() - t0) / 60000;
  const admitted = answers.filter((r) => r.status === 202).length;
  const limited = answers.filter((r) => r.status === 429).length;
  console.log(`# Redis back: ${admitted} of ${answers.length} concurrent requests admitted over two instances (limit ${LIMIT}/min)`);
  assert.equal(admitted + limited, answers.length, answers.map((r) => r.status).join(','));
  assert.ok(admitted <= LIMIT + Math.ceil(minutes * LIMIT), `admitted ${admitted} > ${LIMIT}`);
  assert.ok(admitted >= LIMIT - 1, `admitted only ${admitted} of a bucket of ${LIMIT}`);
  const keyId = exact.slice(3, 15);
  assert.match(execFileSync('redis-cli', ['-p', String(redis.port), 'HGET', `ea:rl:${keyId}`, 't'], { encoding: 'utf8' }), /^\d/,
    'the bucket was spent in Redis');
  assert.doesNotMatch(a.log().slice(logAt[0]) + b.log().slice(logAt[1]), /local fallback/, 'NOSCRIPT sent the limiter to its fallback');
  const metrics = await (await fetch(`${a.url}/metrics`)).text();
  const metric = (name) => Number((new RegExp(`^${name} (\\d+)`, 'm').exec(metrics) || [])[1]);
  console.log(`# ${metrics.split('\n').filter((l) => l.startsWith('ingest_ratelimit_')).join('; ')}`);
  assert.ok(metric('ingest_ratelimit_refills_total') > 0 && metric('ingest_ratelimit_local_total') > 0, 'rate limiter counters in /metrics');
  assert.ok(metric('ingest_ratelimit_waits_total\\{outcome="refill"\\}') > 0);

  for (const s of [a, b]) {
    s.child.kill('SIGTERM');
    assert.deepEqual(await s.exited, { code: 0, signal: null });
  }
});
