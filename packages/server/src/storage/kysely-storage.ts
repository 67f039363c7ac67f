/**
 * The one `Storage` implementation, over Kysely, shared by the SQLite and PostgreSQL backends:
 * the writes are the common SQL subset (`on conflict`, `returning`), so both backends run the
 * same code and the conformance suites judge both; each backend adds its own parts
 * (`backend.ts`): the hot reads as prepared statements, the nonce writer, the change feed.
 * One file per store: `user-store.ts`, `keybox-store.ts`, `nonce-store.ts`, `team-store.ts`,
 * `invite-store.ts`, `kv-store.ts`, `log-store.ts`.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { Migrator } from 'kysely';
import type { Kysely } from 'kysely';
import type { BackendParts } from './backend.js';
import { StorageError } from './errors.js';
import { guardStorage } from './guard.js';
import { KyselyInviteStore } from './invite-store.js';
import { KyselyKeyBoxStore } from './keybox-store.js';
import { KyselyKvStore } from './kv-store.js';
import { KyselyLogStore } from './log-store.js';
import { KyselyNonceStore } from './nonce-store.js';
import { migrationProvider, PING } from './schema.js';
import type { Database } from './schema.js';
import { KyselyTeamStore } from './team-store.js';
import type { Storage } from './types.js';
import { KyselyUserStore } from './user-store.js';

export { isUniqueViolation } from './errors.js';

/**
 * A `Storage` over a Kysely instance and a backend's own parts.
 *
 * @param db - the Kysely instance (its dialect decides the backend).
 * @param parts - the backend's hot reads, nonce writer, log statements, change feed and clean-up
 *   (`backend.ts`; built by `sqlite.ts` and `postgres.ts`).
 * @param logSeed - the 32-byte seed of the signed log's root key (`node.ts` keeps it in the data
 *   directory); a random one when absent, for tests and throwaway databases.
 * @param logOptions - `publish: false` only for the benchmark's baseline (see
 *   `SqliteOptions.benchmarkWithoutLog`).
 */
export function createKyselyStorage(
  db: Kysely<Database>,
  parts: BackendParts,
  logSeed: Uint8Array | (() => Uint8Array) = randomBytes(32),
  logOptions: { publish: boolean } = { publish: true },
): Storage {
  const { dialect, reads, changes } = parts;
  const nonces = new KyselyNonceStore(db, parts.claimNonces);
  const log = new KyselyLogStore(db, dialect, logSeed, {
    enabled: logOptions.publish,
    ...(parts.logStatements ? { statements: parts.logStatements } : {}),
  });
  return guardStorage({
    dialect,
    users: new KyselyUserStore(db, log, reads),
    keyBoxes: new KyselyKeyBoxStore(db),
    nonces,
    teams: new KyselyTeamStore(db, log, reads),
    log,
    kv: new KyselyKvStore(db, dialect, changes, reads),
    invites: new KyselyInviteStore(db),
    changes,
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider });
      const { error } = await migrator.migrateToLatest();
      if (error !== undefined) throw error instanceof Error ? error : new Error('migration failed');
      // Chains from before the log enter it in one root on the first start with it.
      await log.backfill();
    },
    async ping() {
      try {
        await PING.execute(db);
      } catch (e) {
        throw new StorageError('STORAGE_UNAVAILABLE', 'storage is unavailable', { cause: e });
      }
    },
    async close() {
      await nonces.drain();
      await changes.close();
      await db.destroy();
      await parts.close();
    },
  });
}
