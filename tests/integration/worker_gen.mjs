// worker_gen.mjs — ground truth for tests/integration/worker_exactly_once.sh.
//
//   node worker_gen.mjs gen OUTDIR N SEED NOW_MS [--unique]   writes Kafka input (key|value lines,
//       the docs/event-format.md message format) in chunks, plus expected.json: the rollups an
//       exact worker must produce, computed here independently of the C code. --unique adds the
//       unique metrics of UNIQUE_DEFS (the test must define them too).
//   node worker_gen.mjs check EXPECTED.json ACTUAL.tsv   compares; prints differences; exit 1.
//       ACTUAL.tsv: G tenant metric bucket_ms dims cnt sum [hll_hex]. A unique metric's row must
//       hold the sketch of exactly its distinct values (registers equal to an independent
//       computation, tests/integration/lib/hll.mjs), and the merge of its daily rows must
//       estimate the metric's distinct values over the whole run within 2 % (lib/hll.mjs says why
//       not per row).
//
// The data: two tenants (t2 re-uses some of t1's event ids: ids are per tenant), three event
// names, dimensions, a numeric property with quarter fractions (sums stay exact in doubles),
// ~10 % duplicates re-sent in later chunks, ~10 % late events (2-3 h old, behind the watermark),
// ~1 % old events (2 to --max-old-days, default 25, days old: inside the raw retention, so
// counted, restating closed buckets), shuffled order, too-old events (31 days: older than the raw retention, which ingest
// would have refused) and undecodable messages in a final chunk.
import fs from 'node:fs';
import path from 'node:path';
import { M, estimate, mergeInto, registersOf, registersOfHex, sameRegisters, withinError } from './lib/hll.mjs';

function rng(seed) {
    let s = seed >>> 0;
    return () => {
        s = (s + 0x6d2b79f5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

// Metric definitions the test inserts (mirrored in the shell script's SQL).
export const DEFS = [
    { tenant: 't1', name: 'page_views', event: 'page_view', agg: 'count', dims: ['page'] },
    { tenant: 't1', name: 'revenue', event: 'purchase', agg: 'sum', prop: 'amount', dims: ['country'] },
    { tenant: 't1', name: 'avg_amount', event: 'purchase', agg: 'avg', prop: 'amount', dims: [] },
    { tenant: 't2', name: 'views_by_country', event: 'page_view', agg: 'count', dims: ['country', 'page'] },
];
// Unique metrics (gen --unique): mirrored in worker_exactly_once.test.sh's SQL.
export const UNIQUE_DEFS = [
    { tenant: 't1', name: 'buyers', event: 'purchase', agg: 'unique', prop: 'country', dims: [] },
    { tenant: 't1', name: 'visitors', event: 'page_view', agg: 'unique', prop: 'user_id', dims: ['page'] },
];
const GRANS = { Q: 15 * 60000, H: 3600000, D: 86400000 };

function canonDims(obj) {
    const keys = Object.keys(obj).sort();
    return JSON.stringify(Object.fromEntries(keys.map((k) => [k, obj[k]])));
}

function gen(outdir, n, seed, now, unique, maxOldDays) {
    const defs = unique ? DEFS.concat(UNIQUE_DEFS) : DEFS;
    const r = rng(seed);
    const pick = (a) => a[Math.floor(r() * a.length)];
    const events = [];
    for (let i = 0; i < n; i++) {
        const tenant = r() < 0.7 ? 't1' : 't2';
        // t2 draws ids from the same space as t1 so some collide across tenants
        const id = tenant === 't1' ? `e${i}` : r() < 0.3 ? `e${Math.floor(r() * i)}x` : `f${i}`;
        const name = pick(['page_view', 'page_view', 'purchase', 'signup']);
        const late = r() < 0.1, old = r() < 0.01;
        const ts = old ? now - (2 + Math.floor(r() * (maxOldDays - 2))) * 86400000 - Math.floor(r() * 86400000)
            : late ? now - 7200000 - Math.floor(r() * 3600000) : now - Math.floor(r() * 3000000);
        const props = {};
        if (name === 'page_view') {
            props.page = pick(['/', '/pricing', '/docs', '/blog', '/a"quote', '/tab\there']);
            if (r() < 0.9) props.country = pick(['de', 'fr', 'in', 'us']);
            props.user_id = `u${Math.floor(r() * 500)}`;
        } else if (name === 'purchase') {
            props.amount = Math.floor(r() * 400) / 4;
            props.country = pick(['de', 'fr', 'in', 'us']);
        }
        events.push({ tenant, id, name, ts, props });
    }
    // unique (tenant, id): a colliding t2 id may repeat; keep the first as the truth
    const seen = new Map();
    const lines = [];
    for (const e of events) {
        const key = `${e.tenant}/${e.id}`;
        if (seen.has(key)) continue;
        seen.set(key, e);
        const value = JSON.stringify({ v: 1, tenant: e.tenant, event_id: e.id, event: e.name, ts: e.ts, received_at: now, properties: e.props });
        lines.push(`${key}|${value}`);
    }
    const counted = [...seen.values()];
    // duplicates: ~10 % re-sent (identical key and value) later
    const dups = lines.filter(() => r() < 0.1);
    const all = lines.concat(dups);
    for (let i = all.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [all[i], all[j]] = [all[j], all[i]];
    }
    const chunks = 10, size = Math.ceil(all.length / chunks);
    fs.mkdirSync(outdir, { recursive: true });
    for (let c = 0; c < chunks; c++)
        fs.writeFileSync(path.join(outdir, `chunk_${String(c).padStart(3, '0')}.txt`), all.slice(c * size, (c + 1) * size).join('\n') + '\n');
    // final chunk: too old (31 days, past the raw retention of 30) and undecodable messages
    const tail = [];
    for (let i = 0; i < 20; i++)
        tail.push(`t1/old${i}|` + JSON.stringify({ v: 1, tenant: 't1', event_id: `old${i}`, event: 'page_view', ts: now - 31 * 86400000, received_at: now, properties: { page: '/' } }));
    tail.push('t1/bad0|this is not json');
    tail.push('t1/bad1|{"v":2,"tenant":"t1","event_id":"bad1","event":"x","ts":1}');
    tail.push('t1/bad2|{"v":1,"tenant":"t1","event":"no_id","ts":1}');
    tail.push('t1/bad3|{"v":1,"tenant":"t1","event_id":"bad3","event":"x","ts":"yesterday"}');
    tail.push('t1/bad4|[1,2,3]');
    fs.writeFileSync(path.join(outdir, 'chunk_tail.txt'), tail.join('\n') + '\n');

    const rows = new Map();
    const add = (g, tenant, metric, bucket, dims, v, distinct) => {
        const k = [g, tenant, metric, bucket, canonDims(dims)].join('\u0001');
        const row = rows.get(k) || { cnt: 0, sum: 0 };
        row.cnt++;
        if (v !== undefined) row.sum += v;
        if (distinct !== undefined) (row.distinct ||= []).includes(distinct) || row.distinct.push(distinct);
        rows.set(k, row);
    };
    for (const e of counted) {
        for (const [g, ms] of Object.entries(GRANS)) {
            const b = Math.floor(e.ts / ms) * ms;
            add(g, e.tenant, e.name, b, {});
            for (const d of defs) {
                if (d.tenant !== e.tenant || d.event !== e.name) continue;
                let v, distinct;
                if (d.agg === 'unique') {
                    // cnt counts the events that have the property; the sketch their distinct values
                    distinct = e.props[d.prop];
                    if (distinct === undefined || distinct === null) continue;
                } else if (d.agg !== 'count') {
                    v = e.props[d.prop];
                    if (typeof v !== 'number') continue;
                }
                const dims = {};
                for (const k of d.dims) dims[k] = k in e.props ? e.props[k] : null;
                add(g, e.tenant, d.name, b, dims, v, distinct);
            }
        }
    }
    const expected = {
        messages: all.length + tail.length,
        counted: counted.length,
        duplicates: dups.length,
        dead: tail.length,
        too_old: 20,
        old: counted.filter((e) => e.ts < now - 86400000).length,
        late_min: counted.filter((e) => e.ts < now - 7200000 + 1).length,
        rows: Object.fromEntries(rows),
    };
    fs.writeFileSync(path.join(outdir, 'expected.json'), JSON.stringify(expected));
    console.log(JSON.stringify({ messages: expected.messages, counted: expected.counted, duplicates: expected.duplicates, dead: expected.dead, rows: rows.size }));
}

function check(expFile, actFile) {
    const exp = JSON.parse(fs.readFileSync(expFile, 'utf8')).rows;
    const act = new Map();
    for (const line of fs.readFileSync(actFile, 'utf8').split('\n')) {
        if (!line) continue;
        const [g, tenant, metric, bucket, dims, cnt, sum, hll] = line.split('\t');
        const k = [g, tenant, metric, Number(bucket), canonDims(JSON.parse(dims))].join('\u0001');
        act.set(k, { cnt: Number(cnt), sum: Number(sum), hll });
    }
    let bad = 0, uniqueRows = 0;
    const merged = new Map(); // tenant/metric -> {regs, values} over the daily rows
    const show = (msg) => {
        if (bad++ < 15) console.log(msg);
    };
    for (const [k, e] of Object.entries(exp)) {
        const a = act.get(k);
        const name = k.split('\u0001').join(' ');
        if (!a) show(`missing row ${name} (expected cnt ${e.cnt})`);
        else if (a.cnt !== e.cnt || Math.abs(a.sum - e.sum) > 1e-6)
            show(`row ${name}: cnt ${a.cnt} sum ${a.sum}, expected cnt ${e.cnt} sum ${e.sum}`);
        else if (e.distinct) {
            uniqueRows++;
            let regs;
            try { regs = registersOfHex(a.hll || ''); } catch (err) { show(`row ${name}: sketch unreadable: ${err.message}`); act.delete(k); continue; }
            if (!sameRegisters(regs, registersOf(e.distinct)))
                show(`row ${name}: the stored sketch is not the sketch of its ${e.distinct.length} distinct values (hash, value form or merge changed?)`);
            const [g, tenant, metric] = k.split('\u0001');
            if (g === 'D') {
                const u = merged.get(`${tenant}/${metric}`) || { regs: new Uint8Array(M), values: new Set() };
                mergeInto(u.regs, regs);
                for (const v of e.distinct) u.values.add(v);
                merged.set(`${tenant}/${metric}`, u);
            }
        }
        act.delete(k);
    }
    for (const k of act.keys()) show(`unexpected row ${k.split('\u0001').join(' ')}`);
    const totals = [];
    for (const [m, u] of merged) {
        const est = estimate(u.regs), truth = u.values.size;
        totals.push(`${m} ${est.toFixed(1)} for ${truth}`);
        if (!withinError(est, truth)) show(`${m}: merged daily sketches estimate ${est.toFixed(1)}, ${truth} distinct values (> 2 %)`);
    }
    console.log(`rows compared: ${Object.keys(exp).length} (${uniqueRows} unique-metric rows, each sketch exactly its ` +
        `distinct values${totals.length ? `; whole-run estimates ${totals.join(', ')}` : ''}), differences: ${bad}`);
    process.exit(bad === 0 ? 0 : 1);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'gen') {
    const opt = (name, dflt) => { const i = args.indexOf(name); return i < 0 ? dflt : Number(args[i + 1]); };
    gen(args[0], Number(args[1]), Number(args[2]), Number(args[3]), args.includes('--unique'), opt('--max-old-days', 25));
}
else if (cmd === 'check') check(args[0], args[1]);
else {
    console.error('usage: worker_gen.mjs gen OUTDIR N SEED NOW_MS [--unique] [--max-old-days D] | check EXPECTED ACTUAL');
    process.exit(2);
}
