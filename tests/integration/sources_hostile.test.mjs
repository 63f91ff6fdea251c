// sources_hostile.test.mjs — browser keys and the new front doors from the attacker's side:
// CORS preflights for listed and unlisted origins, a browser key without or with a wrong Origin,
// a secret key from a browser Origin, in a body or as text/plain, a browser key refused by
// graphql-api, oversize and gzip-bomb bodies (the bomb hits the body cap, not memory), broken
// gzip and encodings, unusable Authorization headers, malformed Segment and PostHog bodies, and
// the per-address bucket of browser keys. Every refused case asserts that Kafka got nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { freshTenant, graphql, INGEST, env, randomLoopback, requestFrom, waitFor } from './lib/stack.mjs';
import { basic, bearer, createKey, kafkaMessages, post } from './lib/sources.mjs';

const t = freshTenant('ingest,read');
const APP = 'https://app.example.com';
const LOCAL = 'http://localhost:8080';
const browserKey = createKey(t.id, 'ingest', `${APP}, ${LOCAL}/`);
const ingestOnly = createKey(t.id, 'ingest');
let expected = 0; // events this file expects in Kafka for t

const beacon = (origin) => ({ 'content-type': 'text/plain;charset=UTF-8', origin });
const code = (r) => r.json?.error?.code;

test('browser key creation refuses read/admin scopes and malformed origins', async () => {
  const { execFileSync } = await import('node:child_process');
  for (const [scopes, origins] of [['ingest,read', APP], ['ingest,admin', APP], ['ingest', 'https://*.example.com'],
    ['ingest', 'https://app.example.com/path'], ['ingest', 'null'], ['ingest', '']]) {
    assert.throws(() => execFileSync(`${env.BIN_DIR || 'build/bin'}/analytics-admin`,
      ['key', 'create', '--tenant', t.id, '--scopes', scopes, '--origins', origins], { env, stdio: 'pipe' }),
    (e) => e.status !== 0 && String(e.stderr).length > 0, `${scopes} ${origins}`);
  }
});

test('GraphQL createApiKey(origins:) makes a browser key, normalized; refuses read scope and bad origins', async () => {
  const a = freshTenant('ingest,read,admin');
  const M = `mutation M($t: String!, $s: [String!]!, $o: [String!]) {
    createApiKey(tenant: $t, scopes: $s, origins: $o) { key apiKey { keyId scopes origins } } }`;
  const ok = await graphql(a.key, M, { t: a.id, s: ['ingest'], o: ['HTTPS://Shop.Example.com:443/', 'http://localhost:8080'] });
  assert.equal(ok.json.errors, undefined, ok.text);
  assert.deepEqual(ok.json.data.createApiKey.apiKey.origins, ['https://shop.example.com', 'http://localhost:8080']);
  assert.match(ok.json.data.createApiKey.key, /^ak_/);
  for (const [s, o] of [[['ingest', 'read'], [APP]], [['ingest'], []], [['ingest'], ['https://*.example.com']], [['ingest'], ['a,b']]]) {
    const bad = await graphql(a.key, M, { t: a.id, s, o });
    assert.equal(bad.json.data?.createApiKey ?? null, null, bad.text);
    assert.ok(bad.json.errors?.[0]?.message.length > 0, bad.text);
  }
  const secret = await graphql(a.key, M, { t: a.id, s: ['ingest', 'read'], o: null });
  assert.equal(secret.json.data.createApiKey.apiKey.origins, null, 'no origins: a secret key');
});

test('CORS preflight: 204 with Access-Control-Allow-Origin for a listed origin, none otherwise', async () => {
  // the set of listed origins is refreshed in the background (INGEST_ORIGINS_REFRESH_S)
  const ok = await waitFor(async () => {
    const r = await fetch(`${INGEST}/ingest`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'POST' } });
    return r.headers.get('access-control-allow-origin') === APP ? r : null;
  }, 15000, 250);
  assert.ok(ok, 'the listed origin was never allowed');
  assert.equal(ok.status, 204);
  assert.match(ok.headers.get('access-control-allow-methods'), /POST/);
  assert.match(ok.headers.get('access-control-allow-headers'), /Content-Type/i);
  assert.match(ok.headers.get('vary') || '', /Origin/);
  for (const path of ['/v1/batch', '/batch/', '/capture/']) {
    const r = await fetch(`${INGEST}${path}`, { method: 'OPTIONS', headers: { origin: LOCAL } });
    assert.equal(r.status, 204, path);
    assert.equal(r.headers.get('access-control-allow-origin'), LOCAL, path);
  }
  for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.com', 'null', 'http://localhost:8081', APP.toUpperCase()]) {
    const r = await fetch(`${INGEST}/ingest`, { method: 'OPTIONS', headers: { origin } });
    assert.equal(r.status, 204, origin);
    assert.equal(r.headers.get('access-control-allow-origin'), null, origin);
    assert.equal(r.headers.get('access-control-allow-methods'), null, origin);
  }
  const none = await fetch(`${INGEST}/ingest`, { method: 'OPTIONS' });
  assert.equal(none.headers.get('access-control-allow-origin'), null);
});

test('browser key from its origin: api_key in a text/plain body (sendBeacon), answer readable by the page', async () => {
  const r = await post('/ingest', { api_key: browserKey, sent_at: Date.now(), batch: [{ event: 'beacon', event_id: 'b-1', path: '/a' }] }, beacon(APP));
  assert.equal(r.status, 202, r.text);
  assert.equal(r.headers.get('access-control-allow-origin'), APP);
  expected++;
  const single = await post('/ingest', { api_key: browserKey, event: 'beacon', event_id: 'b-2' }, { origin: LOCAL });
  assert.equal(single.status, 202, single.text);
  expected++;
  const hdr = await post('/ingest', { event: 'beacon', event_id: 'b-3' }, { ...bearer(browserKey), origin: APP });
  assert.equal(hdr.status, 202, hdr.text);
  expected++;
  const seg = await post('/v1/batch', { writeKey: browserKey, batch: [{ type: 'track', event: 'beacon', messageId: 'b-4' }] }, beacon(APP));
  assert.equal(seg.status, 200, seg.text);
  expected++;
  const ph = await post('/batch/', { api_key: browserKey, batch: [{ event: 'beacon', uuid: 'b-5', properties: { token: browserKey } }] }, beacon(APP));
  assert.equal(ph.status, 200, ph.text);
  expected++;
  const msgs = kafkaMessages(t.id);
  assert.equal(msgs.length, expected);
  for (const m of msgs) {
    assert.ok(!JSON.stringify(m.value).includes(browserKey), 'a key never becomes a stored property');
  }
});

const refusals = [
  ['browser key without Origin', '/ingest', () => ({ api_key: browserKey, event: 'x' }), {}, 403, 'origin_required'],
  ['browser key in the header without Origin', '/ingest', () => ({ event: 'x' }), () => bearer(browserKey), 403, 'origin_required'],
  ['browser key from another origin', '/ingest', () => ({ api_key: browserKey, event: 'x' }), { origin: 'https://evil.example.com' }, 403, 'origin_not_allowed'],
  ['browser key from a look-alike origin', '/ingest', () => ({ api_key: browserKey, event: 'x' }), { origin: 'https://app.example.com.evil.com' }, 403, 'origin_not_allowed'],
  ['browser key from origin "null"', '/ingest', () => ({ api_key: browserKey, event: 'x' }), { origin: 'null' }, 403, 'origin_not_allowed'],
  ['secret key from a browser Origin', '/ingest', () => ({ event: 'x' }), () => ({ ...bearer(t.key), origin: APP }), 403, 'secret_key_from_browser'],
  ['secret key in the body', '/ingest', () => ({ api_key: t.key, event: 'x' }), {}, 403, 'secret_key_in_body'],
  ['secret key in a Segment body', '/v1/batch', () => ({ writeKey: t.key, batch: [{ type: 'track', event: 'x' }] }), {}, 403, 'secret_key_in_body'],
  ['secret read key in a PostHog body', '/batch/', () => ({ api_key: t.key, batch: [{ event: 'x' }] }), {}, 403, 'secret_key_in_body'],
  ['secret key as text/plain', '/ingest', () => ({ event: 'x' }), () => ({ ...bearer(t.key), 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
  ['secret key in a beacon from its page', '/ingest', () => ({ api_key: t.key, event: 'x' }), beacon(APP), 403, 'secret_key_from_browser'],
  ['no key at all', '/ingest', () => ({ event: 'x' }), {}, 401, 'unauthorized'],
  ['unknown key in the body', '/ingest', () => ({ api_key: 'ak_000000000000_00000000000000000000000000000000', event: 'x' }), { origin: APP }, 401, 'unauthorized'],
  ['api_key not a string', '/ingest', () => ({ api_key: { k: 1 }, event: 'x' }), { origin: APP }, 401, 'unauthorized'],
  ['two credentials in Authorization', '/v1/track', () => ({ event: 'x' }), () => ({ authorization: [basic(t.key).authorization, basic(t.key).authorization].join(', ') }), 401, 'unauthorized'],
  ['Basic with broken base64', '/v1/track', () => ({ event: 'x' }), { authorization: 'Basic %%%%' }, 401, 'unauthorized'],
  ['Basic with an unknown key', '/v1/track', () => ({ event: 'x' }), basic('ak_000000000000_00000000000000000000000000000000'), 401, 'unauthorized'],
  ['Digest auth', '/v1/track', () => ({ event: 'x' }), { authorization: 'Digest username="x"' }, 401, 'unauthorized'],
  ['form content type', '/v1/track', () => 'event=x', () => ({ ...basic(t.key), 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type'],
  ['brotli body', '/batch/', () => 'xx', () => ({ 'content-encoding': 'br' }), 415, 'unsupported_encoding'],
  ['gzip header, plain body', '/batch/', () => ({ api_key: ingestOnly, batch: [{ event: 'x' }] }), { 'content-encoding': 'gzip' }, 400, 'invalid_gzip'],
  ['truncated gzip', '/batch/', () => gzipSync(JSON.stringify({ api_key: ingestOnly, batch: [{ event: 'x' }] })).subarray(0, 20), { 'content-encoding': 'gzip' }, 400, 'invalid_gzip'],
  ['gzip with trailing garbage', '/batch/', () => Buffer.concat([gzipSync(JSON.stringify({ api_key: ingestOnly, batch: [{ event: 'x' }] })), Buffer.from('{}')]), { 'content-encoding': 'gzip' }, 400, 'invalid_gzip'],
  ['Segment body not an object', '/v1/batch', () => '[1,2]', () => basic(t.key), 400, 'invalid_body'],
  ['Segment batch not an array', '/v1/batch', () => ({ batch: { type: 'track' } }), () => basic(t.key), 400, 'invalid_body'],
  ['Segment empty batch', '/v1/batch', () => ({ batch: [] }), () => basic(t.key), 400, 'no_valid_event'],
  ['Segment batch of 1001', '/v1/batch', () => ({ batch: Array.from({ length: 1001 }, () => ({ type: 'track', event: 'x' })) }), () => basic(t.key), 413, 'batch_too_large'],
  ['Segment unknown types only', '/v1/batch', () => ({ batch: [{ type: 'nope' }, { type: 1 }, 7, null] }), () => basic(t.key), 400, 'no_valid_event'],
  ['Segment track without event', '/v1/track', () => ({ userId: 'u' }), () => basic(t.key), 400, 'no_valid_event'],
  ['Segment messageId of 129 bytes', '/v1/track', () => ({ event: 'x', messageId: 'm'.repeat(129) }), () => basic(t.key), 400, 'no_valid_event'],
  ['Segment properties not an object', '/v1/track', () => ({ event: 'x', properties: [1] }), () => basic(t.key), 400, 'no_valid_event'],
  ['Segment invalid JSON', '/v1/track', () => '{"event":"x",', () => basic(t.key), 400, 'invalid_json'],
  ['Segment duplicate keys', '/v1/track', () => '{"event":"x","event":"y"}', () => basic(t.key), 400, 'invalid_json'],
  ['Segment depth 10,000', '/v1/track', () => `{"event":"x","properties":{"p":${'['.repeat(10000)}${']'.repeat(10000)}}}`, () => basic(t.key), 400, 'too_deep'],
  ['PostHog array body', '/batch/', () => [{ api_key: ingestOnly, event: 'x' }], {}, 401, 'unauthorized'],
  ['PostHog batch not an array', '/batch/', () => ({ api_key: ingestOnly, batch: {} }), {}, 400, 'invalid_body'],
  ['PostHog events without a name', '/batch/', () => ({ api_key: ingestOnly, batch: [{ properties: {} }, {}] }), {}, 400, 'no_valid_event'],
  ['PostHog uuid not a string', '/capture/', () => ({ api_key: ingestOnly, event: 'x', uuid: 5 }), {}, 400, 'no_valid_event'],
  ['PostHog invalid JSON', '/capture/', () => '{"api_key":', {}, 400, 'invalid_json'],
  ['PostHog timestamp in 1970', '/capture/', () => ({ api_key: ingestOnly, event: 'x', timestamp: '1970-01-01T00:00:00Z' }), {}, 400, 'no_valid_event'],
];

for (const [name, path, body, headers, status, errCode] of refusals) {
  test(`refused: ${name} → ${status} ${errCode}`, async () => {
    const h = typeof headers === 'function' ? headers() : headers;
    const r = await post(path, body(), h);
    assert.equal(r.status, status, r.text.slice(0, 300));
    assert.equal(code(r), errCode, r.text.slice(0, 300));
    assert.ok(r.json.error.message.length > 0);
    if (path.startsWith('/v1/')) assert.equal(r.json.success, false);
    if (path.startsWith('/batch') || path.startsWith('/capture')) assert.ok(r.json.type && r.json.detail, r.text);
    // an answer is readable cross-origin only for an origin some browser key lists
    const origin = h.origin;
    const acao = r.headers.get('access-control-allow-origin');
    if (origin === APP || origin === LOCAL) assert.equal(acao, origin);
    else assert.equal(acao, null);
  });
}

test('two Origin headers never pass as none: a secret key with two is refused', async () => {
  const r = await requestFrom('127.0.0.1', `${INGEST}/ingest`, {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}`, origin: [APP, 'https://evil.example.com'] },
    body: JSON.stringify({ event: 'x' }),
  });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.code, 'invalid_origin');
});

test('a browser key reads nothing from graphql-api (ingest scope only)', async () => {
  const q = `query Q($t: String!) { metrics(tenant: $t, name: "beacon", startTime: "2026-11-01T00:00:00Z",
    endTime: "2026-11-02T00:00:00Z") { value } metricDefinitions(tenant: $t) { name } }`;
  for (const h of [{}, { origin: APP }]) {
    const g = await graphql(browserKey, q, { t: t.id }, h);
    assert.equal(g.json?.data ?? null, null, g.text);
    assert.ok(g.json.errors.every((e) => e.extensions?.code === 'FORBIDDEN'), g.text);
  }
});

test('oversize bodies: 413 on every door, before parsing', async () => {
  const big = 'x'.repeat(1024 * 1024 + 10);
  for (const [path, h] of [['/v1/batch', basic(t.key)], ['/batch/', {}], ['/capture/', {}], ['/ingest', { origin: APP }]]) {
    // h2o refuses a declared length over the cap before reading the body; the client may see the
    // 413 or, while still sending, the connection closed under it: both mean not accepted
    let status;
    try { status = (await post(path, `{"pad":"${big}"}`, h)).status; } catch (e) { status = `closed (${e.cause?.code || e.message})`; }
    assert.ok(status === 413 || String(status).startsWith('closed'), `${path}: ${status}`);
  }
});

test('a gzip bomb hits the body cap, not memory', async () => {
  const pid = Number(readFileSync(`${env.STACK_DIR}/run/ingest-api.pid`, 'utf8'));
  const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  const before = hwm();
  // 256 MiB of a valid-looking JSON prefix and zeros, about 256 KiB compressed
  const bomb = gzipSync(Buffer.concat([Buffer.from(`{"api_key":"${ingestOnly}","batch":[{"event":"x","pad":"`), Buffer.alloc(256 << 20, 0x20)]), { level: 9 });
  assert.ok(bomb.length < 1024 * 1024, `${bomb.length}`);
  for (let i = 0; i < 3; i++) {
    const r = await post('/batch/', bomb, { 'content-encoding': 'gzip' });
    assert.equal(r.status, 413, r.text.slice(0, 200));
    assert.equal(code(r), 'body_too_large');
    assert.match(r.json.error.message, /decompressed/);
  }
  const grown = hwm() - before;
  console.log(`# gzip bomb: ${bomb.length} bytes on the wire, 256 MiB inflated; ingest-api peak RSS grew by ${grown} KiB`);
  assert.ok(grown < 64 * 1024, `ingest-api's peak memory grew by ${grown} KiB`);
  const metrics = await (await fetch(`${INGEST}/metrics`)).text();
  assert.match(metrics, /ingest_gzip_too_large_total [1-9]/);
});

test('nothing from any refused case reached Kafka, and the service still answers', async () => {
  assert.equal(kafkaMessages(t.id).length, expected);
  assert.equal((await fetch(`${INGEST}/healthz`)).status, 200);
});

test('browser keys are rate limited per client address too', async () => {
  // two browser keys, each far from its own bucket's end, from one address other than the other
  // tests' 127.0.0.1: the address's bucket (INGEST_BROWSER_RATE_PER_ADDR) ends first
  const wide = createKey(t.id, 'ingest', APP);
  const from = randomLoopback();
  let limited = null;
  for (let i = 0; i < 400 && !limited; i++) {
    const r = await requestFrom(from, `${INGEST}/ingest`, {
      headers: { 'content-type': 'text/plain', origin: APP },
      body: JSON.stringify({ api_key: i % 2 ? wide : browserKey, event: 'rl', event_id: `rl-${i}` }),
    });
    if (r.status === 429) limited = r;
    else if (r.status === 202) expected++;
    else assert.fail(r.text);
  }
  assert.ok(limited, 'never limited');
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.match(limited.json.error.message, /address/);
  assert.equal(limited.headers['access-control-allow-origin'], APP, 'the page can read the 429');
  // the same keys from another address are still admitted: the limit is the address's
  const other = await post('/ingest', { api_key: browserKey, event: 'rl', event_id: 'rl-other' }, beacon(APP));
  assert.equal(other.status, 202, other.text);
  expected++;
  assert.equal(kafkaMessages(t.id).length, expected);
});
