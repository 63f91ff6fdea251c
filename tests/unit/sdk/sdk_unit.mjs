// sdk_unit.mjs — unit tests of the tracker (sdk/sdk.js) in a node:vm context with a fake window,
// document, history, fetch and sendBeacon, and controlled timers: the paths a browser run cannot
// force (events answered "unavailable" retried alone with their ids, backoff giving up, refused
// answers dropped, batches split at 50, the beacon falling back to fetch, a stub queue replayed,
// loading twice). The real-browser run is tests/e2e/sdk.test.mjs. Run by CTest (sdk_unit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const SRC = readFileSync(new URL('../../../sdk/sdk.js', import.meta.url), 'utf8');

// A fake page at https://app.example/<path> whose script tag has `attrs`. fetch answers with
// respond(body, n) → {status, json}; timers run only when flushTimers() is called.
function page({ attrs = { 'data-key': 'ak_k' }, respond = () => ({ status: 202, json: { results: [] } }), beacon = true, dnt, pre } = {}) {
  const sent = [], beacons = [], listeners = {}, timers = [];
  let n = 0, now = 1764151200000;
  const loc = new URL('https://app.example/start');
  const location = {
    get pathname() { return loc.pathname; }, get search() { return loc.search; }, get href() { return loc.href; },
  };
  const history = {
    pushState(_s, _t, url) { const u = new URL(url, loc); loc.pathname = u.pathname; loc.search = u.search; },
    replaceState(_s, _t, url) { const u = new URL(url, loc); loc.pathname = u.pathname; loc.search = u.search; },
  };
  const script = { src: 'https://ingest.example/sdk.js', getAttribute: (k) => attrs[k] ?? null, hasAttribute: (k) => k in attrs };
  const document = {
    currentScript: script, title: 'T', referrer: 'https://ref.example/', visibilityState: 'visible',
    addEventListener: (ev, fn) => { (listeners[ev] ||= []).push(fn); }, querySelector: () => script,
  };
  const window = {
    addEventListener: (ev, fn) => { (listeners[ev] ||= []).push(fn); },
    analytics: pre,
  };
  const ctx = {
    window, document, location, history, URL, JSON, Math, Object, Array, String, Uint8Array,
    Date: { now: () => now },
    navigator: {
      doNotTrack: dnt,
      sendBeacon: beacon ? (url, body) => { beacons.push({ url, body: JSON.parse(body) }); return true; } : undefined,
    },
    crypto: { randomUUID: () => `id-${++n}` },
    setTimeout: (fn, ms) => { timers.push({ fn, at: now + ms }); return timers.length; },
    clearTimeout: (id) => { if (timers[id - 1]) timers[id - 1].fn = null; },
    fetch: (url, init) => {
      const body = JSON.parse(init.body);
      sent.push({ url, init, body });
      const r = respond(body, sent.length);
      if (r === 'network') return Promise.reject(new TypeError('failed to fetch'));
      return Promise.resolve({ status: r.status, json: () => Promise.resolve(r.json || {}) });
    },
  };
  window.crypto = ctx.crypto;
  vm.createContext(ctx);
  vm.runInContext(SRC, ctx);
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    ctx, sent, beacons, listeners, analytics: () => ctx.window.analytics,
    // runs due timers in order (advancing the clock), repeatedly, letting promises settle between
    async flushTimers(ms = 60000) {
      const end = now + ms;
      for (;;) {
        await settle(); await settle();
        const due = timers.filter((t) => t.fn && t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        now = Math.max(now, due.at);
        const fn = due.fn; due.fn = null; fn();
      }
      await settle(); await settle();
    },
    fire(ev) { for (const fn of listeners[ev] || []) fn(); },
    document,
  };
}
const events = (p) => p.sent.flatMap((s) => s.body.batch);

test('page_view on load with path, url, title, referrer; the key and sent_at in a text/plain body', async () => {
  const p = page();
  await p.flushTimers();
  assert.equal(p.sent.length, 1);
  const s = p.sent[0];
  assert.equal(s.url, 'https://ingest.example/ingest');
  assert.equal(s.init.headers['Content-Type'], 'text/plain');
  assert.equal(s.init.credentials, 'omit');
  assert.equal(s.body.api_key, 'ak_k');
  assert.equal(typeof s.body.sent_at, 'number');
  assert.deepEqual(s.body.batch.map((e) => [e.event, e.path, e.url, e.title, e.referrer]),
    [['page_view', '/start', 'https://app.example/start', 'T', 'https://ref.example/']]);
  assert.equal(s.body.batch[0].event_id, 'id-1');
});

test('SPA navigation: pushState and popstate record a view, same-URL replaceState does not', async () => {
  const p = page();
  p.ctx.history.pushState({}, '', '/a?q=1');
  p.ctx.history.replaceState({}, '', '/a?q=1');
  await p.flushTimers(0);
  p.ctx.history.pushState({}, '', '/b');
  p.fire('popstate');
  await p.flushTimers();
  const views = events(p).filter((e) => e.event === 'page_view');
  assert.deepEqual(views.map((v) => v.path), ['/start', '/a', '/b']);
  assert.equal(views[1].referrer, 'https://app.example/start');
  assert.equal(views[2].referrer, 'https://app.example/a?q=1');
});

test('track() batches: one request per 50 events, properties kept, reserved names are ours', async () => {
  const p = page();
  for (let i = 0; i < 120; i++) p.analytics().track('click', { i, event: 'spoofed', event_id: 'x' });
  await p.flushTimers();
  assert.deepEqual(p.sent.map((s) => s.body.batch.length), [50, 50, 21]); // 120 clicks + the page view
  const clicks = events(p).filter((e) => e.event === 'click');
  assert.equal(clicks.length, 120);
  assert.equal(new Set(clicks.map((e) => e.event_id)).size, 120);
  assert.ok(!clicks.some((e) => e.event_id === 'x'));
  p.analytics().track('', {});
  p.analytics().track(42);
  await p.flushTimers();
  assert.equal(events(p).length, 121);
});

test('a failed request is retried with the same event_ids; events answered unavailable are retried alone', async () => {
  const p = page({
    respond: (body, n) => n === 1 ? 'network'
      : n === 2 ? { status: 503 }
      : n === 3 ? { status: 202, json: { results: body.batch.map((e, i) => ({ index: i, event_id: e.event_id, status: i === 1 ? 'rejected' : 'accepted', code: i === 1 ? 'unavailable' : undefined })) } }
      : { status: 202, json: { results: [] } },
  });
  p.analytics().track('a');
  p.analytics().track('b');
  await p.flushTimers();
  assert.equal(p.sent.length, 4);
  const ids = (s) => s.body.batch.map((e) => e.event_id);
  assert.deepEqual(ids(p.sent[1]), ids(p.sent[0]));
  assert.deepEqual(ids(p.sent[2]), ids(p.sent[0]));
  assert.deepEqual(ids(p.sent[3]), [ids(p.sent[0])[1]], 'only the unavailable event, same id');
});

test('refused answers are final; retries give up after 8 tries', async () => {
  const p = page({ respond: () => ({ status: 403, json: { error: { code: 'origin_not_allowed' } } }) });
  await p.flushTimers();
  assert.equal(p.sent.length, 1);
  const q = page({ respond: () => ({ status: 500 }) });
  await q.flushTimers(3600000);
  assert.equal(q.sent.length, 8);
});

test('page hide: unsent and unacknowledged events go out with sendBeacon, the same ids', async () => {
  const p = page({ respond: () => 'network' });
  await p.flushTimers(0);
  await p.flushTimers(1000); // the page view's first attempt failed; its retry is waiting
  p.analytics().track('late');
  p.document.visibilityState = 'hidden';
  p.fire('visibilitychange');
  assert.equal(p.beacons.length, 1);
  assert.deepEqual(p.beacons[0].body.batch.map((e) => e.event).sort(), ['late', 'page_view']);
  assert.equal(p.beacons[0].body.batch.find((e) => e.event === 'page_view').event_id, p.sent[0].body.batch[0].event_id);
  assert.equal(p.beacons[0].url, 'https://ingest.example/ingest');
  // without sendBeacon: a keepalive fetch instead
  const q = page({ beacon: false });
  q.analytics().track('x');
  q.fire('pagehide');
  await q.flushTimers(0);
  assert.ok(q.sent.some((s) => s.init.keepalive && s.body.batch.some((e) => e.event === 'x')));
});

test('Do Not Track: off with data-respect-dnt, ignored without it; no key: off', async () => {
  const p = page({ attrs: { 'data-key': 'ak_k', 'data-respect-dnt': '' }, dnt: '1' });
  p.analytics().track('x');
  await p.flushTimers();
  assert.equal(p.sent.length, 0);
  assert.match(p.analytics().VERSION, /^\d+\.\d+\.\d+$/);
  const q = page({ dnt: '1' });
  await q.flushTimers();
  assert.equal(q.sent.length, 1);
  const r = page({ attrs: {} });
  r.analytics().track('x');
  await r.flushTimers();
  assert.equal(r.sent.length, 0);
});

test('data-api overrides the endpoint; a stub queue is replayed; loading twice keeps the first', async () => {
  const p = page({ attrs: { 'data-key': 'k', 'data-api': 'https://collect.example/' }, pre: [['track', 'early', { a: 1 }]] });
  await p.flushTimers();
  assert.equal(p.sent[0].url, 'https://collect.example/ingest');
  assert.ok(events(p).some((e) => e.event === 'early' && e.a === 1));
  const first = p.analytics();
  vm.runInContext(SRC, p.ctx);
  assert.equal(p.analytics(), first);
});
