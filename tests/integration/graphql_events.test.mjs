// graphql_events.test.mjs — Query.events (issue 15): every event name a tenant sent, sorted, with
// its exact count and last hour, and the properties seen on its raw events (how often, JSON
// types, distinct values, most frequent values); defined metrics are not events; another
// tenant's events never show; a key of another tenant is FORBIDDEN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admin, freshTenant, graphql, ingest, waitFor } from './lib/stack.mjs';

const Q = `query($t: String!) { events(tenant: $t) { name count lastSeen
  properties { name seen sampled types distinctValues topValues } } }`;

test('events and their properties, exact counts, tenant-scoped', async () => {
  const A = freshTenant('ingest,read,admin');
  const B = freshTenant('ingest,read');
  admin('metric', 'define', '--tenant', A.id, '--name', 'views_by_page', '--event', 'page_view', '--dimensions', 'page');
  const views = [
    ...Array.from({ length: 5 }, () => ({ event: 'page_view', page: '/pricing', plan: 'pro' })),
    ...Array.from({ length: 2 }, () => ({ event: 'page_view', page: '/docs', n: 3 })),
    { event: 'page_view', page: 7 },
  ];
  let r = await ingest(A.key, [...views, { event: 'Signed Up', plan: 'team', nested: { a: 1 } }]);
  assert.equal(r.status, 202, r.text);
  r = await ingest(B.key, [{ event: 'secret_event', token: 'x' }]);
  assert.equal(r.status, 202, r.text);

  const list = await waitFor(async () => {
    const g = await graphql(A.key, Q, { t: A.id });
    const ev = g.json?.data?.events ?? [];
    const pv = ev.find((e) => e.name === 'page_view');
    return pv?.count === 8 && ev.length === 2 && pv.properties.length === 3 ? ev : null;
  }, 30000);
  assert.ok(list, 'the worker counted the events');
  assert.deepEqual(list.map((e) => e.name), ['Signed Up', 'page_view'], 'sorted; the defined metric is not an event');
  const pv = list.find((e) => e.name === 'page_view');
  assert.equal(pv.count, 8);
  assert.ok(Date.now() - Date.parse(pv.lastSeen) < 2 * 3_600_000, `lastSeen ${pv.lastSeen}`);
  const page = pv.properties.find((p) => p.name === 'page');
  assert.deepEqual(page, { name: 'page', seen: 8, sampled: 8, types: ['number', 'string'], distinctValues: 3, topValues: ['/pricing', '/docs', '7'] });
  assert.deepEqual(pv.properties.map((p) => p.name), ['page', 'plan', 'n'], 'most seen first');
  assert.deepEqual(pv.properties.find((p) => p.name === 'plan'), { name: 'plan', seen: 5, sampled: 8, types: ['string'], distinctValues: 1, topValues: ['pro'] });
  const su = list.find((e) => e.name === 'Signed Up');
  assert.deepEqual(su.properties.find((p) => p.name === 'nested').types, ['object']);
  assert.equal(su.properties.find((p) => p.name === 'nested').topValues[0], '{"a": 1}');

  // another tenant: its own list only; A's list through B's key is refused
  const gb = await waitFor(async () => {
    const g = await graphql(B.key, Q, { t: B.id });
    return g.json?.data?.events?.length === 1 ? g : null;
  }, 30000);
  assert.deepEqual(gb.json.data.events.map((e) => e.name), ['secret_event']);
  const denied = await graphql(B.key, Q, { t: A.id });
  assert.equal(denied.json.errors[0].extensions.code, 'FORBIDDEN');
  assert.equal(denied.json.data, null);
});

// The sample is per event name, newest first: a rare event sent today shows its properties
// however many older events the tenant has (the first version sampled 10,000 rows in partition
// order, the oldest, and answered `properties: []` for it), and a frequent event is capped.
test('rare recent events show their properties next to 11,000 older ones', async () => {
  const T = freshTenant('ingest,read');
  const old = Date.now() - 2 * 86_400_000;
  for (let b = 0; b < 11; b++) {
    const batch = Array.from({ length: 1000 }, (_, i) => ({
      event: 'page_view', timestamp: new Date(old + b * 1000 + i).toISOString(), page: `/p${i % 7}` }));
    const r = await ingest(T.key, batch);
    assert.equal(r.status, 202, r.text);
  }
  const r = await ingest(T.key, [{ event: 'Order Completed', revenue: 42.5, currency: 'EUR' },
    { event: 'signed_up', plan: 'pro' }]);
  assert.equal(r.status, 202, r.text);
  const list = await waitFor(async () => {
    const g = await graphql(T.key, Q, { t: T.id });
    const ev = g.json?.data?.events ?? [];
    return ev.find((e) => e.name === 'page_view')?.count === 11000 && ev.length === 3 ? ev : null;
  }, 60000, 250);
  assert.ok(list, 'the worker counted the events');
  assert.deepEqual(list.find((e) => e.name === 'Order Completed').properties, [
    { name: 'currency', seen: 1, sampled: 1, types: ['string'], distinctValues: 1, topValues: ['EUR'] },
    { name: 'revenue', seen: 1, sampled: 1, types: ['number'], distinctValues: 1, topValues: ['42.5'] }]);
  assert.deepEqual(list.find((e) => e.name === 'signed_up').properties,
    [{ name: 'plan', seen: 1, sampled: 1, types: ['string'], distinctValues: 1, topValues: ['pro'] }]);
  const page = list.find((e) => e.name === 'page_view').properties;
  assert.deepEqual(page.map((p) => [p.name, p.seen, p.sampled, p.distinctValues]), [['page', 500, 500, 7]],
    'at most 500 events per name are sampled');
});

// The names are the events seen (event_names), under their own name: an event a definition of the
// same name counts is still an event, and one whose name a definition held first (its count is
// "refund (event)") is listed as the event it is.
test('events a definition counts or shadows keep their own name and count', async () => {
  const T = freshTenant('ingest,read,admin');
  let r = await ingest(T.key, [{ event: 'signup', plan: 'pro' }, { event: 'signup', plan: 'team' }]);
  assert.equal(r.status, 202, r.text);
  assert.ok(await waitFor(async () => {
    const g = await graphql(T.key, Q, { t: T.id });
    return g.json?.data?.events?.find((e) => e.name === 'signup')?.count === 2;
  }, 30000), 'signup counted');
  admin('metric', 'define', '--tenant', T.id, '--name', 'signup', '--event', 'signup');
  admin('metric', 'define', '--tenant', T.id, '--name', 'refund', '--event', 'checkout', '--aggregation', 'sum', '--property', 'amount');
  r = await ingest(T.key, [{ event: 'refund', amount: 3 }, { event: 'checkout', amount: 5 }]);
  assert.equal(r.status, 202, r.text);
  const list = await waitFor(async () => {
    const g = await graphql(T.key, Q, { t: T.id });
    const ev = g.json?.data?.events ?? [];
    return ev.length >= 3 ? ev : null;
  }, 30000, 250);
  assert.deepEqual(list?.map((e) => [e.name, e.count]), [['checkout', 1], ['refund', 1], ['signup', 2]]);
  assert.deepEqual(list.find((e) => e.name === 'refund').properties.map((p) => p.name), ['amount']);
  assert.deepEqual(list.find((e) => e.name === 'signup').properties.map((p) => [p.name, p.distinctValues]), [['plan', 2]]);
});
