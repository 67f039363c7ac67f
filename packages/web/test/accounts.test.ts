/**
 * Accounts and teams in the page, in real Chromium against a real `saltbox server` and the real
 * CLI: carol signs up in the page (the paper key shown once, two of its words asked back), her
 * paper key signs her in elsewhere; she makes the browser of a paper-key session its own
 * device, revokes a device (its paper key then refused with `CLIENT_DEVICE_REVOKED`), creates a
 * team and a subteam, adds dave (made with the CLI), changes his role and removes him — each
 * step checked from dave's CLI. Then each main screen is photographed (light, dark, phone
 * width) into test-artifacts/, axe-core finds no serious or critical accessibility violation
 * on any of them, and the first load to an unlocked, rendered team view is timed.
 */
import { writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, WEB_ROOT } from './chromium.js';
import {
  ARTIFACTS,
  clickDone,
  cliUser,
  done,
  errorCode,
  newEntry,
  ok,
  openApp,
  openEntry,
  openVault,
  PASS,
  signIn,
  signupCli,
  startApp,
} from './harness.js';

const dave = cliUser('dave');
let url = '';
let stopServer = (): Promise<void> => Promise.resolve();
let browser: Browser;
const consoleLines: string[] = [];
let carolPhrase = '';

beforeAll(async () => {
  const app = await startApp();
  url = app.url;
  stopServer = app.stop;
  await signupCli(dave, url, 'dave-laptop');
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser.close();
  await stopServer();
  dave.cleanup();
});

/** Dave's view of a team from the CLI: member → role. */
async function membersSeenByDave(team: string): Promise<Record<string, string>> {
  const r = ok(await dave.run(['team', 'show', team, '--json']));
  const shown = JSON.parse(r.out) as { members: { username: string; role: string }[] };
  return Object.fromEntries(shown.members.map((m) => [m.username, m.role]));
}

/** Types the two words the paper key screen asks for. */
async function confirmPaperKey(page: Page, phrase: string, wrongFirst: boolean): Promise<void> {
  const positions = (await page.getAttribute('#paperkey-form', 'data-positions'))!
    .split(',')
    .map(Number);
  const words = phrase.split(' ');
  if (wrongFirst) {
    await page.fill('#paperkey-check-a', 'wrong');
    await page.fill('#paperkey-check-b', words[positions[1]! - 1]!);
    await page.click('#paperkey-form button[type=submit]');
    expect(await errorCode(page)).toBe('WEB_INVALID_INPUT');
    expect(await page.isVisible('#paperkey')).toBe(true);
  }
  await page.fill('#paperkey-check-a', words[positions[0]! - 1]!);
  await page.fill('#paperkey-check-b', words[positions[1]! - 1]!);
  await page.click('#paperkey-form button[type=submit]');
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe('accounts and teams in the page', { timeout: 300_000 }, () => {
  let context: BrowserContext;
  let page: Page;

  it('signs up in the page: the paper key is shown once and two of its words are asked back', async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await openApp(page, url, consoleLines);
    await shot(page, 'signin-light');
    await page.click('#to-signup');
    await page.fill('#signup-username', 'dave');
    await page.fill('#signup-device', 'carol-browser');
    await page.fill('#signup-passphrase', PASS);
    await page.click('#signup-form button[type=submit]');
    await done(page, 'creating the account');
    // A taken name is the server's coded error; nothing is left behind.
    expect(await errorCode(page)).toBe('CLIENT_HTTP');
    expect(await page.textContent('#error')).toContain('dave is taken');
    await page.fill('#signup-username', 'carol');
    await page.fill('#signup-passphrase', PASS);
    await page.click('#signup-form button[type=submit]');
    await page.waitForSelector('#paperkey:not([hidden])');
    carolPhrase = (await page.textContent('#paperkey-words'))!;
    expect(carolPhrase.split(' ')).toHaveLength(13);
    await shot(page, 'paperkey-light');
    await confirmPaperKey(page, carolPhrase, true);
    await page.waitForSelector('#workspace:not([hidden])');
    // The words are gone from the page.
    expect(await page.textContent('#paperkey-words')).toBe('');
    expect(await page.textContent('#whoami')).toBe('signed in as carol');
    expect(await page.textContent('#vault-title')).toBe('Personal');
    // Dave's CLI sees carol's chain: her browser device and her paper key.
    const r = ok(await dave.run(['encrypt', '-r', 'carol', '--armor'], 'hi carol'));
    expect(r.out).toContain('BEGIN SALTPACK ENCRYPTED MESSAGE');
  });

  it('the paper key signs carol in elsewhere; that browser becomes a device of its own', async () => {
    const other = await browser.newContext();
    const p2 = await other.newPage();
    await openApp(p2, url, consoleLines);
    await signIn(p2, 'carol', carolPhrase);
    expect(await p2.isHidden('#error')).toBe(true);
    await p2.click('.nav[data-view="account"]');
    expect(await p2.textContent('#account-device')).toMatch(/\(backup\)$/);
    expect(await p2.isVisible('#device-add-form')).toBe(true);
    await p2.fill('#device-add-name', 'carol-phone');
    await clickDone(p2, '#device-add-form button[type=submit]', 'adding a device');
    expect(await p2.isHidden('#error')).toBe(true);
    expect(await p2.textContent('#account-device')).toBe('carol-phone (desktop)');
    // A device session has no paper key to replace: the form is gone.
    expect(await p2.isHidden('#device-add-form')).toBe(true);
    // The new device reads and writes: its own store works.
    await openVault(p2, 'carol,carol');
    await newEntry(p2, 'notes', 'from-phone', 'written by the new device');
    expect(await p2.textContent('#entry-writer')).toBe('carol');
    await other.close();
  });

  it('revokes a device after confirming; its paper key is then refused', async () => {
    await page.click('.nav[data-view="account"]');
    await clickDone(page, '#refresh', 'refreshing');
    const paperName = carolPhrase.split(' ').slice(0, 2).join(' ');
    expect(await page.isVisible(`[data-revoke="${paperName}"]`)).toBe(true);
    await page.click(`[data-revoke="${paperName}"]`);
    await page.click('#confirm-dialog button[value=cancel]');
    expect(await page.textContent(`tr[data-device="${paperName}"] td:nth-child(3)`)).toBe('active');
    await page.click(`[data-revoke="${paperName}"]`);
    await page.click('#confirm-ok');
    await done(page, 'revoking');
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.textContent(`tr[data-device="${paperName}"] td:nth-child(3)`)).toBe(
      'revoked',
    );
    const other = await browser.newContext();
    const p2 = await other.newPage();
    await openApp(p2, url, consoleLines);
    await signIn(p2, 'carol', carolPhrase);
    expect(await errorCode(p2)).toBe('CLIENT_DEVICE_REVOKED');
    await other.close();
    // A new paper key, shown once with the same check.
    await clickDone(page, '#add-paperkey', 'making a paper key');
    await page.waitForSelector('#paperkey:not([hidden])');
    const second = (await page.textContent('#paperkey-words'))!;
    expect(second.split(' ')).toHaveLength(13);
    await confirmPaperKey(page, second, false);
    await page.waitForSelector('#workspace:not([hidden])');
    expect(await page.textContent('#paperkey-words')).toBe('');
    await shot(page, 'account-light');
  });

  it('creates a team and a subteam; adds, re-roles and removes a member, as the CLI sees', async () => {
    await clickDone(page, '.nav[data-view="teams"]', 'loading the team');
    await page.fill('#team-create-name', 'crew');
    await clickDone(page, '#team-create-form button[type=submit]', 'creating the team');
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.textContent('#members-caption')).toBe('Members of crew');
    await page.fill('#team-create-name', 'crew.ops');
    await clickDone(page, '#team-create-form button[type=submit]', 'creating the team');
    expect(await page.textContent('#members-caption')).toBe('Members of crew.ops');
    // The sidebar marks where you are: this view, not the vault opened before.
    expect(await page.getAttribute('.nav[data-view="teams"]', 'aria-current')).toBe('true');
    expect(await page.getAttribute('[data-team="carol,carol"]', 'aria-current')).toBe('false');
    // Both in the sidebar now.
    expect(await page.$$eval('#team-list button', (bs) => bs.map((b) => b.dataset.team))).toEqual([
      'carol,carol',
      'crew',
      'crew.ops',
    ]);
    // A malformed name is the client's coded error, as in `saltbox team create`.
    await page.fill('#team-create-name', 'Bad Name');
    await clickDone(page, '#team-create-form button[type=submit]', 'creating the team');
    expect(await errorCode(page)).toBe('CLIENT_INVALID_ARGUMENT');

    await page.selectOption('#team-pick', 'crew');
    await done(page, 'loading the team');
    await page.fill('#member-add-name', 'dave');
    await page.selectOption('#member-add-role', 'writer');
    await clickDone(page, '#member-add-form button[type=submit]', 'adding the member');
    expect(await page.isHidden('#error')).toBe(true);
    expect(await membersSeenByDave('crew')).toEqual({ carol: 'owner', dave: 'writer' });
    ok(await dave.run(['kv', 'put', '--team', 'crew', 'shared', 'wifi', 'from dave']));
    await page.fill('#member-add-name', 'nosuchuser');
    await clickDone(page, '#member-add-form button[type=submit]', 'adding the member');
    expect(await errorCode(page)).toBe('CLIENT_USER_NOT_FOUND');

    await page.selectOption('tr[data-member="dave"] select', 'reader');
    await done(page, 'changing the role');
    expect(await page.isHidden('#error')).toBe(true);
    expect(await membersSeenByDave('crew')).toEqual({ carol: 'owner', dave: 'reader' });
    await shot(page, 'teams-light');

    // The vault: carol reads what dave wrote.
    await openVault(page, 'crew');
    await openEntry(page, 'wifi');
    await page.click('#reveal');
    expect(await page.textContent('#entry-value')).toBe('from dave');
    expect(await page.textContent('#entry-writer')).toBe('dave');
    await page.click('#reveal');
    await newEntry(page, 'shared', 'door', 'code 4711');
    await shot(page, 'vault-light');

    await clickDone(page, '.nav[data-view="teams"]', 'loading the team');
    await page.selectOption('#team-pick', 'crew');
    await done(page, 'loading the team');
    await page.click('tr[data-member="dave"] button');
    await page.click('#confirm-ok');
    await done(page, 'removing the member');
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.$$eval('#members tbody tr', (rs) => rs.map((r) => r.dataset.member))).toEqual(
      ['carol'],
    );
    const r = await dave.run(['kv', 'get', '--team', 'crew', 'shared', 'door']);
    expect(r.code).not.toBe(0);
  });

  it('photographs each main screen in dark and at phone width; axe finds no serious violation', async () => {
    const axeSource = await readFile(
      createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
      'utf8',
    );
    const screens: [string, (p: Page) => Promise<void>][] = [
      ['vault', (p) => openVault(p, 'crew').then(() => openEntry(p, 'door'))],
      ['teams', (p) => clickDone(p, '.nav[data-view="teams"]', 'loading the team')],
      ['account', async (p) => p.click('.nav[data-view="account"]')],
      ['messages', async (p) => p.click('.nav[data-view="messages"]')],
    ];
    const violations: string[] = [];
    const audits: { screen: string; violations: unknown[] }[] = [];
    const audit = async (p: Page, name: string) => {
      // axe runs through the DevTools protocol (not a page script, so the CSP does not apply).
      await p.evaluate(axeSource);
      const found = await p.evaluate(async () => {
        const axe = (
          window as unknown as {
            axe: {
              run: (
                ctx: Document,
                o: object,
              ) => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }>;
            };
          }
        ).axe;
        const res = await axe.run(document, { resultTypes: ['violations'] });
        return res.violations.map((v) => ({ id: v.id, impact: v.impact, n: v.nodes.length }));
      });
      audits.push({ screen: name, violations: found });
      for (const v of found)
        if (v.impact === 'serious' || v.impact === 'critical')
          violations.push(`${name}: ${v.id} (${v.impact}, ${v.n})`);
    };
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [name, go] of screens) {
        await go(page);
        if (scheme === 'dark') await shot(page, `${name}-dark`);
        await audit(page, `${name}-${scheme}`);
      }
    }
    // Phone width: one column, the sidebar behind the menu button.
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.isVisible('#menu')).toBe(true);
    expect(await page.isHidden('#sidebar')).toBe(true);
    await page.click('#menu');
    expect(await page.isVisible('#sidebar')).toBe(true);
    expect(await page.getAttribute('#menu', 'aria-expanded')).toBe('true');
    await shot(page, 'menu-phone');
    await screens[0]![1](page);
    // Choosing a vault folds the menu again.
    expect(await page.isHidden('#sidebar')).toBe(true);
    await shot(page, 'vault-phone');
    await audit(page, 'vault-phone');
    await page.click('#menu');
    await screens[2]![1](page);
    expect(await page.isHidden('#sidebar')).toBe(true);
    await shot(page, 'account-phone');
    await audit(page, 'account-phone');
    writeFileSync(join(ARTIFACTS, 'axe.json'), `${JSON.stringify(audits, null, 2)}\n`);
    expect(audits.length).toBe(10);
    expect(violations).toEqual([]);
  });

  it('works from the keyboard alone: tab to an entry, reveal it, copy it', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await openVault(page, 'crew');
    await page.focus('#entry-search');
    await page.keyboard.type('doo');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-entry'))).toBe(
      'door',
    );
    await page.keyboard.press('Enter');
    await done(page, 'opening');
    // The skip link (the first focusable element) moves focus to the main content.
    expect(
      await page.evaluate(() => document.querySelector('a[href], button:not([hidden])')?.className),
    ).toBe('skip');
    await page.focus('.skip');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await page.focus('#reveal');
    await page.keyboard.press('Enter');
    expect(await page.textContent('#entry-value')).toBe('code 4711');
  });

  it('renders interactions that do not call the server within 50 ms', async () => {
    // Click → laid out, in the page: reveal/hide, edit form, cancel, views without loading.
    const clicks = [
      '#reveal',
      '#reveal',
      '#edit',
      '#cancel-edit',
      '.nav[data-view="account"]',
      '.nav[data-view="messages"]',
      '#menu',
      '#menu',
    ];
    const ms = await page.evaluate((selectors) => {
      const out: number[] = [];
      for (const sel of selectors) {
        const t0 = performance.now();
        document.querySelector<HTMLElement>(sel)!.click();
        // Style and layout forced now: the time to the rendered result, not to the next frame.
        document.body.getBoundingClientRect();
        out.push(performance.now() - t0);
      }
      return out;
    }, clicks);
    expect(ms).toHaveLength(clicks.length);
    for (const m of ms) expect(m).toBeLessThan(50);
  });

  it('first load to an unlocked, rendered team view (warm cache) is timed; JS+WASM sizes', async () => {
    // The remembered browser: reload twice (the second is the warm-cache load) and unlock.
    const times: number[] = [];
    const marks: Record<string, number>[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      await page.reload();
      await page.waitForSelector('#unlock:not([hidden])');
      await page.fill('#unlock-passphrase', PASS);
      await page.click('#unlock-form button[type=submit]');
      await page.waitForSelector('#workspace:not([hidden]) #entry-list [data-entry]');
      times.push(Date.now() - t0);
      // Where the time went, in ms since navigation (the page's own performance marks).
      marks.push(
        await page.evaluate(() =>
          Object.fromEntries(
            performance
              .getEntriesByType('mark')
              .filter((m) => m.name.startsWith('saltbox:'))
              .map((m) => [m.name.slice(8), Math.round(m.startTime)]),
          ),
        ),
      );
    }
    // Every script the page and the Worker load (libsodium's WebAssembly is inside a chunk).
    const sizes: Record<string, { bytes: number; gzip: number }> = {};
    const scripts = (await readdir(join(WEB_ROOT, 'dist'))).filter((f) => f.endsWith('.js'));
    expect(scripts).toContain('app.js');
    for (const f of scripts) {
      const body = await readFile(join(WEB_ROOT, 'dist', f));
      sizes[f] = { bytes: body.length, gzip: gzipSync(body, { level: 9 }).length };
    }
    const total = Object.values(sizes).reduce((s, x) => s + x.gzip, 0);
    const report = { loadMs: times, marks, sizes, totalGzip: total };
    writeFileSync(join(ARTIFACTS, 'perf.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`web perf: ${JSON.stringify(report)}`);
    // A measurement, reported (perf.json): the target is 1.5 s on a quiet machine, while this
    // suite shares 2 cores with others; the bound only catches a load that went badly wrong.
    expect(Math.min(times[1]!, times[2]!)).toBeLessThan(10_000);
    // Shared chunks: the page and the Worker fetch the common code once (issue #18: ≤ 600 kB).
    expect(total).toBeLessThan(600 * 1024);
    await context.close();
  });

  it('logged no CSP violation, no uncaught error and no paper key words', () => {
    const text = consoleLines.join('\n');
    expect(text).not.toMatch(/Content Security Policy|pageerror/);
    expect(text).not.toContain(carolPhrase.split(' ').slice(3, 7).join(' '));
  });
});
