/**
 * The embedded default backend: SQLite through better-sqlite3, in WAL mode.
 *
 * @packageDocumentation
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { SqliteDatabase } from 'kysely';
import { sqliteLogStatements } from './log-sqlite.js';
import { createKyselyStorage } from './kysely-storage.js';
import type { ClaimNonces, NonceClaim } from './kysely-storage.js';
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
  logSeed?: Uint8Array;
  /**
   * BENCHMARK ONLY: appends publish no log root (no map, no signed root). `npm run bench:log`
   * sets it on a second storage to measure what publication costs; a server never does, since
   * the log is what clients check on every load.
   */
  benchmarkWithoutLog?: boolean;
}

/**
 * Opens (creating when missing) the SQLite database under `dataDir` and migrates it.
 *
 * WAL lets readers run while one writer commits, and lets several server processes share the
 * file; `synchronous=NORMAL` is durable against a killed process in WAL mode (only a power cut
 * can lose the last commits); `busy_timeout` makes a second process wait for the write lock
 * instead of failing.
 */
export async function openSqliteStorage(options: SqliteOptions): Promise<Storage> {
  let file = ':memory:';
  if (options.dataDir !== ':memory:') {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    file = join(options.dataDir, SQLITE_FILE);
  }
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite) }),
  });
  // A file database gets the prepared-statement read path on its own connection
  // (sqlite-reads.ts); a private in-memory database cannot be opened twice, so it reads through
  // Kysely.
  const reads = file === ':memory:' ? undefined : openSqliteReads(file);
  const storage = createKyselyStorage(
    db,
    'sqlite',
    () => {
      reads?.close();
      return Promise.resolve();
    },
    {
      ...(reads ? { reads } : {}),
      claimNonces: sqliteClaimNonces(db, sqlite),
      logStatements: sqliteLogStatements(sqlite),
    },
    options.logSeed,
    { publish: options.benchmarkWithoutLog !== true },
  );
  if (options.migrate !== false) await storage.migrate();
  return storage;
}
