import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStorage } from '../src/storage/sqlite.js';
import { runStorageConformance } from './storage-conformance.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saltbox-sqlite-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

runStorageConformance('sqlite (file, WAL)', () => openSqliteStorage({ dataDir: tempDir() }));
runStorageConformance('sqlite (memory)', () => openSqliteStorage({ dataDir: ':memory:' }));

describe('sqlite specifics', () => {
  it('uses WAL and persists across reopen; a second handle sees the same nonces', async () => {
    const dir = tempDir();
    const a = await openSqliteStorage({ dataDir: dir });
    const b = await openSqliteStorage({ dataDir: dir });
    expect(await a.nonces.claimNonce('k', 'n-0123456789abcdef', 10)).toBe(true);
    // Two handles on one file stand for two server processes sharing the database.
    expect(await b.nonces.claimNonce('k', 'n-0123456789abcdef', 10)).toBe(false);
    await a.close();
    await b.close();
    const c = await openSqliteStorage({ dataDir: dir });
    expect(await c.nonces.claimNonce('k', 'n-0123456789abcdef', 10)).toBe(false);
    await c.close();
    const { default: Sqlite } = await import('better-sqlite3');
    const raw = new Sqlite(join(dir, 'saltbox.sqlite'), { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });
});
