// connections_hostile.test.mjs — a client that holds thousands of idle TCP connections
// (lib/http's connection caps, docs/SECURITY.md "HTTP"). Found by the red-team pass: 21,000 idle
// connections from 127.0.x.y addresses took all 20,000 file descriptors of ingest-api — its
// /healthz stopped answering, and its loop burned about half a core on accept(2) failing with
// EMFILE; each connection lives until h2o's 10 s request timeout, and the client just opens it
// again. Now:
//   (a) a client address over INGEST_MAX_CONNECTIONS_PER_ADDRESS gets 429 too_many_connections
//       at once and is closed, while another address is served and the address is served again
//       once it closes one;
//   (b) the same on graphql-api (GRAPHQL_MAX_CONNECTIONS_PER_ADDRESS);
//   (c) with the default total cap (the open-file limit minus a reserve; here the process runs
//       with `ulimit -n 256`), connections from many addresses past the cap get 503 at once,
//       the loop does not spin, and everything is served again once they close.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { BIN, env, freePort, waitFor, sleep, randomLoopback } from './lib/stack.mjs';
import { startService, killAll } from './lib/procs.mjs';

const started = [];
after(() => {
  killAll();
  for (const c of started) c.kill('SIGKILL');
});

// Opens a TCP connection from `from` and collects what the server sends within `ms` (without
// sending anything: an idle client). Resolves {sock, data: Promise<string>, closed: Promise}.
function idle(port, from) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: from });
    let text = '';
    let closedResolve;
    const closed = new Promise((r) => { closedResolve = r; });
    sock.on('data', (d) => { text += d.toString('latin1'); });
    sock.on('close', () => closedResolve(text));
    sock.on('error', () => {});
    sock.once('connect', () => resolve({ sock, closed, text: () => text }));
    sock.once('error', reject);
  });
}

// GET path over a fresh connection from `from`; resolves the status (0 when no answer in ms).
function get(port, from, path, ms = 5000) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: from });
    let text = '';
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(Number((text.match(/^HTTP\/1\.1 (\d{3})/) || [])[1] || 0));
    };
    const timer = setTimeout(done, ms);
    sock.on('connect', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    sock.on('data', (d) => { text += d.toString('latin1'); });
    sock.on('close', done);
    sock.on('error', done);
  });
}

async function perAddressCase(t, name, port) {
  const attacker = randomLoopback();
  let other = randomLoopback();
  while (other === attacker) other = randomLoopback();
  const held = [];
  for (let i = 0; i < 8; i++) held.push(await idle(port, attacker));
  await sleep(200);
  for (const h of held) assert.equal(h.text(), '', `${name}: an admitted connection is left alone`);
  const ninth = await idle(port, attacker);
  const answer = await Promise.race([ninth.closed, sleep(3000).then(() => null)]);
  ninth.sock.destroy();
  assert.ok(answer !== null, `${name}: the 9th connection from one address is closed at once (it stayed open)`);
  assert.match(answer, /^HTTP\/1\.1 429 /, `${name}: answered 429 before closing: ${answer.slice(0, 80)}`);
  assert.match(answer, /"code":"too_many_connections"/);
  assert.match(answer, /\r\nRetry-After: 1\r\n/);
  assert.equal(await get(port, other, '/healthz'), 200, `${name}: another address is served meanwhile`);
  held.pop().sock.destroy();
  assert.ok(await waitFor(async () => (await get(port, attacker, '/healthz', 2000)) === 200, 5000, 100),
    `${name}: the address is served again once it holds fewer than the cap`);
  for (const h of held) h.sock.destroy();
}

test('(a) ingest-api: a 9th connection from one address over INGEST_MAX_CONNECTIONS_PER_ADDRESS=8 gets 429 and is closed; others are served', async (t) => {
  const svc = await startService('ingest-api', { INGEST_MAX_CONNECTIONS_PER_ADDRESS: '8' });
  await perAddressCase(t, 'ingest-api', svc.port);
});

test('(b) graphql-api: the same with GRAPHQL_MAX_CONNECTIONS_PER_ADDRESS=8', async (t) => {
  const svc = await startService('graphql-api', { GRAPHQL_MAX_CONNECTIONS_PER_ADDRESS: '8' });
  await perAddressCase(t, 'graphql-api', svc.port);
});

// CPU seconds the process used so far (utime + stime from /proc, in clock ticks of 1/100 s).
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

// ingest-api with `ulimit -n 256` and `extra` settings, on a free port, once /readyz answers.
async function startLimited(extra) {
  const port = await freePort();
  const child = spawn('bash', ['-c', 'ulimit -n 256 && exec "$0"', `${BIN}/ingest-api`], {
    env: { ...env, INGEST_PORT: String(port), INGEST_REUSEPORT: 'false', LOG_LEVEL: 'info', ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const ready = await waitFor(async () => {
    try { return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200; } catch { return false; }
  }, 20000, 100);
  assert.ok(ready, `ingest-api did not start: ${log.slice(-1500)}`);
  return { port, child, log: () => log };
}

// 300 idle connections, one per address: more than the process has descriptors for.
async function hold300(port) {
  const held = [];
  for (let i = 0; i < 300; i++) {
    try {
      held.push(await idle(port, `127.0.${40 + Math.floor(i / 250)}.${(i % 250) + 2}`));
    } catch { /* a refused connect is a refusal too */ }
  }
  await sleep(500);
  return held;
}

// The loop must not spin while the connections are held.
async function assertQuiet(pid) {
  const c0 = cpuSeconds(pid);
  await sleep(3000);
  const used = cpuSeconds(pid) - c0;
  assert.ok(used < 0.3, `ingest-api used ${used.toFixed(2)} s of CPU in 3 s while holding its connections (spinning on accept?)`);
}

test('(c) ingest-api under `ulimit -n 256`: connections from 300 addresses past the default total cap get 503 at once, the loop stays idle, service resumes', async () => {
  const svc = await startLimited({});
  const held = await hold300(svc.port);
  const refused = held.filter((h) => /^HTTP\/1\.1 503 /.test(h.text()));
  assert.ok(refused.length >= 100, `connections past the cap are answered 503 at once (${refused.length} of ${held.length})`);
  assert.match(refused[0].text(), /"code":"too_many_connections"/);
  assert.equal(await get(svc.port, '127.0.0.1', '/healthz', 2000), 503, 'at the cap a new client gets 503 at once, not silence');
  await assertQuiet(svc.child.pid);
  for (const h of held) h.sock.destroy();
  assert.ok(await waitFor(async () => (await get(svc.port, '127.0.0.1', '/healthz', 2000)) === 200, 10000, 200),
    'served again once the connections are closed');
  assert.match(svc.log(), /refusing connections: \d+ so far because the server held \d+/, 'the refusals are logged');
});

test('(d) a cap above the open-file limit (INGEST_MAX_CONNECTIONS=100000, ulimit -n 256): accept failing with EMFILE pauses instead of spinning, service resumes', async () => {
  const svc = await startLimited({ INGEST_MAX_CONNECTIONS: '100000' });
  const held = await hold300(svc.port);
  await assertQuiet(svc.child.pid);
  for (const h of held) h.sock.destroy();
  assert.ok(await waitFor(async () => (await get(svc.port, '127.0.0.1', '/healthz', 2000)) === 200, 10000, 200),
    'served again once the connections are closed');
  assert.match(svc.log(), /cannot accept connections: Too many open files; pausing 100 ms/);
});
