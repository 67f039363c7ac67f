/**
 * The embedded default backend: SQLite through better-sqlite3, in WAL mode.
 *
 * @packageDocumentation
 */
import { accessSync, chmodSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { SqliteDatabase } from 'kysely';
import { driverCode, isOutOfSpace, StorageError } from './errors.js';
import { sqliteLogStatements } from './log-sqlite.js';
import { createKyselyStorage } from './kysely-storage.js';
import type { ClaimNonces, NonceClaim } from './backend.js';
import { kyselyReads } from './kysely-reads.js';
import { LocalChangeFeed } from './notify.js';
import { openSqliteReads } from './sqlite-reads.js';
import type { Database } from './schema.js';
import type { Storage } from './types.js';

/** The database file name inside the data directory. */
export const SQLITE_FILE = 'saltbox.sqlite';

/**
 * Kysely's SQLite driver prepares every query anew, and preparing was the largest single cost of
 * an authenticated request in a profile (about a tenth of its CPU). better-sqlite3 statements
 * are reusable, and Kysely runs one query at a time on the connection, so a bounded cache of
 * statements by SQL text is safe.
 */
function withStatementCache(db: BetterSqlite3.Database, max = 512): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare: (sql: string) => {
      let stmt = cache.get(sql);
      if (stmt === undefined) {
        stmt = db.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}

/**
 * Nonce batches as one better-sqlite3 transaction of prepared inserts (about 4 µs a row, where
 * a Kysely-built statement cost more than the whole batch), run while holding Kysely's
 * connection lock, so it never lands inside one of Kysely's open transactions.
 */
function sqliteClaimNonces(db: Kysely<Database>, sqlite: BetterSqlite3.Database): ClaimNonces {
  let tx: ((claims: readonly NonceClaim[]) => boolean[]) | undefined;
  const prepare = () => {
    const insert = sqlite.prepare<[string, string, number]>(
      'insert into request_nonces (kid, nonce, expires_at) values (?, ?, ?) on conflict do nothing',
    );
    return sqlite.transaction((claims: readonly NonceClaim[]) =>
      claims.map((c) => insert.run(c.kid, c.nonce, c.expiresAt).changes === 1),
    );
  };
  return (claims) => db.connection().execute(() => Promise.resolve((tx ??= prepare())(claims)));
}

/** Options of {@link openSqliteStorage}. */
export interface SqliteOptions {
  /** The data directory (created 0700 when missing), or `:memory:` for a private database. */
  dataDir: string;
  /** Run migrations on open (default true). */
  migrate?: boolean;
  /** The signed log's root key seed (32 bytes); random when absent. */
  logSeed?: Uint8Array | (() => Uint8Array);
  /**
   * BENCHMARK ONLY: appends publish no log root (no map, no signed root). `npm run bench:log`
   * sets it on a second storage to measure what publication costs; a server never does, since
   * the log is what clients check on every load.
   */
  benchmarkWithoutLog?: boolean;
  /**
   * The largest the database may grow, in bytes (SQLite's `max_page_count`); a write beyond it
   * fails like a full disk (`STORAGE_FULL`). Default: no limit but the disk's.
   */
  maxSizeBytes?: number;
}

/** The database and its WAL companions: all hold user data, all are the server's alone. */
const SQLITE_FILES = ['', '-wal', '-shm'] as const;

/** Plain words for a file-system error code. */
function fsReason(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return code === undefined ? 'cannot be opened' : code.toLowerCase();
  }
}

/**
 * Checks the data directory and the database file before SQLite opens them, so a wrong path
 * names the file and what is wrong with it instead of SQLite's "unable to open database file"
 * (issue #12.12).
 *
 * @returns whether the database file already existed.
 * @throws StorageError `STORAGE_UNREADABLE` (the directory or file cannot be read and written,
 *   or the path is not a file); `STORAGE_NOT_A_DATABASE` for an existing empty file.
 */
function checkDataDir(dir: string, file: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory())
      throw new StorageError('STORAGE_UNREADABLE', `${dir} is not a directory`, { file: dir });
    // WAL mode creates -wal and -shm beside the database: the directory must be writable.
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (e) {
    if (e instanceof StorageError) throw e;
    const code = driverCode(e);
    if (code === 'EEXIST')
      throw new StorageError('STORAGE_UNREADABLE', `${dir} is not a directory`, { file: dir });
    throw new StorageError(
      'STORAGE_UNREADABLE',
      `cannot use the data directory ${dir}: ${fsReason(code)}`,
      { cause: e, file: dir },
    );
  }
  if (!existsSync(file)) return false;
  try {
    const st = statSync(file);
    if (!st.isFile())
      throw new StorageError('STORAGE_UNREADABLE', `${file} is not a regular file`, { file });
    for (const suffix of SQLITE_FILES)
      if (existsSync(file + suffix)) accessSync(file + suffix, constants.R_OK | constants.W_OK);
    // An empty file is not a database someone made, but SQLite would silently start a new one
    // in it: a mistyped path or a truncated copy would then look like an empty server.
    if (st.size === 0)
      throw new StorageError(
        'STORAGE_NOT_A_DATABASE',
        `${file} is an empty file, not a saltbox database`,
        { file },
      );
  } catch (e) {
    if (e instanceof StorageError) throw e;
    throw new StorageError(
      'STORAGE_UNREADABLE',
      `cannot open ${file}: ${fsReason(driverCode(e))}`,
      {
        cause: e,
        file,
      },
    );
  }
  return true;
}

/** A SQLite error met while opening or migrating `file`, as a {@link StorageError}. */
function openFailure(e: unknown, file: string): unknown {
  if (e instanceof StorageError) return e;
  const code = driverCode(e) ?? '';
  if (code === 'SQLITE_NOTADB')
    return new StorageError('STORAGE_NOT_A_DATABASE', `${file} is not a sqlite database`, {
      cause: e,
      file,
    });
  if (code.startsWith('SQLITE_CORRUPT'))
    return new StorageError('STORAGE_CORRUPT', `${file} is a damaged sqlite database`, {
      cause: e,
      file,
    });
  if (isOutOfSpace(e))
    return new StorageError('STORAGE_FULL', `no space left to open ${file}`, { cause: e, file });
  if (
    code === 'SQLITE_CANTOPEN' ||
    code.startsWith('SQLITE_READONLY') ||
    code === 'SQLITE_PERM' ||
    code.startsWith('SQLITE_IOERR')
  )
    return new StorageError('STORAGE_UNREADABLE', `cannot read and write ${file} (${code})`, {
      cause: e,
      file,
    });
  return e;
}

/**
 * Opens (creating when missing) the SQLite database under `dataDir` and migrates it.
 *
 * WAL lets readers run while one writer commits, and lets several server processes share the
 * file; `synchronous=NORMAL` is durable against a killed process in WAL mode (only a power cut
 * can lose the last commits); `busy_timeout` makes a second process wait for the write lock
 * instead of failing.
 *
 * The database, its `-wal` and its `-shm` are 0600 whatever the directory or the umask: created
 * under a 077 umask, and an existing one is narrowed on open (issue #12.13).
 *
 * @throws StorageError `STORAGE_UNREADABLE`, `STORAGE_NOT_A_DATABASE` (also for an existing
 *   empty file), `STORAGE_CORRUPT`, `STORAGE_FULL`, each naming the file.
 */
export async function openSqliteStorage(options: SqliteOptions): Promise<Storage> {
  if (options.dataDir === ':memory:') return openSqlite(':memory:', options);
  const file = join(options.dataDir, SQLITE_FILE);
  checkDataDir(options.dataDir, file);
  try {
    return await openSqlite(file, options);
  } catch (e) {
    throw openFailure(e, file);
  }
}

/** Opens `file` with a 077 umask, so that SQLite creates it (and its -wal, -shm) 0600. */
function openPrivate(file: string): BetterSqlite3.Database {
  if (file === ':memory:') return new BetterSqlite3(file);
  // The umask is process-wide, but nothing else runs while this synchronous block does.
  const umask = process.umask(0o077);
  try {
    const sqlite = new BetterSqlite3(file);
    try {
      // Switching to WAL writes the header and creates -wal and -shm, which SQLite gives the
      // database file's own mode.
      for (const suffix of SQLITE_FILES)
        if (existsSync(file + suffix)) chmodSync(file + suffix, 0o600);
      sqlite.pragma('journal_mode = WAL');
    } catch (e) {
      sqlite.close();
      throw e;
    }
    return sqlite;
  } finally {
    process.umask(umask);
  }
}

async function openSqlite(file: string, options: SqliteOptions): Promise<Storage> {
  const sqlite = openPrivate(file);
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  if (options.maxSizeBytes !== undefined) {
    const pageSize = Number(sqlite.pragma('page_size', { simple: true }));
    sqlite.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxSizeBytes / pageSize))}`);
  }
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite) }),
  });
  // A file database gets the prepared-statement read path on its own connection
  // (sqlite-reads.ts); a private in-memory database cannot be opened twice, so it reads through
  // Kysely.
  const reads = file === ':memory:' ? undefined : openSqliteReads(file);
  const storage = createKyselyStorage(
    db,
    {
      dialect: 'sqlite',
      reads: reads ?? kyselyReads(db),
      claimNonces: sqliteClaimNonces(db, sqlite),
      logStatements: sqliteLogStatements(sqlite),
      // One process owns the file: its own writes are all the writes.
      changes: new LocalChangeFeed(),
      close: () => {
        reads?.close();
        return Promise.resolve();
      },
    },
    options.logSeed,
    { publish: options.benchmarkWithoutLog !== true },
  );
  if (options.migrate !== false) {
    try {
      await storage.migrate();
    } catch (e) {
      await storage.close();
      throw e;
    }
  }
  return storage;
}
