// tests/manifest.mjs — the counting half of tests/manifest.txt: checks that what a phase of
// `make test` ran is exactly what the manifest lists, so a test cannot vanish, shrink, or turn
// into a skip/todo while the phase still reports success. Used by scripts/test.sh (unit, asan,
// fuzz) and tests/run-integration.sh (one call per test file). Not a test runner itself.
//
//   node tests/manifest.mjs ctest JUNIT.xml          every `ctest NAME` line ran and passed, and
//                                                    CTest ran nothing the manifest does not list
//   node tests/manifest.mjs fuzz LOG                 every `fuzz NAME` driver reported "ok", no other
//   node tests/manifest.mjs files [--partial] FILE... each FILE (integration/e2e files on disk) is
//                                                    listed and, unless --partial (a selection ran),
//                                                    each listed file exists
//   node tests/manifest.mjs result FILE RC LOG [TAP] one integration file's outcome: exit status RC,
//                                                    its output LOG, node:test's TAP report (.mjs)
//
// Exit status: 0 as listed; 1 not as listed (the reasons are printed, each saying what to do);
// 3 (result only) passed with a skip or todo that has a printed reason — allowed on a
// developer's machine, a failure under CI=true (tests/README.md, "Skips").
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MANIFEST = 'tests/manifest.txt';
const HOWTO = 'see tests/README.md, "Registering a test"';
export const isCI = () => /^(1|true|yes)$/i.test(process.env.CI || '');

// Lines of the manifest: {kind: 'ctest'|'fuzz'|'file', name, count, line}.
export function readManifest(file = path.join(ROOT, MANIFEST)) {
  const entries = [];
  const errors = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((raw, i) => {
    const text = raw.replace(/#.*/, '').trim();
    if (!text) return;
    const w = text.split(/\s+/);
    const at = `${MANIFEST}:${i + 1}`;
    if ((w[0] === 'ctest' || w[0] === 'fuzz') && w.length === 2) entries.push({ kind: w[0], name: w[1], line: at });
    else if (w.length === 2 && w[0].startsWith('tests/') && /^[1-9][0-9]*$/.test(w[1]))
      entries.push({ kind: 'file', name: w[0], count: Number(w[1]), line: at });
    else errors.push(`${at}: cannot read "${raw.trim()}" (expected "ctest NAME", "fuzz NAME" or "tests/PATH COUNT")`);
  });
  const seen = new Set();
  for (const e of entries) {
    const k = `${e.kind} ${e.name}`;
    if (seen.has(k)) errors.push(`${e.line}: ${k} is listed twice`);
    seen.add(k);
  }
  return { entries, errors };
}

function finish(problems, okLine) {
  if (problems.length) {
    for (const p of problems) console.log(`manifest: ${p}`);
    process.exit(1);
  }
  console.log(`manifest: ${okLine}`);
  process.exit(0);
}

// ---- ctest -------------------------------------------------------------------------------------
function checkCtest(junit) {
  const { entries, errors } = readManifest();
  const problems = [...errors];
  const want = entries.filter((e) => e.kind === 'ctest');
  if (!fs.existsSync(junit)) finish([`${junit} missing: CTest did not run (build failed?)`], '');
  const xml = fs.readFileSync(junit, 'utf8');
  const got = new Map();
  for (const m of xml.matchAll(/<testcase\s+name="([^"]*)"[^>]*\sstatus="([^"]*)"/g)) got.set(m[1], m[2]);
  for (const e of want) {
    const st = got.get(e.name);
    if (st === undefined)
      problems.push(`CTest has no test "${e.name}" (${e.line}): it was not registered — a CMake guard dropped ` +
        `it (missing target or npm dependency: run scripts/deps.sh, re-configure), or it was renamed/removed: ` +
        `then change that line`);
    else if (st !== 'run') problems.push(`CTest test "${e.name}" did not pass (status ${st})`);
  }
  const listed = new Set(want.map((e) => e.name));
  for (const name of got.keys())
    if (!listed.has(name))
      problems.push(`CTest test "${name}" is not in ${MANIFEST}: add the line "ctest ${name}" (${HOWTO})`);
  finish(problems, `${want.length} listed CTest tests ran and passed, none unlisted`);
}

// ---- fuzz --------------------------------------------------------------------------------------
function checkFuzz(log) {
  const { entries, errors } = readManifest();
  const problems = [...errors];
  const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
  const ok = new Set([...text.matchAll(/^ok +fuzz_(\S+):/gm)].map((m) => m[1]));
  const want = entries.filter((e) => e.kind === 'fuzz');
  for (const e of want) if (!ok.has(e.name)) problems.push(`fuzz driver ${e.name} (${e.line}) did not report "ok fuzz_${e.name}"`);
  const dirs = fs.readdirSync(path.join(ROOT, 'tests/fuzz'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.readdirSync(path.join(ROOT, 'tests/fuzz', d.name)).some((f) => f.endsWith('.c')))
    .map((d) => d.name);
  const listed = new Set(want.map((e) => e.name));
  for (const d of new Set([...dirs, ...ok]))
    if (!listed.has(d)) problems.push(`fuzz driver tests/fuzz/${d}/ is not in ${MANIFEST}: add the line "fuzz ${d}" (${HOWTO})`);
  finish(problems, `${want.length} listed fuzz drivers passed, none unlisted`);
}

// ---- integration files -------------------------------------------------------------------------
function checkFiles(args) {
  const partial = args[0] === '--partial';
  const files = partial ? args.slice(1) : args;
  const { entries, errors } = readManifest();
  const problems = [...errors];
  const listed = new Map(entries.filter((e) => e.kind === 'file').map((e) => [e.name, e]));
  for (const f of files)
    if (!listed.has(f)) problems.push(`${f} is not in ${MANIFEST}: add the line "${f} N" (N = the checks it reports; ` +
      `the run below prints N) — ${HOWTO}`);
  const onDisk = new Set(files);
  for (const [f, e] of partial ? [] : listed)
    if (!onDisk.has(f)) problems.push(`${f} is listed (${e.line}) but does not exist: a test file vanished ` +
      `(restore it, or delete the line if it was removed on purpose)`);
  finish(problems, `${files.length} test files${partial ? ' selected' : ''}, all listed`);
}

// Counts of a node:test TAP report: the summary and the reasons of every skip/todo.
function fromTap(tap) {
  const num = (k) => { const m = tap.match(new RegExp(`^# ${k} (\\d+)$`, 'm')); return m ? Number(m[1]) : null; };
  if (num('tests') === null) return null;
  const skips = [];
  for (const m of tap.matchAll(/^\s*(?:not )?ok \d+ - (.*?) # (SKIP|TODO)\b ?(.*)$/gm))
    skips.push({ what: m[2].toLowerCase(), name: m[1], reason: m[3].trim() });
  return { total: num('tests'), passed: num('pass'), failed: num('fail') + (num('cancelled') || 0),
    skipped: num('skipped') + num('todo'), skips };
}

// Counts of a bash test: its last "NAME: P passed, F failed" line and its "SKIP reason" lines.
function fromLog(log) {
  const lines = log.split('\n');
  let sum = null;
  for (const l of lines) {
    const m = l.match(/^[A-Za-z0-9_.-]+: (\d+) passed, (\d+) failed\s*$/);
    if (m) sum = m;
  }
  if (!sum) return null;
  const skips = lines.filter((l) => /^SKIP\b/.test(l))
    .map((l) => ({ what: 'skip', name: '', reason: l.replace(/^SKIP:?\s*/, '').trim() }));
  const passed = Number(sum[1]), failed = Number(sum[2]);
  return { total: passed + failed + skips.length, passed, failed, skipped: skips.length, skips };
}

function checkResult(file, rc, logFile, tapFile) {
  const { entries, errors } = readManifest();
  const entry = entries.find((e) => e.kind === 'file' && e.name === file);
  const problems = [...errors];
  const read = (f) => (f && fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  const r = file.endsWith('.mjs') ? fromTap(read(tapFile)) : fromLog(read(logFile));
  if (Number(rc) !== 0) problems.push(`exit status ${rc}`);
  if (!r) {
    problems.push(file.endsWith('.mjs') ? 'node:test wrote no summary (the file crashed before its tests ran?)'
      : 'no summary line "NAME: N passed, M failed" (a bash test must end with one: tests/README.md)');
    finish(problems, '');
  }
  if (r.failed > 0) problems.push(`${r.failed} of ${r.total} checks failed`);
  if (!entry) problems.push(`not in ${MANIFEST}: add the line "${file} ${r.total}" (${HOWTO})`);
  else if (r.total !== entry.count)
    problems.push(`reported ${r.total} checks, ${MANIFEST} expects ${entry.count} (${entry.line}): ` +
      `${r.total < entry.count ? 'a check vanished — find out why' : 'checks were added'}; if the change is ` +
      `intended, change that line to "${file} ${r.total}"`);
  if (r.skipped > 0 && r.skips.length < r.skipped)
    problems.push(`${r.skipped} skipped/todo but only ${r.skips.length} with a reason: every skip must print why`);
  const noReason = r.skips.filter((s) => !s.reason);
  for (const s of noReason) problems.push(`${s.what} without a reason${s.name ? `: ${s.name}` : ''} (say why in the skip)`);
  const withReason = r.skips.filter((s) => s.reason);
  if (withReason.length && isCI())
    for (const s of withReason) problems.push(`${s.what} under CI=true (a skip is a failure in CI): ${s.name ? `${s.name}: ` : ''}${s.reason}`);
  if (problems.length) finish(problems, '');
  if (withReason.length) {
    for (const s of withReason) console.log(`manifest: SKIPPED (${s.what}) ${s.name ? `${s.name}: ` : ''}${s.reason}`);
    console.log(`manifest: ${r.passed} of ${r.total} checks passed, ${withReason.length} skipped with a reason (fails under CI=true)`);
    process.exit(3);
  }
  finish([], `${r.total} of ${r.total} checks passed, as listed`);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'ctest') checkCtest(args[0]);
else if (cmd === 'fuzz') checkFuzz(args[0]);
else if (cmd === 'files') checkFiles(args);
else if (cmd === 'result') checkResult(args[0], args[1], args[2], args[3]);
else {
  console.error('usage: manifest.mjs ctest JUNIT | fuzz LOG | files FILE... | result FILE RC LOG [TAP]');
  process.exit(2);
}
