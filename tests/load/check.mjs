// tests/load/check.mjs — what tests/load/run.sh asserts beyond status codes:
//
//   node check.mjs values GRAPHQL_URL KEY TENANT NOW_MS N     the seeded history (run.sh's seed:
//       event j of N at NOW - floor(j/N * 24 h), purchase when j % 4 == 0 else page_view, page
//       pages[j % 8], country countries[j % 6], amount j % 50 + 1, user u(j % 997)) computed here,
//       compared with GraphQL answers: page_views by page per hour over the 24 whole hours before
//       NOW's hour (the cached query) exactly, load_revenue per day exactly, load_buyers per day
//       within the stated 2 % of the distinct users (at least 2 values). Exit 1 on a difference.
//   node check.mjs sample GRAPHQL_URL KEY BODY_FILE SECONDS OUT  sends the cached query every
//       0.5 s for SECONDS and writes {total, hits, misses, other} from each answer's X-Cache header.
import fs from 'node:fs';

const PAGES = ['/', '/pricing', '/docs', '/blog', '/signup', '/login', '/about', '/careers'];
const COUNTRIES = ['DE', 'FR', 'US', 'IN', 'BR', 'JP'];
const HOUR = 3600000, DAY = 86400000;
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function gql(url, key, query) {
  const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query }) });
  const body = await r.json();
  if (body.errors || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return body.data.metrics;
}

async function values(url, key, tenant, now, n) {
  const hourMs = Math.floor(now / HOUR) * HOUR;
  const views = new Map(), revenue = new Map(), buyers = new Map();
  for (let j = 0; j < n; j++) {
    const ts = now - Math.floor((j / n) * DAY);
    if (j % 4 === 0) {
      const d = Math.floor(ts / DAY) * DAY;
      revenue.set(d, (revenue.get(d) || 0) + (j % 50) + 1);
      (buyers.get(d) || buyers.set(d, new Set()).get(d)).add(`u${j % 997}`);
    } else if (ts >= hourMs - DAY && ts < hourMs) {
      const k = `${Math.floor(ts / HOUR) * HOUR}\t${PAGES[j % 8]}`;
      views.set(k, (views.get(k) || 0) + 1);
    }
  }
  const problems = [];
  const m = (name, from, to, extra) => `{ metrics(tenant: "${tenant}", name: "${name}", startTime: "${iso(from)}", ` +
    `endTime: "${iso(to)}"${extra}) { timestamp value dimensions } }`;
  // the cached query's buckets: the 24 whole hours before NOW's hour (its end is exclusive of the
  // current hour here: the current hour is where the run's events go)
  const got = new Map();
  for (const p of await gql(url, key, m('page_views', hourMs - DAY, hourMs - 1, ', groupBy: ["page"]')))
    if (p.value !== 0) got.set(`${Date.parse(p.timestamp)}\t${p.dimensions.page}`, p.value);
  for (const k of new Set([...views.keys(), ...got.keys()]))
    if ((views.get(k) || 0) !== (got.get(k) || 0)) problems.push(`page_views ${k}: ${got.get(k) || 0}, seeded ${views.get(k) || 0}`);
  const from = Math.floor((now - DAY) / DAY) * DAY, to = now + HOUR; // whole UTC days of the seed
  for (const p of await gql(url, key, m('load_revenue', from, to, ', granularity: DAY'))) {
    const want = revenue.get(Date.parse(p.timestamp)) || 0;
    if (p.value !== want) problems.push(`load_revenue ${p.timestamp}: ${p.value}, seeded ${want}`);
    revenue.delete(Date.parse(p.timestamp));
  }
  for (const [d, v] of revenue) problems.push(`load_revenue ${iso(d)}: missing, seeded ${v}`);
  let uniques = '';
  for (const p of await gql(url, key, m('load_buyers', from, to, ', granularity: DAY'))) {
    const want = buyers.get(Date.parse(p.timestamp))?.size || 0;
    uniques += ` ${p.value}/${want}`;
    if (Math.abs(p.value - want) > Math.max(0.02 * want, 2)) problems.push(`load_buyers ${p.timestamp}: ${p.value}, seeded ${want} distinct`);
  }
  for (const p of problems.slice(0, 10)) console.log(`  ${p}`);
  console.log(`values: ${views.size} page_views points, ${problems.length ? 'DIFFERENT' : 'equal'} to the seed; ` +
    `load_revenue per day exact: ${!problems.some((p) => p.startsWith('load_revenue'))}; load_buyers estimate/truth:${uniques}`);
  process.exit(problems.length ? 1 : 0);
}

async function sample(url, key, bodyFile, seconds, out) {
  const body = fs.readFileSync(bodyFile, 'utf8');
  const st = { total: 0, hits: 0, misses: 0, other: 0 };
  const end = Date.now() + Number(seconds) * 1000;
  while (Date.now() < end) {
    try {
      const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
      await r.arrayBuffer();
      st.total++;
      const x = r.headers.get('x-cache');
      if (x === 'HIT') st.hits++;
      else if (x === 'MISS') st.misses++;
      else st.other++;
    } catch { st.other++; st.total++; }
    await new Promise((res) => setTimeout(res, 500));
  }
  fs.writeFileSync(out, JSON.stringify(st));
}

const [cmd, ...a] = process.argv.slice(2);
if (cmd === 'values') values(a[0], a[1], a[2], Number(a[3]), Number(a[4])).catch((e) => { console.log(`values: ${e.message}`); process.exit(1); });
else if (cmd === 'sample') sample(...a).catch((e) => { console.error(e); process.exit(1); });
else { console.error('usage: check.mjs values URL KEY TENANT NOW N | sample URL KEY BODY SECONDS OUT'); process.exit(2); }
