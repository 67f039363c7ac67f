/**
 * `npm run install:global [-- NPM_FLAGS…]`: installs this checkout's `saltbox`,
 * `saltbox-keybase` and `age-plugin-saltbox` on PATH the way the published packages would be —
 * `npm pack` of every publishable workspace, then `npm install -g` of the tarballs — so the
 * installed commands need nothing from the repository. The npm script builds first.
 *
 * Flags after `--` go to `npm install -g`, e.g. `--prefix ~/.local` (bins in `~/.local/bin`)
 * or `--prefer-offline`. packages/cli/test/install.test.ts runs exactly this.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface Manifest {
  name: string;
  private?: boolean;
  workspaces?: string[];
}

const manifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** The workspaces that are published (all of them; a private one would be skipped). */
export function publishableWorkspaces(): string[] {
  return (manifest(root).workspaces ?? []).filter((w) => manifest(join(root, w)).private !== true);
}

/** Runs npm with `args` in the repository; throws with npm's exit status when it fails. */
function npm(args: string[]): void {
  // npm is `npm.cmd` on Windows, which only a shell runs.
  const r = spawnSync('npm', args, {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    shell: process.platform === 'win32',
  });
  if (r.status !== 0) {
    throw new Error(`npm ${args[0] ?? ''} failed (exit ${r.status ?? r.signal ?? 'unknown'})`);
  }
}

function main(): void {
  const passThrough = process.argv.slice(2);
  const out = mkdtempSync(join(tmpdir(), 'saltbox-pack-'));
  try {
    // Scripts are skipped: `prepack` would rebuild each package, and the build just ran.
    const workspaces = publishableWorkspaces().flatMap((w) => ['--workspace', w]);
    npm(['pack', '--silent', '--ignore-scripts', '--pack-destination', out, ...workspaces]);
    const tarballs = readdirSync(out)
      .filter((f) => f.endsWith('.tgz'))
      .map((f) => join(out, f));
    // better-sqlite3 compiles (or fetches) its addon in an install script; npm 11 asks for it
    // to be allowed by name. Its prebuilt download is tried first, then node-gyp.
    npm(['install', '--global', '--allow-scripts=better-sqlite3', ...passThrough, ...tarballs]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`install:global: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
