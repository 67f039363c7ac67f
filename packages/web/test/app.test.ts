/**
 * The web app's vault end to end in real Chromium against a real `saltbox server` process
 * (SQLite, temp directory) started the way `npm start` does, with the real CLI beside it:
 * alice signs up and creates team `acme` with the CLI (the paper key captured from
 * `signup --json`); in the page a wrong paper key shows a coded error, the right one signs in;
 * entries are listed, searched, revealed, copied (and cleared from the clipboard), created,
 * edited at the shown revision, deleted after confirmation; the CLI and the page read each
 * other's writes; two browser contexts editing one entry meet a conflict, never a silent
 * overwrite; `__` entries are hidden until opened by name; the password generator fills the
 * value; Saltpack messages go both ways with the CLI; a passphrase sign-in keeps encrypted keys
 * in IndexedDB, survives a reload, locks itself when idle and unlocks in place; sign-out wipes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generatePaperKeyPhrase } from '@saltbox/identity';
import { defaultBackend } from '@saltbox/saltpack';
import { WEB_CONTENT_SECURITY_POLICY } from '@saltbox/server';
import { launchChromium } from './chromium.js';
import {
  clickDone,
  cliUser,
  done,
  errorCode,
  listedEntries,
  newEntry,
  ok,
  openApp,
  openEntry,
  openVault,
  signIn,
  signupCli,
  startApp,
} from './harness.js';

const alice = cliUser('alice');
const bob = cliUser('bob');
let url = '';
let stopServer = (): Promise<void> => Promise.resolve();
let browser: Browser;
let phrase = '';
const consoleLines: string[] = [];

beforeAll(async () => {
  const app = await startApp();
  url = app.url;
  stopServer = app.stop;
  phrase = await signupCli(alice, url, 'alice-laptop');
  ok(await alice.run(['team', 'create', 'acme']));
  await signupCli(bob, url, 'bob-laptop');
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser.close();
  await stopServer();
  alice.cleanup();
  bob.cleanup();
});

describe('saltbox web app in chromium', { timeout: 300_000 }, () => {
  let context: BrowserContext;
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
    context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    page = await context.newPage();
    await openApp(page, url, consoleLines, '?clipboard-clear-ms=1500');
    const wrong = generatePaperKeyPhrase(await defaultBackend());
    await signIn(page, 'alice', wrong);
    expect(await errorCode(page)).toBe('CLIENT_PAPER_KEY_UNKNOWN');
    expect(await page.textContent('#error')).toMatch(/^CLIENT_PAPER_KEY_UNKNOWN: [^A-Z]*$/);
    // With the CLI's hint for the same code.
    expect(await page.textContent('#error')).toContain(
      ' — check the username and the 13 words of the paper key',
    );
    expect(await page.isHidden('#workspace')).toBe(true);
    // The phrase field is emptied as soon as the form is submitted.
    expect(await page.inputValue('#signin-paperkey')).toBe('');
    // A phrase that is not a paper key at all is refused by the keystore.
    await signIn(page, 'alice', 'not a paper key');
    expect(await errorCode(page)).toBe('KEYSTORE_INVALID_ARGUMENT');
  });

  it('signs in with the paper key into the team vault; the account view shows devices and teams', async () => {
    await signIn(page, 'alice', phrase);
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.textContent('#whoami')).toBe('signed in as alice');
    // The sidebar: her own store first, then her teams; the first team's vault is open.
    expect(await page.$$eval('#team-list button', (bs) => bs.map((b) => b.dataset.team))).toEqual([
      'alice,alice',
      'acme',
    ]);
    expect(await page.getAttribute('[data-team="acme"]', 'aria-current')).toBe('true');
    expect(await page.textContent('#vault-title')).toBe('acme');
    expect(await page.textContent('#entries-empty')).toBe('No namespace yet: make a new entry.');
    await page.click('.nav[data-view="account"]');
    expect(await page.textContent('#account-username')).toBe('alice');
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

  it('creates an entry in the page (revision 1) that `saltbox kv get` reads', async () => {
    await openVault(page, 'acme');
    await page.click('#new-entry');
    expect(await page.textContent('#entry-form-revision')).toBe('New entry: saved as revision 1.');
    await page.fill('#entry-namespace', 'web');
    await page.fill('#entry-key', 'greeting');
    await page.fill('#entry-value-input', 'hello from the browser');
    await clickDone(page, '#entry-form button[type=submit]', 'saving');
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.getAttribute('#entry-view', 'data-revision')).toBe('1');
    // Hidden until revealed.
    expect(await page.textContent('#entry-value')).toBe('••••••••••••');
    expect(await page.textContent('#entry-writer')).toBe('alice');
    const r = ok(await alice.run(['kv', 'get', '--team', 'acme', 'web', 'greeting']));
    expect(r.out).toBe('hello from the browser');
  });

  it('lists, searches and reveals in the page a value `saltbox kv put` wrote', async () => {
    ok(await alice.run(['kv', 'put', '--team', 'acme', 'web', 'from-cli', 'hello from the cli']));
    await clickDone(page, '#ns-list [data-namespace="web"]', 'listing entries');
    expect(await listedEntries(page)).toEqual(['from-cli rev 1', 'greeting rev 1']);
    // Search filters in the page, without the server, well within 50 ms.
    const ms = await page.evaluate(() => {
      const input = document.getElementById('entry-search') as HTMLInputElement;
      const t0 = performance.now();
      input.value = 'CLI';
      input.dispatchEvent(new Event('input'));
      // Style and layout forced now: the time to the rendered result, not to the next frame.
      document.body.getBoundingClientRect();
      return performance.now() - t0;
    });
    expect(ms).toBeLessThan(50);
    expect(await listedEntries(page)).toEqual(['from-cli rev 1']);
    await page.fill('#entry-search', 'nothing like it');
    expect(await page.textContent('#entries-empty')).toBe('No entry matches the search.');
    await page.fill('#entry-search', '');
    await openEntry(page, 'from-cli');
    expect(await page.textContent('#entry-value')).toBe('••••••••••••');
    await page.click('#reveal');
    expect(await page.textContent('#entry-value')).toBe('hello from the cli');
    expect(await page.getAttribute('#reveal', 'aria-pressed')).toBe('true');
    await page.click('#reveal');
    expect(await page.textContent('#entry-value')).toBe('••••••••••••');
  });

  it('copies a value to the clipboard and clears it after the timeout', async () => {
    await clickDone(page, '#copy', 'copying');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('hello from the cli');
    expect(await page.textContent('#copy-note')).toMatch(/cleared in 2 s/);
    await page.waitForFunction(
      async () => (await navigator.clipboard.readText()) === '',
      undefined,
      { timeout: 10_000 },
    );
    // Something the user copied since is left alone.
    await clickDone(page, '#copy', 'copying');
    await page.evaluate(() => navigator.clipboard.writeText('mine'));
    await page.waitForTimeout(2500);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('mine');
  });

  it('edits at the shown revision; the CLI reads the new value', async () => {
    await page.click('#edit');
    expect(await page.textContent('#entry-form-revision')).toBe(
      'Editing revision 1: saved as revision 2.',
    );
    expect(await page.inputValue('#entry-value-input')).toBe('hello from the cli');
    await page.fill('#entry-value-input', 'edited in the browser');
    await clickDone(page, '#entry-form button[type=submit]', 'saving');
    expect(await page.getAttribute('#entry-view', 'data-revision')).toBe('2');
    const r = ok(await alice.run(['kv', 'get', '--team', 'acme', 'web', 'from-cli']));
    expect(r.out).toBe('edited in the browser');
  });

  it('two browser contexts editing one entry: the later save is a conflict with a reload choice, never an overwrite', async () => {
    const other = await browser.newContext();
    const p2 = await other.newPage();
    await openApp(p2, url, consoleLines);
    await signIn(p2, 'alice', phrase);
    await clickDone(p2, '#ns-list [data-namespace="web"]', 'listing entries');
    await openEntry(p2, 'from-cli');
    await p2.click('#edit');
    // The first context saves revision 3 while the second is still editing revision 2.
    await page.click('#edit');
    await page.fill('#entry-value-input', 'saved first');
    await clickDone(page, '#entry-form button[type=submit]', 'saving');
    expect(await page.getAttribute('#entry-view', 'data-revision')).toBe('3');
    await p2.fill('#entry-value-input', 'saved second');
    await clickDone(p2, '#entry-form button[type=submit]', 'saving');
    await p2.waitForSelector('#conflict:not([hidden])');
    expect(await p2.textContent('#conflict-text')).toContain(
      'alice saved revision 3 of this entry while you were editing revision 2',
    );
    // Nothing was overwritten.
    expect(ok(await alice.run(['kv', 'get', '--team', 'acme', 'web', 'from-cli'])).out).toBe(
      'saved first',
    );
    // "Load their version" shows what the first context saved.
    await clickDone(p2, '#conflict-reload', 'loading their version');
    expect(await p2.getAttribute('#entry-view', 'data-revision')).toBe('3');
    await p2.click('#reveal');
    expect(await p2.textContent('#entry-value')).toBe('saved first');
    // Again, and this time keep my text: it is saved, knowingly, over revision 3.
    await p2.click('#edit');
    await page.click('#edit');
    await page.fill('#entry-value-input', 'first again');
    await clickDone(page, '#entry-form button[type=submit]', 'saving');
    await p2.fill('#entry-value-input', 'second, knowingly');
    await clickDone(p2, '#entry-form button[type=submit]', 'saving');
    await p2.waitForSelector('#conflict:not([hidden])');
    await p2.click('#conflict-keep');
    expect(await p2.textContent('#entry-form-revision')).toBe(
      'Editing revision 4: saved as revision 5.',
    );
    expect(await p2.inputValue('#entry-value-input')).toBe('second, knowingly');
    await clickDone(p2, '#entry-form button[type=submit]', 'saving');
    expect(await p2.getAttribute('#entry-view', 'data-revision')).toBe('5');
    expect(ok(await alice.run(['kv', 'get', '--team', 'acme', 'web', 'from-cli'])).out).toBe(
      'second, knowingly',
    );
    await other.close();
  });

  it('deletes only after confirmation; the CLI sees it gone', async () => {
    await openEntry(page, 'greeting');
    await page.click('#delete');
    expect(await page.isVisible('#confirm-dialog')).toBe(true);
    expect(await page.textContent('#confirm-text')).toContain('web / greeting (revision 1)');
    await page.click('#confirm-dialog button[value=cancel]');
    expect(ok(await alice.run(['kv', 'get', '--team', 'acme', 'web', 'greeting'])).out).toBe(
      'hello from the browser',
    );
    await page.click('#delete');
    await page.click('#confirm-ok');
    await done(page, 'deleting');
    expect(await page.isHidden('#error')).toBe(true);
    const r = await alice.run(['kv', 'get', '--team', 'acme', 'web', 'greeting']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no value at web/greeting');
    expect(await listedEntries(page)).toEqual(['from-cli rev 5']);
  });

  it('keeps __ entries out of the list until opened by name', async () => {
    ok(await alice.run(['kv', 'put', '--team', 'acme', 'web', '__internal', 'hidden value']));
    await clickDone(page, '#ns-list [data-namespace="web"]', 'listing entries');
    expect(await listedEntries(page)).toEqual(['from-cli rev 5']);
    await page.click('#hidden-entries summary');
    await page.fill('#hidden-name', 'not-hidden');
    await page.click('#hidden-form button[type=submit]');
    await done(page, 'opening');
    expect(await errorCode(page)).toBe('WEB_INVALID_INPUT');
    await page.fill('#hidden-name', '__internal');
    await clickDone(page, '#hidden-form button[type=submit]', 'opening');
    await page.click('#reveal');
    expect(await page.textContent('#entry-value')).toBe('hidden value');
    expect(await listedEntries(page)).toEqual(['from-cli rev 5', '__internal rev 1']);
  });

  it('generates passwords of the chosen length and sets, within 50 ms', async () => {
    await page.click('#new-entry');
    await page.fill('#gen-length', '40');
    await page.uncheck('.generator [data-set="symbols"]');
    await page.uncheck('.generator [data-set="upper"]');
    const ms = await page.evaluate(() => {
      const t0 = performance.now();
      document.getElementById('generate')!.click();
      // Style and layout forced now: the time to the rendered result, not to the next frame.
      document.body.getBoundingClientRect();
      return performance.now() - t0;
    });
    expect(ms).toBeLessThan(50);
    const pw = await page.inputValue('#entry-value-input');
    expect(pw).toMatch(/^[a-z0-9]{40}$/);
    expect(pw).toMatch(/[0-9]/);
    await page.uncheck('.generator [data-set="lower"]');
    await page.uncheck('.generator [data-set="digits"]');
    await page.click('#generate');
    expect(await errorCode(page)).toBe('WEB_INVALID_INPUT');
    await page.click('#cancel-edit');
  });

  it('writes to the personal store, the CLI’s default team', async () => {
    await openVault(page, 'alice,alice');
    expect(await page.textContent('#vault-title')).toBe('Personal');
    await newEntry(page, 'mine', 'pin', '1234');
    expect(ok(await alice.run(['kv', 'get', 'mine', 'pin'])).out).toBe('1234');
    // The same store from the CLI's side (`alice,alice` is the CLI's default team).
    expect(await page.textContent('#entry-path')).toBe('alice,alice / mine / pin');
  });

  it('encrypts to a user in the page; that user decrypts with the CLI', async () => {
    await page.click('.nav[data-view="messages"]');
    await page.fill('#msg-recipients', 'bob');
    await page.fill('#msg-text', 'to bob from the browser');
    await clickDone(page, 'button[data-msg="encrypt"]', 'encrypt');
    expect(await page.isHidden('#error')).toBe(true);
    const armored = await page.inputValue('#msg-armored');
    expect(armored.startsWith('BEGIN SALTPACK ENCRYPTED MESSAGE.')).toBe(true);
    const r = ok(await bob.run(['decrypt'], armored));
    expect(r.out).toBe('to bob from the browser');
    await clickDone(page, 'button[data-msg="decrypt"]', 'decrypt');
    expect(await page.textContent('#msg-output')).toBe('to bob from the browser');
    expect(await page.textContent('#msg-sender')).toMatch(/^sent by you \(/);
    const fromBob = ok(await bob.run(['encrypt', '-r', 'alice', '--armor'], 'to alice from cli'));
    await page.fill('#msg-armored', fromBob.out);
    await clickDone(page, 'button[data-msg="decrypt"]', 'decrypt');
    expect(await page.textContent('#msg-output')).toBe('to alice from cli');
    await page.fill('#msg-recipients', 'nosuchuser');
    await clickDone(page, 'button[data-msg="encrypt"]', 'encrypt');
    expect(await errorCode(page)).toBe('CLIENT_USER_NOT_FOUND');
    await context.close();
  });

  it('keeps the keys encrypted in IndexedDB, unlocks after a reload, and unlocks in place after the idle lock', async () => {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await openApp(p, url, consoleLines, '?idle-lock-ms=4000');
    await signIn(p, 'alice', phrase, 'browser passphrase');
    expect(await p.textContent('#vault-title')).toBe('acme');
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
      return keysReq.result.map((k, i) => {
        const bytes = new Uint8Array(valuesReq.result[i] as ArrayBuffer);
        return {
          name: k as string,
          magic: String.fromCharCode(...bytes.slice(0, 4)),
          kdf:
            k === 'meta'
              ? (JSON.parse(new TextDecoder().decode(bytes)) as { kdf: { alg: string } }).kdf.alg
              : null,
        };
      });
    });
    expect(records.map((r) => r.name)).toContain('meta');
    // The meta record names the KDF: Argon2id (WebAssembly libsodium in the Worker).
    expect(records.find((r) => r.name === 'meta')?.kdf).toBe('argon2id');
    expect(records.some((r) => r.name.startsWith('key/device/'))).toBe(true);
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
    await p.waitForSelector('#workspace:not([hidden])');
    await clickDone(p, '#ns-list [data-namespace="web"]', 'listing entries');
    await openEntry(p, 'from-cli');
    await p.click('#reveal');
    expect(await p.textContent('#entry-value')).toBe('second, knowingly');

    // Idle: the Worker locks itself; the page hides the value and asks in place.
    await p.evaluate(() => {
      (window as unknown as { marker: string }).marker = 'same page';
    });
    await p.waitForSelector('#lock-dialog[open]', { timeout: 15_000 });
    expect(await p.isHidden('#entry-view')).toBe(true);
    // Nothing of the workspace shows behind the dialog.
    expect(await p.isVisible('#vault-title')).toBe(false);
    expect(await p.textContent('#entry-value')).toBe('');
    await p.fill('#lock-passphrase', 'wrong passphrase');
    await p.click('#lock-form button[type=submit]');
    await p.waitForSelector('#lock-error:not([hidden])');
    expect(await p.getAttribute('#lock-error', 'data-code')).toBe('KEYSTORE_WRONG_PASSPHRASE');
    await p.fill('#lock-passphrase', 'browser passphrase');
    await p.click('#lock-form button[type=submit]');
    await p.waitForFunction(
      () => !(document.getElementById('lock-dialog') as HTMLDialogElement).open,
    );
    // Resumed without a reload: same page, same Worker, and it reads again.
    expect(await p.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe(
      'same page',
    );
    expect(await p.isVisible('#vault-title')).toBe(true);
    await openEntry(p, 'from-cli');
    await p.click('#reveal');
    expect(await p.textContent('#entry-value')).toBe('second, knowingly');

    // The Lock button locks the Worker now and asks in place the same way.
    await p.click('#lock');
    await p.waitForSelector('#lock-dialog[open]');
    await p.fill('#lock-passphrase', 'browser passphrase');
    await p.click('#lock-form button[type=submit]');
    await p.waitForFunction(
      () => !(document.getElementById('lock-dialog') as HTMLDialogElement).open,
    );
    await clickDone(p, '#ns-list [data-namespace="web"]', 'listing entries');
    expect(await listedEntries(p)).toEqual(['from-cli rev 5']);

    // Sign-out terminates the Worker and removes the keys from the browser.
    expect(p.workers().length).toBe(1);
    await p.click('#signout');
    await p.waitForSelector('#signin:not([hidden])');
    await expect.poll(() => p.workers().length).toBe(0);
    const dbs = await p.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    expect(dbs).not.toContain('saltbox-keystore');
    expect(await p.evaluate(() => localStorage.getItem('saltbox:account'))).toBeNull();
    expect(await p.textContent('#entry-value')).toBe('');
    await ctx.close();
  });

  it('logged no CSP violation, no uncaught error and no paper key words', () => {
    const text = consoleLines.join('\n');
    expect(text).not.toMatch(/Content Security Policy|pageerror/);
    expect(text).not.toContain(phrase.split(' ').slice(3, 7).join(' '));
  });
});
