/**
 * HSalsa20 key derivation for `crypto_box_beforenm`. sodium-native exposes neither
 * `crypto_box_beforenm` nor `crypto_core_hsalsa20`, so both backends compute X25519 themselves
 * and derive the box key here (see specs/crypto-benchmarks.md, "Precompute workaround").
 */
import { hsalsa } from '@noble/ciphers/salsa.js';

// "expand 32-byte k" as little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
const ZERO_NONCE = new Uint32Array(4);

function toWords(bytes: Uint8Array): Uint32Array {
  const words = new Uint32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(i * 4, true);
  return words;
}

/** HSalsa20(shared point, zero nonce) → the 32-byte box key. */
export function hsalsaBoxKey(sharedPoint: Uint8Array): Uint8Array {
  const out = new Uint32Array(8);
  hsalsa(SIGMA, toWords(sharedPoint), ZERO_NONCE, out);
  const bytes = new Uint8Array(32);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 8; i++) view.setUint32(i * 4, out[i]!, true);
  return bytes;
}
