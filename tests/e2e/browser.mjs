// browser.mjs — what the end-to-end tests share: Debian's chromium through playwright-core (never
// a downloaded browser), a fresh profile per run, screenshots under test-results/e2e/, and the
// dashboard's production build served by the test stack's graphql-api (WEB_DIST_DIR=web/dist).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

/** Builds web/dist when it is missing or older than its sources (scripts/web-build.sh, the same
 *  rule as `make up`); graphql-api serves it. */
export function ensureWebBuild() {
  execFileSync('bash', [path.join(REPO, 'scripts/web-build.sh')], { stdio: 'inherit', timeout: 300_000 });
}

/** A headless chromium with a fresh profile (viewport 1366x900 unless given); close() removes
 *  the profile. */
export async function launch(viewport = { width: 1366, height: 900 }) {
  const profile = mkdtempSync(path.join(tmpdir(), 'ea-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
    acceptDownloads: true,
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

/** Signs in with an API key through the login page's development form (?dev=1). */
export async function signInWithKey(page, key) {
  await page.goto(`${APP}/?dev=1`);
  await page.getByTestId('api-key-input').fill(key);
  await page.getByTestId('api-key-submit').click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor({ timeout: 15000 });
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
