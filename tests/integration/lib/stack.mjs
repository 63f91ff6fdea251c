// stack.mjs — helpers for integration tests against the running test stack that
// tests/run-integration.sh started: service URLs, the admin CLI, kcat, GraphQL requests.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

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
