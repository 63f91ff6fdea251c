// unauth_body_hostile.test.mjs — what a request WITHOUT an Authorization header may cost
// ingest-api before its key is known. Found by the red-team pass: such a body was parsed whole
// (jansson, one allocation per value) to look for a key in it, so a 1 KB gzip body inflating to
// 1 MiB of `{},{},...` cost ~35 ms of the event loop with no key at all; 16 connections sending
// it (22 requests/s, ~24 KB/s) took a valid key's p50 from 6.5 ms to 1.4 s. Now the key is found
// by scanning the body's text (services/ingest-api/bodykey.c) and the parse waits until the key
// is verified:
//   (a) 40 such requests are answered 401 and cost ingest-api less than 10 ms of CPU each
//       (measured from /proc: the process's own CPU time, not the machine's load) — before,
//       about 35 ms each;
//   (b) the answers keep their codes: no key in a well-formed body is 401 missing key, a body
//       whose structure is broken is 400 invalid_json with the byte offset, nesting past 2048 is
//       400 too_deep; a browser key in a body is still found (after other members) and accepted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { admin, freshTenant } from './lib/stack.mjs';
import { startService, killAll } from './lib/procs.mjs';

after(() => killAll());

function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

// POST over one keep-alive agent; resolves {status, json}.
function post(agent, port, path, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent,
      headers: { 'content-length': body.length, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* asserted below */ }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// {"batch":[{},{},...]} of exactly 1 MiB minus a little, and its gzip (about 1 KB)
function keylessMiB() {
  const n = Math.floor((1024 * 1024 - 16) / 3);
  return Buffer.from(`{"batch":[${'{},'.repeat(n - 1)}{}]}`);
}

test('(a) a keyless 1 KB gzip body that inflates to 1 MiB costs < 10 ms of CPU and gets 401', async (t) => {
  const svc = await startService('ingest-api');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const gz = gzipSync(keylessMiB(), { level: 9 });
  assert.ok(gz.length < 4096, `the attack body is small (${gz.length} bytes)`);
  const headers = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
  for (const path of ['/ingest', '/batch/', '/v1/batch']) { // warm-up, and every door answers 401
    const r = await post(agent, svc.port, path, gz, headers);
    assert.equal(r.status, 401, `${path}: ${r.text.slice(0, 200)}`);
  }
  const n = 40;
  const c0 = cpuSeconds(svc.child.pid);
  for (let i = 0; i < n; i++) {
    const r = await post(agent, svc.port, ['/ingest', '/batch/', '/v1/batch'][i % 3], gz, headers);
    assert.equal(r.status, 401);
  }
  const perRequestMs = ((cpuSeconds(svc.child.pid) - c0) * 1000) / n;
  agent.destroy();
  t.diagnostic(`ingest-api CPU per keyless 1 MiB request: ${perRequestMs.toFixed(1)} ms`);
  assert.ok(perRequestMs < 10, `a keyless 1 MiB body cost ${perRequestMs.toFixed(1)} ms of ingest-api CPU per request (the whole body was parsed before the key was known?)`);
});

test('(b) keyless bodies keep their answers; a browser key after other members is found', async () => {
  const svc = await startService('ingest-api');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const json = { 'content-type': 'application/json' };
  let r = await post(agent, svc.port, '/ingest', Buffer.from('{"event":"x","p":[1,{"a":"}"}]}'), json);
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, 'unauthorized');
  r = await post(agent, svc.port, '/ingest', Buffer.from('{"event":"x","p":[1,2}'), json);
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'invalid_json');
  assert.equal(typeof r.json.error.offset, 'number');
  r = await post(agent, svc.port, '/capture/', Buffer.from('{"api_key":'), json);
  assert.equal(r.status, 400);
  assert.equal(r.json.code, 'invalid_json');
  r = await post(agent, svc.port, '/ingest', Buffer.from(`{"event":"x","p":${'['.repeat(3000)}${']'.repeat(3000)}}`), json);
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'too_deep');

  const t = freshTenant('ingest,read');
  const origin = 'https://shop.example.com';
  const out = admin('key', 'create', '--tenant', t.id, '--scopes', 'ingest', '--origins', origin).trim().split('\n');
  const browserKey = out[out.length - 1].trim();
  const body = JSON.stringify({ batch: [{ event: 'unauth_body_ok', s: '"api_key":"no"' }], sent_at: new Date().toISOString(), api_key: browserKey });
  r = await post(agent, svc.port, '/ingest', Buffer.from(body), { 'content-type': 'text/plain', origin });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.accepted, 1);
  agent.destroy();
});
