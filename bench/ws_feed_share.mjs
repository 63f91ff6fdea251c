// ws_feed_share.mjs — does one tenant's change-feed re-reads hold another tenant's pushes?
// (docs/SECURITY.md, "WebSocket": the red-team finding and its before/after table). The victim
// holds one rollup subscription to `tick` and ingests one event every 0.5 s; the script counts
// the pushes it gets per window: 20 s without attack, 40 s while the attacker's key holds 10
// raw-event subscriptions (groupBy a property that is not a dimension, each with its own filter)
// and ingests two events 29 days apart every 2 s, then four 15 s windows after the attacker closed
// its sockets. Needs an attacker tenant with many raw events (the red-team stack had 2M `hit`
// events with properties u, n over 30 days). Env: EVIL_EVENT (page_view), EVIL_PROP (u),
// EVIL_FILTER (n). Measures, asserts nothing.
// Usage: node bench/ws_feed_share.mjs GRAPHQL_URL INGEST_URL ATTACKER_KEY ATTACKER_TENANT
//        VICTIM_KEY VICTIM_TENANT
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// the clients the integration tests install (tests/package.json)
const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../tests/package.json'));
const WebSocket = require('ws');
const { createClient } = require('graphql-ws');
const [GQL, ING, EK, ET, VK, VT] = process.argv.slice(2);
if (!VT) {
  console.error('usage: node bench/ws_feed_share.mjs GRAPHQL_URL INGEST_URL ATTACKER_KEY ATTACKER_TENANT VICTIM_KEY VICTIM_TENANT');
  process.exit(2);
}
const WS = GQL.replace(/^http/, 'ws') + '/graphql';
const iso = (ms) => new Date(ms).toISOString();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cl = (key) => createClient({ url: WS, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0, lazy: false });
const ingest = (key, body) => fetch(ING + '/ingest', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) }).then((r) => r.status);
let pushes = 0;
const v = cl(VK);
v.subscribe({ query: `subscription { metricUpdated(tenant: "${VT}", name: "tick") { value } }` }, { next: () => pushes++, error: (e) => console.error('victim error', JSON.stringify(e)), complete: () => {} });
await sleep(1000);
let stop = false;
(async () => { while (!stop) { await ingest(VK, { event: 'tick', timestamp: iso(Date.now()) }); await sleep(500); } })();
const windowed = async (label, ms) => { const p0 = pushes; await sleep(ms); console.log(`${label}: ${pushes - p0} pushes in ${ms / 1000} s`); };
await windowed('baseline', 20000);
const e = cl(EK);
for (let i = 0; i < 10; i++) e.subscribe({ query: `subscription { metricUpdated(tenant: "${ET}", name: "${process.env.EVIL_EVENT || 'page_view'}", groupBy: ["${process.env.EVIL_PROP || 'u'}"], filter: {${process.env.EVIL_FILTER || 'n'}: [${i}]}) { value } }` }, { next: () => {}, error: (er) => console.error('evil error', JSON.stringify(er)), complete: () => {} });
await sleep(1000);
let estop = false;
(async () => { while (!estop) { const now = Date.now(); await ingest(EK, [{ event: process.env.EVIL_EVENT || 'page_view', [process.env.EVIL_PROP || 'u']: 'x', timestamp: iso(now) }, { event: process.env.EVIL_EVENT || 'page_view', [process.env.EVIL_PROP || 'u']: 'x', timestamp: iso(now - 29 * 86400000) }]); await sleep(2000); } })();
await windowed('attack', 40000);
estop = true;
await e.dispose();
for (let i = 1; i <= 4; i++) await windowed(`after attacker left #${i}`, 15000);
stop = true;
await v.dispose();
process.exit(0);
