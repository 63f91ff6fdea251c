// worker_bench.mjs — helpers of bench/worker.bench.sh (not a test: it measures, asserts nothing).
//
//   node worker_bench.mjs gen FILE N TENANT NOW_MS     N Kafka messages (key|value lines, the
//       docs/event-format.md format): page_view and purchase events over the last 50 minutes,
//       with the page/country dimensions the bench's metric definitions group by.
//   node worker_bench.mjs fresh TOPIC TENANT RATE SECONDS REDIS_PORT CHANNEL
//       freshness, event sent → visible in rollups: one `kcat -P` process is fed RATE events/s of
//       background load plus a probe event every 50 ms (its own event name, so its automatic
//       count metric is new); the worker publishes changed rows on the Redis change feed right
//       after COMMIT, so the first change naming a probe is the moment it became visible. Prints
//       one JSON line {probes, seen, p50_ms, p95_ms, p99_ms, max_ms}.
//   node worker_bench.mjs fresh-http INGEST_URL API_KEY RATE SECONDS REDIS_PORT CHANNEL
//       the same through the whole product: the load (batches of 100 every 20 ms) and the
//       probes (one event each) are POSTed to the ingest API; a probe's latency runs from just
//       before its POST to the change naming it (so it includes ingest's wait for Kafka's ack).
import fs from 'node:fs';
import net from 'node:net';
import { spawn } from 'node:child_process';

function line(tenant, id, name, ts, now, props) {
    return `${tenant}/${id}|` + JSON.stringify({ v: 1, tenant, event_id: id, event: name, ts, received_at: now, properties: props });
}
const pages = ['/', '/pricing', '/docs', '/blog', '/about', '/signup', '/login', '/careers'];
const countries = ['de', 'fr', 'in', 'us', 'br', 'jp'];

function gen(file, n, tenant, now) {
    const out = fs.createWriteStream(file);
    let buf = [];
    for (let i = 0; i < n; i++) {
        const ts = now - ((i * 7919) % 3000000);
        const purchase = i % 4 === 3;
        const props = purchase ? { amount: (i % 400) / 4, country: countries[i % 6] }
            : { page: pages[i % 8], country: countries[(i >> 3) % 6], user_id: `u${i % 5000}` };
        buf.push(line(tenant, `b${now}-${i}`, purchase ? 'purchase' : 'page_view', ts, now, props));
        if (buf.length === 10000) { out.write(buf.join('\n') + '\n'); buf = []; }
    }
    if (buf.length) out.write(buf.join('\n') + '\n');
    out.end();
}

function pct(sorted, p) {
    if (sorted.length === 0) return null;
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function fresh(topic, tenant, rate, seconds, redisPort, channel) {
    const brokers = process.env.KAFKA_BROKERS;
    const sent = new Map();
    const seen = new Map();
    const sock = await watch(redisPort, channel, seen);
    const kcat = spawn('kcat', ['-P', '-b', brokers, '-t', topic, '-K', '|', '-X', 'linger.ms=1',
        '-X', 'partitioner=murmur2_random'], { stdio: ['pipe', 'ignore', 'inherit'] });
    const t0 = performance.now();
    let n = 0, probes = 0;
    const epoch0 = Date.now();
    while (performance.now() - t0 < seconds * 1000) {
        const elapsed = performance.now() - t0;
        const due = Math.floor((elapsed / 1000) * rate);
        const lines = [];
        for (; n < due; n++)
            lines.push(line(tenant, `fl${epoch0}-${n}`, 'page_view', Date.now(), Date.now(), { page: pages[n % 8], country: countries[n % 6] }));
        if (elapsed >= probes * 50) {
            const name = `fp${probes}`;
            lines.push(line(tenant, `${name}-${epoch0}`, name, Date.now(), Date.now(), {}));
            sent.set(name, performance.now());
            probes++;
        }
        if (lines.length) kcat.stdin.write(lines.join('\n') + '\n');
        await new Promise((r) => setTimeout(r, 5));
    }
    kcat.stdin.end();
    const deadline = performance.now() + 15000;
    while (seen.size < probes && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    sock.destroy();
    console.log(summary(sent, seen, probes, n));
}

// Subscribes to CHANNEL on Redis (raw RESP) and records when a change first names fp<N>.
async function watch(redisPort, channel, seen) {
    const sock = net.connect(redisPort, '127.0.0.1');
    await new Promise((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
    // the local Redis has a password (scripts/stack.sh): AUTH with REDIS_URL's user and password
    // first, or SUBSCRIBE is refused (NOAUTH) and no probe is ever seen
    const u = process.env.REDIS_URL ? new URL(process.env.REDIS_URL) : null;
    if (u && u.password) {
        const args = ['AUTH', decodeURIComponent(u.username || 'default'), decodeURIComponent(u.password)];
        sock.write(`*${args.length}\r\n` + args.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join(''));
    }
    sock.write(`SUBSCRIBE ${channel}\r\n`);
    let pending = '';
    sock.on('data', (d) => {
        const t = performance.now();
        pending += d.toString('latin1');
        let m;
        const re = /"metric":"(fp\d+)"/g;
        while ((m = re.exec(pending)) !== null) if (!seen.has(m[1])) seen.set(m[1], t);
        pending = pending.slice(Math.max(0, pending.length - 64));
    });
    return sock;
}

function summary(sent, seen, probes, n) {
    const lat = [...sent].filter(([k]) => seen.has(k)).map(([k, t]) => seen.get(k) - t).sort((a, b) => a - b);
    const r = (x) => (x === null ? null : Math.round(x));
    return JSON.stringify({ probes, seen: lat.length, load_events: n, p50_ms: r(pct(lat, 50)), p95_ms: r(pct(lat, 95)),
        p99_ms: r(pct(lat, 99)), max_ms: r(lat[lat.length - 1] ?? null) });
}

async function freshHttp(url, key, rate, seconds, redisPort, channel) {
    const sent = new Map(), seen = new Map();
    const sock = await watch(redisPort, channel, seen);
    const post = async (body) => {
        const res = await fetch(url, { method: 'POST', body: JSON.stringify(body),
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` } });
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`ingest answered ${res.status}`);
    };
    const epoch0 = Date.now();
    const inflight = new Set();
    const track = (p) => { inflight.add(p); p.finally(() => inflight.delete(p)); };
    let n = 0, probes = 0, failed = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
        const elapsed = performance.now() - t0;
        const due = Math.floor((elapsed / 1000) * rate);
        while (n + 100 <= due) {
            const batch = [];
            for (let i = 0; i < 100; i++, n++)
                batch.push({ event: 'page_view', event_id: `hl${epoch0}-${n}`, properties: { page: pages[n % 8], country: countries[n % 6] } });
            track(post({ batch }).catch(() => { failed++; }));
        }
        if (elapsed >= probes * 50) {
            const name = `fp${probes}`;
            sent.set(name, performance.now());
            track(post({ event: name, event_id: `${name}-${epoch0}`, properties: {} }).catch(() => { failed++; sent.delete(name); }));
            probes++;
        }
        await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.allSettled([...inflight]);
    const deadline = performance.now() + 15000;
    while (seen.size < sent.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    sock.destroy();
    const out = JSON.parse(summary(sent, seen, probes, n));
    out.failed_requests = failed;
    console.log(JSON.stringify(out));
}

const [cmd, ...a] = process.argv.slice(2);
if (cmd === 'gen') gen(a[0], Number(a[1]), a[2], Number(a[3]));
else if (cmd === 'fresh') await fresh(a[0], a[1], Number(a[2]), Number(a[3]), Number(a[4]), a[5]);
else if (cmd === 'fresh-http') await freshHttp(a[0], a[1], Number(a[2]), Number(a[3]), Number(a[4]), a[5]);
else {
    console.error('usage: worker_bench.mjs gen FILE N TENANT NOW_MS | fresh TOPIC TENANT RATE SECONDS REDIS_PORT CHANNEL'
        + ' | fresh-http INGEST_URL API_KEY RATE SECONDS REDIS_PORT CHANNEL');
    process.exit(2);
}
