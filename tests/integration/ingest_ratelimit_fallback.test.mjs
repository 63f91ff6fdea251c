// ingest_ratelimit_fallback.test.mjs — SPEC §4's rate limit when Redis is down: ingest-api keeps
// limiting with its local fallback bucket (services/ingest-api/ratelimit.c) instead of admitting
// everything or refusing everything, and goes back to the shared Redis bucket when Redis returns.
// An ingest-api is started here on a private redis-server (lib/procs.mjs), so stopping Redis
// disturbs nothing else; PING proves Redis is really down before the burst, and the service's
// log proves the fallback ran.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { admin, sleep } from './lib/stack.mjs';
import { killAll, privateRedis, startService } from './lib/procs.mjs';

const LIMIT = 20; // requests per minute for the key; bucket = limit (RATE_LIMIT_BURST=0)
let redis;
after(async () => {
  killAll();
  await redis?.stop();
  redis?.cleanup();
});

const post = async (url, key, body) => {
  const r = await fetch(`${url}/ingest`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, json: await r.json().catch(() => null) };
};

test('Redis down: the fallback bucket limits to the key\'s rate; Redis takes over again when it is back', async () => {
  redis = await privateRedis();
  const ing = await startService('ingest-api', { REDIS_URL: redis.url, RATE_LIMIT_BURST: '0' });
  const id = `t-${randomBytes(5).toString('hex')}`;
  admin('tenant', 'create', id, '--id', id);
  const key = admin('key', 'create', '--tenant', id, '--scopes', 'ingest', '--rate-limit', String(LIMIT))
    .trim().split('\n').pop().trim();
  const keyId = key.slice(3, 15);
  const bucketKeys = () => execFileSync('redis-cli', ['-p', String(redis.port), '--scan'], { encoding: 'utf8' })
    .split('\n').filter((k) => k.includes(keyId));

  // with Redis: admitted from the shared bucket, which Redis now holds
  for (let i = 0; i < 3; i++) assert.equal((await post(ing.url, key, { event: 'rl', event_id: `up-${i}` })).status, 202);
  assert.ok(bucketKeys().length > 0, 'the token bucket of the key is in Redis while Redis is up');

  await redis.stop();
  assert.equal(await redis.ping(), false, 'Redis really is down (PING fails)');
  const t0 = Date.now();
  const results = [];
  for (let i = 0; i < 3 * LIMIT; i++) results.push(await post(ing.url, key, { event: 'rl', event_id: `down-${i}` }));
  const minutes = (Date.now() - t0) / 60000;
  const admitted = results.filter((r) => r.status === 202).length;
  const limited = results.filter((r) => r.status === 429);
  console.log(`# Redis down: ${admitted} of ${results.length} admitted, ${limited.length} limited in ${(minutes * 60).toFixed(1)} s`);
  assert.equal(admitted + limited.length, results.length, `other statuses: ${results.map((r) => r.status)}`);
  // the fallback bucket starts full: the key's limit, plus what refilled meanwhile
  assert.ok(admitted <= LIMIT + Math.ceil(minutes * LIMIT), `admitted ${admitted} > ${LIMIT} + refill: not limited`);
  assert.ok(admitted >= LIMIT - 1, `admitted only ${admitted}: the fallback refused what the limit allows`);
  for (const r of limited) {
    assert.equal(r.json.error.code, 'rate_limited');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal(r.headers.get('ratelimit-limit'), String(LIMIT));
  }
  assert.match(ing.log(), /using the local fallback bucket/, 'the service says it limits locally');

  // Redis back: after the limiter's retry delay it spends the shared bucket again
  await redis.start();
  execFileSync('redis-cli', ['-p', String(redis.port), 'FLUSHALL']);
  await sleep(2500); // ratelimit.c retries Redis 2 s after a failure
  const back = await post(ing.url, key, { event: 'rl', event_id: 'back-0' });
  assert.ok([202, 429].includes(back.status));
  assert.ok(bucketKeys().length > 0, 'the key\'s bucket is in Redis again: the limiter left the fallback');
  ing.child.kill('SIGTERM');
  assert.deepEqual(await ing.exited, { code: 0, signal: null });
});
