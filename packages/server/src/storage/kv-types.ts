/**
 * The KV store aggregate of `Storage`: one current ciphertext per (team, namespace, entry key),
 * revisions that only move by exactly one, tombstones, listings and a per-team change cursor
 * (specs/keybase-kvstore.md §1.4). The server never sees a plaintext value.
 *
 * @packageDocumentation
 */

/** An entry's writer, as the authenticated device named it. */
export interface KvWriterRecord {
  uid: string;
  eldestSeqno: number;
  deviceId: string;
}

/** A stored entry (live, or a tombstone with a null ciphertext). */
export interface KvEntryRecord {
  teamId: string;
  namespace: string;
  entryKey: string;
  revision: number;
  /** Base64 box; null for a tombstone. */
  ciphertext: string | null;
  formatVersion: number;
  /** The team key generation of the last write (kept on tombstones, spec §2.6). */
  teamKeyGen: number;
  writer: KvWriterRecord;
  /** The team's change cursor value of the last write. */
  changeSeq: number;
}

/** An entry id. */
export interface KvEntryId {
  namespace: string;
  entryKey: string;
}

/** One page of a listing. */
export interface KvPage {
  /** Names strictly after this one. */
  after?: string | undefined;
  limit: number;
}

/** A change since a cursor: the entry's current revision. */
export interface KvChangeRecord {
  namespace: string;
  entryKey: string;
  revision: number;
  deleted: boolean;
  changeSeq: number;
}

/** The KV store. */
export interface KvStore {
  /** An entry (live or tombstone), or null when never written. */
  get(teamId: string, namespace: string, entryKey: string): Promise<KvEntryRecord | null>;

  /** Several entries of one team in one round trip, in request order (null = never written). */
  getMany(teamId: string, ids: readonly KvEntryId[]): Promise<(KvEntryRecord | null)[]>;

  /**
   * Writes revision `revision`, which must be the current revision + 1 (1 for a new entry; a
   * tombstone's revision + 1 to write over it). Two writers of one revision: exactly one wins.
   *
   * @throws StorageError `STORAGE_CONFLICT` (`kv_revision`) when `revision` is not current + 1;
   *   (`kv_generation`) when `teamKeyGen` is lower than the entry's current generation
   *   (unless that one is above `currentTeamKeyGen`).
   */
  put(input: {
    teamId: string;
    namespace: string;
    entryKey: string;
    revision: number;
    ciphertext: string;
    formatVersion: number;
    teamKeyGen: number;
    writer: KvWriterRecord;
    /**
     * The team's current key generation, when the caller checked `teamKeyGen` against it. An
     * entry stamped with a higher generation than this names a key that never existed (written
     * before the routes refused such puts, issue #12.2); it is overwritten instead of making
     * the entry unwritable for ever.
     */
    currentTeamKeyGen?: number;
  }): Promise<{ revision: number; changeSeq: number }>;

  /**
   * Deletes a live entry by writing a tombstone at `revision` (current + 1); the tombstone keeps
   * the entry's team key generation.
   *
   * @throws StorageError `STORAGE_NOT_FOUND` (`kv_entry`) when the entry was never written or
   *   is deleted; `STORAGE_CONFLICT` (`kv_revision`) when `revision` is not current + 1.
   */
  del(input: {
    teamId: string;
    namespace: string;
    entryKey: string;
    revision: number;
    writer: KvWriterRecord;
  }): Promise<{ revision: number; changeSeq: number }>;

  /** Namespaces with at least one live entry, `__` names left out, in byte order. */
  listNamespaces(teamId: string, page: KvPage): Promise<string[]>;

  /** Live entry keys of a namespace with their revisions, `__` names left out, in byte order. */
  listEntryKeys(
    teamId: string,
    namespace: string,
    page: KvPage,
  ): Promise<{ entryKey: string; revision: number }[]>;

  /** Entries (of one namespace, optionally) changed after cursor `since`, oldest change first. */
  changes(
    teamId: string,
    options: { since: number; namespace?: string | undefined; limit: number },
  ): Promise<KvChangeRecord[]>;

  /** The team's current change cursor (0 before the first write). */
  cursor(teamId: string): Promise<number>;
}
