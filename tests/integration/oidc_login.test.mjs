// oidc_login.test.mjs — dashboard sign-in end to end against the real local OIDC provider
// (tools/oidc-dev, npm oidc-provider, started by scripts/stack.sh) and the real graphql-api:
// user demo / demo fills the provider's HTML form, graphql-api redeems the code with PKCE,
// verifies the RS256 ID token against the provider's JWKS and sets the session cookie; the
// cookie then reads acme-corp data, `me` says who it is, another tenant is FORBIDDEN, a
// replayed callback is refused, and after logout the same cookie no longer works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GRAPHQL, env, freshTenant, ingest, waitFor } from './lib/stack.mjs';
import { Browser, providerLogin, setCookies, setsSession } from './lib/browser.mjs';

const ME = '{ me { kind name tenants { id name role } scopes } }';

async function gql(browserOrNull, query, variables = {}, headers = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  const url = `${GRAPHQL}/graphql`;
  const init = { method: 'POST', headers: h, body: JSON.stringify({ query, variables }) };
  const res = browserOrNull ? await browserOrNull.fetch(url, init) : await fetch(url, init);
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text), text };
}

async function signIn(returnTo = '/') {
  const b = new Browser();
  const { callbackUrl, body } = await providerLogin(b, GRAPHQL, { returnTo });
  assert.ok(callbackUrl, `the provider did not redirect to the callback: ${body}`);
  const res = await b.fetch(callbackUrl);
  return { b, res, callbackUrl };
}

test('the stack runs the local provider and graphql-api knows it', async () => {
  assert.ok(env.OIDC_DEV_ISSUER, 'stack.env exports OIDC_DEV_ISSUER');
  const d = await (await fetch(`${env.OIDC_DEV_ISSUER}/.well-known/openid-configuration`)).json();
  assert.equal(d.issuer, env.OIDC_DEV_ISSUER);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
});

test('GET /auth/login redirects to the issuer with PKCE S256, state and nonce', async () => {
  const b = new Browser();
  const res = await b.fetch(`${GRAPHQL}/auth/login?return_to=%2Fdashboards`);
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get('location'));
  assert.equal(`${loc.origin}`, env.OIDC_DEV_ISSUER);
  const p = loc.searchParams;
  assert.equal(p.get('response_type'), 'code');
  assert.equal(p.get('code_challenge_method'), 'S256');
  assert.match(p.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.match(p.get('state'), /^[A-Za-z0-9_-]{43}$/);
  assert.match(p.get('nonce'), /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(p.get('state'), p.get('nonce'));
  assert.equal(p.get('redirect_uri'), `${GRAPHQL}/auth/callback`);
  assert.ok(p.get('scope').split(' ').includes('openid'));
  const [lc] = setCookies(res, 'ea_login');
  assert.ok(lc, 'login binding cookie set');
  assert.match(lc, /HttpOnly/);
  assert.match(lc, /SameSite=Lax/);
  assert.match(lc, /Path=\/auth\/callback/);
  assert.equal(b.get('ea_login'), p.get('state'));
  assert.ok(!setsSession(res));
});

test('return_to must be a same-origin path', async () => {
  for (const bad of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)', '']) {
    const res = await fetch(`${GRAPHQL}/auth/login?return_to=${encodeURIComponent(bad)}`, { redirect: 'manual' });
    assert.equal(res.status, 400, `return_to=${bad}`);
    assert.equal((await res.json()).error.code, 'bad_return_to');
  }
});

test('demo / demo signs in, reads acme-corp with the cookie, other tenants are FORBIDDEN, logout ends it', async () => {
  const { b, res, callbackUrl } = await signIn('/dashboards?x=1');
  assert.equal(res.status, 302, await res.clone().text());
  assert.equal(res.headers.get('location'), '/dashboards?x=1');
  const [sc] = setCookies(res, 'ea_session');
  assert.ok(sc, 'session cookie set');
  assert.match(sc, /HttpOnly/);
  assert.match(sc, /SameSite=Lax/);
  assert.match(sc, /Path=\/;/);
  assert.match(sc, /Max-Age=[1-9]\d*/);
  assert.doesNotMatch(sc, /Secure/, 'plain http on loopback: no Secure flag');
  assert.ok(setCookies(res, 'ea_login').some((l) => /Max-Age=0/.test(l)), 'login cookie cleared');
  const cookie = b.get('ea_session');

  // me: kind user, the name from the ID token, tenants from memberships (seeded admin)
  const me = await gql(b, ME);
  assert.equal(me.status, 200);
  assert.equal(me.json.errors, undefined, me.text);
  assert.equal(me.json.data.me.kind, 'user');
  assert.equal(me.json.data.me.name, 'Demo User');
  const acme = me.json.data.me.tenants.find((t) => t.id === 'acme-corp');
  assert.deepEqual(acme, { id: 'acme-corp', name: 'Acme Corp', role: 'admin' });

  // acme-corp data through the cookie: an event ingested with the demo key shows up
  const page = `/login-${Date.now()}`;
  const ing = await ingest(env.DEMO_KEY, { event: 'page_view', page });
  assert.equal(ing.status, 202, ing.text);
  const q = `query($s: DateTime!, $e: DateTime!) { metrics(tenant: "acme-corp", name: "page_views",
    startTime: $s, endTime: $e, groupBy: ["page"]) { value dimensions } }`;
  const vars = { s: new Date(Date.now() - 3 * 3600e3).toISOString(), e: new Date(Date.now() + 3600e3).toISOString() };
  const found = await waitFor(async () => {
    const r = await gql(b, q, vars);
    assert.equal(r.json.errors, undefined, r.text);
    return r.json.data.metrics.find((p) => p.dimensions.page === page);
  }, 30000, 300);
  assert.ok(found, 'the event ingested for acme-corp is visible with the session cookie');
  assert.equal(found.value, 1);
  const defs = await gql(b, '{ metricDefinitions(tenant: "acme-corp") { name } }');
  assert.ok(defs.json.data.metricDefinitions.some((d) => d.name === 'page_views'));

  // another tenant: FORBIDDEN and no data
  const other = freshTenant();
  const forb = await gql(b, '{ metricDefinitions(tenant: $t) { name } }'.replace('$t', `"${other.id}"`));
  assert.equal(forb.json.errors[0].extensions.code, 'FORBIDDEN', forb.text);
  assert.ok(forb.json.data === null || forb.json.data.metricDefinitions == null);

  // a replayed callback (same code and state, login cookie restored) is refused
  b.set('ea_login', new URL(callbackUrl).searchParams.get('state'), '/auth/callback');
  const replay = await b.fetch(callbackUrl);
  assert.equal(replay.status, 400);
  assert.equal((await replay.json()).error.code, 'bad_state');
  assert.ok(!setsSession(replay), 'a replay sets no session cookie');

  // the session cookie edited by one character is refused
  const tampered = cookie.slice(0, -1) + (cookie.endsWith('A') ? 'B' : 'A');
  const bad = await gql(null, ME, {}, { cookie: `ea_session=${tampered}` });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.errors[0].extensions.code, 'UNAUTHENTICATED');

  // logout deletes the server-side session: the very same cookie stops working
  const out = await b.fetch(`${GRAPHQL}/auth/logout`, { method: 'POST' });
  assert.equal(out.status, 200);
  assert.ok(setCookies(out, 'ea_session').some((l) => /Max-Age=0/.test(l)), 'logout clears the cookie');
  const after = await gql(null, ME, {}, { cookie: `ea_session=${cookie}` });
  assert.equal(after.status, 401, after.text);
  assert.equal(after.json.errors[0].extensions.code, 'UNAUTHENTICATED');
});

test('a wrong password does not get past the provider', async () => {
  const b = new Browser();
  const r = await providerLogin(b, GRAPHQL, { password: 'not-demo' });
  assert.equal(r.callbackUrl, null);
  assert.equal(r.res.status, 401);
  assert.match(r.body, /Wrong user or password/);
  assert.equal(b.get('ea_session'), undefined);
});

test('API keys with read scope keep working as Bearer tokens next to sessions', async () => {
  const t = freshTenant('read');
  const r = await gql(null, ME, {}, { authorization: `Bearer ${t.key}` });
  assert.equal(r.json.errors, undefined, r.text);
  assert.equal(r.json.data.me.kind, 'api_key');
  assert.deepEqual(r.json.data.me.scopes, ['read']);
  // a key wins over a cookie: the same request with a bogus session cookie is still the key
  const both = await gql(null, ME, {}, { authorization: `Bearer ${t.key}`, cookie: 'ea_session=bogus' });
  assert.equal(both.json.data.me.kind, 'api_key');
  const none = await gql(null, ME, {}, { cookie: 'ea_session=bogus' });
  assert.equal(none.status, 401);
});
