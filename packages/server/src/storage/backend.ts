/**
 * What each backend brings beside the shared Kysely stores (issue #16.3): its hot read path,
 * its nonce batch writer, its log statements and its change feed. `sqlite.ts` and
 * `postgres.ts` each build one; `createKyselyStorage` takes it whole.
 *
 * Why hot reads are the backend's own: every authenticated request reads its key by KID, and a
 * KV request reads the member's role and the entry. Through Kysely each such read cost tens of
 * microseconds of query building and compiling; as prepared statements (better-sqlite3 on a
 * read-only connection, PostgreSQL named statements) they cost what the database does.
 *
 * @packageDocumentation
 */
import type { KvEntryRecord } from './kv-types.js';
import type { LogStatements } from './log-sqlite.js';
import type { WritableChangeFeed } from './notify.js';
import type { TeamMemberRecord, TeamRole, UserStore } from './types.js';

/** The read side of {@link UserStore}. */
export type UserReads = Pick<
  UserStore,
  'getUser' | 'getUserByUid' | 'getUsers' | 'getProjections' | 'getLinks' | 'getKey'
>;

/** The reads of every request, served by each backend on its fastest path. */
export interface HotReads extends UserReads {
  /** A team's members by UID (`TeamStore.getMembers`). */
  getMembers(teamId: string): Promise<TeamMemberRecord[]>;
  /** One member's role, or null for a non-member or an unknown team. */
  getMemberRole(teamId: string, uid: string): Promise<TeamRole | null>;
  /** `TeamStore.currentKeyGeneration`. */
  currentKeyGeneration(teamId: string): Promise<number>;
  /** `KvStore.get`. */
  getKvEntry(teamId: string, namespace: string, entryKey: string): Promise<KvEntryRecord | null>;
}

/** One nonce claim of a batch. */
export interface NonceClaim {
  kid: string;
  nonce: string;
  expiresAt: number;
}

/**
 * Records a batch of claims in one transaction; answers, in order, whether each claim inserted
 * its row (false: the nonce was taken, by an earlier claim or an earlier copy in the batch).
 */
export type ClaimNonces = (claims: readonly NonceClaim[]) => Promise<boolean[]>;

/** A backend's own parts. */
export interface BackendParts {
  readonly dialect: 'sqlite' | 'postgres';
  /** The hot reads; they must read committed data of the same database. */
  readonly reads: HotReads;
  /** Writes nonce batches (the replay cache, group-committed by the nonce store). */
  readonly claimNonces: ClaimNonces;
  /** SQLite: the log's publication statements on the transactions' connection. */
  readonly logStatements?: LogStatements;
  /** KV change notifications (PostgreSQL: across processes). */
  readonly changes: WritableChangeFeed;
  /** Releases what the parts hold (after the Kysely instance is destroyed). */
  close(): Promise<void>;
}
