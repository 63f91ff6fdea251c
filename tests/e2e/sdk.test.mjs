// sdk.test.mjs — the tracker script (GET /sdk.js, sdk/sdk.js) in Debian's Chromium on a page
// served from another origin (a static server on its own port), against the real test stack:
// page_view on load and on History API navigation (pushState, popstate; not for a replaceState
// that keeps the URL), window.analytics.track, batching, a lost answer retried with the same
// event_id values and counted once, sendBeacon when the page goes away, Do Not Track honoured
// with data-respect-dnt — each checked in Kafka and in the rollups through GraphQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshTenant, INGEST } from '../integration/lib/stack.mjs';
import { createKey, kafkaMessages, staticServer, waitForCounts } from '../integration/lib/sources.mjs';
import { launch, eventually, shot } from './browser.mjs';

const html = (body, head = '') => `<!doctype html><html><head><title>SDK test</title>${head}</head><body>${body}</body></html>`;

test('GET /sdk.js: small, versioned, ETag and cache headers, 304 on revalidation', async () => {
  const r = await fetch(`${INGEST}/sdk.js`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /javascript/);
  const text = await r.text();
  assert.ok(text.length < 8192, `${text.length} bytes`);
  assert.match(text, /sdk\.js \d+\.\d+\.\d+/);
  const etag = r.headers.get('etag');
  const version = r.headers.get('x-sdk-version');
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  assert.match(r.headers.get('cache-control'), /max-age=300/);
  const again = await fetch(`${INGEST}/sdk.js`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.equal((await again.text()).length, 0);
  const pinned = await fetch(`${INGEST}/sdk/${version}/sdk.js`);
  assert.equal(pinned.status, 200);
  assert.match(pinned.headers.get('cache-control'), /immutable/);
  assert.equal(await pinned.text(), text);
  assert.equal((await fetch(`${INGEST}/sdk/0.0.0/sdk.js`)).status, 404);
  assert.equal((await fetch(`${INGEST}/sdk.js`, { method: 'POST' })).status, 405);
});

// A page on its own origin with the tracker tag; `opts.dnt` adds data-respect-dnt. The key is
// created once the origin (the server's port) is known.
async function site(tenant, { dnt = false } = {}) {
  let key = null;
  const srv = await staticServer((path) => html(`<p>${path}</p>`,
    `<script defer src="${INGEST}/sdk.js" data-key="${key}"${dnt && path.startsWith('/respect') ? ' data-respect-dnt' : ''}></script>`));
  key = createKey(tenant, 'ingest', srv.origin);
  return { ...srv, key };
}

test('tracker: page views on load and SPA navigation, track(), a retried batch counted once, beacon on page hide', async () => {
  const t = freshTenant('ingest,read');
  const app = await site(t.id);
  const b = await launch();
  const posts = [];
  let lost = 0;
  try {
    await b.context.route(`${INGEST}/ingest`, async (route) => {
      const req = route.request();
      const post = { type: req.resourceType(), body: req.postData(), headers: req.headers() };
      posts.push(post);
      const res = await route.fetch(); // ingest-api really receives and acknowledges it...
      post.status = res.status();
      post.answer = (await res.text()).slice(0, 300);
      if (req.resourceType() !== 'ping' && lost === 0 && req.postData().includes('"signup"')) {
        lost++; // ...but the page never sees that answer
        await route.fulfill({ status: 503, body: '{}', headers: { 'access-control-allow-origin': app.origin } });
        return;
      }
      await route.fulfill({ response: res });
    });
    await b.page.goto(`${app.origin}/app?x=1`);
    await b.page.waitForFunction(() => window.analytics && window.analytics.VERSION);
    assert.match(await b.page.evaluate(() => window.analytics.VERSION), /^\d+\.\d+\.\d+$/);
    await b.page.evaluate(() => history.pushState({}, '', '/app/step2'));
    await b.page.evaluate(() => history.replaceState({ s: 1 }, '', '/app/step2')); // same URL: no page view
    await b.page.evaluate(() => { location.hash = '#section'; }); // hash only: no page view
    await b.page.evaluate(() => history.go(-2)); // popstate back to /app?x=1
    await b.page.waitForFunction(() => location.pathname === '/app');
    await b.page.evaluate(() => window.analytics.track('signup', { plan: 'pro' }));
    await eventually(() => lost === 1 && posts.filter((p) => p.body.includes('"signup"')).length >= 2, 20000,
      'the retry of the lost batch');
    const signupPosts = posts.filter((p) => p.body.includes('"signup"')).map((p) => JSON.parse(p.body));
    const ids = (x) => x.batch.filter((e) => e.event === 'signup').map((e) => e.event_id).sort();
    assert.deepEqual(ids(signupPosts[0]), ids(signupPosts[1]), 'the retry carries the same event_id values');
    for (const p of posts) {
      assert.match(p.headers['content-type'], /^text\/plain/);
      assert.equal(JSON.parse(p.body).api_key, app.key);
    }
    // an event tracked right before leaving goes out with sendBeacon on pagehide. Playwright's
    // interception is removed first: it may drop a request of a page that is going away, which
    // is exactly the request this checks; an observer sees it without touching it.
    await b.context.unroute(`${INGEST}/ingest`);
    const seen = [];
    b.context.on('request', (r) => {
      if (r.url().startsWith(`${INGEST}/ingest`)) seen.push({ type: r.resourceType(), body: r.postData() || '' });
    });
    await b.page.evaluate(() => window.analytics.track('leaving', { at: 'now' }));
    await b.page.goto(`${app.origin}/away`);
    await eventually(() => kafkaMessages(t.id).some((m) => m.value.event === 'leaving'), 10000,
      'the beacon event in Kafka').catch((e) => {
      throw new Error(`${e.message}; requests seen: ${JSON.stringify(seen.map((x) => x.type))}`);
    });
    assert.ok(seen.some((x) => x.type === 'ping' && x.body.includes('"leaving"')),
      `request types: ${seen.map((x) => x.type)}`);
    await eventually(() => kafkaMessages(t.id).some((m) => m.value.properties.path === '/away'), 10000,
      'the page view of the next page');
    await shot(b.page, 'sdk-away');
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
    await app.close();
  }
  const msgs = kafkaMessages(t.id).map((m) => m.value);
  const views = [];
  for (const m of msgs) if (m.event === 'page_view' && !views.some((v) => v.event_id === m.event_id)) views.push(m);
  views.sort((a, b) => a.ts - b.ts);
  assert.deepEqual(views.map((v) => v.properties.path), ['/app', '/app/step2', '/app', '/away']);
  assert.equal(views[0].properties.url, `${app.origin}/app?x=1`);
  assert.equal(views[0].properties.title, 'SDK test');
  assert.equal(views[1].properties.referrer, `${app.origin}/app?x=1`, "an in-app navigation's referrer is the previous URL");
  assert.equal(msgs.filter((m) => m.event === 'signup').length, 2, 'Kafka holds the lost-answer batch twice');
  for (const m of msgs) assert.equal(m.properties.api_key, undefined);
  const seen = await waitForCounts(t.key, t.id, { page_view: 4, signup: 1, leaving: 1 }, 30000);
  assert.deepEqual(seen, { page_view: 4, signup: 1, leaving: 1 });
});

test('tracker: navigator.doNotTrack with data-respect-dnt sends nothing; without the attribute it tracks', async () => {
  const t = freshTenant('ingest,read');
  const app = await site(t.id, { dnt: true });
  const b = await launch();
  try {
    await b.context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' }));
    const sent = [];
    b.page.on('request', (r) => { if (r.url().startsWith(`${INGEST}/ingest`)) sent.push(r.url()); });
    await b.page.goto(`${app.origin}/respect`);
    await b.page.waitForFunction(() => window.analytics && window.analytics.VERSION);
    await b.page.evaluate(() => window.analytics.track('should_not_send'));
    await b.page.evaluate(() => history.pushState({}, '', '/respect/2'));
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(sent.length, 0, 'Do Not Track with data-respect-dnt: nothing sent');
    await b.page.goto(`${app.origin}/plain`); // the attribute is what opts in to honouring DNT
    await eventually(() => kafkaMessages(t.id).length === 1, 10000, 'the page view without data-respect-dnt');
    assert.deepEqual(b.errors, []);
  } finally {
    await b.close();
    await app.close();
  }
  assert.deepEqual(kafkaMessages(t.id).map((m) => m.value.event), ['page_view']);
});
