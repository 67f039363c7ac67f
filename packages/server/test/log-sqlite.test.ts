import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { createApp } from '../src/http/app.js';
import { LOG_KEY_FILE, loadOrCreateLogSeed } from '../src/log-key.js';
import { openSqliteStorage } from '../src/storage/sqlite.js';
import { newUser, signed } from './helpers.js';
import { logRoutesSuite } from './log-routes-suite.js';

logRoutesSuite('SQLite', () => openSqliteStorage({ dataDir: ':memory:' }));

const backend = await defaultBackend();

describe('the signed log on a SQLite file', () => {
  it('keeps one root key per data directory, 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saltbox-logkey-'));
    try {
      const a = loadOrCreateLogSeed(dir);
      const b = loadOrCreateLogSeed(dir);
      expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
      expect(statSync(join(dir, LOG_KEY_FILE)).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('puts chains from before the log into one root on the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saltbox-backfill-'));
    try {
      const seed = loadOrCreateLogSeed(dir);
      let storage = await openSqliteStorage({ dataDir: dir, logSeed: seed });
      const app = createApp({ storage, backend, logger: () => undefined });
      const uids: string[] = [];
      for (const name of ['ann', 'ben', 'cat']) {
        const { user, request } = newUser(backend, name);
        const res = await signed(backend, app, user.devices[0]!, '/api/v1/users', {
          body: request,
        });
        expect(res.status).toBe(201);
        uids.push(user.uid);
      }
      await storage.close();
      // A database as it was before the log: chains, and no log.
      const db = new BetterSqlite3(join(dir, 'saltbox.sqlite'));
      for (const t of ['log_changes', 'log_tree_nodes', 'log_map_nodes', 'log_roots'])
        db.prepare(`delete from ${t}`).run();
      db.close();
      storage = await openSqliteStorage({ dataDir: dir, logSeed: seed });
      const latest = await storage.log.latest();
      expect(latest?.seqno).toBe(1);
      const [set] = await storage.log.changes(1, 10);
      expect(set!.changes.map((c) => c.id).sort()).toEqual([...uids].sort());
      // Idempotent: another start publishes nothing.
      await storage.migrate();
      expect((await storage.log.latest())?.seqno).toBe(1);
      await storage.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
