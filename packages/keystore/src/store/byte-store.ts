/**
 * Persistence as a tiny byte store — get, set, delete, list — plus the decorators that are
 * independent of any platform: a key-name prefix and an in-memory backend. Encryption at rest
 * is the decorator in `encrypted.ts`; the file backend is in `node/file-store.ts` and the
 * browser backend in `indexeddb.ts`.
 *
 * @packageDocumentation
 */
import { KeystoreError } from '../errors.js';

/**
 * A byte store. Record names are public (they are file names or IndexedDB keys); values may be
 * secret and are always written whole — a reader never sees half of a `set`.
 */
export interface ByteStore {
  /** The value, or null when the record does not exist. */
  get(name: string): Promise<Uint8Array | null>;
  /** Creates or replaces a record atomically. */
  set(name: string, value: Uint8Array): Promise<void>;
  /** Removes a record; removing a missing record is not an error. */
  delete(name: string): Promise<void>;
  /** Every record name starting with `prefix` (all when omitted), sorted. */
  list(prefix?: string): Promise<string[]>;
}

/**
 * Allowed record names: `/`-separated segments of letters, digits, `.`, `_`, `-`, each starting
 * with a letter or digit (so no segment is `.`/`..` and no file name becomes hidden).
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/**
 * Checks a record name (backends call this so that names can become file names safely).
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for an empty, overlong or unsafe name.
 */
export function assertRecordName(name: string): void {
  if (name.length > 200 || !NAME.test(name)) {
    throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'invalid record name', { record: name });
  }
}

/** Runs `fn` as a promise, so a thrown error becomes a rejection as with any real backend. */
const later = <T>(fn: () => T): Promise<T> => Promise.resolve().then(fn);

/** An in-memory byte store (tests, ephemeral keystores). Values are copied in and out. */
export function memoryStore(): ByteStore {
  const data = new Map<string, Uint8Array>();
  return {
    get: (name) =>
      later(() => {
        assertRecordName(name);
        return data.get(name)?.slice() ?? null;
      }),
    set: (name, value) =>
      later(() => {
        assertRecordName(name);
        data.set(name, value.slice());
      }),
    delete: (name) =>
      later(() => {
        assertRecordName(name);
        data.delete(name);
      }),
    list: (prefix = '') => later(() => [...data.keys()].filter((k) => k.startsWith(prefix)).sort()),
  };
}

/**
 * Scopes a store under `prefix` (for several identities in one backend). `prefix` must end in
 * `/` so that one scope can never see another scope's names as its own.
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for a prefix that is not a name plus `/`.
 */
export function prefixedStore(base: ByteStore, prefix: string): ByteStore {
  if (!prefix.endsWith('/')) {
    throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'store prefix must end with /');
  }
  assertRecordName(prefix.slice(0, -1));
  return {
    get: (name) => base.get(prefix + name),
    set: (name, value) => base.set(prefix + name, value),
    delete: (name) => base.delete(prefix + name),
    list: async (p = '') => (await base.list(prefix + p)).map((n) => n.slice(prefix.length)),
  };
}
