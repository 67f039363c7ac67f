/**
 * The KV rollback cache (specs/keybase-kvstore.md §2.6), persisted: for every entry this client
 * has verified or written, the highest revision seen, the team key generation and the hash of
 * the ciphertext at that revision. Checked on every read and before every write:
 *
 * - a revision lower than the cached one is a rollback;
 * - a generation lower than the cached one is a rollback;
 * - at the cached revision, the generation and the ciphertext hash must be the same;
 * - a write must carry a revision above the cached one (`CLIENT_KV_WRONG_REVISION`, Keybase's
 *   "revision out of date", 2760).
 *
 * Keybase keeps this only in memory; saltbox persists it as one JSON text through a
 * {@link KvCacheStorage}: a 0600 file written atomically (temp file, fsync, rename) on Node
 * (`kvCacheFile`, in `kv-cache-file.ts`), browser storage in the web app. Writes are
 * group-committed: every change waits for a write that started after it, and concurrent changes
 * share one write. Before each write the stored text is re-read and merged (higher revision
 * wins), so two processes (or tabs) sharing it do not undo each other's state.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { toHex } from '@saltbox/identity';
import { ClientError } from './errors.js';

/**
 * Where the cache persists: one JSON text, read whole and replaced whole (atomically: a reader
 * never sees half of a write).
 */
export interface KvCacheStorage {
  /**
   * The stored text, or null when nothing is stored yet.
   *
   * @throws ClientError `CLIENT_STORE` when it cannot be read.
   */
  read(): Promise<string | null>;
  /**
   * Replaces the stored text.
   *
   * @throws ClientError `CLIENT_STORE` when it cannot be written.
   */
  write(text: string): Promise<void>;
}

/** What the cache remembers of one entry. */
export interface KvCacheRecord {
  revision: number;
  /** Hex SHA-256 of the base64 ciphertext as received; empty for a missing or deleted entry. */
  hash: string;
  teamKeyGen: number;
}

/** The entry an operation is about. */
export interface KvCacheKey {
  teamId: string;
  namespace: string;
  entryKey: string;
}

const idOf = (k: KvCacheKey) => JSON.stringify([k.teamId, k.namespace, k.entryKey]);

type Row = [string, string, string, number, string, number];

function parseFile(text: string): Map<string, KvCacheRecord> {
  const fail = () => new ClientError('CLIENT_STORE', 'the kv rollback cache file is corrupt');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ClientError(
      'CLIENT_STORE',
      'the kv rollback cache file is corrupt',
      {},
      { cause: e },
    );
  }
  const o = json as { v?: unknown; entries?: unknown };
  if (o.v !== 1 || !Array.isArray(o.entries)) throw fail();
  const out = new Map<string, KvCacheRecord>();
  for (const r of o.entries as unknown[]) {
    if (!Array.isArray(r) || r.length !== 6) throw fail();
    const [t, n, k, revision, hash, gen] = r as unknown[];
    if (
      typeof t !== 'string' ||
      typeof n !== 'string' ||
      typeof k !== 'string' ||
      !Number.isSafeInteger(revision) ||
      typeof hash !== 'string' ||
      !Number.isSafeInteger(gen)
    )
      throw fail();
    out.set(idOf({ teamId: t, namespace: n, entryKey: k }), {
      revision: revision as number,
      hash,
      teamKeyGen: gen as number,
    });
  }
  return out;
}

/** Keeps the higher revision; at equal revisions the first argument wins. */
function newer(a: KvCacheRecord, b: KvCacheRecord | undefined): KvCacheRecord {
  return b !== undefined && b.revision > a.revision ? b : a;
}

/**
 * The rollback cache. Open it with {@link KvRollbackCache.open} (persisted) or construct it
 * without a storage (memory only, for tests and short-lived tools).
 */
export class KvRollbackCache {
  readonly #backend: CryptoBackend;
  readonly #storage: KvCacheStorage | null;
  readonly #entries: Map<string, KvCacheRecord>;
  #pending: Promise<void> | null = null;
  #running: Promise<void> | null = null;

  /**
   * @param backend - for SHA-256.
   * @param storage - where it persists, or null for memory only.
   * @param entries - the loaded state.
   */
  constructor(
    backend: CryptoBackend,
    storage: KvCacheStorage | null = null,
    entries = new Map<string, KvCacheRecord>(),
  ) {
    this.#backend = backend;
    this.#storage = storage;
    this.#entries = entries;
  }

  /**
   * Loads the cache from `storage` (nothing stored is an empty cache).
   *
   * @throws ClientError `CLIENT_STORE` when it cannot be read or is corrupt.
   */
  static async open(backend: CryptoBackend, storage: KvCacheStorage): Promise<KvRollbackCache> {
    return new KvRollbackCache(backend, storage, await readStored(storage));
  }

  /** The hash the cache keeps for a ciphertext (empty for none). */
  hashOf(ciphertext: string | null): string {
    if (ciphertext === null || ciphertext === '') return '';
    return toHex(this.#backend.sha256(new TextEncoder().encode(ciphertext)));
  }

  /** What the cache holds for an entry, if anything. */
  lookup(key: KvCacheKey): KvCacheRecord | undefined {
    return this.#entries.get(idOf(key));
  }

  /**
   * Checks a server answer against the cache (Keybase's `Check`).
   *
   * @throws ClientError `CLIENT_KV_ROLLBACK` when the revision or generation went down, or the
   *   same revision comes with another generation or ciphertext.
   */
  check(key: KvCacheKey, ciphertext: string | null, teamKeyGen: number, revision: number): void {
    const c = this.lookup(key);
    if (c === undefined) return;
    const rollback = (message: string, details: Record<string, number | string>) =>
      new ClientError('CLIENT_KV_ROLLBACK', message, { ...details, namespace: key.namespace });
    if (revision < c.revision)
      throw rollback(`revision decreased from ${c.revision} to ${revision}`, {
        cached: c.revision,
        served: revision,
      });
    if (teamKeyGen < c.teamKeyGen)
      throw rollback(`team key generation decreased from ${c.teamKeyGen} to ${teamKeyGen}`, {
        cached: c.teamKeyGen,
        served: teamKeyGen,
      });
    if (revision === c.revision) {
      if (teamKeyGen !== c.teamKeyGen)
        throw rollback(`at the same revision (${revision}) team key gen cannot be different`, {
          cached: c.teamKeyGen,
          served: teamKeyGen,
        });
      if (this.hashOf(ciphertext) !== c.hash)
        throw rollback(`at the same revision (${revision}) hash of entry cannot be different`, {
          revision,
        });
    }
  }

  /**
   * Checks, then remembers a verified answer or a successful write, and persists.
   *
   * @throws ClientError `CLIENT_KV_ROLLBACK` (see {@link KvRollbackCache.check}); `CLIENT_STORE`
   *   when the file cannot be written.
   */
  async put(
    key: KvCacheKey,
    ciphertext: string | null,
    teamKeyGen: number,
    revision: number,
  ): Promise<void> {
    this.check(key, ciphertext, teamKeyGen, revision);
    const c = this.lookup(key);
    if (c?.revision === revision) return; // unchanged: nothing to write
    this.#entries.set(idOf(key), { revision, hash: this.hashOf(ciphertext), teamKeyGen });
    await this.#persist();
  }

  /**
   * Before a write: refuses a revision not above the cached one (Keybase's `CheckForUpdate`).
   *
   * @throws ClientError `CLIENT_KV_WRONG_REVISION` ("revision out of date").
   */
  checkForUpdate(key: KvCacheKey, revision: number): void {
    const c = this.lookup(key);
    if (c !== undefined && revision <= c.revision)
      throw new ClientError('CLIENT_KV_WRONG_REVISION', 'revision out of date', {
        revision,
        cached: c.revision,
      });
  }

  /**
   * After a delete: remembers the tombstone's revision, keeping the cached generation.
   *
   * @throws ClientError `CLIENT_KV_WRONG_REVISION`; `CLIENT_STORE`.
   */
  async markDeleted(key: KvCacheKey, revision: number): Promise<void> {
    this.checkForUpdate(key, revision);
    const gen = this.lookup(key)?.teamKeyGen ?? 0;
    this.#entries.set(idOf(key), { revision, hash: '', teamKeyGen: gen });
    await this.#persist();
  }

  /** Resolves once every change made before the call is stored. */
  flush(): Promise<void> {
    return this.#storage === null ? Promise.resolve() : this.#persist();
  }

  #persist(): Promise<void> {
    const storage = this.#storage;
    if (storage === null) return Promise.resolve();
    if (this.#pending !== null) return this.#pending;
    const previous = this.#running;
    const pending = (async () => {
      // Always suspend before clearing #pending: without a write running, the old code ran
      // straight through to the clearing below *before* `this.#pending = pending` was set, so
      // #pending kept this finished promise for ever and every later change of the process
      // "joined" it and was never stored (issue #12.3: a put's own revision was lost).
      await previous?.catch(() => undefined);
      // From here on, changes wait for the next write: this one may not include them.
      this.#pending = null;
      const run = this.#write(storage);
      this.#running = run;
      try {
        await run;
      } finally {
        if (this.#running === run) this.#running = null;
      }
    })();
    this.#pending = pending;
    return pending;
  }

  async #write(storage: KvCacheStorage): Promise<void> {
    // Merge with what another process may have written since we loaded (higher revision wins).
    const onDisk = await readStored(storage);
    for (const [id, rec] of onDisk) {
      const mine = this.#entries.get(id);
      if (mine === undefined || rec.revision > mine.revision) this.#entries.set(id, rec);
    }
    const rows: Row[] = [];
    for (const [id, rec] of this.#entries) {
      const [t, n, k] = JSON.parse(id) as [string, string, string];
      const merged = newer(rec, onDisk.get(id));
      rows.push([t, n, k, merged.revision, merged.hash, merged.teamKeyGen]);
    }
    await storage.write(JSON.stringify({ v: 1, entries: rows }));
  }
}

async function readStored(storage: KvCacheStorage): Promise<Map<string, KvCacheRecord>> {
  const text = await storage.read();
  return text === null ? new Map() : parseFile(text);
}
