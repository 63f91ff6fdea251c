// sources.mjs — helpers for the front-door tests (Segment, PostHog, browser keys, sdk.js):
// browser keys through the admin CLI, the tenant's Kafka messages decoded, an event's count in
// the rollups through GraphQL, a one-shot "lost answer" proxy that makes a real client retry,
// and a tiny static server on another origin.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { admin, env, graphql, INGEST, waitFor } from './stack.mjs';

// POST to ingest-api (any front door path) with JSON content type unless headers say otherwise;
// body: an object (JSON), a string or a Buffer. Returns {status, json, text, headers}.
export async function post(path, body, headers = {}) {
  const res = await fetch(`${INGEST}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* asserted by callers */ }
  return { status: res.status, json, text, headers: res.headers };
}

// Authorization headers: a Bearer key, or a Segment write key as the Basic user name.
export const bearer = (key) => ({ authorization: `Bearer ${key}` });
export const basic = (key) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });

// A key for tenant with the given scopes and, when origins is given, bound to them (a browser key).
export function createKey(tenant, scopes, origins) {
  const args = ['key', 'create', '--tenant', tenant, '--scopes', scopes];
  if (origins) args.push('--origins', origins);
  const out = admin(...args).trim().split('\n');
  return out[out.length - 1].trim();
}

// Every message on the events topic for tenant, as {key, value} with value parsed.
export function kafkaMessages(tenant) {
  const out = execFileSync('kcat', ['-C', '-b', env.KAFKA_BROKERS, '-t', env.KAFKA_TOPIC || 'events',
    '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\n'], { encoding: 'utf8', timeout: 60000, maxBuffer: 1 << 28 });
  return out.split('\n').filter((l) => l.startsWith(`${tenant}/`)).map((l) => {
    const tab = l.indexOf('\t');
    return { key: l.slice(0, tab), value: JSON.parse(l.slice(tab + 1)) };
  });
}

const COUNT = `query C($t: String!, $n: String!, $s: DateTime!, $e: DateTime!) {
  metrics(tenant: $t, name: $n, startTime: $s, endTime: $e, granularity: HOUR) { value }
}`;

// The total of event `name`'s automatic count metric for tenant over the last and next day, or
// null when the metric does not exist (yet).
export async function eventCount(readKey, tenant, name) {
  const now = Date.now();
  const g = await graphql(readKey, COUNT, {
    t: tenant, n: name, s: new Date(now - 2 * 86400000).toISOString(), e: new Date(now + 86400000).toISOString(),
  });
  if (!g.json?.data?.metrics) return null;
  return g.json.data.metrics.reduce((s, p) => s + p.value, 0);
}

// Waits until every event name in `want` ({name: count}) has exactly that count in the rollups
// (and stays so for a moment, so a late duplicate would show). Returns what was seen last.
export async function waitForCounts(readKey, tenant, want, timeoutMs = 20000) {
  let seen = {};
  const ok = await waitFor(async () => {
    seen = {};
    for (const name of Object.keys(want)) seen[name] = await eventCount(readKey, tenant, name);
    return Object.keys(want).every((n) => seen[n] === want[n]);
  }, timeoutMs, 250);
  if (ok) {
    await new Promise((r) => setTimeout(r, 1500));
    for (const name of Object.keys(want)) seen[name] = await eventCount(readKey, tenant, name);
  }
  return seen;
}

// An HTTP proxy to ingest-api that forwards every request but answers the first `lose` POSTs
// with 503 after ingest accepted them: the client believes they failed and retries with the
// same ids — what a dropped connection after the server's acknowledgement looks like.
export async function lossyProxy(target, lose = 1) {
  const seen = [];
  let lost = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers };
      delete headers.host;
      delete headers['content-length'];
      const up = await fetch(`${target}${req.url}`, { method: req.method, headers, body: req.method === 'POST' ? body : undefined });
      const text = Buffer.from(await up.arrayBuffer());
      seen.push({ path: req.url, status: up.status, headers: req.headers, body });
      if (req.method === 'POST' && lost < lose) {
        lost++;
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"proxy","message":"answer lost on purpose"}}');
        return;
      }
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') || 'application/json' });
      res.end(text);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => new Promise((r) => server.close(r)) };
}

// A static server on 127.0.0.1:<random port>, a different origin from ingest-api's. `page(path)`
// returns the HTML for a path (undefined: 404); it is called per request, so a page may embed a
// key created once the origin is known. Returns {origin, close}.
export async function staticServer(page) {
  const server = http.createServer((req, res) => {
    const html = page(new URL(req.url, 'http://x').pathname);
    if (html === undefined) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

