/**
 * The signed log on SQLite and PostgreSQL (DESIGN.md "The signed log").
 *
 * Every append (user or team, create or extend) calls {@link KyselyLogStore.publish} inside its
 * own transaction: the new tails go into the map, a root is signed and stored, and the whole is
 * committed with the links or not at all. Roots are totally ordered by the database: on
 * PostgreSQL a transaction-scoped advisory lock serialises publication across server processes
 * (SQLite transactions are serial already), and the next seqno is read inside the lock.
 *
 * Performance choices:
 * - Map nodes near the root are read by every publication; a process cache holds the nodes of
 *   the top {@link CACHED_DEPTH} levels as of the root seqno it was filled at. A publication
 *   first reads the latest seqno (inside the lock): if another process or a rolled-back
 *   transaction moved it, the cache is dropped, so it never answers for a state it did not see.
 * - Deeper nodes (a handful per key) are read from the database by primary key.
 * - The history tree reads O(log n) complete subtrees per publication.
 *
 * @packageDocumentation
 */
import { sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import { defaultBackend } from '@saltbox/saltpack';
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  appendLogLeaf,
  decodeChainTail,
  encodeChainTail,
  hexToBytes,
  logConsistencyProof,
  logInclusionPath,
  logLeafData,
  logLeafHash,
  logRootHashMeta,
  proveMap,
  runLogReadAsync,
  runMapReadAsync,
  signLogRoot,
  toHex,
  updateMap,
  ed25519Kid,
} from '@saltbox/identity';
import type { ChainTail, KidHex, MapNode, MapProof, SignedLogRoot } from '@saltbox/identity';
import { StorageError } from './errors.js';
import type { LogStatements, LogWrites } from './log-sqlite.js';
import type { Database } from './schema.js';

/** Map levels whose nodes the process keeps in memory (2^13 nodes at most). */
const CACHED_DEPTH = 12;
/** History nodes kept between publications (the right edge needs about log2 n of them). */
const TREE_CACHE_LIMIT = 1024;
/** Most appends one transaction (and one root) groups. */
const MAX_BATCH = 64;

/** An append's writes; returns the chain tails it moved. */
export type LogWork = (trx: Transaction<Database>) => Promise<(readonly [string, ChainTail])[]>;

interface PendingWork {
  work: LogWork;
  resolve: () => void;
  reject: (e: unknown) => void;
}
/** Any 64-bit constant: the advisory lock that orders root publication on PostgreSQL. */
const PUBLISH_LOCK = 0x5a17b0c5;

/** A stored root with its seqno. */
export interface LogRootRecord extends SignedLogRoot {
  seqno: number;
  hashMeta: string;
  ctime: number;
}

/** What one root changed, and the root. */
export interface LogChangeSet {
  seqno: number;
  root: LogRootRecord;
  changes: { id: string; tail: ChainTail }[];
}

type Db = Kysely<Database> | Transaction<Database>;

function toNode(r: { hash: string; leaf_key: string | null; leaf_value: string | null }): MapNode {
  return r.leaf_key !== null && r.leaf_value !== null
    ? {
        hash: hexToBytes(r.hash),
        leaf: { key: hexToBytes(r.leaf_key), value: hexToBytes(r.leaf_value) },
      }
    : { hash: hexToBytes(r.hash) };
}

function toRoot(r: Database['log_roots']): LogRootRecord {
  return {
    seqno: r.seqno,
    ctime: Number(r.ctime),
    payloadJson: r.payload_json,
    kid: r.kid,
    sig: r.sig,
    leafPath: JSON.parse(r.leaf_path) as string[],
    hashMeta: r.hash_meta,
  };
}

/** The signed log's storage. */
export class KyselyLogStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: 'sqlite' | 'postgres';
  readonly #seed: Uint8Array | (() => Uint8Array);
  #backend: CryptoBackend | undefined;
  #secretKey: Uint8Array | undefined;
  /** Nodes of the top levels as of root `#cacheSeqno`. */
  #cache = new Map<string, MapNode | null>();
  /**
   * History nodes (`level/index`) as of root `#cacheSeqno`: written once, but a rolled-back
   * publication's nodes must not outlive it, so they are dropped with the map's.
   */
  #treeCache = new Map<string, Uint8Array>();
  #cacheSeqno = -1;
  readonly #now: () => number;
  /** False only in the benchmark's baseline storage: appends then publish nothing. */
  readonly #enabled: boolean;
  /** SQLite: the publication's statements, prepared on the transaction's connection. */
  readonly #statements: LogStatements | undefined;
  /** Appends waiting for the next group transaction. */
  #queue: PendingWork[] = [];
  #running = false;

  /**
   * @param options - `now` (the clock of `ctime`); `enabled: false` only for the benchmark's
   *   baseline; `statements` the prepared publication path on SQLite (`log-sqlite.ts`).
   */
  constructor(
    db: Kysely<Database>,
    dialect: 'sqlite' | 'postgres',
    seed: Uint8Array | (() => Uint8Array),
    options: { now?: () => number; enabled?: boolean; statements?: LogStatements } = {},
  ) {
    this.#db = db;
    this.#dialect = dialect;
    this.#seed = seed;
    this.#now = options.now ?? Date.now;
    this.#enabled = options.enabled ?? true;
    this.#statements = options.statements;
  }

  async #crypto(): Promise<{ backend: CryptoBackend; secretKey: Uint8Array }> {
    if (this.#backend === undefined || this.#secretKey === undefined) {
      this.#backend = await defaultBackend();
      // A seed given as a function is read on first use, after the database opened: the
      // database's own problems are reported first.
      const seed = typeof this.#seed === 'function' ? this.#seed() : this.#seed;
      this.#secretKey = this.#backend.ed25519KeyPairFromSeed(seed).secretKey;
    }
    return { backend: this.#backend, secretKey: this.#secretKey };
  }

  /** The root key's KID: what clients pin. */
  async kid(): Promise<KidHex> {
    const { secretKey } = await this.#crypto();
    return ed25519Kid(secretKey.subarray(32));
  }

  async #mapNode(db: Db, prefix: string, version: number): Promise<MapNode | undefined> {
    const r = await db
      .selectFrom('log_map_nodes')
      .select(['hash', 'leaf_key', 'leaf_value'])
      .where('prefix', '=', prefix)
      .where('version', '<=', version)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r === undefined ? undefined : toNode(r);
  }

  async #treeNode(db: Db, level: number, index: number): Promise<Uint8Array> {
    const r = await db
      .selectFrom('log_tree_nodes')
      .select('hash')
      .where('level', '=', level)
      .where('idx', '=', index)
      .executeTakeFirst();
    if (r === undefined)
      throw new StorageError('STORAGE_CORRUPT', `log tree node ${level}/${index} is missing`);
    return hexToBytes(r.hash);
  }

  /** The latest root's seqno and hash_meta, in one read (0 and null before the first). */
  async #head(trx: Transaction<Database>): Promise<{ seqno: number; hashMeta: string | null }> {
    const r =
      this.#statements !== undefined
        ? this.#statements.head()
        : await trx
            .selectFrom('log_roots')
            .select(['seqno', 'hash_meta'])
            .orderBy('seqno', 'desc')
            .limit(1)
            .executeTakeFirst();
    return r === undefined
      ? { seqno: 0, hashMeta: null }
      : { seqno: r.seqno, hashMeta: r.hash_meta };
  }

  async #latestSeqno(db: Db): Promise<number> {
    const r = await db
      .selectFrom('log_roots')
      .select((eb) => eb.fn.max('seqno').as('seqno'))
      .executeTakeFirst();
    // max() of no rows is null, whatever Kysely's inferred type says.
    const max: unknown = r?.seqno;
    return max === null || max === undefined ? 0 : Number(max);
  }

  /**
   * Runs an append's writes in a transaction that also publishes the root covering the tails it
   * returns; resolves once that transaction committed, rejects with the work's own error.
   *
   * Group commit (issue 14: "roots may be group-committed per event-loop tick"): appends that
   * arrive while a group transaction runs (or in the same event-loop turn as the first) share
   * the next one — each inside its own savepoint, so one that fails (a chain conflict, a taken
   * name) is rolled back alone and gets its own error — and one root covers all of them. Every
   * append is still committed together with a root that holds its tail, never before it; one
   * commit and one signature serve the group. A failure of the publication or of the commit
   * rejects every append of the group, none of which is then stored.
   */
  transact(work: LogWork): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ work, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  /** Runs group transactions until the queue is empty (one at a time per process). */
  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      const failed = new Map<PendingWork, unknown>();
      try {
        await this.#db.transaction().execute(async (trx) => {
          const updates: (readonly [string, ChainTail])[] = [];
          if (batch.length === 1) {
            // Alone: its error rolls back the whole transaction, which is all it wrote.
            updates.push(...(await batch[0]!.work(trx)));
          } else
            for (const item of batch) {
              await sql`savepoint log_group`.execute(trx);
              try {
                const tails = await item.work(trx);
                await sql`release savepoint log_group`.execute(trx);
                updates.push(...tails);
              } catch (e) {
                await sql`rollback to savepoint log_group`.execute(trx);
                await sql`release savepoint log_group`.execute(trx);
                failed.set(item, e);
              }
            }
          await this.publish(trx, updates);
        });
      } catch (e) {
        // The publication did not commit: its nodes must not stay cached as root `seqno`, which
        // another process (PostgreSQL) may publish with other contents.
        this.#cacheSeqno = -1;
        for (const item of batch) if (!failed.has(item)) failed.set(item, e);
      }
      for (const item of batch) {
        if (failed.has(item)) item.reject(failed.get(item));
        else item.resolve();
      }
    }
    this.#running = false;
  }

  /**
   * Records new chain tails and publishes a signed root, inside the caller's transaction.
   * Returns the new root's seqno.
   */
  async publish(
    trx: Transaction<Database>,
    updates: readonly (readonly [string, ChainTail])[],
  ): Promise<number> {
    if (!this.#enabled) return 0;
    if (updates.length === 0) return this.#latestSeqno(trx);
    const { backend, secretKey } = await this.#crypto();
    if (this.#dialect === 'postgres')
      await sql`select pg_advisory_xact_lock(${PUBLISH_LOCK})`.execute(trx);
    const head = await this.#head(trx);
    const latest = head.seqno;
    const seqno = latest + 1;
    if (this.#cacheSeqno !== latest) {
      this.#cache.clear();
      this.#treeCache.clear();
      this.#cacheSeqno = latest;
    }
    // Reads answer synchronously from the caches and, on SQLite, from prepared statements, so
    // that the map and history code runs without a promise per node; PostgreSQL awaits.
    const st = this.#statements;
    const mapLookup = (prefix: string): MapNode | undefined | Promise<MapNode | undefined> => {
      const top = prefix.length <= CACHED_DEPTH;
      if (top) {
        const hit = this.#cache.get(prefix);
        if (hit !== undefined) return hit ?? undefined;
      }
      const remember = (node: MapNode | undefined) => {
        if (top) this.#cache.set(prefix, node ?? null);
        return node;
      };
      if (st !== undefined) {
        const row = st.mapNode(prefix, latest);
        return remember(row === undefined ? undefined : toNode(row));
      }
      return this.#mapNode(trx, prefix, latest).then(remember);
    };
    const treeLookup = (level: number, index: number): Uint8Array | Promise<Uint8Array> => {
      const key = `${level}/${index}`;
      const hit = this.#treeCache.get(key);
      if (hit !== undefined) return hit;
      const remember = (h: Uint8Array) => {
        this.#treeCache.set(key, h);
        return h;
      };
      if (st !== undefined) {
        const row = st.treeNode(level, index);
        if (row === undefined)
          throw new StorageError('STORAGE_CORRUPT', `log tree node ${level}/${index} is missing`);
        return remember(hexToBytes(row.hash));
      }
      return this.#treeNode(trx, level, index).then(remember);
    };
    const { writes, root: mapRoot } = await drive(updateMap(backend, updates), mapLookup);
    const ctime = Math.floor(this.#now() / 1000);
    const body = { seqno, ctime, map: toHex(mapRoot), prev: head.hashMeta };
    const leaf = logLeafHash(backend, logLeafData(body));
    const { nodes, root: logRoot } = await drive(appendLogLeaf(backend, latest, leaf), ([l, i]) =>
      treeLookup(l, i),
    );
    const stored = new Map(nodes.map((n) => [`${n.level}/${n.index}`, n.hash]));
    const leafPath = await drive(
      logInclusionPath(backend, latest, seqno),
      ([l, i]) => stored.get(`${l}/${i}`) ?? treeLookup(l, i),
    );
    const signed = signLogRoot(backend, { ...body, log: toHex(logRoot) }, secretKey, leafPath);
    await this.#write(trx, {
      mapNodes: [...writes].map(([prefix, n]) => ({
        prefix,
        version: seqno,
        hash: toHex(n.hash),
        leaf_key: n.leaf === undefined ? null : toHex(n.leaf.key),
        leaf_value: n.leaf === undefined ? null : toHex(n.leaf.value),
      })),
      treeNodes: nodes.map((n) => ({ level: n.level, idx: n.index, hash: toHex(n.hash) })),
      changes: dedupe(updates).map(([id, tail]) => ({
        seqno,
        id,
        tail: new TextDecoder().decode(encodeChainTail(tail)),
      })),
      root: {
        seqno,
        ctime,
        payload_json: signed.payloadJson,
        kid: signed.kid,
        sig: signed.sig,
        leaf_path: JSON.stringify(signed.leafPath),
        hash_meta: logRootHashMeta(backend, signed.payloadJson),
      },
    });
    // The cache now describes the new root (dropped by the next publication if this
    // transaction does not commit: the latest seqno it reads will not match).
    for (const [prefix, n] of writes) if (prefix.length <= CACHED_DEPTH) this.#cache.set(prefix, n);
    if (this.#treeCache.size > TREE_CACHE_LIMIT) this.#treeCache.clear();
    for (const n of nodes) this.#treeCache.set(`${n.level}/${n.index}`, n.hash);
    this.#cacheSeqno = seqno;
    return seqno;
  }

  /**
   * Stores what a publication wrote: prepared statements on SQLite; on PostgreSQL one statement
   * (the four inserts as data-modifying CTEs), since each statement is a round trip made while
   * the publication lock is held.
   */
  async #write(trx: Transaction<Database>, w: LogWrites): Promise<void> {
    if (this.#statements !== undefined) {
      this.#statements.write(w);
      return;
    }
    const values = <T>(rows: readonly T[], cols: (r: T) => unknown[]) =>
      sql.join(rows.map((r) => sql`(${sql.join(cols(r))})`));
    const r = w.root;
    await sql`with m as (insert into log_map_nodes (prefix, version, hash, leaf_key, leaf_value) values ${values(
      w.mapNodes,
      (n) => [n.prefix, n.version, n.hash, n.leaf_key, n.leaf_value],
    )}), t as (insert into log_tree_nodes (level, idx, hash) values ${values(w.treeNodes, (n) => [
      n.level,
      n.idx,
      n.hash,
    ])}), c as (insert into log_changes (seqno, id, tail) values ${values(w.changes, (c) => [
      c.seqno,
      c.id,
      c.tail,
    ])}) insert into log_roots (seqno, ctime, payload_json, kid, sig, leaf_path, hash_meta) values (${sql.join(
      [r.seqno, r.ctime, r.payload_json, r.kid, r.sig, r.leaf_path, r.hash_meta],
    )})`.execute(trx);
  }

  /** The latest root, or null before the first append. */
  async latest(): Promise<LogRootRecord | null> {
    const r = await this.#db
      .selectFrom('log_roots')
      .selectAll()
      .orderBy('seqno', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r === undefined ? null : toRoot(r);
  }

  /** Root `seqno`, or null when there is none. */
  async root(seqno: number): Promise<LogRootRecord | null> {
    const r = await this.#db
      .selectFrom('log_roots')
      .selectAll()
      .where('seqno', '=', seqno)
      .executeTakeFirst();
    return r === undefined ? null : toRoot(r);
  }

  /** The root a link names by `hash_meta`, or null. */
  async rootByHashMeta(hashMeta: string): Promise<LogRootRecord | null> {
    const r = await this.#db
      .selectFrom('log_roots')
      .selectAll()
      .where('hash_meta', '=', hashMeta)
      .executeTakeFirst();
    return r === undefined ? null : toRoot(r);
  }

  /** The consistency proof (hex) from root `from` to root `to` (`from` ≤ `to`, both published). */
  async consistency(from: number, to: number): Promise<string[]> {
    const { backend } = await this.#crypto();
    const proof = await runLogReadAsync(logConsistencyProof(backend, from, to), (l, i) =>
      this.#treeNode(this.#db, l, i),
    );
    return proof.map(toHex);
  }

  /** The map proof for `id` as of root `seqno`. */
  async mapProof(id: string, seqno: number): Promise<MapProof> {
    const { backend } = await this.#crypto();
    return runMapReadAsync(proveMap(backend, id), (p) => this.#mapNode(this.#db, p, seqno));
  }

  /** What roots `from` … `from + limit − 1` changed, in order, with each root. */
  async changes(from: number, limit: number): Promise<LogChangeSet[]> {
    const roots = await this.#db
      .selectFrom('log_roots')
      .selectAll()
      .where('seqno', '>=', from)
      .where('seqno', '<', from + limit)
      .orderBy('seqno')
      .execute();
    const bySeqno = new Map(roots.map((r) => [r.seqno, toRoot(r)]));
    const rows = await this.#db
      .selectFrom('log_changes')
      .selectAll()
      .where('seqno', '>=', from)
      .where('seqno', '<', from + limit)
      .orderBy('seqno')
      .orderBy('id')
      .execute();
    const out: LogChangeSet[] = [];
    for (const r of rows) {
      const seqno = r.seqno;
      let set = out[out.length - 1];
      if (set?.seqno !== seqno) {
        const root = bySeqno.get(seqno);
        // A root's changes commit with it; a change row without its root is not served.
        if (root === undefined) break;
        set = { seqno, root, changes: [] };
        out.push(set);
      }
      set.changes.push({ id: r.id, tail: decodeChainTail(new TextEncoder().encode(r.tail)) });
    }
    return out;
  }

  /**
   * Publishes one root holding every chain that exists but is not in the log yet (a database
   * from before the log, on its first start with it). Idempotent.
   */
  async backfill(): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      if (this.#dialect === 'postgres')
        await sql`select pg_advisory_xact_lock(${PUBLISH_LOCK})`.execute(trx);
      const known = await trx.selectFrom('log_changes').select('id').distinct().execute();
      const logged = new Set(known.map((r) => r.id));
      const users = await trx
        .selectFrom('users')
        .select(['uid', 'tail_seqno', 'tail_link_id', 'eldest_kid'])
        .execute();
      const teams = await trx
        .selectFrom('teams')
        .select(['team_id', 'tail_seqno', 'tail_link_id'])
        .execute();
      const updates: [string, ChainTail][] = [];
      for (const u of users)
        if (!logged.has(u.uid))
          updates.push([
            u.uid,
            { seqno: u.tail_seqno, linkId: u.tail_link_id, eldestKid: u.eldest_kid },
          ]);
      for (const t of teams)
        if (!logged.has(t.team_id))
          updates.push([
            t.team_id,
            { seqno: t.tail_seqno, linkId: t.tail_link_id, eldestKid: null },
          ]);
      if (updates.length > 0) await this.publish(trx, updates);
    });
  }
}

/**
 * Runs a map or history read: each node the read asks for is answered by `lookup`, awaited only
 * when it returned a promise.
 */
async function drive<K, T, V>(
  read: Generator<K, T, V>,
  lookup: (k: K) => V | Promise<V>,
): Promise<T> {
  let step = read.next();
  while (step.done !== true) {
    const v = lookup(step.value);
    step = read.next(v instanceof Promise ? await v : v);
  }
  return step.value;
}

/** The last update per ID wins (a batch may touch one chain twice). */
function dedupe(updates: readonly (readonly [string, ChainTail])[]): [string, ChainTail][] {
  return [...new Map(updates.map(([id, t]) => [id, t])).entries()];
}
