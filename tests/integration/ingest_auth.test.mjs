// ingest_auth.test.mjs — issue 12 item 1 against real processes (extra ingest-api instances on
// the test stack's PostgreSQL and Redis, started here with their own settings):
//   (a) a flood of wrong secrets for a real key id does not stall a valid key: key verification
//       (lookup + bcrypt) runs on worker threads, the loop answers cached keys meanwhile;
//   (b) failed attempts are limited before authentication per client address, across two
//       instances (counts in Redis): 429 with Retry-After, even for a correct key from there;
//   (c) the same per key id, across two instances; a verified key that is cached is unaffected;
//   (d) a refused key whose digest falls into a verified key's cache slot does not evict it;
//   (e) revocation still takes effect within KEY_CACHE_TTL_S while the key is in steady use;
//   (f) graphql-api uses the same verifier: its per-key-id limit answers 429 too.
// Clients act as different addresses by binding to random 127.x.y.z source addresses, so the
// counts of other tests (all from 127.0.0.1) never mix in.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { admin, freshTenant, startIngest, killChildren, requestFrom, randomLoopback, waitFor, sleep, GRAPHQL } from './lib/stack.mjs';

after(() => killChildren());

const wrongSecret = (key) => `${key.slice(0, 16)}${randomBytes(16).toString('hex')}`;
const keyId = (key) => key.slice(3, 15);

function post(from, url, key, body = { event: 'auth_test' }) {
  return requestFrom(from, `${url}/ingest`, {
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('(a) 32 concurrent wrong-secret requests for a real key id do not stall a valid key', async () => {
  // limits out of reach: every flood request goes to the verifier (the pool alone is tested)
  const ing = await startIngest({ AUTH_FAIL_LIMIT_ADDR: '100000000', AUTH_FAIL_LIMIT_KEY: '100000000' });
  const valid = freshTenant('ingest');
  const vout = admin('key', 'create', '--tenant', valid.id, '--scopes', 'ingest', '--rate-limit', '1000000').trim().split('\n');
  valid.key = vout[vout.length - 1].trim(); // its token bucket is not what this test measures
  const victim = freshTenant('ingest');
  const me = randomLoopback();
  const warm = await post(me, ing.url, valid.key);
  assert.equal(warm.status, 202, warm.text);

  let stop = false;
  const flood = { total: 0, byStatus: {} };
  const attacker = async () => {
    const from = randomLoopback();
    while (!stop) {
      const r = await post(from, ing.url, wrongSecret(victim.key)).catch((e) => ({ status: String(e.code) }));
      flood.total++;
      flood.byStatus[r.status] = (flood.byStatus[r.status] || 0) + 1;
    }
  };
  const attackers = Array.from({ length: 32 }, attacker);
  await sleep(500); // the flood is in full swing before the first measured request
  const lat = [];
  const statuses = [];
  const t0 = Date.now();
  while (Date.now() - t0 < 3000) {
    const r = await post(me, ing.url, valid.key);
    statuses.push(r.status);
    lat.push(r.ms);
    await sleep(20); // a client sending now and then, not a second flood
  }
  stop = true;
  await Promise.all(attackers);
  console.log(`# valid key under flood: ${lat.length} requests in 3 s, median ${median(lat).toFixed(1)} ms, ` +
    `max ${Math.max(...lat).toFixed(1)} ms; flood: ${flood.total} requests ${JSON.stringify(flood.byStatus)}`);
  const odd = statuses.filter((s) => s !== 202);
  assert.equal(odd.length, 0, `valid key got ${odd.length} answers other than 202: ${[...new Set(odd)]}`);
  // bcrypt on the loop (~70 ms each, 32 waiting) made each valid request wait for seconds;
  // off the loop the valid key is answered from the cache between flood requests
  assert.ok(lat.length >= 10, `only ${lat.length} valid requests answered in 3 s`);
  assert.ok(median(lat) < 300, `median ${median(lat)} ms`);
  assert.ok(flood.byStatus[401] > 0, 'the flood was verified (and refused)');
  assert.ok(Object.keys(flood.byStatus).every((s) => s === '401' || s === '503'), JSON.stringify(flood.byStatus));
});

test('(b) failed attempts per client address, across two instances: 429 before authentication', async () => {
  const env = { AUTH_FAIL_LIMIT_ADDR: '5', AUTH_FAIL_LIMIT_KEY: '1000', AUTH_FAIL_WINDOW_S: '60' };
  const a = await startIngest(env);
  const b = await startIngest(env);
  const good = freshTenant('ingest');
  const attacker = randomLoopback();
  // 5 failed attempts, spread over both instances, each for a different unknown key id
  for (let i = 0; i < 5; i++) {
    const r = await post(attacker, i % 2 ? a.url : b.url, `ak_${randomBytes(6).toString('hex')}_${randomBytes(16).toString('hex')}`);
    assert.equal(r.status, 401, r.text);
  }
  for (const [name, url] of [['a', a.url], ['b', b.url]]) {
    const r = await post(attacker, url, wrongSecret(good.key));
    assert.equal(r.status, 429, `instance ${name}: ${r.text}`);
    assert.equal(r.json.error.code, 'too_many_failed_attempts');
    const ra = Number(r.headers['retry-after']);
    assert.ok(ra >= 1 && ra <= 60, `Retry-After ${r.headers['retry-after']}`);
  }
  // limited BEFORE authentication: even the correct key is not verified from that address
  const blocked = await post(attacker, b.url, good.key);
  assert.equal(blocked.status, 429, blocked.text);
  // another address is not affected, and the key itself is fine
  const other = randomLoopback();
  assert.equal((await post(other, a.url, wrongSecret(good.key))).status, 401);
  assert.equal((await post(other, b.url, good.key)).status, 202);
});

test('(c) failed attempts per key id, across two instances; a cached verified key is unaffected', async () => {
  const env = { AUTH_FAIL_LIMIT_ADDR: '1000', AUTH_FAIL_LIMIT_KEY: '4', AUTH_FAIL_WINDOW_S: '60' };
  const a = await startIngest(env);
  const b = await startIngest(env);
  const t = freshTenant('ingest');
  const owner = randomLoopback();
  assert.equal((await post(owner, a.url, t.key)).status, 202); // verified and cached on a
  for (let i = 0; i < 4; i++) {
    const r = await post(randomLoopback(), i % 2 ? a.url : b.url, wrongSecret(t.key));
    assert.equal(r.status, 401, r.text);
  }
  for (const url of [a.url, b.url]) {
    const r = await post(randomLoopback(), url, wrongSecret(t.key));
    assert.equal(r.status, 429, r.text);
    assert.ok(Number(r.headers['retry-after']) >= 1);
  }
  // b never verified the key: the key id is locked there until the window ends
  assert.equal((await post(randomLoopback(), b.url, t.key)).status, 429);
  // a answers the owner from its verified-key cache, attack or not
  assert.equal((await post(owner, a.url, t.key)).status, 202);
  // another key id is not affected
  const u = freshTenant('ingest');
  assert.equal((await post(randomLoopback(), b.url, u.key)).status, 202);
});

test('(d) a refused key in the same cache slot does not evict a verified key', async () => {
  const ing = await startIngest({ KEY_CACHE_TTL_S: '60' });
  const t = freshTenant('ingest');
  const from = randomLoopback();
  // the verified-key cache slot: first 32 bits of SHA-256(key) mod 4096 (ea_keyauth.c)
  const slot = (k) => createHash('sha256').update(k).digest().readUInt32BE(0) % 4096;
  let wrong;
  do wrong = wrongSecret(t.key); while (slot(wrong) !== slot(t.key));
  assert.equal((await post(from, ing.url, t.key)).status, 202);
  assert.equal((await post(from, ing.url, wrong)).status, 401);
  // revoke in the database: only a cached verification can still accept the key now
  admin('key', 'revoke', keyId(t.key));
  const r = await post(from, ing.url, t.key);
  assert.equal(r.status, 202, `the refused key evicted the verified one: ${r.text}`);
});

test('(e) revocation takes effect within KEY_CACHE_TTL_S while the key is in steady use', async () => {
  const TTL_S = 2;
  const ing = await startIngest({ KEY_CACHE_TTL_S: String(TTL_S) });
  const t = freshTenant('ingest');
  const from = randomLoopback();
  assert.equal((await post(from, ing.url, t.key)).status, 202);
  // steady use keeps the key fresh (refreshed ahead of its expiry, without bcrypt)
  const until = Date.now() + TTL_S * 1000 * 1.5;
  while (Date.now() < until) {
    const r = await post(from, ing.url, t.key);
    assert.equal(r.status, 202, r.text);
    await sleep(50);
  }
  admin('key', 'revoke', keyId(t.key));
  const revokedAt = Date.now();
  const refusedAt = await waitFor(async () => {
    const r = await post(from, ing.url, t.key);
    return r.status === 401 ? Date.now() : null;
  }, 20000, 50);
  assert.ok(refusedAt, 'the revoked key kept working');
  const ms = refusedAt - revokedAt;
  console.log(`# revoked key refused ${ms} ms after the revocation (KEY_CACHE_TTL_S=${TTL_S})`);
  assert.ok(ms <= TTL_S * 1000 + 1000, `revoked key accepted for ${ms} ms`);
});

test('(f) graphql-api shares the verifier: per-key-id limit → 429, the cached key still works', async () => {
  const t = freshTenant('read');
  const gql = (from, key) => requestFrom(from, `${GRAPHQL}/graphql`, {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: '{ me { kind } }' }),
  });
  const owner = randomLoopback();
  const ok = await gql(owner, t.key);
  assert.equal(ok.status, 200, ok.text);
  // the stack's default AUTH_FAIL_LIMIT_KEY (20 per 60 s)
  const answers = [];
  for (let i = 0; i < 21; i++) answers.push((await gql(randomLoopback(), wrongSecret(t.key))).status);
  assert.deepEqual(answers, [...Array(20).fill(401), 429]);
  const limited = await gql(randomLoopback(), wrongSecret(t.key));
  assert.equal(limited.status, 429, limited.text);
  assert.equal(limited.json.errors[0].extensions.code, 'TOO_MANY_FAILED_ATTEMPTS');
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.equal((await gql(owner, t.key)).status, 200);
});
