// stack.mjs — helpers for integration tests against the running test stack that
// tests/run-integration.sh started: service URLs, the admin CLI, kcat, GraphQL requests.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

export const env = process.env;
export const BIN = env.BIN_DIR || 'build/bin';
export const INGEST = `http://127.0.0.1:${env.INGEST_PORT || 3001}`;
export const GRAPHQL = `http://127.0.0.1:${env.GRAPHQL_PORT || 3002}`;

// Runs analytics-admin with args; returns stdout. Throws on a non-zero exit.
export function admin(...args) {
  return execFileSync(`${BIN}/analytics-admin`, args, { encoding: 'utf8', env });
}

// A fresh tenant with its own key, so tests never see each other's data.
export function freshTenant(scopes = 'ingest,read,admin') {
  const id = `t-${randomBytes(5).toString('hex')}`;
  admin('tenant', 'create', id, '--id', id);
  const out = admin('key', 'create', '--tenant', id, '--scopes', scopes).trim().split('\n');
  return { id, key: out[out.length - 1].trim() };
}

export async function ingest(key, body, headers = {}) {
  const res = await fetch(`${INGEST}/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON: tests assert on it */ }
  return { status: res.status, headers: res.headers, json, text };
}

export async function graphql(key, query, variables = {}, headers = {}) {
  const res = await fetch(`${GRAPHQL}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* asserted by callers */ }
  return { status: res.status, headers: res.headers, json, text };
}

// Messages on the events topic whose key starts with `${tenant}/` (reads all partitions).
export function kafkaCount(tenant) {
  const out = execFileSync('kcat', ['-C', '-b', env.KAFKA_BROKERS, '-t', env.KAFKA_TOPIC || 'events',
    '-o', 'beginning', '-e', '-q', '-f', '%k\n'], { encoding: 'utf8', timeout: 60000, maxBuffer: 1 << 28 });
  return out.split('\n').filter((k) => k.startsWith(`${tenant}/`)).length;
}

export async function waitFor(fn, timeoutMs, intervalMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return last;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A TCP port nobody listens on right now (for extra service processes a test starts).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const children = new Set();

// Starts an ingest-api with the stack's environment plus `extra` on a free port; resolves once
// /readyz is 200. killChildren() (in an after() hook) stops every one still running.
export async function startIngest(extra = {}) {
  const port = await freePort();
  const child = spawn(`${BIN}/ingest-api`, [], {
    env: { ...env, INGEST_PORT: String(port), INGEST_REUSEPORT: 'false', LOG_LEVEL: 'warn', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  children.add(child);
  exited.then(() => children.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const ready = await waitFor(async () => {
    try { return (await fetch(`${url}/readyz`)).status === 200; } catch { return false; }
  }, 20000, 100);
  if (!ready) throw new Error(`ingest-api on ${port} did not become ready: ${log}`);
  return { url, port, child, exited, log: () => log };
}

export function killChildren() {
  for (const c of children) c.kill('SIGKILL');
}

// One HTTP request over a fresh connection from a chosen local address (any of 127.0.0.0/8
// reaches the loopback listener), so a test can act as several clients. Resolves to
// { status, headers, json, text, ms }.
export function requestFrom(from, url, { method = 'POST', headers = {}, body = '' } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(url, { method, headers: { 'content-length': Buffer.byteLength(body), ...headers }, localAddress: from, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* asserted by callers */ }
        resolve({ status: res.statusCode, headers: res.headers, json, text, ms: performance.now() - t0 });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A random loopback address other than 127.0.0.1: a client no other test uses.
export function randomLoopback() {
  const b = randomBytes(3);
  return `127.${b[0] % 254 + 1}.${b[1]}.${b[2] % 253 + 2}`;
}
