/**
 * Every workspace is ready to publish (issue 13 item 2), checked on the manifests so a new
 * package or a version bump cannot drift: the shared metadata, what the tarball ships, exports
 * that resolve to shipped files, internal dependencies pinned to the workspace version, and the
 * CLI's bins committed (npm links bins only when their targets exist at install time, and
 * `dist/` is built later, by the root `prepare` script).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishableWorkspaces } from '../scripts/install-global.js';
import { ROOT } from './helpers.js';

interface Manifest {
  name: string;
  version: string;
  description?: string;
  private?: boolean;
  license?: string;
  engines?: Record<string, string>;
  repository?: { type: string; url: string; directory?: string };
  files?: string[];
  exports?: Record<string, Record<string, string> | string>;
  bin?: Record<string, string>;
  scripts?: Record<string, string>;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const read = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Manifest;
const root = read('.');
const workspaces = (root.workspaces ?? []).map((dir) => ({ dir, pkg: read(dir) }));
const versions = new Map(workspaces.map((w) => [w.pkg.name, w.pkg.version]));

describe('package manifests', () => {
  it('every workspace is published, and install:global packs every one', () => {
    expect(workspaces.filter((w) => w.pkg.private === true)).toEqual([]);
    expect(publishableWorkspaces()).toEqual(workspaces.map((w) => w.dir));
  });

  for (const { dir, pkg } of workspaces) {
    it(`${pkg.name}: description, licence, engines, repository`, () => {
      expect(pkg.description?.length ?? 0).toBeGreaterThan(10);
      expect(pkg.license).toBe(root.license);
      expect(pkg.engines).toEqual(root.engines);
      expect(pkg.repository).toEqual({ ...root.repository, directory: dir });
    });
  }

  it('the web app ships its bundle (no source maps), is built on pack, and comes with the server', () => {
    const web = read('packages/web');
    expect(web.files).toEqual(['dist', '!dist/*.map']);
    expect(web.scripts?.prepack).toBe(web.scripts?.build);
    // Bundled: the workspace packages it uses are build-time only.
    expect(Object.keys(web.dependencies ?? {})).toEqual([]);
    // The server serves it at / when @saltbox/web resolves from it (static-files.ts).
    expect(read('packages/server').dependencies?.['@saltbox/web']).toBe(web.version);
  });

  for (const { pkg } of workspaces.filter((w) => w.dir !== 'packages/web')) {
    it(`${pkg.name}: files, exports, prepack`, () => {
      // dist is what runs; src is what the `source` export condition and the source maps name.
      expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'src', '!dist/.tsbuildinfo']));
      expect(pkg.scripts?.prepack).toBe('tsc -b');
      for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
        expect(typeof target, subpath).toBe('object');
        const conditions = target as Record<string, string>;
        expect(Object.keys(conditions), subpath).toEqual(['source', 'types', 'default']);
        expect(conditions.source).toMatch(/^\.\/src\/.*\.ts$/);
        expect(conditions.types).toMatch(/^\.\/dist\/.*\.d\.ts$/);
        expect(conditions.default).toMatch(/^\.\/dist\/.*\.js$/);
      }
    });
  }

  it('internal dependencies are pinned to the workspace version', () => {
    for (const { pkg } of workspaces) {
      for (const deps of [pkg.dependencies, pkg.devDependencies]) {
        for (const [name, range] of Object.entries(deps ?? {})) {
          if (!name.startsWith('@saltbox/')) continue;
          expect(`${pkg.name} → ${name}@${range}`).toBe(
            `${pkg.name} → ${name}@${versions.get(name) ?? '(no such workspace)'}`,
          );
        }
      }
    }
  });

  it("the CLI's bins are committed executables (linked by npm before dist/ is built)", () => {
    const cli = read('packages/cli');
    expect(Object.keys(cli.bin ?? {}).sort()).toEqual([
      'age-plugin-saltbox',
      'saltbox',
      'saltbox-keybase',
    ]);
    expect(cli.files).toContain('bin');
    const tracked = execFileSync('git', ['ls-files', '-s', 'packages/cli/bin'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    for (const target of Object.values(cli.bin ?? {})) {
      const path = join('packages/cli', target);
      expect(tracked).toMatch(new RegExp(`^100755 \\S+ 0\\s+${path.replace(/\./g, '\\.')}$`, 'm'));
    }
    // `npm install` builds (so `npx saltbox` works right after it); npm's banner-printing
    // `npm run saltbox` is gone in favour of `npx saltbox`.
    expect(root.scripts?.prepare).toBe('npm run build --silent');
    expect(root.scripts?.saltbox).toBeUndefined();
  });
});
