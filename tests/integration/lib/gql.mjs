// gql.mjs — helpers for the graphql-api integration tests (graphql_*.test.mjs): a raw
// graphql-transport-ws socket that records messages and the close code, and Redis commands
// against the test stack through redis-cli.
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { env, GRAPHQL } from './stack.mjs';

export const WS_URL = GRAPHQL.replace(/^http/, 'ws') + '/graphql';
export const REDIS_PORT = env.REDIS_PORT || '56380';
// The stack's Redis channels: tests/run-integration.sh sets names that are not the defaults.
export const CHANGES_CHANNEL = env.CHANGES_CHANNEL || 'ea:changes';
export const ALERTS_CHANNEL = env.ALERTS_CHANNEL || 'ea:alerts';

// The environment for redis-cli against the test stack's Redis: its password (in REDIS_URL)
// goes in REDISCLI_AUTH, never on the command line.
const password = (() => {
  try { return decodeURIComponent(new URL(env.REDIS_URL || '').password); } catch { return ''; }
})();
export const REDIS_CLI_ENV = password ? { ...env, REDISCLI_AUTH: password } : env;

// Runs a redis-cli command against the test stack's Redis; returns trimmed stdout.
export function redis(...args) {
  return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', REDIS_PORT, ...args],
    { encoding: 'utf8', env: REDIS_CLI_ENV }).trim();
}

// A raw WebSocket to /graphql: messages are collected; close resolves `closed` with the code.
export function rawSocket(protocols = ['graphql-transport-ws']) {
  const ws = new WebSocket(WS_URL, protocols);
  const messages = [];
  const waiters = [];
  const closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const opened = new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  return {
    ws, messages, closed, opened,
    send: (obj) => ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)),
    // Waits until a message satisfying pred arrived (or timeoutMs passed: returns undefined).
    async next(pred, timeoutMs = 3000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = messages.find(pred);
        if (m) return m;
        if (Date.now() >= end) return undefined;
        await new Promise((r) => { waiters.push(r); setTimeout(r, Math.max(1, end - Date.now())); });
      }
    },
  };
}

// Resolves with {code} of a close, or {code: 'open'} if the socket is still open after ms.
export function closeWithin(sock, ms) {
  return Promise.race([sock.closed, new Promise((r) => setTimeout(() => r({ code: 'open' }), ms))]);
}
