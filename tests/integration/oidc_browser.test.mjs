// oidc_browser.test.mjs — the sign-in as a user does it: Debian's Chromium (playwright-core,
// /usr/bin/chromium) opens graphql-api's /auth/login, types demo / demo into the local
// provider's form (tools/oidc-dev) and lands back on graphql-api signed in. Checks what only a
// real browser shows: the cookie flags it stored, that the redirect chain ends on return_to with
// the session applied, and that the same session cookie authenticates a graphql-ws WebSocket
// (connection_ack) while a logged-out one is closed with 4403.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { GRAPHQL } from './lib/stack.mjs';

const profile = mkdtempSync(path.join(tmpdir(), 'ea-oidc-chromium-'));
let context;
after(async () => {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
});

// Opens a graphql-transport-ws connection with the given Cookie header; resolves with the first
// message type or the close code.
function wsInit(cookie) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${GRAPHQL.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers: cookie ? { cookie } : {} });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('no answer to connection_init')); }, 5000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    ws.on('message', (d) => { clearTimeout(timer); resolve({ type: JSON.parse(d).type }); ws.close(); });
    ws.on('close', (code) => { clearTimeout(timer); resolve({ close: code }); });
    ws.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

test('Chromium signs in as demo / demo and comes back signed in; the cookie also opens a WebSocket', async () => {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'],
  });
  const page = await context.newPage();
  const returnTo = '/graphql?query=' + encodeURIComponent('{ me { kind name tenants { id role } } }');
  await page.goto(`${GRAPHQL}/auth/login?return_to=${encodeURIComponent(returnTo)}`);
  // the provider's own login page
  await page.waitForSelector('input[name=login]');
  assert.match(page.url(), /\/interaction\//);
  await page.fill('input[name=login]', 'demo');
  await page.fill('input[name=password]', 'demo');
  await Promise.all([page.waitForURL(`${GRAPHQL}/graphql?**`), page.click('button[type=submit]')]);
  const me = JSON.parse(await page.textContent('body'));
  assert.equal(me.data.me.kind, 'user', JSON.stringify(me));
  assert.equal(me.data.me.name, 'Demo User');
  assert.ok(me.data.me.tenants.some((t) => t.id === 'acme-corp' && t.role === 'admin'));

  const cookies = await context.cookies(GRAPHQL);
  const s = cookies.find((c) => c.name === 'ea_session');
  assert.ok(s, 'the browser stored the session cookie');
  assert.equal(s.httpOnly, true);
  assert.equal(s.sameSite, 'Lax');
  assert.equal(s.path, '/');
  assert.ok(s.expires > Date.now() / 1000, 'a persistent cookie with an expiry');
  assert.ok(!cookies.some((c) => c.name === 'ea_login'), 'the login binding cookie is gone');
  // HttpOnly: page scripts cannot read it
  assert.doesNotMatch(await page.evaluate(() => document.cookie), /ea_session/);

  const cookie = `ea_session=${s.value}`;
  assert.deepEqual(await wsInit(cookie), { type: 'connection_ack' });

  // logout from the page, then neither HTTP nor WebSocket accept the old cookie
  await page.goto(`${GRAPHQL}/auth/logout?return_to=%2Fhealthz`);
  assert.equal(new URL(page.url()).pathname, '/healthz');
  assert.ok(!(await context.cookies(GRAPHQL)).some((c) => c.name === 'ea_session'));
  assert.deepEqual(await wsInit(cookie), { close: 4403 });
  const r = await fetch(`${GRAPHQL}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: '{"query":"{ me { kind } }"}' });
  assert.equal(r.status, 401);
});
