/**
 * The browser backend: one IndexedDB object store, record name → bytes.
 *
 * IndexedDB transactions are atomic, so a `set` is all-or-nothing like the file backend's
 * rename; writes ask for `durability: "strict"` (flushed before completion) where supported.
 * Values are stored as `ArrayBuffer` copies. Not exercised by the Node test run (no IndexedDB
 * in Node); the browser test run of the web app will cover it.
 *
 * @packageDocumentation
 */
import { KeystoreError } from '../errors.js';
import type { ByteStore } from './byte-store.js';
import { assertRecordName } from './byte-store.js';

/** Options of {@link indexedDbStore}. */
export interface IndexedDbStoreOptions {
  /** Database name; default `saltbox-keystore`. */
  dbName?: string;
  /** The factory; default `globalThis.indexedDB`. */
  factory?: IDBFactory;
}

const STORE = 'records';

const storageError = (what: string, cause?: unknown): KeystoreError =>
  new KeystoreError('KEYSTORE_STORAGE', what, {}, cause === undefined ? undefined : { cause });

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => {
      resolve(req.result);
    };
    req.onerror = () => {
      reject(storageError('indexeddb request failed', req.error));
    };
  });
}

/**
 * A byte store in IndexedDB.
 *
 * @throws KeystoreError `KEYSTORE_STORAGE` (from every method) when IndexedDB is missing or
 *   fails; `KEYSTORE_INVALID_ARGUMENT` for a bad record name.
 */
export function indexedDbStore(options: IndexedDbStoreOptions = {}): ByteStore {
  let db: Promise<IDBDatabase> | undefined;
  const open = (): Promise<IDBDatabase> => {
    db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const factory = options.factory ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
      if (!factory) {
        reject(storageError('indexeddb is not available'));
        return;
      }
      const req = factory.open(options.dbName ?? 'saltbox-keystore', 1);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
      };
      req.onsuccess = () => {
        resolve(req.result);
      };
      req.onerror = () => {
        reject(storageError('could not open indexeddb', req.error));
      };
      req.onblocked = () => {
        reject(storageError('indexeddb open is blocked by another tab'));
      };
    });
    db.catch(() => (db = undefined));
    return db;
  };
  const write = async (fn: (s: IDBObjectStore) => void): Promise<void> => {
    const tx = (await open()).transaction(STORE, 'readwrite', { durability: 'strict' });
    fn(tx.objectStore(STORE));
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => {
        resolve();
      };
      tx.onabort = () => {
        reject(storageError('indexeddb write aborted', tx.error));
      };
      tx.onerror = () => {
        reject(storageError('indexeddb write failed', tx.error));
      };
    });
  };
  return {
    async get(name) {
      assertRecordName(name);
      const tx = (await open()).transaction(STORE, 'readonly');
      const v: unknown = await request(tx.objectStore(STORE).get(name));
      if (v === undefined) return null;
      if (v instanceof ArrayBuffer) return new Uint8Array(v.slice(0));
      if (v instanceof Uint8Array) return v.slice();
      throw new KeystoreError('KEYSTORE_CORRUPT', 'stored record has an unexpected type', {
        record: name,
      });
    },
    async set(name, value) {
      assertRecordName(name);
      const copy = value.slice().buffer;
      await write((s) => s.put(copy, name));
    },
    async delete(name) {
      assertRecordName(name);
      await write((s) => s.delete(name));
    },
    async list(prefix = '') {
      const tx = (await open()).transaction(STORE, 'readonly');
      const range = prefix === '' ? undefined : IDBKeyRange.bound(prefix, `${prefix}\uffff`);
      const keys = await request(tx.objectStore(STORE).getAllKeys(range));
      return keys.filter((k): k is string => typeof k === 'string').sort();
    },
  };
}
