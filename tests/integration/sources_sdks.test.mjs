// sources_sdks.test.mjs — issue 16 with the real npm clients, unchanged, pointed at ingest-api:
// @segment/analytics-node (Basic auth write key, /v1/batch) and posthog-node (api_key in a
// gzip body, /batch/). Every call type arrives mapped as docs/event-format.md says, lands in the
// rollups, and a retry after a lost answer (same messageId / uuid) is counted once. Plus the raw
// Segment single-call endpoints and answer shapes, and per-source counts in /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import { PostHog } from 'posthog-node';
import { freshTenant, INGEST } from './lib/stack.mjs';
import { basic, createKey, kafkaMessages, lossyProxy, post, waitForCounts } from './lib/sources.mjs';

const byEvent = (msgs) => Object.fromEntries(msgs.map((m) => [m.value.event, m.value]));

test('segment analytics-node: every call type arrives once, mapped, and lands in the rollups', async () => {
  const t = freshTenant('ingest,read');
  const errors = [];
  const analytics = new Analytics({ writeKey: t.key, host: INGEST, flushAt: 20, flushInterval: 100, maxRetries: 2 });
  analytics.on('error', (e) => errors.push(e));
  analytics.track({ userId: 'u1', event: 'Order Completed', properties: { revenue: 9.99, plan: 'pro' },
    context: { page: { path: '/cart', url: 'https://shop.example/cart' }, campaign: { source: 'news' }, locale: 'de-DE' } });
  analytics.page({ anonymousId: 'a1', name: 'Pricing', properties: { path: '/pricing', url: 'https://shop.example/pricing' } });
  analytics.screen({ userId: 'u1', name: 'Home' });
  analytics.identify({ userId: 'u1', traits: { email: 'u1@example.com' } });
  analytics.group({ userId: 'u1', groupId: 'g1', traits: { name: 'Acme' } });
  analytics.alias({ userId: 'u1', previousId: 'a1' });
  await analytics.closeAndFlush({ timeout: 15000 });
  assert.deepEqual(errors.map(String), []);

  const msgs = kafkaMessages(t.id);
  assert.equal(msgs.length, 6, JSON.stringify(msgs.map((m) => m.value.event)));
  const ev = byEvent(msgs);
  assert.deepEqual(Object.keys(ev).sort(), ['Order Completed', 'alias', 'group', 'identify', 'page_view', 'screen_view']);
  const order = ev['Order Completed'];
  assert.equal(order.properties.revenue, 9.99);
  assert.equal(order.properties.plan, 'pro');
  assert.equal(order.properties.userId, 'u1');
  assert.equal(order.properties.page_path, '/cart');
  assert.equal(order.properties.page_url, 'https://shop.example/cart');
  assert.equal(order.properties.utm_source, 'news');
  assert.equal(order.properties.locale, 'de-DE');
  assert.equal(order.properties.library_name, '@segment/analytics-node');
  assert.ok(order.event_id.length > 0 && order.event_id === msgs.find((m) => m.value.event === 'Order Completed').key.split('/')[1]);
  assert.equal(order.properties.writeKey, undefined, 'the write key must never be stored');
  assert.ok(Math.abs(order.ts - Date.now()) < 60000, `timestamp ${order.ts}`);
  assert.equal(ev.page_view.properties.path, '/pricing');
  assert.equal(ev.page_view.properties.name, 'Pricing');
  assert.equal(ev.page_view.properties.anonymousId, 'a1');
  assert.equal(ev.screen_view.properties.name, 'Home');
  assert.equal(ev.identify.properties.email, 'u1@example.com');
  assert.equal(ev.group.properties.groupId, 'g1');
  assert.equal(ev.alias.properties.previousId, 'a1');

  const seen = await waitForCounts(t.key, t.id, { 'Order Completed': 1, page_view: 1, identify: 1, alias: 1 });
  assert.deepEqual(seen, { 'Order Completed': 1, page_view: 1, identify: 1, alias: 1 });
});

test('segment analytics-node: a retry after a lost answer (same messageId) is counted once', async () => {
  const t = freshTenant('ingest,read');
  const proxy = await lossyProxy(INGEST, 1);
  try {
    const analytics = new Analytics({ writeKey: t.key, host: proxy.url, flushAt: 10, flushInterval: 100, maxRetries: 3 });
    const errors = [];
    analytics.on('error', (e) => errors.push(e));
    for (let i = 0; i < 5; i++) analytics.track({ userId: `u${i}`, event: 'seg_retry', properties: { i } });
    await analytics.closeAndFlush({ timeout: 20000 });
    assert.deepEqual(errors.map(String), []);
    const posts = proxy.seen.filter((s) => s.path === '/v1/batch');
    assert.equal(posts.length, 2, 'one lost answer, one retry');
    assert.deepEqual(posts.map((p) => p.status), [200, 200]);
    const ids = (p) => JSON.parse(p.body).batch.map((m) => m.messageId).sort();
    assert.deepEqual(ids(posts[0]), ids(posts[1]), 'the retry carries the same messageIds');
  } finally {
    await proxy.close();
  }
  assert.equal(kafkaMessages(t.id).length, 10, 'both copies reached Kafka');
  const seen = await waitForCounts(t.key, t.id, { seg_retry: 5 });
  assert.equal(seen.seg_retry, 5, 'and the rollups count each event once');
});

test('posthog-node: gzip batches with api_key in the body arrive once, mapped, and land in the rollups', async () => {
  const t = freshTenant('ingest,read');
  const ingestOnly = createKey(t.id, 'ingest');
  const proxy = await lossyProxy(INGEST, 1);
  const client = new PostHog(ingestOnly, { host: proxy.url, flushAt: 20, flushInterval: 100, fetchRetryDelay: 100 });
  const errors = [];
  client.on('error', (e) => errors.push(e));
  try {
    client.capture({ distinctId: 'd1', event: 'signed_up', properties: { plan: 'pro', $current_url: 'https://app.example/x' } });
    client.capture({ distinctId: 'd2', event: '$pageview', properties: { $pathname: '/docs' } });
    client.capture({ distinctId: 'd1', event: 'signed_up', properties: { plan: 'free' } });
    await client.shutdown(15000);
  } finally {
    await proxy.close();
  }
  assert.deepEqual(errors.map(String), []);
  const posts = proxy.seen.filter((s) => s.path.startsWith('/batch'));
  assert.ok(posts.length >= 2, `a lost answer and a retry: ${posts.length}`);
  assert.equal(posts[0].headers['content-encoding'], 'gzip', 'posthog-node sends gzip bodies');
  assert.deepEqual(posts.map((p) => p.status).slice(0, 2), [200, 200]);

  const msgs = kafkaMessages(t.id);
  assert.equal(msgs.length, 6, 'three events, each twice in Kafka (the retry)');
  const signed = msgs.filter((m) => m.value.event === 'signed_up').map((m) => m.value);
  assert.equal(new Set(signed.map((v) => v.event_id)).size, 2, 'uuid → event_id, same on retry');
  const first = signed.find((v) => v.properties.plan === 'pro');
  assert.equal(first.properties.distinct_id, 'd1');
  assert.equal(first.properties.$current_url, 'https://app.example/x');
  assert.equal(first.properties.$lib, 'posthog-node');
  assert.equal(first.properties.token, undefined);
  assert.equal(first.properties.api_key, undefined);
  assert.ok(Math.abs(first.ts - Date.now()) < 60000);

  const seen = await waitForCounts(t.key, t.id, { signed_up: 2, $pageview: 1 });
  assert.deepEqual(seen, { signed_up: 2, $pageview: 1 });
});


test('segment HTTP API by hand: single-call endpoints, answers in Segment\'s shape, writeKey never a property', async () => {
  const t = freshTenant('ingest,read');
  for (const [path, body, event] of [
    ['/v1/track', { userId: 'u', event: 'clicked', messageId: 'm-track', properties: { b: 1 } }, 'clicked'],
    ['/v1/page', { anonymousId: 'a', messageId: 'm-page', properties: { path: '/p' } }, 'page_view'],
    ['/v1/screen', { userId: 'u', messageId: 'm-screen', name: 'S' }, 'screen_view'],
    ['/v1/identify', { userId: 'u', messageId: 'm-identify', traits: { x: 1 } }, 'identify'],
    ['/v1/group', { userId: 'u', messageId: 'm-group', groupId: 'g' }, 'group'],
    ['/v1/alias', { userId: 'u', messageId: 'm-alias', previousId: 'p' }, 'alias'],
  ]) {
    const r = await post(path, body, basic(t.key));
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    assert.equal(r.json.success, true);
    assert.equal(r.json.results[0].event_id, body.messageId);
    void event;
  }
  const r = await post('/v1/batch', { batch: [{ type: 'track', event: 'b1', messageId: 'm-b1', timestamp: new Date(Date.now() - 3600000).toISOString() }],
    sentAt: new Date(Date.now() - 60000).toISOString(), writeKey: t.key }, basic(t.key));
  assert.equal(r.status, 200, r.text);
  const msgs = kafkaMessages(t.id);
  assert.equal(msgs.length, 7);
  const b1 = msgs.find((m) => m.value.event === 'b1').value;
  // sentAt one minute behind the server: the timestamp moves one minute later (skew correction)
  assert.ok(Math.abs(b1.ts - (Date.now() - 3600000 + 60000)) < 5000, `${b1.ts}`);
  for (const m of msgs) assert.equal(m.value.properties.writeKey, undefined);

  // errors: Segment's {"success": false, "message"} with our error object beside it
  const bad = await post('/v1/track', '{"event":', basic(t.key));
  assert.equal(bad.status, 400);
  assert.equal(bad.json.success, false);
  assert.equal(bad.json.error.code, 'invalid_json');
  assert.ok(bad.json.message.length > 0);
  const noKey = await post('/v1/track', { event: 'x' });
  assert.equal(noKey.status, 401);
  assert.equal(noKey.json.success, false);
  assert.match(noKey.json.message, /Basic/);
  const unknown = await post('/v1/nope', { event: 'x' }, basic(t.key));
  assert.equal(unknown.status, 404);
});

test('posthog HTTP API by hand: /capture/ single event, gzip, answers in PostHog\'s shape', async () => {
  const t = freshTenant('ingest,read');
  const k = createKey(t.id, 'ingest');
  const one = await post('/capture/', { api_key: k, event: 'clicked', distinct_id: 'd', uuid: 'c-1', properties: { b: 'buy' } });
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.status, 1);
  const gz = gzipSync(JSON.stringify({ api_key: k, batch: [{ event: 'g', uuid: 'g-1', distinct_id: 'd' }] }));
  const two = await post('/batch/', gz, { 'content-encoding': 'gzip' });
  assert.equal(two.status, 200, two.text);
  const three = await post('/batch/?compression=gzip-js', gz);
  assert.equal(three.status, 200, three.text);
  assert.equal(kafkaMessages(t.id).length, 3);
  const bad = await post('/batch/', { api_key: 'ak_000000000000_00000000000000000000000000000000', batch: [{ event: 'x' }] });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.type, 'authentication_error');
  assert.equal(bad.json.code, 'unauthorized');
  assert.ok(bad.json.detail.length > 0);
});

test('/metrics counts requests and events per source', async () => {
  const t = freshTenant('ingest,read');
  assert.equal((await post('/ingest', { event: 'm' }, { authorization: `Bearer ${t.key}` })).status, 202);
  const text = await (await fetch(`${INGEST}/metrics`)).text();
  for (const src of ['ingest', 'segment', 'posthog']) {
    assert.match(text, new RegExp(`ingest_requests_total\\{source="${src}",status="2xx"\\} [1-9]`), src);
    assert.match(text, new RegExp(`ingest_events_total\\{source="${src}",outcome="accepted"\\} [1-9]`), src);
  }
});
