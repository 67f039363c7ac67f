/**
 * Several real `saltbox server` processes on one PostgreSQL database (issue #17.5): each is the
 * CLI's server command (`packages/cli/src/main.ts server`, run from source) on its own port,
 * all with the same `--database-url` and the same `--data` directory, which holds the signed
 * log's root key — so every server signs roots with one key, as in a real deployment.
 *
 * One embedded cluster per test file; {@link useServers} registers the hooks.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { loadOrCreateLogSeed } from '../src/log-key.js';
import { openPostgresStorage } from '../src/storage/postgres.js';
import type { Storage } from '../src/storage/types.js';
import { startTestPostgres } from './pg.js';
import type { TestPostgres } from './pg.js';

const CLI = fileURLToPath(new URL('../../cli/src/main.ts', import.meta.url));

/** One running server process. */
export interface ServerProcess {
  url: string;
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** The last few KiB of its standard error (for failure messages). */
  stderr(): string;
}

/**
 * Starts `saltbox server` on `databaseUrl` with `dataDir`, on a free port, and resolves once it
 * listens. Standard output (JSON logs) is read and dropped, or a full pipe would stall it.
 */
export function startServerProcess(databaseUrl: string, dataDir: string): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      CLI,
      'server',
      '--listen',
      '127.0.0.1:0',
      '--database-url',
      databaseUrl,
      '--data',
      dataDir,
      '--signup-rate',
      '100000',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SALTBOX_HOME: dataDir } },
  );
  let out = '';
  let err = '';
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  child.stderr.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8192);
  });
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      // `--json` prints {"url":…,"storage":…,"logKey":…} once listening; log lines follow.
      const m = /\{"url":"(http:\/\/[^"]+)","storage":"postgresql"[,}]/.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve({ url: m[1]!, child, exited, stderr: () => err });
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code, signal) => {
      reject(new Error(`server exited (${String(code)}/${String(signal)}): ${err.slice(-2000)}`));
    });
  });
}

/** What {@link useServers} gives the tests. */
export interface Servers {
  readonly list: ServerProcess[];
  readonly databaseUrl: string;
  readonly dataDir: string;
  /** A storage handle on the servers' database, signing with their log key. */
  openStorage(): Promise<Storage>;
  /** Starts one more server on the same database (e.g. after one was killed). */
  add(): Promise<ServerProcess>;
}

/**
 * Registers hooks that start an embedded cluster, a fresh database and `n` server processes
 * before the file's tests, and stop them all after.
 */
export function useServers(n: number): Servers {
  let cluster: TestPostgres | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'saltbox-multi-'));
  const state = { list: [] as ServerProcess[], databaseUrl: '' };
  beforeAll(async () => {
    cluster = await startTestPostgres();
    state.databaseUrl = await cluster.freshDatabase();
    // Started together: they race on the migration lock and on creating the key file.
    state.list.push(
      ...(await Promise.all(
        Array.from({ length: n }, () => startServerProcess(state.databaseUrl, dataDir)),
      )),
    );
  }, 180_000);
  afterAll(async () => {
    for (const s of state.list) if (s.child.exitCode === null) s.child.kill('SIGTERM');
    await Promise.all(state.list.map((s) => s.exited));
    await cluster?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);
  return {
    get list() {
      return state.list;
    },
    get databaseUrl() {
      return state.databaseUrl;
    },
    dataDir,
    openStorage: () =>
      openPostgresStorage({
        databaseUrl: state.databaseUrl,
        poolSize: 2,
        logSeed: loadOrCreateLogSeed(dataDir),
      }),
    async add() {
      const s = await startServerProcess(state.databaseUrl, dataDir);
      state.list.push(s);
      return s;
    },
  };
}
