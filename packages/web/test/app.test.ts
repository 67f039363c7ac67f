/**
 * The web app end to end in real Chromium against a real `saltbox server` process (SQLite, temp
 * directory) started the way `npm start` does, with the real CLI beside it: alice signs up and
 * creates team `acme` with the CLI (the paper key captured from `signup --json`); in the page a
 * wrong paper key shows a coded error, the right one signs in (keys derived in the keystore
 * Worker), the user, devices and teams are shown; a value put in the page is read by
 * `saltbox kv get`, a value put by `saltbox kv put` is read in the page, a delete in the page is
 * seen by the CLI; a remembered (IndexedDB, passphrase) sign-in survives a reload and unlocks.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { generatePaperKeyPhrase } from '@saltbox/identity';
import { defaultBackend } from '@saltbox/saltpack';
import { WEB_CONTENT_SECURITY_POLICY } from '@saltbox/server';
import { ensureBuilt, run, startServerProcess, tempHome } from '../../cli/test/helpers.js';
import type { RunResult } from '../../cli/test/helpers.js';
import { launchChromium, recordConsole, WEB_ROOT } from './chromium.js';

const PASS = 'correct horse battery staple';
const serverHome = tempHome();
const alice = tempHome();
const aliceEnv = { ...alice.env, SALTBOX_PASSPHRASE: PASS, SALTBOX_SERVER: '' };
const bob = tempHome();
const bobEnv = { ...bob.env, SALTBOX_PASSPHRASE: PASS, SALTBOX_SERVER: '' };
let url = '';
let stopServer = (): Promise<void> => Promise.resolve();
let browser: Browser;
let phrase = '';
const consoleLines: string[] = [];

const ok = (r: RunResult): RunResult => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
};
const cli = (args: string[], input?: string) =>
  run(args, { env: aliceEnv, cwd: alice.dir, ...(input === undefined ? {} : { input }) });
const bobCli = (args: string[], input?: string) =>
  run(args, { env: bobEnv, cwd: bob.dir, ...(input === undefined ? {} : { input }) });

beforeAll(async () => {
  await ensureBuilt();
  // The bundle the server serves: rebuilt from the sources under test (esbuild, a few seconds).
  execFileSync(process.execPath, [join(WEB_ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
  const started = await startServerProcess(join(serverHome.dir, 'db'), serverHome.env);
  url = started.url;
  stopServer = started.stop;
  const signup = ok(
    await cli(['signup', 'alice', '--server', url, '--device-name', 'alice-laptop', '--json']),
  );
  phrase = (JSON.parse(signup.out) as { paperKey: { phrase: string } }).paperKey.phrase;
  ok(await cli(['team', 'create', 'acme']));
  ok(await bobCli(['signup', 'bob', '--server', url, '--json']));
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser.close();
  await stopServer();
  serverHome.cleanup();
  alice.cleanup();
  bob.cleanup();
});

async function openApp(page: Page): Promise<void> {
  consoleLines.push(...recordConsole(page));
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]');
}

/** Fills and submits the sign-in form; resolves when the account or an error is shown. */
async function signIn(page: Page, words: string, passphrase = ''): Promise<void> {
  await page.fill('#signin-username', 'alice');
  await page.fill('#signin-paperkey', words);
  await page.fill('#signin-passphrase', passphrase);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#account:not([hidden]), #error:not([hidden])');
}

async function kv(page: Page, op: string, fields: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(fields)) await page.fill(`#kv-${name}`, value);
  await page.click(`button[data-kv="${op}"]`);
  await done(page, op);
}

async function message(page: Page, op: string, fields: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(fields)) await page.fill(`#msg-${name}`, value);
  await page.click(`button[data-msg="${op}"]`);
  await done(page, op);
}

async function done(page: Page, op: string): Promise<void> {
  // Each action ends with "<op>: done" or a shown error.
  await page.waitForFunction(
    (label) =>
      document.getElementById('status')?.textContent === `${label}: done` ||
      !document.getElementById('error')?.hidden,
    op,
  );
}

const errorCode = (page: Page) => page.getAttribute('#error', 'data-code');

describe('saltbox web app in chromium', { timeout: 300_000 }, () => {
  let page: Page;

  it('is served at / with a strict CSP, no caching of the page, and the API untouched', async () => {
    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toBe(WEB_CONTENT_SECURITY_POLICY);
    expect(index.headers.get('cache-control')).toBe('no-store');
    const app = await fetch(`${url}/app.js`);
    expect(app.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(app.headers.get('x-content-type-options')).toBe('nosniff');
    const again = await fetch(`${url}/app.js`, {
      headers: { 'if-none-match': app.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const missing = await fetch(`${url}/api/v1/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'no such route' },
    });
    expect((await fetch(`${url}/../package.json`)).status).toBe(404);
  });

  it('shows a coded error for a paper key that is not one of the user’s devices', async () => {
    page = await browser.newPage();
    await openApp(page);
    const wrong = generatePaperKeyPhrase(await defaultBackend());
    await signIn(page, wrong);
    expect(await errorCode(page)).toBe('CLIENT_PAPER_KEY_UNKNOWN');
    expect(await page.textContent('#error')).toMatch(/^CLIENT_PAPER_KEY_UNKNOWN: [^A-Z]*$/);
    expect(await page.isHidden('#account')).toBe(true);
    // The phrase field is emptied as soon as the form is submitted.
    expect(await page.inputValue('#signin-paperkey')).toBe('');
    // A phrase that is not a paper key at all is refused by the keystore.
    await signIn(page, 'not a paper key');
    expect(await errorCode(page)).toBe('KEYSTORE_INVALID_ARGUMENT');
  });

  it('signs in with the paper key and shows the user, devices and teams', async () => {
    await signIn(page, phrase);
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.textContent('#account-username')).toBe('alice');
    expect(await page.textContent('#whoami')).toBe('signed in as alice');
    const devices = await page.$$eval('#devices tbody tr', (rows) =>
      rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => td.textContent)),
    );
    expect(devices.map((d) => d[0])).toContain('alice-laptop');
    // The paper key is the device this session acts as.
    expect(devices.find((d) => d[0]?.endsWith('(this one)'))?.[1]).toBe('backup');
    expect(await page.$$eval('#teams li', (li) => li.map((l) => l.textContent))).toContain(
      'acme (owner)',
    );
    expect(await page.textContent('#account-fingerprint')).toMatch(
      /^([0-9a-f]{4} ){9}[0-9a-f]{4}$/,
    );
  });

  it('puts a team value in the page that `saltbox kv get` reads', async () => {
    await kv(page, 'put', {
      team: 'acme',
      namespace: 'web',
      key: 'greeting',
      value: 'hello from the browser',
    });
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.getAttribute('#kv-summary', 'data-revision')).toBe('1');
    const r = ok(await cli(['kv', 'get', '--team', 'acme', 'web', 'greeting']));
    expect(r.out).toBe('hello from the browser');
  });

  it('reads in the page a value `saltbox kv put` wrote, and lists it', async () => {
    ok(await cli(['kv', 'put', '--team', 'acme', 'web', 'from-cli', 'hello from the cli']));
    await kv(page, 'get', { team: 'acme', namespace: 'web', key: 'from-cli' });
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.textContent('#kv-output')).toBe('hello from the cli');
    expect(await page.getAttribute('#kv-summary', 'data-revision')).toBe('1');
    await kv(page, 'keys', { namespace: 'web' });
    expect(await page.$$eval('#kv-list li', (li) => li.map((l) => l.textContent))).toEqual([
      'from-cli (revision 1)',
      'greeting (revision 1)',
    ]);
    await kv(page, 'namespaces', {});
    expect(await page.$$eval('#kv-list li', (li) => li.map((l) => l.textContent))).toEqual(['web']);
  });

  it('deletes in the page; the CLI sees it gone; deleting again or a stranger team is a coded error', async () => {
    await kv(page, 'delete', { key: 'greeting' });
    expect(await page.getAttribute('#kv-summary', 'data-revision')).toBe('2');
    const r = await cli(['kv', 'get', '--team', 'acme', 'web', 'greeting']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no value at web/greeting');
    // Deleting again: Keybase's "deleting non-existent entry" (2762) from the server.
    await kv(page, 'delete', { key: 'greeting' });
    expect(await errorCode(page)).toBe('CLIENT_KV_NOT_FOUND');
    // A team alice is not in is refused with a code, before any request for entries.
    await kv(page, 'get', { team: 'nosuchteam', key: 'from-cli' });
    expect(await errorCode(page)).toBe('CLIENT_TEAM_NOT_FOUND');
  });

  it('encrypts to a user in the page; that user decrypts with the CLI', async () => {
    await message(page, 'encrypt', { recipients: 'bob', text: 'to bob from the browser' });
    expect(await page.isHidden('#error')).toBe(true);
    const armored = await page.inputValue('#msg-armored');
    expect(armored.startsWith('BEGIN SALTPACK ENCRYPTED MESSAGE.')).toBe(true);
    expect(armored.trimEnd().endsWith('END SALTPACK ENCRYPTED MESSAGE.')).toBe(true);
    const r = ok(await bobCli(['decrypt'], armored));
    expect(r.out).toBe('to bob from the browser');
    // Encrypted to alice too ("also encrypt to me"), so the page opens its own message.
    await message(page, 'decrypt', {});
    expect(await page.textContent('#msg-output')).toBe('to bob from the browser');
    expect(await page.textContent('#msg-sender')).toMatch(/^sent by you \(/);
  });

  it('decrypts in the page what the CLI encrypted to the user, and to a team', async () => {
    const fromBob = ok(
      await bobCli(['encrypt', '-r', 'alice', '--armor'], 'to alice from the cli'),
    );
    await page.fill('#msg-armored', fromBob.out);
    await message(page, 'decrypt', {});
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.textContent('#msg-output')).toBe('to alice from the cli');
    expect(await page.textContent('#msg-sender')).toMatch(/^sender key 0121[0-9a-f]{64}0a$/);
    // To team:acme only (not to alice herself): opened with the team key in the keystore.
    await page.uncheck('#msg-self');
    await message(page, 'encrypt', { recipients: 'team:acme', text: 'to the team' });
    await message(page, 'decrypt', {});
    expect(await page.textContent('#msg-output')).toBe('to the team');
    await page.check('#msg-self');
  });

  it('refuses unknown recipients and damaged messages with coded errors', async () => {
    await message(page, 'encrypt', { recipients: 'nosuchuser', text: 'x' });
    expect(await errorCode(page)).toBe('CLIENT_USER_NOT_FOUND');
    await message(page, 'encrypt', { recipients: 'bad!name', text: 'x' });
    expect(await errorCode(page)).toBe('WEB_INVALID_INPUT');
    await page.fill(
      '#msg-armored',
      'BEGIN SALTPACK ENCRYPTED MESSAGE. abc. END SALTPACK ENCRYPTED MESSAGE.',
    );
    await message(page, 'decrypt', {});
    expect(await errorCode(page)).toMatch(/^SALTPACK_[A-Z_]+$/);
  });

  it('keeps the keys encrypted in IndexedDB with a passphrase and unlocks after a reload', async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    await openApp(p);
    await signIn(p, phrase, 'browser passphrase');
    expect(await p.textContent('#account-username')).toBe('alice');
    // Every keystore record but the KDF header is an encrypted "SBKR" record.
    const records = await p.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open('saltbox-keystore');
        req.onsuccess = () => {
          resolve(req.result);
        };
        req.onerror = () => {
          reject(new Error('could not open the keystore database'));
        };
      });
      const store = db.transaction('records', 'readonly').objectStore('records');
      const keysReq = store.getAllKeys();
      const valuesReq = store.getAll();
      await new Promise((resolve) => {
        valuesReq.onsuccess = resolve;
      });
      db.close();
      return keysReq.result.map((k, i) => ({
        name: k as string,
        magic: String.fromCharCode(
          ...new Uint8Array(valuesReq.result[i] as ArrayBuffer).slice(0, 4),
        ),
      }));
    });
    expect(records.map((r) => r.name)).toContain('meta');
    expect(records.some((r) => r.name.startsWith('key/device/'))).toBe(true);
    expect(records.some((r) => r.name.startsWith('key/puk/'))).toBe(true);
    for (const r of records.filter((x) => x.name !== 'meta')) expect(r.magic).toBe('SBKR');

    await p.reload();
    await p.waitForSelector('body[data-ready="true"]');
    expect(await p.isVisible('#unlock')).toBe(true);
    await p.fill('#unlock-passphrase', 'wrong passphrase');
    await p.click('#unlock-form button[type=submit]');
    await p.waitForSelector('#error:not([hidden])');
    expect(await errorCode(p)).toBe('KEYSTORE_WRONG_PASSPHRASE');
    await p.fill('#unlock-passphrase', 'browser passphrase');
    await p.click('#unlock-form button[type=submit]');
    await p.waitForSelector('#account:not([hidden])');
    await kv(p, 'get', { team: 'acme', namespace: 'web', key: 'from-cli' });
    expect(await p.textContent('#kv-output')).toBe('hello from the cli');
    // Sign-out removes the keys from the browser.
    await p.click('#signout');
    await p.waitForSelector('#signin:not([hidden])');
    const dbs = await p.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    expect(dbs).not.toContain('saltbox-keystore');
    await context.close();
  });

  it('logged no CSP violation, no uncaught error and no paper key words', () => {
    const text = consoleLines.join('\n');
    expect(text).not.toMatch(/Content Security Policy|pageerror/);
    expect(text).not.toContain(phrase.split(' ').slice(3, 7).join(' '));
  });
});
