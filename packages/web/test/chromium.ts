/**
 * Real Chromium for the web app's tests: Debian's `/usr/bin/chromium` (installed by
 * `scripts/ensure-chromium.sh` when missing — `npx playwright install` cannot download a browser
 * on this machine), driven through `playwright-core`. If Chromium cannot be installed or
 * started, the tests fail: they are never skipped.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const WEB_ROOT = join(here, '..');
export const CHROMIUM = '/usr/bin/chromium';

/**
 * The flags this machine needs (env notes, machines/node.md): no sandbox as root, no GPU, and
 * no background networking, QUIC, component updates or sync — the closed network refuses
 * those connections by the dozen.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Installs Chromium when missing (throws, failing the suite, when that does not work). */
export function ensureChromium(): void {
  execFileSync('sh', [join(WEB_ROOT, 'scripts/ensure-chromium.sh')], { stdio: 'inherit' });
}

/** Launches headless Chromium (playwright makes a fresh, empty user data directory). */
export async function launchChromium(): Promise<Browser> {
  ensureChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Collects a page's console output and uncaught errors, for the tests to check. */
export function recordConsole(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (m: ConsoleMessage) => lines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  return lines;
}
