/**
 * The `[1, nonce, sealed]` secretbox envelope that both PUK and PTK `prev`s use (spec §4.3, §6.3):
 * a msgpack array of version 1, a 24-byte nonce `bin` and the sealed `bin`, then standard base64.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { decodeCanonicalMsgpack, encodeCanonicalMsgpack } from './canonical-msgpack.js';
import { fromBase64, toBase64 } from './encoding.js';
import { fail } from './errors.js';

/**
 * Seals `plaintext` with `key` under `nonce` and encodes the envelope.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` when the key is not 32 bytes or the nonce
 *   not 24.
 */
export function sealVersionedSecretbox(
  backend: CryptoBackend,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
): string {
  if (key.length !== 32 || nonce.length !== 24)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'secretbox needs a 32-byte key and a 24-byte nonce');
  const sealed = backend.secretboxSeal(plaintext, nonce, key);
  return toBase64(encodeCanonicalMsgpack([1, nonce, sealed]));
}

/**
 * Decodes and opens an envelope; `expectedLength` checks the plaintext size.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` when the encoding is not `[1, bin(24), bin]`;
 *   `IDENTITY_DECRYPTION_FAILED` when the box does not open or has the wrong length.
 */
export function openVersionedSecretbox(
  backend: CryptoBackend,
  key: Uint8Array,
  encoded: string,
  expectedLength?: number,
): Uint8Array {
  const value = decodeCanonicalMsgpack(fromBase64(encoded));
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    value[0] !== 1 ||
    !(value[1] instanceof Uint8Array) ||
    value[1].length !== 24 ||
    !(value[2] instanceof Uint8Array)
  )
    throw fail('IDENTITY_MALFORMED', 'secretbox envelope is not [1, nonce, sealed]');
  const opened = backend.secretboxOpen(value[2], value[1], key);
  if (opened === null) throw fail('IDENTITY_DECRYPTION_FAILED', 'secretbox did not open');
  if (expectedLength !== undefined && opened.length !== expectedLength)
    throw fail('IDENTITY_DECRYPTION_FAILED', 'secretbox holds a value of the wrong length');
  return opened;
}
