/**
 * Keybase's AEAD wrapper around a KV value (specs/keybase-kvstore.md §2.3): the sealed plaintext
 * is msgpack `{a, m, v}` with `a` = SHA-512 of the sorted-key msgpack of the entry's metadata
 * (team ID, namespace, entry key, revision, the KV key itself, ciphertext version, writer UID,
 * eldest seqno and device ID) and `m` the value. The metadata contains the KV key, which never
 * leaves the keystore, so the hash is computed here.
 *
 * Opening recomputes `a` from the metadata the *reader* expects (the team, names and revision it
 * asked for, the writer the server claims), so a value moved to another key, team, revision or
 * writer fails (§2.5).
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { constantTimeEqual, decodeMsgpack } from '@saltbox/saltpack/encoding';
import { encodeCanonicalMsgpack } from '@saltbox/identity';
import { KeystoreError } from './errors.js';

/** The entry a value is sealed for (every metadata field except the key, which is ours). */
export interface KvEntryMetadata {
  teamId: string;
  namespace: string;
  entryKey: string;
  revision: number;
  writerUid: string;
  writerEldestSeqno: number;
  writerDeviceId: string;
}

/** The only wrapper and ciphertext version. */
const VERSION = 1;

/** msgpack of the metadata (Keybase's field names and order; the reference bytes are a test). */
export function kvMetadataBytes(key: Uint8Array, m: KvEntryMetadata): Uint8Array {
  return encodeCanonicalMsgpack({
    d: m.writerDeviceId,
    e: { entryKey: m.entryKey, namespace: m.namespace, teamID: m.teamId },
    k: key,
    r: m.revision,
    s: m.writerEldestSeqno,
    u: m.writerUid,
    v: VERSION,
  });
}

/** The wrapper to seal: `{a: SHA-512(metadata), m: value, v: 1}`. */
export function wrapKvValue(
  backend: CryptoBackend,
  key: Uint8Array,
  m: KvEntryMetadata,
  value: Uint8Array,
): Uint8Array {
  return encodeCanonicalMsgpack({
    a: backend.sha512(kvMetadataBytes(key, m)),
    m: value,
    v: VERSION,
  });
}

/**
 * Checks an opened wrapper against the expected metadata and returns the value.
 *
 * @throws KeystoreError `KEYSTORE_DECRYPTION_FAILED` when the wrapper is malformed or not version
 *   1; `KEYSTORE_KV_METADATA_MISMATCH` when its hash is not the expected metadata's.
 */
export function unwrapKvValue(
  backend: CryptoBackend,
  key: Uint8Array,
  m: KvEntryMetadata,
  wrapper: Uint8Array,
): Uint8Array {
  let w: unknown;
  try {
    w = decodeMsgpack(wrapper);
  } catch (e) {
    throw new KeystoreError(
      'KEYSTORE_DECRYPTION_FAILED',
      'kv wrapper is not msgpack',
      {},
      { cause: e },
    );
  }
  const field = (name: string): unknown => (w instanceof Map ? w.get(name) : undefined);
  const a = field('a');
  const value = field('m');
  const v = field('v');
  if (v !== VERSION)
    throw new KeystoreError('KEYSTORE_DECRYPTION_FAILED', 'kv wrapper version is not 1');
  if (!(a instanceof Uint8Array) || a.length !== 64 || !(value instanceof Uint8Array))
    throw new KeystoreError('KEYSTORE_DECRYPTION_FAILED', 'kv wrapper is malformed');
  if (!constantTimeEqual(a, backend.sha512(kvMetadataBytes(key, m))))
    throw new KeystoreError(
      'KEYSTORE_KV_METADATA_MISMATCH',
      'kv entry was sealed for another team, entry, revision or writer',
    );
  return value;
}
