// oidc_negative.test.mjs — graphql-api's login refuses what it must: a second graphql-api
// process (the real binary, same PostgreSQL and Redis as the test stack) is pointed at our test
// identity provider (lib/test_idp.mjs), which is told to misbehave. Each case — tampered
// state, a callback from another browser, wrong or missing nonce, replayed callback, expired
// token, wrong audience or issuer, alg "none", HS256 keyed with the public key, a token signed
// by a key outside the JWKS — must end in a 4xx with no session cookie. Then a valid user
// without membership gets FORBIDDEN, a viewer membership reads but cannot administer, a
// rotated signing key is picked up by refetching the JWKS, a token signed by the retired key is
// refused, and tokens with unknown kids refetch the JWKS at most once per 10 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { BIN, env, waitFor, sleep } from './lib/stack.mjs';
import { Browser, setCookies, setsSession } from './lib/browser.mjs';
import { startTestIdp } from './lib/test_idp.mjs';

let idp, api, base, apiLog = '';

const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

before(async () => {
  idp = await startTestIdp();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = spawn(`${BIN}/graphql-api`, [], {
    env: {
      ...env,
      GRAPHQL_PORT: String(port), GRAPHQL_REUSEPORT: 'false', LOG_LEVEL: 'info',
      OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret,
      OIDC_REDIRECT_URI: `${base}/auth/callback`,
      SESSION_SECRET: randomBytes(32).toString('hex'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  api.stdout.on('data', (d) => { apiLog += d; });
  api.stderr.on('data', (d) => { apiLog += d; });
  const up = await waitFor(async () => {
    try { return (await fetch(`${base}/healthz`)).ok; } catch { return false; }
  }, 15000, 100);
  assert.ok(up, `graphql-api did not start:\n${apiLog}`);
});

after(async () => {
  if (api && api.exitCode === null) {
    const exited = new Promise((r) => api.once('exit', r));
    api.kill('SIGTERM'); // our own child, by pid
    await exited;
    assert.equal(api.exitCode, 0, `graphql-api exit code ${api.exitCode}:\n${apiLog.slice(-2000)}`);
  }
  if (idp) await idp.close();
});

// Starts a login in a fresh browser and lets the IdP answer; returns the callback URL unvisited.
async function startLogin(mode) {
  idp.mode = mode;
  const b = new Browser();
  const { url, stopped } = await b.follow(`${base}/auth/login?return_to=%2F`, (u) => u.startsWith(`${base}/auth/callback`));
  assert.ok(stopped, 'the IdP redirected back to the callback');
  return { b, callbackUrl: url };
}

async function expectRefused(res, status, code, reason) {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
  if (reason) assert.match(body.error.message, new RegExp(reason));
  assert.ok(!setsSession(res), 'no session cookie on a refused login');
  assert.ok(setCookies(res, 'ea_login').some((l) => /Max-Age=0/.test(l)), 'the login cookie is cleared');
}

const ME = JSON.stringify({ query: '{ me { kind name tenants { id role } } }' });
const gql = (cookie, body = ME) => fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body });

test('a valid login works against the test IdP (control case)', async () => {
  idp.subject = `ctl-${randomBytes(3).toString('hex')}`;
  const { b, callbackUrl } = await startLogin('ok');
  const res = await b.fetch(callbackUrl);
  assert.equal(res.status, 302, await res.clone().text());
  assert.ok(setsSession(res));
  const me = await (await gql(`ea_session=${b.get('ea_session')}`)).json();
  assert.equal(me.data.me.kind, 'user');
  assert.equal(me.data.me.name, 'Test User');
});

test('tampered state is refused', async () => {
  const { b, callbackUrl } = await startLogin('ok');
  const u = new URL(callbackUrl);
  const s = u.searchParams.get('state');
  u.searchParams.set('state', (s[0] === 'A' ? 'B' : 'A') + s.slice(1));
  await expectRefused(await b.fetch(u.toString()), 400, 'bad_state');
  // an attacker who controls the cookie too: the tampered state names no login in flight
  b.set('ea_login', u.searchParams.get('state'), '/auth/callback');
  await expectRefused(await b.fetch(u.toString()), 400, 'bad_state');
});

test('a callback without the browser\'s login cookie is refused (login CSRF)', async () => {
  const { callbackUrl } = await startLogin('ok');
  const stranger = new Browser();
  await expectRefused(await stranger.fetch(callbackUrl), 400, 'bad_state');
});

test('a replayed callback is refused', async () => {
  const { b, callbackUrl } = await startLogin('ok');
  const state = new URL(callbackUrl).searchParams.get('state');
  const first = await b.fetch(callbackUrl);
  assert.equal(first.status, 302);
  b.set('ea_login', state, '/auth/callback'); // an attacker holding the whole request
  await expectRefused(await b.fetch(callbackUrl), 400, 'bad_state');
});

for (const [mode, reason] of [
  ['wrong_nonce', 'bad_nonce'],
  ['no_nonce', 'bad_nonce'],
  ['expired', 'expired'],
  ['wrong_aud', 'bad_audience'],
  ['wrong_iss', 'bad_issuer'],
  ['alg_none', 'bad_alg'],
  ['hs256_pubkey', 'bad_alg'],
  ['other_key', 'bad_signature'],
]) {
  test(`an ID token with ${mode} is refused (${reason})`, async () => {
    const before = idp.tokenRequests;
    const { b, callbackUrl } = await startLogin(mode);
    await expectRefused(await b.fetch(callbackUrl), 401, 'bad_id_token', reason);
    assert.equal(idp.tokenRequests, before + 1, 'the code was redeemed once');
    assert.equal(b.get('ea_session'), undefined);
    // and the refused login cannot be completed later with a good token
    idp.mode = 'ok';
    b.set('ea_login', new URL(callbackUrl).searchParams.get('state'), '/auth/callback');
    await expectRefused(await b.fetch(callbackUrl), 400, 'bad_state');
  });
}

test('a user without membership is FORBIDDEN; viewer reads but cannot administer', async () => {
  idp.subject = `stranger-${randomBytes(3).toString('hex')}`;
  const { b, callbackUrl } = await startLogin('ok');
  assert.equal((await b.fetch(callbackUrl)).status, 302);
  const cookie = `ea_session=${b.get('ea_session')}`;
  const me = await (await gql(cookie)).json();
  assert.deepEqual(me.data.me.tenants, []);
  const read = JSON.stringify({ query: '{ metricDefinitions(tenant: "acme-corp") { name } }' });
  let r = await (await gql(cookie, read)).json();
  assert.equal(r.errors[0].extensions.code, 'FORBIDDEN', JSON.stringify(r));
  assert.equal(r.data, null);

  // an operator grants viewer (membership keyed by issuer + subject, before or after login)
  execFileSync(`${BIN}/analytics-admin`, ['member', 'add', '--tenant', 'acme-corp', '--issuer', idp.issuer,
    '--subject', idp.subject, '--role', 'viewer'], { env, encoding: 'utf8' });
  r = await (await gql(cookie, read)).json();
  assert.equal(r.errors, undefined, JSON.stringify(r));
  assert.ok(r.data.metricDefinitions.some((d) => d.name === 'page_views'));
  const admin = JSON.stringify({ query: 'mutation { defineMetric(tenant: "acme-corp", input: {name: "x_login_test", eventName: "x"}) { name } }' });
  r = await (await gql(cookie, admin)).json();
  assert.equal(r.errors[0].extensions.code, 'FORBIDDEN', JSON.stringify(r));
  const me2 = await (await gql(cookie)).json();
  assert.deepEqual(me2.data.me.tenants, [{ id: 'acme-corp', role: 'viewer' }]);
  execFileSync(`${BIN}/analytics-admin`, ['member', 'remove', '--tenant', 'acme-corp', '--issuer', idp.issuer,
    '--subject', idp.subject], { env, encoding: 'utf8' });
  r = await (await gql(cookie, read)).json();
  assert.equal(r.errors[0].extensions.code, 'FORBIDDEN', 'removal takes effect on the next request');
});

let rotatedAt = 0; // when graphql-api last fetched the JWKS (the rotation test's login)

test('a rotated signing key is fetched from the JWKS (refresh on unknown kid)', async () => {
  await sleep(10500); // graphql-api refetches the JWKS at most every 10 s
  idp.rotate();
  idp.subject = `rot-${randomBytes(3).toString('hex')}`;
  const fetches = idp.jwksRequests;
  const { b, callbackUrl } = await startLogin('ok');
  const res = await b.fetch(callbackUrl);
  rotatedAt = Date.now();
  assert.equal(res.status, 302, await res.clone().text());
  assert.ok(setsSession(res));
  assert.equal(idp.jwksRequests, fetches + 1, 'the new kid made graphql-api fetch the JWKS once');
});

test('a token signed by the retired key (rotated out of the JWKS) is refused', async () => {
  assert.ok(idp.retired, 'the rotation test ran first');
  const { b, callbackUrl } = await startLogin('retired_key');
  const res = await b.fetch(callbackUrl);
  assert.notEqual(res.status, 302, 'the retired key signed the user in');
  await expectRefused(res, 401, 'bad_id_token', 'unknown_kid');
  assert.equal(b.get('ea_session'), undefined);
});

test('unknown kids refetch the JWKS at most once per 10 s (JWKS_MIN_REFETCH_S)', async () => {
  // within 10 s of the last fetch: refused without asking the issuer again
  const fetches = idp.jwksRequests;
  for (let i = 0; i < 4; i++) {
    const { b, callbackUrl } = await startLogin('unknown_kid');
    await expectRefused(await b.fetch(callbackUrl), 401, 'bad_id_token', 'unknown_kid');
  }
  assert.ok(Date.now() - rotatedAt < 10000, 'the burst ran inside the 10 s window (slow machine?)');
  assert.equal(idp.jwksRequests, fetches, 'unknown kids within 10 s of a fetch did not refetch the JWKS');
  // past the window: one unknown kid refetches once; the next one right after does not
  await sleep(Math.max(0, rotatedAt + 10500 - Date.now()));
  let { b, callbackUrl } = await startLogin('unknown_kid');
  await expectRefused(await b.fetch(callbackUrl), 401, 'bad_id_token', 'unknown_kid');
  assert.equal(idp.jwksRequests, fetches + 1, 'an unknown kid after 10 s refetched the JWKS once');
  ({ b, callbackUrl } = await startLogin('unknown_kid'));
  await expectRefused(await b.fetch(callbackUrl), 401, 'bad_id_token', 'unknown_kid');
  assert.equal(idp.jwksRequests, fetches + 1, 'and the next one did not');
});

test('logout deletes the session: the same cookie is refused afterwards', async () => {
  idp.subject = `out-${randomBytes(3).toString('hex')}`;
  const { b, callbackUrl } = await startLogin('ok');
  assert.equal((await b.fetch(callbackUrl)).status, 302);
  const cookie = `ea_session=${b.get('ea_session')}`;
  assert.equal((await gql(cookie)).status, 200);
  const out = await fetch(`${base}/auth/logout?return_to=%2Fbye`, { headers: { cookie }, redirect: 'manual' });
  assert.equal(out.status, 302);
  assert.equal(out.headers.get('location'), '/bye');
  assert.ok(setCookies(out, 'ea_session').some((l) => /Max-Age=0/.test(l)));
  const after = await gql(cookie);
  assert.equal(after.status, 401);
});
