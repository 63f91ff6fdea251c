// procs.mjs — extra processes for integration tests that need a service with settings of their
// own next to the test stack: a free port, a service binary started with the stack's environment
// plus overrides (resolved once /readyz or /healthz answers), a private redis-server the test may
// stop and start. (freePort lives in stack.mjs; re-exported here.) Everything started here is killed by killAll() (call it in after()), by pid.
import { spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, env, freePort, waitFor } from './stack.mjs';

export { freePort };
const children = new Set();

function track(child, what) {
  let log = '';
  child.stdout?.on('data', (d) => { log += d; });
  child.stderr?.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  children.add(child);
  exited.then(() => children.delete(child));
  return { child, exited, log: () => log, what };
}

async function ready(url, path_, ms, p) {
  const ok = await waitFor(async () => {
    try { return (await fetch(`${url}${path_}`)).status === 200; } catch { return false; }
  }, ms, 100);
  if (!ok) throw new Error(`${p.what} did not answer ${path_} within ${ms} ms:\n${p.log().slice(-2000)}`);
}

// Starts BIN/ingest-api or BIN/graphql-api with the stack's environment plus `extra` on a free
// port; resolves {url, port, child, exited, log} once it is ready.
export async function startService(name, extra = {}) {
  const port = await freePort();
  const portVar = { 'ingest-api': 'INGEST_PORT', 'graphql-api': 'GRAPHQL_PORT' }[name];
  const reuse = { 'ingest-api': 'INGEST_REUSEPORT', 'graphql-api': 'GRAPHQL_REUSEPORT' }[name];
  const p = track(spawn(`${BIN}/${name}`, [], {
    env: { ...env, [portVar]: String(port), [reuse]: 'false', LOG_LEVEL: 'info', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  }), `${name} on :${port}`);
  const url = `http://127.0.0.1:${port}`;
  await ready(url, name === 'ingest-api' ? '/readyz' : '/healthz', 20000, p);
  return { ...p, url, port };
}

// A private redis-server on a free port (no persistence), for tests that take Redis away;
// extraArgs are added to its command line (e.g. ['--enable-debug-command', 'local'] for DEBUG
// SLEEP). Returns {url, port, stop(), start(), ping()}; ping() is true when it answers PONG.
export async function privateRedis(extraArgs = []) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ea-redis-'));
  let p = null;
  const r = {
    port, url: `redis://127.0.0.1:${port}/0`,
    async start() {
      p = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', '--dir', dir, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] }), `redis-server :${port}`);
      const up = await waitFor(async () => r.ping(), 10000, 100);
      if (!up) throw new Error(`redis-server on ${port} did not start: ${p.log()}`);
    },
    async stop() {
      if (!p) return;
      p.child.kill('SIGTERM');
      await p.exited;
      p = null;
    },
    // PING over a raw socket: true on +PONG, false on refusal or anything else
    ping() {
      return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        const done = (v) => { s.destroy(); resolve(v); };
        s.setTimeout(1000, () => done(false));
        s.on('error', () => done(false));
        s.on('connect', () => s.write('PING\r\n'));
        s.on('data', (d) => done(d.toString().startsWith('+PONG')));
      });
    },
    cleanup() { fs.rmSync(dir, { recursive: true, force: true }); },
  };
  await r.start();
  return r;
}

// Kills every process started here (SIGKILL, by pid): for after() hooks.
export function killAll() {
  for (const c of children) c.kill('SIGKILL');
}
