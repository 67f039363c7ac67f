/**
 * The signed log's publication path on SQLite as prepared statements (see `log-store.ts`).
 *
 * Every append publishes a root inside its transaction, so these statements are on the write
 * path of every sign-up and append: built through Kysely they cost more than the SQLite work
 * itself (about 60–100 µs of query building each, against a few µs for a prepared statement;
 * the same finding as the read path's, README "Benchmark"). They run on the one connection
 * Kysely's SQLite driver holds for the caller's transaction, so they see and join it; they are
 * only called from inside that transaction's callback.
 *
 * @packageDocumentation
 */
import type BetterSqlite3 from 'better-sqlite3';
import type {
  LogChangesTable,
  LogMapNodesTable,
  LogRootsTable,
  LogTreeNodesTable,
} from './log-schema.js';

/** What one publication writes. */
export interface LogWrites {
  mapNodes: LogMapNodesTable[];
  treeNodes: LogTreeNodesTable[];
  changes: LogChangesTable[];
  root: LogRootsTable;
}

/** The publication's reads and writes, run inside the caller's transaction. */
export interface LogStatements {
  /** The latest root's seqno and hash_meta. */
  head(): { seqno: number; hash_meta: string } | undefined;
  /** The newest version ≤ `version` of the map node at `prefix`. */
  mapNode(
    prefix: string,
    version: number,
  ): { hash: string; leaf_key: string | null; leaf_value: string | null } | undefined;
  /** A history node. */
  treeNode(level: number, index: number): { hash: string } | undefined;
  write(w: LogWrites): void;
}

/**
 * Prepared statements on `sqlite` (the connection Kysely's dialect uses), prepared on first use
 * (the tables exist only after migration).
 */
export function sqliteLogStatements(sqlite: BetterSqlite3.Database): LogStatements {
  let s:
    | {
        head: BetterSqlite3.Statement<[], { seqno: number; hash_meta: string }>;
        mapNode: BetterSqlite3.Statement<
          [string, number],
          { hash: string; leaf_key: string | null; leaf_value: string | null }
        >;
        treeNode: BetterSqlite3.Statement<[number, number], { hash: string }>;
        insertMapNode: BetterSqlite3.Statement<
          [string, number, string, string | null, string | null]
        >;
        insertTreeNode: BetterSqlite3.Statement<[number, number, string]>;
        insertChange: BetterSqlite3.Statement<[number, string, string]>;
        insertRoot: BetterSqlite3.Statement<
          [number, number | string, string, string, string, string, string]
        >;
      }
    | undefined;
  const prepared = () =>
    (s ??= {
      head: sqlite.prepare('select seqno, hash_meta from log_roots order by seqno desc limit 1'),
      mapNode: sqlite.prepare(
        'select hash, leaf_key, leaf_value from log_map_nodes where prefix = ? and version <= ? order by version desc limit 1',
      ),
      treeNode: sqlite.prepare('select hash from log_tree_nodes where level = ? and idx = ?'),
      insertMapNode: sqlite.prepare(
        'insert into log_map_nodes (prefix, version, hash, leaf_key, leaf_value) values (?, ?, ?, ?, ?)',
      ),
      insertTreeNode: sqlite.prepare(
        'insert into log_tree_nodes (level, idx, hash) values (?, ?, ?)',
      ),
      insertChange: sqlite.prepare('insert into log_changes (seqno, id, tail) values (?, ?, ?)'),
      insertRoot: sqlite.prepare(
        'insert into log_roots (seqno, ctime, payload_json, kid, sig, leaf_path, hash_meta) values (?, ?, ?, ?, ?, ?, ?)',
      ),
    });
  return {
    head: () => prepared().head.get(),
    mapNode: (prefix, version) => prepared().mapNode.get(prefix, version),
    treeNode: (level, index) => prepared().treeNode.get(level, index),
    write(w) {
      const p = prepared();
      for (const n of w.mapNodes)
        p.insertMapNode.run(n.prefix, n.version, n.hash, n.leaf_key, n.leaf_value);
      for (const n of w.treeNodes) p.insertTreeNode.run(n.level, n.idx, n.hash);
      for (const c of w.changes) p.insertChange.run(c.seqno, c.id, c.tail);
      const r = w.root;
      p.insertRoot.run(r.seqno, r.ctime, r.payload_json, r.kid, r.sig, r.leaf_path, r.hash_meta);
    },
  };
}
