// worker_backfill.mjs — events and ground truth for tests/integration/worker_backfill.test.sh.
//
//   node worker_backfill.mjs gen OUTDIR NOW_MS N SEED PREFIX   writes OUTDIR/PREFIX.txt: N purchase
//       events (Kafka key|value lines, docs/event-format.md) over the last 30 hours, ids PREFIX<i>.
//   node worker_backfill.mjs truth OUTDIR METRIC FILE...        prints the rollups of METRIC over
//       the events of FILEs as sorted lines "G bucket_ms dims cnt sum" (G = Q, H, D), the same
//       shape the test selects from PostgreSQL. METRIC: revenue (sum of amount by country) or
//       purchase (the automatic count, dims {}).
import fs from 'node:fs';
import path from 'node:path';

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

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'gen') gen(args[0], Number(args[1]), Number(args[2]), Number(args[3]), args[4]);
else if (cmd === 'truth') truth(args[1], args.slice(2));
else {
    console.error('usage: worker_backfill.mjs gen OUTDIR NOW_MS N SEED PREFIX | truth OUTDIR METRIC FILE...');
    process.exit(2);
}
