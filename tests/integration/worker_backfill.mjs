// worker_backfill.mjs — events and ground truth for tests/integration/worker_backfill.test.sh.
//
//   node worker_backfill.mjs gen OUTDIR NOW_MS N SEED PREFIX   writes OUTDIR/PREFIX.txt: N purchase
//       events (Kafka key|value lines, docs/event-format.md) over the last 30 hours, ids PREFIX<i>.
//   node worker_backfill.mjs truth OUTDIR METRIC FILE...        prints the rollups of METRIC over
//       the events of FILEs as sorted lines "G bucket_ms dims cnt sum" (G = Q, H, D), the same
//       shape the test selects from PostgreSQL. METRIC: revenue (sum of amount by country) or
//       purchase (the automatic count, dims {}).
//   node worker_backfill.mjs unique ACTUAL.tsv FILE...          compares the rows of buyers (unique
//       of user) — lines "G bucket_ms cnt hll_hex" — with the events of FILEs: cnt exact, each
//       sketch the sketch of exactly the bucket's distinct users (lib/hll.mjs, an independent
//       implementation); the merged daily sketches estimate all distinct users within the stated
//       2 %. Prints a summary; exit 1 on a difference.
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

function gen(outdir, now, n, seed, prefix) {
    const r = rng(seed);
    const lines = [];
    for (let i = 0; i < n; i++) {
        const ts = now - Math.floor(r() * 30 * 3600000);
        const props = { country: ['de', 'fr', 'in', 'us', 'br'][Math.floor(r() * 5)], user: `u${Math.floor(r() * 2000)}` };
        if (r() < 0.9) props.amount = Math.floor(r() * 400) / 4; // some purchases without an amount
        lines.push(`bf1/${prefix}${i}|` + JSON.stringify({ v: 1, tenant: 'bf1', event_id: `${prefix}${i}`, event: 'purchase', ts,
            received_at: now, properties: props }));
    }
    fs.mkdirSync(outdir, { recursive: true });
    fs.writeFileSync(path.join(outdir, `${prefix}.txt`), lines.join('\n') + '\n');
}

function truth(metric, files) {
    const rows = new Map();
    for (const f of files)
        for (const l of fs.readFileSync(f, 'utf8').trim().split('\n')) {
            const e = JSON.parse(l.slice(l.indexOf('|') + 1));
            let dims = '{}', v = 0;
            if (metric === 'revenue') {
                if (typeof e.properties.amount !== 'number') continue;
                dims = JSON.stringify({ country: e.properties.country }).replace(':', ': ');
                v = e.properties.amount;
            }
            for (const [g, ms] of [['Q', 900000], ['H', 3600000], ['D', 86400000]]) {
                const k = `${g}\t${Math.floor(e.ts / ms) * ms}\t${dims}`;
                const row = rows.get(k) || { cnt: 0, sum: 0 };
                row.cnt++;
                row.sum += v;
                rows.set(k, row);
            }
        }
    const out = [...rows].map(([k, r]) => `${k}\t${r.cnt}\t${r.sum}`).sort();
    console.log(out.join('\n'));
}

function unique(actualFile, files) {
    const want = new Map(); // "G\tbucket" -> {cnt, users:Set}
    for (const f of files)
        for (const l of fs.readFileSync(f, 'utf8').trim().split('\n')) {
            const e = JSON.parse(l.slice(l.indexOf('|') + 1));
            for (const [g, ms] of [['Q', 900000], ['H', 3600000], ['D', 86400000]]) {
                const k = `${g}\t${Math.floor(e.ts / ms) * ms}`;
                const w = want.get(k) || { cnt: 0, users: new Set() };
                w.cnt++;
                w.users.add(e.properties.user);
                want.set(k, w);
            }
        }
    let bad = 0, n = 0;
    const union = new Uint8Array(M), users = new Set();
    const show = (m) => { if (bad++ < 10) console.log(m); };
    const seen = new Set();
    for (const l of fs.readFileSync(actualFile, 'utf8').trim().split('\n')) {
        if (!l) continue;
        const [g, bucket, cnt, hex] = l.split('\t');
        const k = `${g}\t${bucket}`;
        seen.add(k);
        const w = want.get(k);
        if (!w) { show(`unexpected row ${k}`); continue; }
        n++;
        if (Number(cnt) !== w.cnt) show(`row ${k}: cnt ${cnt}, expected ${w.cnt}`);
        let regs;
        try { regs = registersOfHex(hex); } catch (err) { show(`row ${k}: ${err.message}`); continue; }
        if (!sameRegisters(regs, registersOf([...w.users]))) show(`row ${k}: sketch is not the sketch of its ${w.users.size} distinct users`);
        if (g === 'D') {
            mergeInto(union, regs);
            for (const u of w.users) users.add(u);
        }
    }
    for (const k of want.keys()) if (!seen.has(k)) show(`missing row ${k}`);
    const est = estimate(union);
    if (!withinError(est, users.size)) show(`merged daily sketches estimate ${est.toFixed(1)} for ${users.size} distinct users (> 2 %)`);
    console.log(`${n} buyers rows, each sketch exactly its bucket's distinct users; all days merged: ` +
        `${est.toFixed(1)} for ${users.size} distinct users; differences: ${bad}`);
    process.exit(bad ? 1 : 0);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'gen') gen(args[0], Number(args[1]), Number(args[2]), Number(args[3]), args[4]);
else if (cmd === 'truth') truth(args[1], args.slice(2));
else if (cmd === 'unique') unique(args[0], args.slice(1));
else {
    console.error('usage: worker_backfill.mjs gen OUTDIR NOW_MS N SEED PREFIX | truth OUTDIR METRIC FILE... | unique ACTUAL FILE...');
    process.exit(2);
}
