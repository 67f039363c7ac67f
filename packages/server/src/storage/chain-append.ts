/**
 * One chain append for user and team chains (issue #16.3): the compare-and-swap on the tail,
 * the links, the caller's projection writes, and the tail the log publishes — in the log's
 * group transaction (`log-store.ts`), so links, projection and root commit together or not at
 * all.
 *
 * @packageDocumentation
 */
import { sql } from 'kysely';
import type { Transaction } from 'kysely';
import type { ChainTail } from '@saltbox/identity';
import { isUniqueViolation, StorageError, storageError } from './errors.js';
import type { KyselyLogStore } from './log-store.js';
import type { Database } from './schema.js';
import type { StoredLink } from './types.js';

/** Where a kind of chain lives. */
export interface ChainKind {
  /** The table holding the tail (`users`, `teams`). */
  readonly table: 'users' | 'teams';
  /** Its ID column, also the links table's. */
  readonly idColumn: 'uid' | 'team_id';
  /** The links table. */
  readonly linksTable: 'links' | 'team_links';
  /** Whether rows are soft-deleted (`deleted_at`): a deleted chain is not found. */
  readonly softDeleted: boolean;
  /** Whether the log's leaf carries the chain's eldest KID (users). */
  readonly eldestKid: boolean;
  /** The subject of "not found" (`user`, `team`). */
  readonly subject: 'user' | 'team';
  /**
   * What a unique violation among the writes means: `key` for a user's link naming a key that
   * is registered already; otherwise a concurrent append of the same seqno (a conflict).
   */
  uniqueViolation(e: unknown): StorageError;
}

const CONFLICT_MESSAGE = 'the chain changed since it was read; refetch and retry';

/** Inserts stored links of chain `id`. */
export async function insertLinks(
  trx: Transaction<Database>,
  kind: Pick<ChainKind, 'linksTable' | 'idColumn'>,
  id: string,
  links: readonly StoredLink[],
): Promise<void> {
  if (links.length === 0) return;
  await sql`insert into ${sql.table(kind.linksTable)}
    (${sql.ref(kind.idColumn)}, seqno, link_id, sig_id, type, link_json) values ${sql.join(
      links.map(
        (l) =>
          sql`(${id}, ${l.seqno}, ${l.linkId}, ${l.sigId}, ${l.type}, ${JSON.stringify(l.link)})`,
      ),
    )}`.execute(trx);
}

/**
 * Appends `links` to chain `id` if its tail is still `expectedTailSeqno`, then runs `rest` (the
 * projection and boxes) in the same transaction. Nothing happens for no links.
 *
 * @throws StorageError `STORAGE_NOT_FOUND` (subject `user` / `team`) for an unknown chain,
 *   `STORAGE_CONFLICT` (subject `chain`) when the tail moved, and what
 *   {@link ChainKind.uniqueViolation} makes of a unique violation.
 */
export async function appendChain(
  log: KyselyLogStore,
  kind: ChainKind,
  input: { id: string; expectedTailSeqno: number; links: readonly StoredLink[] },
  rest: (trx: Transaction<Database>) => Promise<void>,
): Promise<void> {
  const last = input.links[input.links.length - 1];
  if (last === undefined) return;
  const live = kind.softDeleted ? sql`and deleted_at is null` : sql``;
  try {
    await log.transact(async (trx) => {
      // The conditional update is the compare-and-swap: it matches no row when another append
      // moved the tail, on either backend and across processes. The eldest KID goes into the
      // log's leaf; it never changes on append.
      const { rows } = await sql<{ eldest: string | null }>`update ${sql.table(kind.table)}
        set tail_seqno = ${last.seqno}, tail_link_id = ${last.linkId}
        where ${sql.ref(kind.idColumn)} = ${input.id}
          and tail_seqno = ${input.expectedTailSeqno} ${live}
        returning ${kind.eldestKid ? sql.ref('eldest_kid') : sql`null`} as eldest`.execute(trx);
      const row = rows[0];
      if (row === undefined) {
        const exists = await sql`select 1 as one from ${sql.table(kind.table)}
          where ${sql.ref(kind.idColumn)} = ${input.id} ${live}`.execute(trx);
        if (exists.rows.length === 0)
          throw storageError('STORAGE_NOT_FOUND', kind.subject, `no such ${kind.subject}`);
        throw storageError('STORAGE_CONFLICT', 'chain', CONFLICT_MESSAGE);
      }
      await insertLinks(trx, kind, input.id, input.links);
      await rest(trx);
      // Last: the root published with this batch covers this tail (log-store.ts `transact`).
      const tail: ChainTail = { seqno: last.seqno, linkId: last.linkId, eldestKid: row.eldest };
      return [[input.id, tail]];
    });
  } catch (e) {
    if (e instanceof StorageError) throw e;
    if (isUniqueViolation(e)) throw kind.uniqueViolation(e);
    throw e;
  }
}

/** A unique violation of a chain append that is not about a key: another append won. */
export function chainConflict(e: unknown): StorageError {
  return storageError('STORAGE_CONFLICT', 'chain', CONFLICT_MESSAGE, e);
}
