/**
 * A full disk (issue #12.11): every signed request writes its nonce, so storage without room
 * must answer 503 `UNAVAILABLE` with `Retry-After` (not 500 `INTERNAL`), `/healthz` must say
 * so while it lasts, and both recover once there is room. The errors are real: SQLite's own
 * `SQLITE_FULL` from a database capped by `max_page_count`, and PostgreSQL's SQLSTATE 53100
 * (disk_full) raised by the server itself on the nonce insert.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { createApp } from '../src/http/app.js';
import type { App } from '../src/http/app.js';
import type { LogEntry } from '../src/log.js';
import { openPostgresStorage } from '../src/storage/postgres.js';
import { openSqliteStorage } from '../src/storage/sqlite.js';
import type { Storage } from '../src/storage/types.js';
import { errorCode, newUser, signed } from './helpers.js';
import type { TestUser } from './helpers.js';
import { startTestPostgres } from './pg.js';
import type { TestPostgres } from './pg.js';

const backend = await defaultBackend();
const dir = mkdtempSync(join(tmpdir(), 'saltbox-full-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function signup(app: App, name: string): Promise<TestUser> {
  const { user, request } = newUser(backend, name);
  const res = await signed(backend, app, user.devices[0]!, '/api/v1/users', { body: request });
  expect(res.status, await res.clone().text()).toBe(201);
  return user;
}

async function expectFull(res: Response): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('60');
  expect(await res.json()).toEqual({
    error: { code: 'UNAVAILABLE', message: 'the server cannot write: its storage is full' },
  });
}

describe('sqlite: a database that cannot grow', () => {
  it('answers 503 with Retry-After, reports it on /healthz, and recovers', async () => {
    const data = join(dir, 'sqlite');
    const first = await openSqliteStorage({ dataDir: data });
    const logs: LogEntry[] = [];
    let app = createApp({ storage: first, backend, logger: () => undefined });
    const alice = await signup(app, 'alice');
    await first.close();
    // Reopened with a cap of its current size: the next pages it needs are not there.
    const { statSync } = await import('node:fs');
    const storage = await openSqliteStorage({
      dataDir: data,
      maxSizeBytes: statSync(join(data, 'saltbox.sqlite')).size,
    });
    app = createApp({ storage, backend, logger: (e) => logs.push(e) });
    let res: Response | undefined;
    for (let i = 0; i < 2000; i++) {
      res = await signed(backend, app, alice.devices[0]!, '/api/v1/me');
      if (res.status !== 200) break;
    }
    await expectFull(res!);
    // A read needs a nonce too.
    await expectFull(
      await signed(backend, app, alice.devices[0]!, '/api/v1/users/lookup?usernames=alice'),
    );
    await expectFull(await app.request('/healthz'));
    expect(logs.some((l) => l.msg === 'storage full' && l.code === 'SQLITE_FULL')).toBe(true);
    expect(logs.some((l) => l.msg === 'internal error')).toBe(false);
    // Room again (the expired nonces go): health and requests come back.
    await storage.nonces.pruneNonces(Number.MAX_SAFE_INTEGER);
    const health = await app.request('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await signed(backend, app, alice.devices[0]!, '/api/v1/me')).status).toBe(200);
    await storage.close();
  });
});

describe('postgresql: disk_full (53100)', () => {
  let cluster: TestPostgres | undefined;
  beforeAll(async () => {
    cluster = await startTestPostgres();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('answers 503 with Retry-After, reports it on /healthz, and recovers', async () => {
    const url = await cluster!.freshDatabase();
    const storage: Storage = await openPostgresStorage({ databaseUrl: url });
    const app = createApp({ storage, backend, logger: () => undefined });
    const bob = await signup(app, 'bob');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`
        create function saltbox_test_disk_full() returns trigger language plpgsql as $$
        begin raise exception 'could not extend file' using errcode = 'disk_full'; end $$;
        create trigger disk_full before insert on request_nonces
          for each row execute function saltbox_test_disk_full();`);
      await expectFull(await signed(backend, app, bob.devices[0]!, '/api/v1/me'));
      await expectFull(await app.request('/healthz'));
      await admin.query('drop trigger disk_full on request_nonces');
      expect((await app.request('/healthz')).status).toBe(200);
      expect((await signed(backend, app, bob.devices[0]!, '/api/v1/me')).status).toBe(200);
      expect(await errorCode(await app.request('/api/v1/me'))).toBe('UNAUTHENTICATED');
    } finally {
      await admin.end();
      await storage.close();
    }
  });
});
