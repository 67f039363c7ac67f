/**
 * Migration 0003: the KV store's tables.
 *
 * - `kv_entries`: one row per (team, namespace, entry key) with the current revision and
 *   ciphertext (null = tombstone), the team key generation and the writer. `change_seq` is the
 *   team's change cursor at the last write, indexed for change polls.
 * - `kv_team_seq`: one row per team holding its change cursor. Every write bumps it first, so on
 *   PostgreSQL the row lock orders a team's writes (and their cursors) by commit; SQLite has a
 *   single writer anyway.
 *
 * Names sort bytewise on both backends (`collate "C"` on PostgreSQL; SQLite's default is
 * binary), so listing pages agree. A partial index over live entries makes listings skip
 * tombstones.
 *
 * @packageDocumentation
 */
import { PostgresAdapter, sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';

/** `kv_entries`. */
export interface KvEntriesTable {
  team_id: string;
  namespace: string;
  entry_key: string;
  revision: number;
  ciphertext: string | null;
  format_version: number;
  team_key_gen: number;
  writer_uid: string;
  writer_eldest_seqno: number;
  writer_device_id: string;
  /** PostgreSQL returns bigint as a string. */
  change_seq: number | string;
}

/** `kv_team_seq`. */
export interface KvTeamSeqTable {
  team_id: string;
  seq: number | string;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/** Migration 0003. */
export const m0003Kv: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    const pg = db.getExecutor().adapter instanceof PostgresAdapter;
    const name = pg ? sql`text collate "C"` : sql`text`;
    await db.schema
      .createTable('kv_entries')
      .addColumn('team_id', 'text', (c) => c.notNull())
      .addColumn('namespace', name, (c) => c.notNull())
      .addColumn('entry_key', name, (c) => c.notNull())
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('ciphertext', 'text')
      .addColumn('format_version', 'integer', (c) => c.notNull())
      .addColumn('team_key_gen', 'integer', (c) => c.notNull())
      .addColumn('writer_uid', 'text', (c) => c.notNull())
      .addColumn('writer_eldest_seqno', 'integer', (c) => c.notNull())
      .addColumn('writer_device_id', 'text', (c) => c.notNull())
      .addColumn('change_seq', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('kv_entries_pk', ['team_id', 'namespace', 'entry_key'])
      .execute();
    await db.schema
      .createIndex('kv_entries_live')
      .on('kv_entries')
      .columns(['team_id', 'namespace', 'entry_key'])
      .where(sql.ref('ciphertext'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('kv_entries_changes')
      .on('kv_entries')
      .columns(['team_id', 'change_seq'])
      .execute();
    await db.schema
      .createTable('kv_team_seq')
      .addColumn('team_id', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('kv_team_seq').execute();
    await db.schema.dropTable('kv_entries').execute();
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any */
