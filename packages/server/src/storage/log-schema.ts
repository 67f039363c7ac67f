/**
 * Tables of the signed log (DESIGN.md "The signed log"; formats in `@saltbox/identity`'s
 * merkle-map / merkle-log / merkle-root). Hashes are hex text, as every binary value in this
 * schema, so both backends hold identical bytes.
 *
 * - `log_roots`: every published root, signed, by seqno.
 * - `log_map_nodes`: the map's nodes, versioned by the root seqno that wrote them. Nodes are
 *   never deleted (chains only grow), so "the latest version ≤ n of a prefix" is the node as of
 *   root n: one table answers proofs for the current root and for any past one.
 * - `log_tree_nodes`: the complete subtrees of the history tree (RFC 9162), written once.
 * - `log_changes`: what each root changed (ID → tail), so an auditor can replay the log.
 *
 * @packageDocumentation
 */
import type { Kysely, Migration } from 'kysely';

/** `log_roots`. */
export interface LogRootsTable {
  seqno: number;
  /** Unix seconds; PostgreSQL returns bigint as a string. */
  ctime: number | string;
  payload_json: string;
  kid: string;
  sig: string;
  /** JSON list of hex hashes: the inclusion path of the root's own history leaf. */
  leaf_path: string;
  hash_meta: string;
}

/** `log_map_nodes`. */
export interface LogMapNodesTable {
  prefix: string;
  version: number;
  hash: string;
  leaf_key: string | null;
  leaf_value: string | null;
}

/** `log_tree_nodes`. */
export interface LogTreeNodesTable {
  level: number;
  idx: number;
  hash: string;
}

/** `log_changes`. */
export interface LogChangesTable {
  seqno: number;
  id: string;
  /** The leaf value (canonical JSON `[seqno, link ID, eldest KID | null]`). */
  tail: string;
}

/** The log's tables, merged into the schema's `Database`. */
export interface LogTables {
  log_roots: LogRootsTable;
  log_map_nodes: LogMapNodesTable;
  log_tree_nodes: LogTreeNodesTable;
  log_changes: LogChangesTable;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export const m0007Log: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('log_roots')
      .addColumn('seqno', 'integer', (c) => c.primaryKey())
      .addColumn('ctime', 'bigint', (c) => c.notNull())
      .addColumn('payload_json', 'text', (c) => c.notNull())
      .addColumn('kid', 'text', (c) => c.notNull())
      .addColumn('sig', 'text', (c) => c.notNull())
      .addColumn('leaf_path', 'text', (c) => c.notNull())
      .addColumn('hash_meta', 'text', (c) => c.notNull().unique())
      .execute();
    await db.schema
      .createTable('log_map_nodes')
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('leaf_key', 'text')
      .addColumn('leaf_value', 'text')
      // Proof reads ask for the newest version ≤ n of one prefix: this key is that index.
      .addPrimaryKeyConstraint('log_map_nodes_pk', ['prefix', 'version'])
      .execute();
    await db.schema
      .createTable('log_tree_nodes')
      .addColumn('level', 'integer', (c) => c.notNull())
      .addColumn('idx', 'bigint', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('log_tree_nodes_pk', ['level', 'idx'])
      .execute();
    await db.schema
      .createTable('log_changes')
      .addColumn('seqno', 'integer', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('tail', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('log_changes_pk', ['seqno', 'id'])
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    for (const t of ['log_changes', 'log_tree_nodes', 'log_map_nodes', 'log_roots'])
      await db.schema.dropTable(t).execute();
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any */
