// hook_receiver.mjs — a webhook receiver for tests/integration/worker_webhooks.test.sh: listens on
// 127.0.0.1:PORT and writes one JSON line per request to OUT: the path, the delivery headers,
// whether X-Signature-256 is the HMAC-SHA256 of the raw body with the path's secret, and the body.
// Behaviour by path: /ok answers 204; /flaky answers 500 to its first two requests, then 200;
// /down always 500; /slow waits 3 s. Usage: node hook_receiver.mjs PORT OUT SECRETS_JSON
// (SECRETS_JSON maps a path to its secret).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [port, out, secretsJson] = process.argv.slice(2);
const secrets = JSON.parse(secretsJson);
const seen = {};

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const secret = secrets[req.url];
    const want = secret ? `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}` : '';
    const got = String(req.headers['x-signature-256'] ?? '');
    const sigOk = want.length > 0 && got.length === want.length && timingSafeEqual(Buffer.from(got), Buffer.from(want));
    let body = null;
    try { body = JSON.parse(raw.toString('utf8')); } catch { /* recorded as null */ }
    seen[req.url] = (seen[req.url] ?? 0) + 1;
    appendFileSync(out, `${JSON.stringify({
      path: req.url, method: req.method, type: req.headers['content-type'], delivery: req.headers['x-delivery-id'],
      attempt: req.headers['x-delivery-attempt'], sigOk, body,
    })}\n`);
    const n = seen[req.url];
    const status = req.url === '/ok' ? 204 : req.url === '/flaky' ? (n <= 2 ? 500 : 200) : req.url === '/slow' ? 200 : 500;
    setTimeout(() => { res.writeHead(status); res.end(); }, req.url === '/slow' ? 3000 : 0);
  });
}).listen(Number(port), '127.0.0.1', () => appendFileSync(out, `${JSON.stringify({ listening: Number(port) })}\n`));
