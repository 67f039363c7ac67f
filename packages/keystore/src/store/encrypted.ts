/**
 * Authenticated encryption at rest, as a byte-store decorator.
 *
 * Record layout: `"SBKR" ‖ version (1 byte, = 1) ‖ nonce (24) ‖ secretbox(value)`. The
 * secretbox key is derived per record name (HMAC-SHA-512 of the storage key over the string
 * `saltbox-keystore-record-1`, a zero byte and the name, first 32 bytes), so the name is bound
 * like AEAD associated data: a value copied or renamed to another record does not open.
 * Rollback of a whole record to an older value is not detected (see README, security notes).
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { concatBytes, utf8 } from '@saltbox/saltpack/encoding';
import { KeystoreError, corrupt } from '../errors.js';
import type { ByteStore } from './byte-store.js';

const MAGIC = utf8('SBKR');
/** The record format version this code writes and reads. */
export const RECORD_VERSION = 1;
const HEADER = MAGIC.length + 1 + 24;

/**
 * Wraps `base` so every value is encrypted under `key` (32 bytes) with the record name bound.
 * The decorator keeps its own copy of the key; {@link EncryptedStore.close} wipes it.
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` when the key is not 32 bytes.
 */
export function encryptedStore(
  base: ByteStore,
  key: Uint8Array,
  backend: CryptoBackend,
): EncryptedStore {
  if (key.length !== 32) {
    throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'storage key must be 32 bytes');
  }
  let master: Uint8Array | null = key.slice();
  const recordKey = (name: string): Uint8Array => {
    if (!master) throw new KeystoreError('KEYSTORE_LOCKED', 'keystore is locked');
    return backend
      .hmacSha512(master, utf8('saltbox-keystore-record-1'), new Uint8Array([0]), utf8(name))
      .slice(0, 32);
  };
  return {
    async get(name) {
      const sealed = await base.get(name);
      if (sealed === null) return null;
      if (sealed.length < HEADER + 16 || !MAGIC.every((b, i) => sealed[i] === b)) {
        throw corrupt('stored record is damaged', { record: name });
      }
      const version = sealed[MAGIC.length]!;
      if (version !== RECORD_VERSION) {
        throw new KeystoreError(
          'KEYSTORE_UNSUPPORTED_VERSION',
          'stored record has an unsupported format version',
          { record: name, version },
        );
      }
      const k = recordKey(name);
      const opened = backend.secretboxOpen(
        sealed.subarray(HEADER),
        sealed.subarray(MAGIC.length + 1, HEADER),
        k,
      );
      k.fill(0);
      if (opened === null) throw corrupt('stored record failed authentication', { record: name });
      return opened;
    },
    async set(name, value) {
      const nonce = backend.randomBytes(24);
      const k = recordKey(name);
      const box = backend.secretboxSeal(value, nonce, k);
      k.fill(0);
      await base.set(name, concatBytes(MAGIC, new Uint8Array([RECORD_VERSION]), nonce, box));
    },
    delete: (name) => base.delete(name),
    list: (prefix) => base.list(prefix),
    close() {
      master?.fill(0);
      master = null;
    },
  };
}

/** An encrypted store; `close` wipes its key, after which reads and writes fail as locked. */
export interface EncryptedStore extends ByteStore {
  close(): void;
}
