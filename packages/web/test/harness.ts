/**
 * What the web app's browser tests share: a real `saltbox server` process (SQLite in a temp
 * dir) serving the freshly built bundle, CLI users beside it, and page helpers that drive the
 * app the way a person does (forms, buttons, the status line that each action ends with).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ensureBuilt, run, startServerProcess, tempHome } from '../../cli/test/helpers.js';
import type { RunResult } from '../../cli/test/helpers.js';
import { WEB_ROOT } from './chromium.js';

export const PASS = 'correct horse battery staple';

/** Screenshots and other artifacts of the browser tests (ignored by git). */
export const ARTIFACTS = join(WEB_ROOT, 'test-artifacts');

/** A CLI user with its own home. */
export interface CliUser {
  name: string;
  run: (args: string[], input?: string) => Promise<RunResult>;
  cleanup: () => void;
}

export function cliUser(name: string): CliUser {
  const home = tempHome();
  const env = { ...home.env, SALTBOX_PASSPHRASE: PASS, SALTBOX_SERVER: '' };
  return {
    name,
    run: (args, input) =>
      run(args, { env, cwd: home.dir, ...(input === undefined ? {} : { input }) }),
    cleanup: home.cleanup,
  };
}

export const ok = (r: RunResult): RunResult => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
};

/** Builds the CLI and the bundle, and starts a server. */
export async function startApp(): Promise<{ url: string; stop: () => Promise<void> }> {
  await ensureBuilt();
  // The bundle the server serves: rebuilt from the sources under test (esbuild, a few seconds).
  execFileSync(process.execPath, [join(WEB_ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
  mkdirSync(ARTIFACTS, { recursive: true });
  const serverHome = tempHome();
  const started = await startServerProcess(join(serverHome.dir, 'db'), serverHome.env);
  return {
    url: started.url,
    stop: async () => {
      await started.stop();
      serverHome.cleanup();
    },
  };
}

/** Signs a CLI user up and returns the paper key phrase. */
export async function signupCli(user: CliUser, url: string, device: string): Promise<string> {
  const r = ok(
    await user.run(['signup', user.name, '--server', url, '--device-name', device, '--json']),
  );
  return (JSON.parse(r.out) as { paperKey: { phrase: string } }).paperKey.phrase;
}

/** Opens the app and waits until it is ready; its console lines go to `lines`. */
export async function openApp(page: Page, url: string, lines: string[], query = ''): Promise<void> {
  page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  await page.goto(`${url}/${query}`);
  await page.waitForSelector('body[data-ready="true"]');
}

/** Fills and submits the sign-in form; resolves when the workspace or an error shows. */
export async function signIn(
  page: Page,
  username: string,
  words: string,
  passphrase = '',
): Promise<void> {
  await page.fill('#signin-username', username);
  await page.fill('#signin-paperkey', words);
  await page.fill('#signin-passphrase', passphrase);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#workspace:not([hidden]), #error:not([hidden])');
}

/** Waits for an action to end: `label: done` in the status line, `label: stopped`, or an error. */
export async function done(page: Page, label: string): Promise<void> {
  await page.waitForFunction((l) => {
    const s = document.getElementById('status')?.textContent ?? '';
    return s === `${l}: done` || s === `${l}: stopped` || !document.getElementById('error')?.hidden;
  }, label);
}

export const errorCode = (page: Page) => page.getAttribute('#error', 'data-code');

/** Clicks and waits for the action it starts. */
export async function clickDone(page: Page, selector: string, label: string): Promise<void> {
  await page.click(selector);
  await done(page, label);
}

/** The entry keys and revisions listed for the open namespace. */
export function listedEntries(page: Page): Promise<string[]> {
  return page.$$eval('#entry-list button', (bs) =>
    bs.map((b) => `${b.dataset.entry} ${b.querySelector('.meta')?.textContent}`),
  );
}

/** Opens the vault of a team from the sidebar. */
export async function openVault(page: Page, team: string): Promise<void> {
  await clickDone(page, `[data-team="${team}"]`, 'opening the vault');
}

/** Makes a new entry in the open vault. */
export async function newEntry(
  page: Page,
  namespace: string,
  key: string,
  value: string,
): Promise<void> {
  await page.click('#new-entry');
  await page.fill('#entry-namespace', namespace);
  await page.fill('#entry-key', key);
  await page.fill('#entry-value-input', value);
  await clickDone(page, '#entry-form button[type=submit]', 'saving');
}

/** Opens an entry of the open namespace from the list. */
export async function openEntry(page: Page, key: string): Promise<void> {
  await clickDone(page, `#entry-list [data-entry="${key}"]`, 'opening');
}
