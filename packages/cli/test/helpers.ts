/**
 * Test helpers: build the CLI once (shared by every test file through a lock), spawn the real
 * built `saltbox`, and make temporary homes and keys.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const MAIN = join(ROOT, 'packages/cli/dist/main.js');
// Outside the repository, so a crashed run leaves nothing in the working tree.
const LOCK = join(
  tmpdir(),
  `saltbox-cli-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Builds the CLI (and what it references) with `tsc -b`, once at a time across the test files
 * that vitest runs in parallel: concurrent builds would write the same files. The build is
 * incremental, so after `npm test`'s own build this is a quick up-to-date check.
 */
export async function ensureBuilt(): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock older than two minutes belongs to a crashed run.
      const age = existsSync(LOCK) ? Date.now() - statSync(LOCK).mtimeMs : 0;
      if (age > 120_000) rmSync(LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for the cli build lock');
      await sleep(100);
    }
  }
  try {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-b', 'packages/cli'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    // Type errors elsewhere in the monorepo (work in progress) still emit JavaScript; only the
    // CLI's own errors or a missing entry point fail these tests. Typecheck is a separate step.
    const own = (r.stdout + r.stderr).split('\n').filter((l) => l.startsWith('packages/cli/'));
    if (own.length > 0 || !existsSync(MAIN)) {
      throw new Error(`cli build failed:\n${r.stdout}${r.stderr}`);
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as UTF-8. */
  out: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  input?: Uint8Array | string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Run in a new session, without a controlling terminal: a passphrase prompt then finds no
   * `/dev/tty` (as under CI) instead of asking whoever runs the tests.
   */
  detached?: boolean;
  /** Run as this user ID (tests running as root that need a user whom permissions bind). */
  uid?: number;
}

/** Runs `saltbox args…` with `input` on stdin. */
export function run(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, SALTBOX_DEBUG: '', ...options.env },
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: options.detached ?? false,
      ...(options.uid === undefined ? {} : { uid: options.uid }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // the CLI may exit before reading everything
    child.on('close', (code) => {
      const stdout = Buffer.concat(out);
      resolvePromise({
        code,
        stdout,
        out: stdout.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** A fresh temporary directory used as `$SALTBOX_HOME` and scratch space. */
/**
 * A fresh `SALTBOX_HOME` in the temp directory; `subdir` (made 0700 inside it) gives a home of a
 * chosen path, e.g. a long one.
 */
export function tempHome(subdir?: string): {
  dir: string;
  env: NodeJS.ProcessEnv;
  cleanup: () => void;
} {
  const top = mkdtempSync(join(tmpdir(), 'saltbox-cli-test-'));
  const dir = subdir === undefined ? top : join(top, subdir);
  if (subdir !== undefined) mkdirSync(dir, { recursive: true, mode: 0o700 });
  return {
    dir,
    env: { SALTBOX_HOME: dir },
    cleanup: () => {
      rmSync(top, { recursive: true, force: true });
    },
  };
}

export interface TestKey {
  path: string;
  encryption: string;
  signing: string;
}

/** Runs `saltbox keygen -o <dir>/<name>.key` and returns the file and its public keys. */
export async function makeKey(dir: string, name: string): Promise<TestKey> {
  const path = join(dir, `${name}.key`);
  const r = await run(['keygen', '-o', path]);
  if (r.code !== 0) throw new Error(`keygen failed: ${r.stderr}`);
  const [encryption, signing] = r.out.trim().split('\n');
  return { path, encryption: encryption!, signing: signing! };
}

/** Parses the single JSON object a `--json` command prints on stderr. */
export function stderrJson(r: RunResult): Record<string, unknown> {
  return JSON.parse(r.stderr.trim()) as Record<string, unknown>;
}

/** Deterministic pseudo-random bytes (fast; the tests need size, not secrecy). */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export const read = (path: string): Buffer => readFileSync(path);

/**
 * A `saltbox server` process on a free port (SQLite under `dataDir`), and how to stop it.
 * `listen` fixes the address, for a test that restarts the server where its clients expect it.
 */
export async function startServerProcess(
  dataDir: string,
  env: NodeJS.ProcessEnv,
  args: readonly string[] = [],
  listen = '127.0.0.1:0',
): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [MAIN, 'server', '--listen', listen, '--data', dataDir, ...args],
    {
      // Every test account signs up from 127.0.0.1: lift the per-address sign-up rate.
      env: { ...process.env, SALTBOX_SIGNUP_RATE: '100000', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // The JSON request log goes to stdout: drain it, or once the pipe's buffer is full the
  // server's pending log writes keep it from exiting on SIGTERM.
  child.stdout.resume();
  let stderr = '';
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`server did not start: ${stderr}`));
    }, 60_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m[1]!);
      }
    });
    child.on('exit', () => {
      reject(new Error(`server exited: ${stderr}`));
    });
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Accounts against a real server process, shared by the end-to-end suites (accounts, teams,
// the Vault bridge): one copy of the home, runner and result helpers.

/** The keystore passphrase of every account home (the keystore is created on signup). */
export const ACCOUNT_PASSPHRASE = 'correct horse battery staple';

/** A `$SALTBOX_HOME` for one account. */
export interface AccountHome {
  dir: string;
  env: NodeJS.ProcessEnv;
  cleanup: () => void;
}

/**
 * Account homes for one test file: each has its own `SALTBOX_HOME`, takes the keystore
 * passphrase from `SALTBOX_PASSPHRASE` (no terminal needed, as on CI) and ignores the caller's
 * `SALTBOX_SERVER`. `cleanup` removes every home made.
 */
export function accountHomes(): { newHome: () => AccountHome; cleanup: () => void } {
  const homes: AccountHome[] = [];
  return {
    newHome() {
      const h = tempHome();
      const home = {
        ...h,
        env: { ...h.env, SALTBOX_PASSPHRASE: ACCOUNT_PASSPHRASE, SALTBOX_SERVER: '' },
      };
      homes.push(home);
      return home;
    },
    cleanup() {
      for (const h of homes) h.cleanup();
    },
  };
}

/** Runs `saltbox args…` as the account of `home` (cwd = the home, no terminal). */
export function runAs(
  home: { dir: string; env: NodeJS.ProcessEnv },
  args: readonly string[],
  extra: NodeJS.ProcessEnv = {},
  input?: string | Uint8Array,
): Promise<RunResult> {
  return run(args, {
    env: { ...home.env, ...extra },
    cwd: home.dir,
    detached: true,
    ...(input === undefined ? {} : { input }),
  });
}

/** The result, or a thrown error quoting stderr when the command failed. */
export function ok(r: RunResult): RunResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
}

/** The JSON object a successful `--json` command printed on stdout. */
export function json(r: RunResult): Record<string, unknown> {
  return JSON.parse(ok(r).out) as Record<string, unknown>;
}

/** The error code of a failed `--json` command (its last stderr line). */
export function errorCode(r: RunResult): string {
  return (JSON.parse(r.stderr.trim().split('\n').pop()!) as { error: { code: string } }).error.code;
}

/** A `saltbox server` process on SQLite in a temporary directory that `stop` removes. */
export async function startAccountServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const data = tempHome();
  try {
    const server = await startServerProcess(join(data.dir, 'db'), data.env);
    return {
      url: server.url,
      stop: async () => {
        await server.stop();
        data.cleanup();
      },
    };
  } catch (e) {
    data.cleanup();
    throw e;
  }
}

/**
 * The hooks every account end-to-end file had a copy of: build, start an account server before
 * the file's tests (its URL goes to `onUrl`), stop it and remove the homes after them.
 */
export function useAccountServer(onUrl: (url: string) => void, cleanupHomes: () => void): void {
  let stop = (): Promise<void> => Promise.resolve();
  beforeAll(async () => {
    await ensureBuilt();
    const started = await startAccountServer();
    onUrl(started.url);
    stop = started.stop;
  }, 120_000);
  afterAll(async () => {
    await stop();
    cleanupHomes();
  });
}
