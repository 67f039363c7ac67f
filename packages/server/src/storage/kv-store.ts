/**
 * The KV store over Kysely, shared by SQLite and PostgreSQL (see `kv-schema.ts` for the tables).
 *
 * A write is one transaction: bump the team's change cursor (on PostgreSQL this row lock
 * serialises the team's writes, so the revision check below cannot race), read the entry,
 * check the revision (exactly current + 1, spec keybase-kvstore §1.4) and write the row.
 *
 * @packageDocumentation
 */
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import { storageError } from './errors.js';
import type { HotReads } from './backend.js';
import type { WritableChangeFeed } from './notify.js';
import { toEntry } from './rows.js';
import type { Database } from './schema.js';
import type {
  KvChangeRecord,
  KvEntryId,
  KvEntryRecord,
  KvPage,
  KvStore,
  KvWriterRecord,
} from './kv-types.js';

type EntryRow = Database['kv_entries'];

/** Hidden names (spec §1.4): `__` prefixed names are left out of listings. */
const visible = (column: 'namespace' | 'entry_key') =>
  sql<boolean>`substr(${sql.ref(column)}, 1, 2) <> '__'`;

/** The KV store of one Kysely instance. */
export class KyselyKvStore implements KvStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: 'sqlite' | 'postgres';
  readonly #changes: WritableChangeFeed;
  readonly #reads: Pick<HotReads, 'getKvEntry'>;

  /**
   * @param changes - told about each committed write (it wakes change polls, `notify.ts`).
   * @param reads - the backend's hot path for single entries.
   */
  constructor(
    db: Kysely<Database>,
    dialect: 'sqlite' | 'postgres',
    changes: WritableChangeFeed,
    reads: Pick<HotReads, 'getKvEntry'>,
  ) {
    this.#db = db;
    this.#dialect = dialect;
    this.#changes = changes;
    this.#reads = reads;
  }

  get(teamId: string, namespace: string, entryKey: string): Promise<KvEntryRecord | null> {
    return this.#reads.getKvEntry(teamId, namespace, entryKey);
  }

  async getMany(teamId: string, ids: readonly KvEntryId[]): Promise<(KvEntryRecord | null)[]> {
    if (ids.length === 0) return [];
    const rows = await this.#db
      .selectFrom('kv_entries')
      .selectAll()
      .where('team_id', '=', teamId)
      .where((eb) =>
        eb.or(
          ids.map((id) =>
            eb.and([eb('namespace', '=', id.namespace), eb('entry_key', '=', id.entryKey)]),
          ),
        ),
      )
      .execute();
    const byId = new Map(rows.map((r) => [JSON.stringify([r.namespace, r.entry_key]), r]));
    return ids.map((id) => {
      const r = byId.get(JSON.stringify([id.namespace, id.entryKey]));
      return r ? toEntry(r) : null;
    });
  }

  async put(input: {
    teamId: string;
    namespace: string;
    entryKey: string;
    revision: number;
    ciphertext: string;
    formatVersion: number;
    teamKeyGen: number;
    writer: KvWriterRecord;
    currentTeamKeyGen?: number;
  }): Promise<{ revision: number; changeSeq: number }> {
    const ceiling = input.currentTeamKeyGen ?? Number.POSITIVE_INFINITY;
    return this.#write(input, (cur) => {
      if (cur !== undefined && input.teamKeyGen < cur.team_key_gen && cur.team_key_gen <= ceiling)
        throw storageError(
          'STORAGE_CONFLICT',
          'kv_generation',
          `team key generation ${input.teamKeyGen} is older than the entry's ${cur.team_key_gen}`,
        );
      return {
        ciphertext: input.ciphertext,
        format_version: input.formatVersion,
        team_key_gen: input.teamKeyGen,
      };
    });
  }

  async del(input: {
    teamId: string;
    namespace: string;
    entryKey: string;
    revision: number;
    writer: KvWriterRecord;
  }): Promise<{ revision: number; changeSeq: number }> {
    return this.#write(
      input,
      (cur) => {
        if (cur === undefined || cur.ciphertext === null)
          throw storageError(
            'STORAGE_NOT_FOUND',
            'kv_entry',
            'no such entry, or it is already deleted',
          );
        // The tombstone keeps the generation, or a reader's rollback cache would see it drop.
        return {
          ciphertext: null,
          format_version: cur.format_version,
          team_key_gen: cur.team_key_gen,
        };
      },
      true,
    );
  }

  async #write(
    input: {
      teamId: string;
      namespace: string;
      entryKey: string;
      revision: number;
      writer: KvWriterRecord;
    },
    decide: (
      cur:
        Pick<EntryRow, 'revision' | 'ciphertext' | 'team_key_gen' | 'format_version'> | undefined,
    ) => Pick<EntryRow, 'ciphertext' | 'format_version' | 'team_key_gen'>,
    deleting = false,
  ): Promise<{ revision: number; changeSeq: number }> {
    const written = await this.#db.transaction().execute(async (trx: Transaction<Database>) => {
      const seqRow = await trx
        .insertInto('kv_team_seq')
        .values({ team_id: input.teamId, seq: 1 })
        .onConflict((oc) => oc.column('team_id').doUpdateSet({ seq: sql`kv_team_seq.seq + 1` }))
        .returning('seq')
        .executeTakeFirstOrThrow();
      const changeSeq = Number(seqRow.seq);
      const cur = await trx
        .selectFrom('kv_entries')
        .select(['revision', 'ciphertext', 'team_key_gen', 'format_version'])
        .where('team_id', '=', input.teamId)
        .where('namespace', '=', input.namespace)
        .where('entry_key', '=', input.entryKey)
        .executeTakeFirst();
      if (deleting && (cur === undefined || cur.ciphertext === null)) decide(cur);
      const current = cur?.revision ?? 0;
      if (input.revision !== current + 1)
        throw storageError(
          'STORAGE_CONFLICT',
          'kv_revision',
          input.revision <= current
            ? `revision ${input.revision} already exists for this entry`
            : `expected revision ${current + 1} but got ${input.revision}`,
        );
      const values = {
        ...decide(cur),
        revision: input.revision,
        writer_uid: input.writer.uid,
        writer_eldest_seqno: input.writer.eldestSeqno,
        writer_device_id: input.writer.deviceId,
        change_seq: changeSeq,
      };
      if (cur === undefined) {
        await trx
          .insertInto('kv_entries')
          .values({
            team_id: input.teamId,
            namespace: input.namespace,
            entry_key: input.entryKey,
            ...values,
          })
          .execute();
      } else {
        await trx
          .updateTable('kv_entries')
          .set(values)
          .where('team_id', '=', input.teamId)
          .where('namespace', '=', input.namespace)
          .where('entry_key', '=', input.entryKey)
          .execute();
      }
      return { revision: input.revision, changeSeq };
    });
    // After the commit: a woken poll must find the change.
    this.#changes.written(input.teamId);
    return written;
  }

  async listNamespaces(teamId: string, page: KvPage): Promise<string[]> {
    // A loose index scan: one index seek per namespace instead of reading every entry, so a
    // namespace of a million entries costs the same as one of ten.
    const next = (after: ReturnType<typeof sql>) => sql`(select namespace from kv_entries
      where team_id = ${teamId} and ciphertext is not null and namespace > ${after}
        and ${visible('namespace')}
      order by namespace limit 1)`;
    const start = page.after ?? '';
    // PostgreSQL stops a recursive CTE at the outer LIMIT; SQLite needs the LIMIT inside.
    const query =
      this.#dialect === 'postgres'
        ? sql<{ n: string | null }>`with recursive ns(n) as (
            select ${next(sql`${start}`)} union all select ${next(sql`ns.n`)} from ns where ns.n is not null
          ) select n from ns where n is not null limit ${page.limit}`
        : sql<{ n: string | null }>`with recursive ns(n) as (
            select ${next(sql`${start}`)} union all select ${next(sql`ns.n`)} from ns where ns.n is not null
            limit ${page.limit + 1}
          ) select n from ns where n is not null`;
    const { rows } = await query.execute(this.#db);
    return rows.map((r) => r.n!).slice(0, page.limit);
  }

  async listEntryKeys(
    teamId: string,
    namespace: string,
    page: KvPage,
  ): Promise<{ entryKey: string; revision: number }[]> {
    let q = this.#db
      .selectFrom('kv_entries')
      .select(['entry_key', 'revision'])
      .where('team_id', '=', teamId)
      .where('namespace', '=', namespace)
      .where('ciphertext', 'is not', null)
      .where(visible('entry_key'));
    if (page.after !== undefined) q = q.where('entry_key', '>', page.after);
    const rows = await q.orderBy('entry_key').limit(page.limit).execute();
    return rows.map((r) => ({ entryKey: r.entry_key, revision: r.revision }));
  }

  async changes(
    teamId: string,
    options: { since: number; namespace?: string | undefined; limit: number },
  ): Promise<KvChangeRecord[]> {
    let q = this.#db
      .selectFrom('kv_entries')
      .select(['namespace', 'entry_key', 'revision', 'ciphertext', 'change_seq'])
      .where('team_id', '=', teamId)
      .where('change_seq', '>', options.since);
    if (options.namespace !== undefined) q = q.where('namespace', '=', options.namespace);
    const rows = await q.orderBy('change_seq').limit(options.limit).execute();
    return rows.map((r) => ({
      namespace: r.namespace,
      entryKey: r.entry_key,
      revision: r.revision,
      deleted: r.ciphertext === null,
      changeSeq: Number(r.change_seq),
    }));
  }

  async cursor(teamId: string): Promise<number> {
    const r = await this.#db
      .selectFrom('kv_team_seq')
      .select('seq')
      .where('team_id', '=', teamId)
      .executeTakeFirst();
    return r ? Number(r.seq) : 0;
  }
}
