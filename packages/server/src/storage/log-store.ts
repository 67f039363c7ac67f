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
import { fail } from '../errors.js';
import type { Database } from './schema.js';

/** Map levels whose nodes the process keeps in memory (2^13 nodes at most). */
const CACHED_DEPTH = 12;
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
  readonly #seed: Uint8Array;
  #backend: CryptoBackend | undefined;
  #secretKey: Uint8Array | undefined;
  /** Nodes of the top levels as of root `#cacheSeqno`. */
  #cache = new Map<string, MapNode | null>();
  #cacheSeqno = -1;
  readonly #now: () => number;

  constructor(
    db: Kysely<Database>,
    dialect: 'sqlite' | 'postgres',
    seed: Uint8Array,
    now: () => number = Date.now,
  ) {
    this.#db = db;
    this.#dialect = dialect;
    this.#seed = seed;
    this.#now = now;
  }

  async #crypto(): Promise<{ backend: CryptoBackend; secretKey: Uint8Array }> {
    if (this.#backend === undefined || this.#secretKey === undefined) {
      this.#backend = await defaultBackend();
      this.#secretKey = this.#backend.ed25519KeyPairFromSeed(this.#seed).secretKey;
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
    if (r === undefined) throw fail('INTERNAL', `log tree node ${level}/${index} is missing`);
    return hexToBytes(r.hash);
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
   * Records new chain tails and publishes a signed root, inside the caller's transaction.
   * Returns the new root's seqno.
   */
  async publish(
    trx: Transaction<Database>,
    updates: readonly (readonly [string, ChainTail])[],
  ): Promise<number> {
    if (updates.length === 0) return this.#latestSeqno(trx);
    const { backend, secretKey } = await this.#crypto();
    if (this.#dialect === 'postgres')
      await sql`select pg_advisory_xact_lock(${PUBLISH_LOCK})`.execute(trx);
    const latest = await this.#latestSeqno(trx);
    const seqno = latest + 1;
    if (this.#cacheSeqno !== latest) {
      this.#cache.clear();
      this.#cacheSeqno = latest;
    }
    const cached = async (prefix: string): Promise<MapNode | undefined> => {
      if (prefix.length <= CACHED_DEPTH) {
        const hit = this.#cache.get(prefix);
        if (hit !== undefined) return hit ?? undefined;
        const node = await this.#mapNode(trx, prefix, latest);
        this.#cache.set(prefix, node ?? null);
        return node;
      }
      return this.#mapNode(trx, prefix, latest);
    };
    const { writes, root: mapRoot } = await runMapReadAsync(updateMap(backend, updates), cached);
    const prevRow =
      latest === 0
        ? undefined
        : await trx
            .selectFrom('log_roots')
            .select('hash_meta')
            .where('seqno', '=', latest)
            .executeTakeFirst();
    const ctime = Math.floor(this.#now() / 1000);
    const body = { seqno, ctime, map: toHex(mapRoot), prev: prevRow?.hash_meta ?? null };
    const leaf = logLeafHash(backend, logLeafData(body));
    const { nodes, root: logRoot } = await runLogReadAsync(
      appendLogLeaf(backend, latest, leaf),
      (level, index) => this.#treeNode(trx, level, index),
    );
    const stored = new Map(nodes.map((n) => [`${n.level}/${n.index}`, n.hash]));
    const leafPath = await runLogReadAsync(logInclusionPath(backend, latest, seqno), (l, i) => {
      const hit = stored.get(`${l}/${i}`);
      return hit === undefined ? this.#treeNode(trx, l, i) : Promise.resolve(hit);
    });
    const signed = signLogRoot(backend, { ...body, log: toHex(logRoot) }, secretKey, leafPath);
    await trx
      .insertInto('log_map_nodes')
      .values(
        [...writes].map(([prefix, n]) => ({
          prefix,
          version: seqno,
          hash: toHex(n.hash),
          leaf_key: n.leaf === undefined ? null : toHex(n.leaf.key),
          leaf_value: n.leaf === undefined ? null : toHex(n.leaf.value),
        })),
      )
      .execute();
    await trx
      .insertInto('log_tree_nodes')
      .values(nodes.map((n) => ({ level: n.level, idx: n.index, hash: toHex(n.hash) })))
      .execute();
    await trx
      .insertInto('log_changes')
      .values(
        dedupe(updates).map(([id, tail]) => ({
          seqno,
          id,
          tail: new TextDecoder().decode(encodeChainTail(tail)),
        })),
      )
      .execute();
    await trx
      .insertInto('log_roots')
      .values({
        seqno,
        ctime,
        payload_json: signed.payloadJson,
        kid: signed.kid,
        sig: signed.sig,
        leaf_path: JSON.stringify(signed.leafPath),
        hash_meta: logRootHashMeta(backend, signed.payloadJson),
      })
      .execute();
    // The cache now describes the new root (dropped by the next publication if this
    // transaction does not commit: the latest seqno it reads will not match).
    for (const [prefix, n] of writes) if (prefix.length <= CACHED_DEPTH) this.#cache.set(prefix, n);
    this.#cacheSeqno = seqno;
    return seqno;
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

/** The last update per ID wins (a batch may touch one chain twice). */
function dedupe(updates: readonly (readonly [string, ChainTail])[]): [string, ChainTail][] {
  return [...new Map(updates.map(([id, t]) => [id, t])).entries()];
}
