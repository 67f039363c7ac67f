/**
 * The PostgreSQL backend (`DATABASE_URL`), through node-postgres and Kysely. Several stateless
 * server processes can share one database: nonces, chains and projections live only here.
 *
 * @packageDocumentation
 */
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { createKyselyStorage } from './kysely-storage.js';
import { openPostgresChangeFeed } from './notify-postgres.js';
import { postgresReads } from './postgres-reads.js';
import type { Database } from './schema.js';
import type { Storage } from './types.js';

/** Options of {@link openPostgresStorage}. */
export interface PostgresOptions {
  /** A `postgres://` URL. */
  databaseUrl: string;
  /**
   * Pool size (default 10). Each server process holds this many connections plus one listening
   * connection; size PostgreSQL's `max_connections` for every process (README, Operations).
   */
  poolSize?: number;
  /** Run migrations on open (default true). */
  migrate?: boolean;
  /** The signed log's root key seed (32 bytes), the same for every process; random when absent. */
  logSeed?: Uint8Array | (() => Uint8Array);
  /**
   * BENCHMARK ONLY: appends publish no log root (no map, no signed root). `npm run bench:log`
   * sets it on a second storage to measure what publication costs; a server never does, since
   * the log is what clients check on every load.
   */
  benchmarkWithoutLog?: boolean;
}

/**
 * Connects to PostgreSQL and migrates the schema (Kysely's migrator takes a lock, so several
 * processes starting together migrate once).
 */
export async function openPostgresStorage(options: PostgresOptions): Promise<Storage> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
  // An idle client's error (e.g. the server restarting) must not crash the process; the next
  // query reports it.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // Listening before the server reports ready: it then hears every other server's KV writes.
  const changes = await openPostgresChangeFeed({ databaseUrl: options.databaseUrl, pool });
  const { claimNonces, ...reads } = postgresReads(pool);
  const storage = createKyselyStorage(
    db,
    { dialect: 'postgres', reads, claimNonces, changes, close: () => Promise.resolve() },
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
