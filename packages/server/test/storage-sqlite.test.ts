import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StorageError } from '../src/storage/errors.js';
import { openSqliteStorage, SQLITE_FILE } from '../src/storage/sqlite.js';
import { runStorageConformance } from './storage-conformance.js';

const readFileBytes = (f: string): Buffer => readFileSync(f);

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

describe('sqlite files (#12.13)', () => {
  const mode = (f: string) => statSync(f).mode & 0o777;

  it('creates the database, -wal and -shm 0600 in a directory that already existed', async () => {
    const dir = join(tempDir(), 'existing');
    mkdirSync(dir, { mode: 0o755 });
    const umask = process.umask(0o022);
    try {
      const s = await openSqliteStorage({ dataDir: dir });
      expect(await s.nonces.claimNonce('k', 'n-0123456789abcdef', 10)).toBe(true);
      const file = join(dir, SQLITE_FILE);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) {
        expect(existsSync(f), f).toBe(true);
        expect(mode(f), f).toBe(0o600);
      }
      await s.close();
    } finally {
      process.umask(umask);
    }
  });

  it('narrows an existing world-readable database and its companions to 0600 on open', async () => {
    const dir = tempDir();
    const file = join(dir, SQLITE_FILE);
    const a = await openSqliteStorage({ dataDir: dir });
    const b = await openSqliteStorage({ dataDir: dir });
    await a.nonces.claimNonce('k', 'n-0123456789abcdef', 10);
    await a.close();
    // b keeps -wal and -shm in place while the files are widened, as an older server left them.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) chmodSync(f, 0o644);
    const c = await openSqliteStorage({ dataDir: dir });
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f), f).toBe(0o600);
    await b.close();
    await c.close();
  });
});

describe('sqlite start-up errors name the file (#12.12)', () => {
  const failure = async (dataDir: string): Promise<StorageError> => {
    const e: unknown = await openSqliteStorage({ dataDir }).then(
      () => new Error('opened'),
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(StorageError);
    return e as StorageError;
  };

  it('refuses a file that is not a database', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, SQLITE_FILE), 'these are my notes, not a database\n'.repeat(200));
    const e = await failure(dir);
    expect(e.code).toBe('STORAGE_NOT_A_DATABASE');
    expect(e.message).toBe(`${join(dir, SQLITE_FILE)} is not a sqlite database`);
  });

  it('refuses a damaged database', async () => {
    const dir = tempDir();
    const s = await openSqliteStorage({ dataDir: dir });
    await s.close();
    const file = join(dir, SQLITE_FILE);
    const { default: Sqlite } = await import('better-sqlite3');
    const raw = new Sqlite(file);
    raw.pragma('journal_mode = DELETE');
    raw.close();
    // Keep the header, scribble over the schema page's cells.
    const bytes = readFileBytes(file);
    bytes.fill(0x5a, 100, 4096);
    writeFileSync(file, bytes);
    const e = await failure(dir);
    expect(e.code).toBe('STORAGE_CORRUPT');
    expect(e.message).toBe(`${file} is a damaged sqlite database`);
  });

  it('refuses an existing empty file instead of starting a new database in it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, SQLITE_FILE), '');
    const e = await failure(dir);
    expect(e.code).toBe('STORAGE_NOT_A_DATABASE');
    expect(e.message).toBe(`${join(dir, SQLITE_FILE)} is an empty file, not a saltbox database`);
    expect(statSync(join(dir, SQLITE_FILE)).size).toBe(0);
  });

  it('refuses a data directory that is a file, and a database path that is a directory', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'plain'), 'x');
    const e = await failure(join(dir, 'plain'));
    expect(e.code).toBe('STORAGE_UNREADABLE');
    expect(e.message).toBe(`${join(dir, 'plain')} is not a directory`);
    mkdirSync(join(dir, 'd', SQLITE_FILE), { recursive: true });
    const f = await failure(join(dir, 'd'));
    expect(f.code).toBe('STORAGE_UNREADABLE');
    expect(f.message).toBe(`${join(dir, 'd', SQLITE_FILE)} is not a regular file`);
  });
});
