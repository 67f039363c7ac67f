/**
 * Keybase's KV entry sealing ("signencrypt", specs/keybase-kvstore.md §2.2), with the team's
 * KV key and the writer's device signing key both staying inside the keystore.
 *
 * The plaintext is cut into 1 MiB chunks, always ending with one short (possibly empty) chunk.
 * Chunk k uses nonce `N ‖ uint64_be(k)`; its signature covers
 * `"Keybase-TeamStore-1" ‖ 0x00 ‖ K ‖ nonce ‖ SHA-512(chunk)` and the packet is
 * `secretbox(signature ‖ chunk)` under K. The signed bytes contain K itself, which is why this
 * runs here and `sign` refuses the `kv_chunk` purpose.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { concatBytes, uint64BE, utf8 } from '@saltbox/saltpack/encoding';
import { KeystoreError } from './errors.js';
import { SIGNATURE_PREFIXES } from './purposes.js';

/** Plaintext bytes per chunk. */
export const KV_CHUNK = 1 << 20;
const OVERHEAD = 16 + 64;
const PREFIX = concatBytes(utf8(SIGNATURE_PREFIXES.kv_chunk), new Uint8Array([0]));

function signatureInput(
  backend: CryptoBackend,
  key: Uint8Array,
  nonce: Uint8Array,
  chunk: Uint8Array,
): Uint8Array {
  return concatBytes(PREFIX, key, nonce, backend.sha512(chunk));
}

/** Seals `plaintext` under the 32-byte KV key with a 16-byte nonce prefix. */
export function sealKvEntry(
  backend: CryptoBackend,
  key: Uint8Array,
  signingSecretKey: Uint8Array,
  nonce16: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const packets: Uint8Array[] = [];
  for (let k = 0, off = 0; ; k++, off += KV_CHUNK) {
    const chunk = plaintext.subarray(off, off + KV_CHUNK);
    const nonce = concatBytes(nonce16, uint64BE(k));
    const sig = backend.ed25519Sign(signatureInput(backend, key, nonce, chunk), signingSecretKey);
    packets.push(backend.secretboxSeal(concatBytes(sig, chunk), nonce, key));
    if (chunk.length < KV_CHUNK) break;
  }
  return packets.length === 1 ? packets[0]! : concatBytes(...packets);
}

/**
 * Opens and verifies a sealed entry.
 *
 * @throws KeystoreError `KEYSTORE_DECRYPTION_FAILED` when it is truncated, does not open under
 *   the key, or a chunk signature does not verify with `signerPublicKey`.
 */
export function openKvEntry(
  backend: CryptoBackend,
  key: Uint8Array,
  signerPublicKey: Uint8Array,
  nonce16: Uint8Array,
  sealed: Uint8Array,
): Uint8Array {
  const fail = (what: string) => new KeystoreError('KEYSTORE_DECRYPTION_FAILED', what);
  const chunks: Uint8Array[] = [];
  for (let k = 0, off = 0; ; k++, off += KV_CHUNK + OVERHEAD) {
    const packet = sealed.subarray(off, off + KV_CHUNK + OVERHEAD);
    if (packet.length < OVERHEAD) throw fail('sealed kv entry is truncated');
    const nonce = concatBytes(nonce16, uint64BE(k));
    const opened = backend.secretboxOpen(packet, nonce, key);
    if (opened === null) throw fail('sealed kv entry does not open with this key');
    const chunk = opened.subarray(64);
    const input = signatureInput(backend, key, nonce, chunk);
    if (!backend.ed25519Verify(opened.subarray(0, 64), input, signerPublicKey)) {
      throw fail('kv entry signature does not verify');
    }
    chunks.push(chunk);
    if (chunk.length < KV_CHUNK) {
      if (off + packet.length !== sealed.length) throw fail('sealed kv entry has trailing data');
      break;
    }
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(...chunks);
}
