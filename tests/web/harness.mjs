// harness.mjs — start the real parts for the browser tests: tests/fake-llm
// with a script, `lares serve` on 127.0.0.1 port 0 with a fresh data
// directory pointed at it, and Debian's Chromium through playwright-core.
//
// LARES_BIN and LARES_FAKE_LLM come from meson (tests/meson.build), as for
// the C integration tests.  Every wait has a deadline.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const CHROMIUM = process.env.LARES_CHROMIUM || '/usr/bin/chromium';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run through meson test)`);
  return v;
}

// Read lines of @proc's stdout until @match returns a value; reject when
// the process exits first or @ms pass.
function waitForLine(proc, match, ms, what) {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout });
    const seen = [];
    const timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms; output: ${seen.join(' | ')}`)), ms);
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready; output: ${seen.join(' | ')}`));
    };
    proc.once('exit', onExit);
    rl.on('line', (line) => {
      seen.push(line);
      const v = match(line, seen);
      if (v !== undefined) {
        clearTimeout(timer);
        proc.off('exit', onExit);
        resolve(v);
      }
    });
  });
}

function stop(proc) {
  return new Promise((resolve) => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

export async function startFakeLlm(script) {
  const dir = mkdtempSync(join(tmpdir(), 'lares-web-llm-'));
  const path = join(dir, 'script');
  writeFileSync(path, script);
  const proc = spawn(need('LARES_FAKE_LLM'), ['--port', '0', '--script', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await waitForLine(proc, (l) => (/^port (\d+)$/.exec(l) || [])[1], 15000, 'fake-llm');
  return {
    url: `http://127.0.0.1:${port}/v1`,
    async stop() {
      await stop(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startDaemon(sets = []) {
  const dir = mkdtempSync(join(tmpdir(), 'lares-web-'));
  const args = ['serve', '-d', dir, '-p', '0'];
  for (const s of sets) args.push('--set', s);
  const env = { ...process.env, LARES_CONFIG: '' };
  const proc = spawn(need('LARES_BIN'), args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const log = [];
  proc.stderr.on('data', (b) => log.push(b.toString()));
  let password = null;
  const port = await waitForLine(proc, (l) => {
    const pw = /^lares: created user 'admin' with password (\S+)/.exec(l);
    if (pw) password = pw[1];
    const m = /^lares: listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(l);
    return m ? m[1] : undefined;
  }, 30000, 'lares serve');
  if (!password) throw new Error('lares did not print the admin password');
  // Keep reading stdout so the pipe never fills.
  proc.stdout.resume();
  return {
    base: `http://127.0.0.1:${port}`,
    password,
    dir,
    log: () => log.join(''),
    async stop() {
      await stop(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchChromium() {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new Error('playwright-core is missing: run `npm ci` in tests/web (tools/bootstrap.sh test does)');
  }
  // launch() gives every run a fresh temporary profile (user data dir).
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A browser context with the console watched: every console error and
// uncaught exception of its pages is collected in `errors`.
export async function newContext(browser, base, { viewport = { width: 1280, height: 800 }, ...opts } = {}) {
  const context = await browser.newContext({ baseURL: base, viewport, locale: 'en-GB', timezoneId: 'Europe/Paris', ...opts });
  const errors = [];
  context.on('page', (page) => watchPage(page, errors));
  return { context, errors };
}

export function watchPage(page, errors) {
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`${page.url()}: console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`${page.url()}: exception: ${err.message}`));
}
