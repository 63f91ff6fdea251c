// http_hardening.test.mjs — issue 12 item 7 (lib/http) on every service of the test stack
// (ingest-api, graphql-api, the worker's operations port), over raw TCP so nothing between the
// test and the server rewrites the exchange:
//   - HTTP/1.1 only: `Upgrade: h2c` is not switched to HTTP/2 (no 101), and a client that opens
//     with the HTTP/2 preface gets no HTTP/2 frames back (libh2o 2.2's HTTP/2 code stays out of
//     reach);
//   - a body over the service's limit is refused (by h2o, before it is buffered) with SPEC §4's
//     JSON error {"error":{"code":"body_too_large",...}}, with Content-Length or chunked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { env } from './lib/stack.mjs';

const SERVICES = [
  { name: 'ingest-api', port: Number(env.INGEST_PORT || 3001), path: '/ingest', probe: '/healthz', limit: 1024 * 1024 },
  { name: 'graphql-api', port: Number(env.GRAPHQL_PORT || 3002), path: '/graphql', probe: '/healthz', limit: 256 * 1024 },
  { name: 'worker', port: Number(env.WORKER_PORT || 3003), path: '/metrics', probe: '/healthz', limit: 16 * 1024 },
];

// Sends `chunks` (strings or Buffers) in order, one after the other is flushed, and stops sending
// as soon as the server answers (a server that refuses a body closes early; writing on would
// draw a reset that can discard its answer). Collects everything the server sends until it
// closes or `ms` pass. Resolves to a Buffer.
// With `settle` ms, the first chunk (the request head) goes alone and the rest only if the server
// has not answered within that time: h2o refuses a Content-Length over the limit on the head.
function exchange(port, chunks, ms = 5000, settle = 0) {
  return new Promise((resolve) => {
    const got = [];
    const s = net.connect(port, '127.0.0.1');
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(got));
    };
    const timer = setTimeout(done, ms);
    s.on('data', (d) => got.push(d));
    s.on('end', done);
    s.on('close', done);
    s.on('error', done); // a reset after the answer: what arrived is what counts
    s.on('connect', async () => {
      for (const [i, c] of chunks.entries()) {
        if (got.length || finished) return;
        if (!s.write(c)) await new Promise((r) => { s.once('drain', r); s.once('close', r); });
        if (i === 0 && settle > 0) await new Promise((r) => setTimeout(r, settle));
      }
    });
  });
}

function parse(buf) {
  const text = buf.toString('latin1');
  const head = text.split('\r\n\r\n', 1)[0];
  const status = Number((head.match(/^HTTP\/1\.[01] (\d{3})/) || [])[1]);
  const headers = {};
  for (const line of head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: text.slice(head.length + 4) };
}

for (const svc of SERVICES) {
  test(`${svc.name}: Upgrade: h2c is refused (answered over HTTP/1.1, no 101)`, async () => {
    const res = await exchange(svc.port, [
      `GET ${svc.probe} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n` +
        'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
    ]);
    const r = parse(res);
    assert.notEqual(r.status, 101, `switched protocols: ${res.toString('latin1').slice(0, 200)}`);
    assert.equal(r.status, 200, res.toString('latin1').slice(0, 200));
    assert.ok(!/^upgrade$/i.test(r.headers.connection || ''), JSON.stringify(r.headers));
  });

  test(`${svc.name}: the HTTP/2 connection preface gets no HTTP/2 frames`, async () => {
    // preface + an empty SETTINGS frame: an HTTP/2 server answers with its own SETTINGS frame
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const res = await exchange(svc.port, [Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), settings]);
    const isH2Settings = res.length >= 9 && res[3] === 0x04 && res.readUIntBE(5, 4) === 0;
    assert.ok(!isH2Settings, `HTTP/2 frames came back: ${res.subarray(0, 32).toString('hex')}`);
    assert.ok(res.length === 0 || res.toString('latin1').startsWith('HTTP/1.'), res.subarray(0, 64).toString('hex'));
  });

  test(`${svc.name}: a body over the limit gets the JSON 413 (Content-Length and chunked)`, async () => {
    const big = Buffer.alloc(svc.limit + 4096, 0x61);
    const withLength = parse(await exchange(svc.port, [
      `POST ${svc.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n`,
      big,
    ], 5000, 500));
    // chunks up to the first that crosses the limit, then nothing more: a server that closes
    // with unread bytes sends a reset, and a reset can destroy its own answer in transit
    const chunk = big.subarray(0, 4096);
    const chunks = [`POST ${svc.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`];
    for (let sent = 0; sent <= svc.limit; sent += chunk.length) chunks.push(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
    const chunked = parse(await exchange(svc.port, chunks));
    for (const [how, r] of [['Content-Length', withLength], ['chunked', chunked]]) {
      assert.equal(r.status, 413, `${how}: ${r.status} ${r.body.slice(0, 200)}`);
      assert.match(r.headers['content-type'] || '', /^application\/json/, `${how}: ${JSON.stringify(r.headers)}`);
      const json = JSON.parse(r.body);
      assert.equal(json.error.code, 'body_too_large', `${how}: ${r.body}`);
      assert.match(json.error.message, new RegExp(`larger than ${svc.limit} bytes`));
      assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body), `${how}: Content-Length matches the body`);
    }
  });
}
