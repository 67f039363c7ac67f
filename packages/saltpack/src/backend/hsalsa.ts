/**
 * HSalsa20 key derivation for `crypto_box_beforenm`. sodium-native exposes neither
 * `crypto_box_beforenm` nor `crypto_core_hsalsa20`, so both backends compute X25519 themselves
 * and derive the box key here (see specs/crypto-benchmarks.md, "Precompute workaround").
 */
import { hsalsa } from '@noble/ciphers/salsa.js';

// "expand 32-byte k" as little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
const ZERO_NONCE = new Uint32Array(4);

/** HSalsa20(shared point, zero nonce) → the 32-byte box key. */
export function hsalsaBoxKey(sharedPoint: Uint8Array): Uint8Array {
  // Little-endian words by hand: a header derives one key per recipient, and a DataView per
  // call was a visible share of that.
  const words = new Uint32Array(8);
  for (let i = 0, o = 0; i < 8; i++, o += 4)
    words[i] =
      sharedPoint[o]! |
      (sharedPoint[o + 1]! << 8) |
      (sharedPoint[o + 2]! << 16) |
      (sharedPoint[o + 3]! << 24);
  const out = new Uint32Array(8);
  hsalsa(SIGMA, words, ZERO_NONCE, out);
  const bytes = new Uint8Array(32);
  for (let i = 0, o = 0; i < 8; i++, o += 4) {
    const w = out[i]!;
    bytes[o] = w & 0xff;
    bytes[o + 1] = (w >>> 8) & 0xff;
    bytes[o + 2] = (w >>> 16) & 0xff;
    bytes[o + 3] = w >>> 24;
  }
  return bytes;
}
