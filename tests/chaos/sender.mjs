// tests/chaos/sender.mjs — the chaos test's client: sends N events with known ground truth
// through POST /ingest at a steady rate and retries every event the API did not acknowledge
// (503, 5xx, 429, connection errors, per-event "unavailable") with the same event_id until it
// is acknowledged, then writes the exact rollups an exactly-once pipeline must produce.
// Also `check`: compares rows dumped from PostgreSQL with that truth.
//
//   node sender.mjs send URL KEY N RATE BATCH RUN NOW_MS OUTDIR [CONCURRENCY] [RESEND_EVERY]
//   node sender.mjs check OUTDIR/truth.json ACTUAL.tsv        (tsv: gran metric bucket_ms dims cnt sum)
//
// Events i = 0..N-1 (deterministic): event "chaos_event", event_id RUN-i, page /p(i%10),
// country from (i/10)%5, amount i%100, user u(i%200), timestamp NOW - ((i*7919) % 21600) s (the last 6 h, shuffled,
// so most events are late for their bucket and restate closed ones) — and every tenth event
// up to 25 days old (NOW - ((i*104729) % 25 days), inside the raw retention: counted, restating
// long-closed days). Every RESEND_EVERY-th batch is sent a second time once acknowledged (a
// client retrying after a lost reply), and at the end the first twentieth of all batches is sent
// once more (old events re-sent, as a client replaying its history): the pipeline must count
// those events once. Metrics (defined by run.sh): chaos_event (automatic count),
// chaos_by_page (count by page), chaos_amount (sum of amount by country), chaos_users (unique
// users: each row's sketch must be exactly the sketch of its distinct users, ../integration/lib/hll.mjs).
import fs from "node:fs";
import { registersOf, registersOfHex, sameRegisters } from "../integration/lib/hll.mjs";

const GRANS = { Q: 900000, H: 3600000, D: 86400000 };
const COUNTRIES = ["DE", "FR", "US", "IN", "BR"];

function event(run, now, i) {
  return {
    event: "chaos_event",
    event_id: `${run}-${i}`,
    timestamp: i % 10 === 3 ? now - ((i * 104729) % (25 * 86400)) * 1000 : now - ((i * 7919) % 21600) * 1000,
    page: `/p${i % 10}`,
    country: COUNTRIES[Math.floor(i / 10) % 5],
    amount: i % 100,
    user: `u${i % 200}`,
  };
}

// Canonical dims text: keys sorted, JSON.stringify (PostgreSQL's jsonb text is re-parsed to this).
const canon = (o) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));

function truthOf(run, now, acked) {
  const rows = new Map();
  const add = (g, metric, bucket, dims, cnt, sum, distinct) => {
    const k = `${g}\t${metric}\t${bucket}\t${canon(dims)}`;
    const r = rows.get(k) || { cnt: 0, sum: 0 };
    r.cnt += cnt;
    r.sum += sum;
    if (distinct !== undefined) (r.users ||= new Set()).add(distinct);
    rows.set(k, r);
  };
  for (const i of acked) {
    const e = event(run, now, i);
    for (const [g, len] of Object.entries(GRANS)) {
      const b = Math.floor(e.timestamp / len) * len;
      add(g, "chaos_event", b, {}, 1, 0);
      add(g, "chaos_by_page", b, { page: e.page }, 1, 0);
      add(g, "chaos_amount", b, { country: e.country }, 1, e.amount);
      add(g, "chaos_users", b, {}, 1, 0, e.user);
    }
  }
  for (const r of rows.values()) if (r.users) r.distinct = [...r.users], delete r.users;
  return rows;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function send(argv) {
  const [url, key, nS, rateS, batchS, run, nowS, out, concS, resendS] = argv;
  const N = Number(nS), RATE = Number(rateS), B = Number(batchS), NOW = Number(nowS);
  const CONC = Number(concS || 8), RESEND = Number(resendS || 20);
  const GIVE_UP_MS = Number(process.env.CHAOS_GIVE_UP_MS || 300000);
  fs.mkdirSync(out, { recursive: true });
  const acked = new Uint8Array(N);
  const st = { requests: 0, retried_requests: 0, statuses: {}, net_errors: 0, unavailable_events: 0,
               refused_events: 0, refused_samples: [], resent_events: 0, acked: 0, unacked: 0 };
  const t0 = Date.now();
  let inflight = 0, outstanding = 0;

  // Sends the events of `idx` until all are acknowledged (or GIVE_UP_MS passed).
  async function deliver(idx, resend) {
    let pending = idx.slice(), attempt = 0;
    const start = Date.now();
    while (pending.length > 0) {
      if (Date.now() - start > GIVE_UP_MS) return pending;
      if (attempt > 0) { st.retried_requests++; await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5))); }
      attempt++;
      while (inflight >= CONC) await sleep(2);
      inflight++;
      st.requests++;
      let res, body;
      try {
        res = await fetch(url, { method: "POST", signal: AbortSignal.timeout(30000),
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify(pending.map((i) => event(run, NOW, i))) });
        body = await res.json().catch(() => null);
      } catch (e) {
        st.net_errors++;
        continue;
      } finally {
        inflight--;
      }
      st.statuses[res.status] = (st.statuses[res.status] || 0) + 1;
      if (res.status !== 202 || !body || !Array.isArray(body.results)) continue; // retry all
      const next = [];
      for (const r of body.results) {
        const i = pending[r.index];
        if (r.status === "accepted") {
          if (!resend && !acked[i]) { acked[i] = 1; st.acked++; }
        } else if (r.code === "unavailable") {
          st.unavailable_events++;
          next.push(i);
        } else {
          st.refused_events++; // our events are valid: a refusal is a bug, reported by run.sh
          if (st.refused_samples.length < 5) st.refused_samples.push(r);
        }
      }
      pending = next;
    }
    return [];
  }

  const nb = Math.ceil(N / B);
  const jobs = [];
  let unacked = [];
  const progress = setInterval(() => {
    fs.writeFileSync(`${out}/progress`, `${st.acked} ${N}\n`);
  }, 500);
  for (let k = 0; k < nb; k++) {
    const due = t0 + (k * B * 1000) / RATE; // steady arrival rate, independent of answers
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const idx = [];
    for (let i = k * B; i < Math.min(N, (k + 1) * B); i++) idx.push(i);
    outstanding++;
    jobs.push((async () => {
      const left = await deliver(idx, false);
      unacked = unacked.concat(left);
      if (left.length === 0 && RESEND > 0 && k % RESEND === RESEND - 1) {
        st.resent_events += idx.length;
        await deliver(idx, true);
      }
      outstanding--;
    })());
    // bound the batches still waiting for an acknowledgement (memory stays flat at 1M events;
    // while the API is down the sender waits instead of queueing the whole run)
    while (outstanding > CONC * 8) await sleep(5);
  }
  await Promise.all(jobs);
  // old events re-sent (a client replaying its history, long after): counted once
  for (let k = 0; k < Math.ceil(nb / 20); k++) {
    const idx = [];
    for (let i = k * B; i < Math.min(N, (k + 1) * B); i++) if (acked[i]) idx.push(i);
    if (idx.length === 0) continue;
    st.resent_events += idx.length;
    st.resent_old_events = (st.resent_old_events || 0) + idx.length;
    await deliver(idx, true);
  }
  clearInterval(progress);
  st.unacked = unacked.length;
  st.send_seconds = (Date.now() - t0) / 1000;
  st.n = N;
  fs.writeFileSync(`${out}/progress`, `${st.acked} ${N}\n`);
  const ackedIdx = [];
  for (let i = 0; i < N; i++) if (acked[i]) ackedIdx.push(i);
  const rows = truthOf(run, NOW, ackedIdx);
  const truth = {};
  for (const [k, v] of rows) truth[k] = v;
  fs.writeFileSync(`${out}/truth.json`, JSON.stringify({ n: N, acked: st.acked, run, now: NOW, rows: truth }));
  fs.writeFileSync(`${out}/sender.json`, JSON.stringify(st));
  console.log(JSON.stringify(st));
}

function check(argv) {
  const [truthFile, actualFile] = argv;
  const truth = JSON.parse(fs.readFileSync(truthFile, "utf8"));
  const actual = new Map();
  for (const line of fs.readFileSync(actualFile, "utf8").split("\n")) {
    if (!line) continue;
    const [g, metric, bucket, dims, cnt, sum, hll] = line.split("\t");
    actual.set(`${g}\t${metric}\t${Number(bucket)}\t${canon(JSON.parse(dims))}`,
      { cnt: Number(cnt), sum: Number(sum || 0), hll });
  }
  let lost = 0, dup = 0, badRows = 0, rows = 0, sketches = 0;
  const samples = [];
  const keys = new Set([...Object.keys(truth.rows), ...actual.keys()]);
  for (const k of keys) {
    rows++;
    const e = truth.rows[k] || { cnt: 0, sum: 0 }, a = actual.get(k) || { cnt: 0, sum: 0 };
    // lost/duplicated are counted on the event-level metric (hourly chaos_event, no dims)
    if (k.startsWith("H\tchaos_event\t")) {
      if (a.cnt < e.cnt) lost += e.cnt - a.cnt;
      if (a.cnt > e.cnt) dup += a.cnt - e.cnt;
    }
    let sketchBad = "";
    if (e.distinct) {
      try {
        if (!sameRegisters(registersOfHex(a.hll || ""), registersOf(e.distinct)))
          sketchBad = `sketch is not that of its ${e.distinct.length} distinct users`;
        else sketches++;
      } catch (err) { sketchBad = `sketch unreadable: ${err.message}`; }
    }
    if (a.cnt !== e.cnt || Math.abs(a.sum - e.sum) > 1e-6 || sketchBad) {
      badRows++;
      if (samples.length < 8) samples.push(`${k.replace(/\t/g, " ")}: expected ${e.cnt}/${e.sum}, got ${a.cnt}/${a.sum} ${sketchBad}`);
    }
  }
  const res = { rows, bad_rows: badRows, lost, duplicated: dup, acked: truth.acked, unique_sketches_equal: sketches };
  console.log(JSON.stringify(res));
  for (const s of samples) console.log(`  ${s}`);
  process.exit(badRows === 0 && lost === 0 && dup === 0 ? 0 : 1);
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === "send") send(rest).catch((e) => { console.error(e); process.exit(2); });
else if (cmd === "check") check(rest);
else { console.error("usage: sender.mjs send ... | check TRUTH ACTUAL"); process.exit(2); }
