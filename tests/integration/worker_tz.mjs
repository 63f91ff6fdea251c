// worker_tz.mjs — ground truth for tests/integration/worker_timezones.test.sh, computed with
// Intl.DateTimeFormat (the zone rules of Node's ICU), independently of PostgreSQL's tz code.
//
//   node worker_tz.mjs gen OUTDIR NOW_MS N SEED    picks the most recent America/New_York DST
//       change at least 4 days before NOW, writes events.txt (Kafka key|value lines, the
//       docs/event-format.md format) with N events over ±3.5 days around it, and meta.json
//       (transition, query range).
//   node worker_tz.mjs check OUTDIR ZONE GRAN ACTUAL.tsv   compares ea_metric_series output
//       (bucket_ms, dims, cnt, sum per line) with the truth for metric `revenue` grouped by
//       country; prints differences and exits 1 on any.
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

const fmts = new Map();
// Local wall-clock parts of instant ms in zone.
function parts(ms, zone) {
    let f = fmts.get(zone);
    if (!f) {
        f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit',
            day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
        fmts.set(zone, f);
    }
    const o = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
    return o;
}
const localDate = (ms, zone) => { const p = parts(ms, zone); return `${p.year}-${p.month}-${p.day}`; };
// UTC offset of zone at ms, in minutes.
function offsetMin(ms, zone) {
    const p = parts(ms, zone);
    const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}
// Start instant of the local hour holding ms (offsets are whole minutes).
function localHourStart(ms, zone) {
    const p = parts(ms, zone);
    return ms - (+p.minute * 60 + +p.second) * 1000 - (ms % 1000 + 1000) % 1000;
}

function gen(outdir, now, n, seed) {
    // the most recent New York DST change at least 4 days ago (scan hours backwards)
    let t = Math.floor(now / 3600000) * 3600000 - 4 * 86400000;
    const o0 = offsetMin(t, 'America/New_York');
    let steps = 0;
    while (offsetMin(t - 3600000, 'America/New_York') === o0) {
        t -= 3600000;
        if (++steps > 24 * 400) throw new Error('no DST change found in 400 days');
    }
    const transition = t; // the first instant with the new offset
    const r = rng(seed);
    const lines = [];
    const countries = ['de', 'in', 'np', 'us'];
    const span = 7 * 86400000;
    const start = transition - span / 2;
    for (let i = 0; i < n; i++) {
        // a quarter of the events in the 4 hours around the change, so its hours are busy
        const ts = r() < 0.25 ? transition - 2 * 3600000 + Math.floor(r() * 4 * 3600000)
            : start + Math.floor(r() * span);
        const country = countries[Math.floor(r() * countries.length)];
        const amount = Math.floor(r() * 400) / 4; // quarters: sums are exact in doubles
        const props = { country, amount, user: `u${Math.floor(r() * 300)}` };
        const id = `tz${i}`;
        lines.push(`tz1/${id}|` + JSON.stringify({ v: 1, tenant: 'tz1', event_id: id, event: 'purchase', ts,
            received_at: now, properties: props }));
    }
    fs.mkdirSync(outdir, { recursive: true });
    fs.writeFileSync(path.join(outdir, 'events.txt'), lines.join('\n') + '\n');
    // query range: starts and ends mid-day, so the edge buckets overlap it only partly
    const meta = { transition, from: start + 86400000 + 5 * 3600000 + 7 * 60000, to: start + span - 86400000 - 7 * 3600000,
        hfrom: transition - 5 * 3600000 - 20 * 60000, hto: transition + 4 * 3600000 + 10 * 60000, n };
    fs.writeFileSync(path.join(outdir, 'meta.json'), JSON.stringify(meta));
    console.log(JSON.stringify({ transition: new Date(transition).toISOString(), offset_before: offsetMin(transition - 1, 'America/New_York'),
        offset_after: offsetMin(transition, 'America/New_York'), events: n }));
}

function check(outdir, zone, gran, actualFile) {
    const meta = JSON.parse(fs.readFileSync(path.join(outdir, 'meta.json'), 'utf8'));
    const events = fs.readFileSync(path.join(outdir, 'events.txt'), 'utf8').trim().split('\n')
        .map((l) => JSON.parse(l.slice(l.indexOf('|') + 1)));
    const [from, to] = gran === 'DAY' ? [meta.from, meta.to] : [meta.hfrom, meta.hto];
    // truth: key = local day (YYYY-MM-DD) or local hour start (ms); every bucket overlapping [from, to]
    const keyOf = (ms) => (gran === 'DAY' ? localDate(ms, zone) : String(localHourStart(ms, zone)));
    const lo = keyOf(from), hi = keyOf(to);
    const inRange = gran === 'DAY' ? (k) => k >= lo && k <= hi : (k) => +k >= +lo && +k <= +hi;
    const truth = new Map();
    for (const e of events) {
        const k = keyOf(e.ts);
        if (!inRange(k)) continue;
        const row = truth.get(`${k}|${e.properties.country}`) || { cnt: 0, sum: 0 };
        row.cnt++;
        row.sum += e.properties.amount;
        truth.set(`${k}|${e.properties.country}`, row);
    }
    const act = new Map();
    let bad = 0;
    const show = (m) => { if (bad++ < 12) console.log(m); };
    const starts = new Set();
    for (const line of fs.readFileSync(actualFile, 'utf8').split('\n')) {
        if (!line) continue;
        const [b, dims, cnt, sum] = line.split('\t');
        const bms = Number(b);
        const p = parts(bms, zone);
        // a DAY bucket is a local midnight, an HOUR bucket a local hour start
        if (p.minute !== '00' || p.second !== '00' || (gran === 'DAY' && p.hour !== '00'))
            show(`bucket ${new Date(bms).toISOString()} is not a local ${gran === 'DAY' ? 'midnight' : 'hour start'} in ${zone}`);
        starts.add(bms);
        act.set(`${gran === 'DAY' ? localDate(bms, zone) : String(bms)}|${JSON.parse(dims).country}`, { cnt: +cnt, sum: +sum });
    }
    for (const [k, e] of truth) {
        const a = act.get(k);
        if (!a) show(`${zone} ${gran} missing ${k} (expected cnt ${e.cnt})`);
        else if (a.cnt !== e.cnt || a.sum !== e.sum) show(`${zone} ${gran} ${k}: cnt ${a.cnt} sum ${a.sum}, expected cnt ${e.cnt} sum ${e.sum}`);
        act.delete(k);
    }
    for (const k of act.keys()) show(`${zone} ${gran} unexpected ${k}`);
    // bucket lengths: DAY buckets are 23/24/25 h (New York across DST), never anything else
    const sorted = [...starts].sort((x, y) => x - y);
    const lens = new Set();
    for (let i = 1; i < sorted.length; i++) lens.add((sorted[i] - sorted[i - 1]) / 3600000);
    const total = [...truth.values()].reduce((s, r) => s + r.cnt, 0);
    console.log(`${zone} ${gran}: buckets ${starts.size}, rows ${truth.size}, events ${total}, bucket lengths (h) ${[...lens].sort().join(',')}, differences ${bad}`);
    process.exit(bad === 0 && truth.size > 0 ? 0 : 1);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'gen') gen(args[0], Number(args[1]), Number(args[2]), Number(args[3]));
else if (cmd === 'check') check(args[0], args[1], args[2], args[3]);
else {
    console.error('usage: worker_tz.mjs gen OUTDIR NOW_MS N SEED | check OUTDIR ZONE GRAN ACTUAL.tsv');
    process.exit(2);
}
