/**
 * Installing saltbox like a user (issue 13 item 2): `npm run install:global`'s script packs
 * every publishable workspace and `npm install -g`s the tarballs into a fresh prefix outside
 * the repository (from npm's cache: `--prefer-offline`; better-sqlite3's addon is built by its
 * install script, sodium-native's ships prebuilt). Then, from a temporary directory with only
 * that prefix, node and the system on PATH and a minimal environment, the installed commands
 * run a server (which serves the browser app at /), sign up, put and get a value (also through `saltbox-keybase`), encrypt and
 * decrypt, and Debian's real `age` encrypts and decrypts through `age-plugin-saltbox`.
 *
 * About 1.5–2 minutes, nearly all of it compiling better-sqlite3 (measured in the README).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from './helpers.js';

const INSTALL_SCRIPT = join(ROOT, 'packages/cli/scripts/install-global.ts');
const TSX = join(ROOT, 'node_modules/tsx/dist/loader.mjs');
const PASSPHRASE = 'installed and working';

let work = '';
let prefix = '';
let cwd = '';
let env: NodeJS.ProcessEnv = {};
let server: ChildProcess | undefined;
let serverUrl = '';

interface ShellResult {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `script` in bash as a user would type it: in `cwd`, with `env`, no terminal. */
function sh(script: string, input = ''): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd,
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    // A command that does not read its standard input may exit before it is written.
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => {
      resolve({ code, out, err });
    });
    child.stdin.end(input);
  });
}

/** {@link sh}, failing with its standard error unless it exits 0. */
async function ok(script: string, input = ''): Promise<string> {
  const r = await sh(script, input);
  if (r.code !== 0) throw new Error(`${script}\nexit ${r.code}\n${r.err}`);
  return r.out;
}

/** Runs the npm-installed script (what `npm run install:global -- …` runs after the build). */
function installInto(dir: string): { seconds: number; output: string } {
  const started = Date.now();
  const output = execFileSync(
    process.execPath,
    [
      '--import',
      TSX,
      INSTALL_SCRIPT,
      '--prefix',
      dir,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return { seconds: (Date.now() - started) / 1000, output };
}

beforeAll(async () => {
  await ensureBuilt();
  // The web app's bundle goes into @saltbox/web's tarball (npm test's build makes it too).
  if (!existsSync(join(ROOT, 'packages/web/dist/index.html'))) {
    execFileSync(process.execPath, [join(ROOT, 'packages/web/scripts/build.mjs')], {
      stdio: 'inherit',
    });
  }
  execFileSync('sh', [join(ROOT, 'packages/provider/scripts/ensure-age.sh')], {
    stdio: 'inherit',
  });
  work = mkdtempSync(join(tmpdir(), 'saltbox-install-'));
  prefix = join(work, 'prefix');
  cwd = join(work, 'cwd');
  mkdirSync(cwd);
  const { seconds } = installInto(prefix);
  process.stderr.write(`install.test: pack + npm install -g took ${seconds.toFixed(1)} s\n`);
  // Nothing from the test runner's environment (NODE_OPTIONS, loaders, the repository's
  // node_modules/.bin): the installed prefix, node, and the system's directories.
  env = {
    PATH: [
      join(prefix, 'bin'),
      dirname(process.execPath),
      '/usr/local/bin',
      '/usr/bin',
      '/bin',
    ].join(':'),
    HOME: join(work, 'home'),
    SALTBOX_HOME: join(work, 'alice'),
    SALTBOX_PASSPHRASE: PASSPHRASE,
    LANG: 'C.UTF-8',
  };
}, 600_000);

afterAll(async () => {
  if (work === '') return;
  await sh('saltbox agent stop || true');
  if (server?.exitCode === null) {
    const running = server;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGTERM');
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
});

describe('npm pack + npm install -g into a fresh prefix', () => {
  it('puts saltbox, saltbox-keybase and age-plugin-saltbox on PATH, copied out of the repository', async () => {
    for (const bin of ['saltbox', 'saltbox-keybase', 'age-plugin-saltbox']) {
      expect((await ok(`command -v ${bin}`)).trim()).toBe(join(prefix, 'bin', bin));
      // The link resolves into the prefix, not into the repository's packages/.
      expect(realpathSync(join(prefix, 'bin', bin)).startsWith(realpathSync(prefix))).toBe(true);
    }
    const installed = join(prefix, 'lib/node_modules/@saltbox');
    for (const pkg of ['cli', 'server', 'saltpack']) {
      expect(realpathSync(join(installed, pkg)).startsWith(realpathSync(prefix))).toBe(true);
    }
    // The package ships what it runs and what its exports name, not build leftovers.
    expect(existsSync(join(installed, 'cli/src/cli.ts'))).toBe(true);
    expect(existsSync(join(installed, 'cli/dist/.tsbuildinfo'))).toBe(false);
    expect(await ok('saltbox --version')).toBe('saltbox 0.1.0\n');
    expect(await ok('saltbox-keybase --version')).toContain('saltbox-keybase 0.1.0');
    // Shell completion from the installed command table.
    expect(await ok('source <(saltbox completion bash) && complete -p saltbox')).toBe(
      'complete -F _saltbox saltbox\n',
    );
    // Run by hand, the plugin says it is age's to run.
    const plugin = await sh('age-plugin-saltbox');
    expect(plugin.code).toBe(2);
    expect(plugin.err).toContain('age-plugin-saltbox is run by age');
  });

  it('runs a server, signs up, and puts and gets a value (saltbox-keybase reads it too)', async () => {
    server = spawn('bash', ['-c', 'exec saltbox server --listen 127.0.0.1:0 --data ./server'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.resume();
    serverUrl = await new Promise<string>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => {
        reject(new Error(`server did not start: ${err}`));
      }, 60_000);
      server!.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      server!.once('exit', () => {
        reject(new Error(`server exited: ${err}`));
      });
    });
    // The SQLite database is where --data said, relative to the user's directory.
    expect(existsSync(join(cwd, 'server'))).toBe(true);
    // The browser app came with the server (@saltbox/web, a dependency of @saltbox/server).
    const page = await fetch(`${serverUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>saltbox</title>');

    const paper = await ok(`saltbox signup alice --server ${serverUrl} --device-name installed`);
    expect(paper.trim().split(/\s+/)).toHaveLength(13);
    expect((await ok('saltbox whoami')).trim()).toContain('alice');

    await ok("saltbox kv put app db-password 'correct horse'");
    expect(await ok('saltbox kv get app db-password')).toBe('correct horse');

    const api = await ok(
      `saltbox-keybase kvstore api -m '{"method":"get","params":{"options":{"namespace":"app","entryKey":"db-password"}}}'`,
    );
    expect(JSON.parse(api)).toMatchObject({ result: { entryValue: 'correct horse' } });
  });

  it('encrypts to the user and decrypts with the keystore', async () => {
    const out = await ok(
      'saltbox encrypt -r alice -a -o note.asc && head -c 32 note.asc && echo && saltbox decrypt -i note.asc',
      'meet at the usual place\n',
    );
    const [armor, ...rest] = out.split('\n');
    expect(armor).toMatch(/^BEGIN SALTPACK ENCRYPTED MESSAGE/);
    expect(rest.join('\n')).toBe('meet at the usual place\n');
    expect(readFileSync(join(cwd, 'note.asc'), 'utf8')).not.toContain('usual place');
  });

  it("runs age's plugin from PATH: age -r age1saltbox1… then age -d -i the identity", async () => {
    await ok('saltbox agent start && saltbox unlock');
    const out = await ok(
      [
        'R=$(saltbox age recipient alice)',
        'saltbox age identity > alice.identity',
        'age -r "$R" -o secret.age',
        'age -d -i alice.identity secret.age',
      ].join(' && '),
      'the age payload\n',
    );
    expect(out).toBe('the age payload\n');
    expect(readFileSync(join(cwd, 'secret.age'), 'latin1')).toContain('-> saltbox');
    await ok('saltbox agent stop');
  });
});
