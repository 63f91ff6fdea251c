// browser.mjs — what the end-to-end tests share: Debian's chromium through playwright-core (never
// a downloaded browser), a fresh profile per run, screenshots under test-results/e2e/, and the
// dashboard's production build served by the test stack's graphql-api (WEB_DIST_DIR=web/dist).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const APP = `http://127.0.0.1:${process.env.GRAPHQL_PORT || 3002}`;
export const SHOTS = path.join(REPO, 'test-results', 'e2e');

const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds web/dist when it is missing or older than web/src (graphql-api serves it). */
export function ensureWebBuild() {
  const index = path.join(REPO, 'web/dist/index.html');
  const src = Math.max(newest(path.join(REPO, 'web/src')), statSync(path.join(REPO, 'web/index.html')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= src) return;
  execFileSync('npm', ['--prefix', path.join(REPO, 'web'), 'run', 'build'], { stdio: 'inherit', timeout: 300_000 });
}

/** A headless chromium with a fresh profile; close() removes the profile. */
export async function launch() {
  const profile = mkdtempSync(path.join(tmpdir(), 'ea-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1366, height: 900 },
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    context, page, errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Polls fn (async, returns a truthy value when done) until it is truthy or timeout. */
export async function eventually(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
