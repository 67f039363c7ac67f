/**
 * Which NaCl boxes the keystore makes and opens with long-term X25519 keys on a caller's behalf.
 *
 * A generic "box/unbox anything" method would be an oracle for every box ever sent to our keys:
 * with our secret key and the sender's public key, a box of zeros under the sender's nonce
 * reproduces the keystream that hides a per-user-key seed. Saltpack needs only three shapes,
 * so only those are served (specs/saltpack.md §3–§6):
 *
 * - **box of 32 zero bytes** (MAC-key halves, signcryption derived keys), nonce either
 *   `header_hash[0:16] ‖ uint64_be(i)` with `i < 2^32` — bytes 16..19 are zero — or the constant
 *   `saltpack_derived_sboxkey`;
 * - **unbox of a 48-byte payload-key box**, nonce `saltpack_recipsb ‖ uint64_be(i)` (v2) or the
 *   constant `saltpack_payload_key_box` (v1).
 *
 * Seed boxes the keystore makes never have zeros at bytes 16..19 (`seedBoxNonce`), so no
 * allowed request reproduces their keystream; a box made elsewhere with random nonces has a
 * 2^-32 chance of that shape. Saltpack v1 MAC keys use `header_hash[0:24]` — an arbitrary nonce
 * — so v1 decryption with keystore keys is off unless explicitly enabled (README).
 *
 * @packageDocumentation
 */
import type { RandomSource } from '@saltbox/saltpack';
import {
  DERIVED_SBOX_KEY_NONCE,
  PAYLOAD_KEY_BOX_NONCE_V1,
  RECIPSB_NONCE_PREFIX,
} from '@saltbox/saltpack';
import { bytesEqual } from '@saltbox/saltpack/encoding';
import { refused } from './errors.js';

const zeroAt16to19 = (nonce: Uint8Array): boolean =>
  (nonce[16]! | nonce[17]! | nonce[18]! | nonce[19]!) === 0;

/**
 * Checks a nonce for a box of zeros with a long-term key.
 *
 * @throws KeystoreError `KEYSTORE_REFUSED` for any other nonce (unless `legacyV1` allows it).
 */
export function checkZeroBoxNonce(nonce: Uint8Array, legacyV1: boolean): void {
  if (nonce.length !== 24) throw refused('nonce must be 24 bytes');
  if (zeroAt16to19(nonce) || bytesEqual(nonce, DERIVED_SBOX_KEY_NONCE) || legacyV1) return;
  throw refused('box nonce is not a saltpack mac or derived-key nonce');
}

/**
 * Checks a nonce for opening a payload-key box.
 *
 * @throws KeystoreError `KEYSTORE_REFUSED` for any other nonce.
 */
export function checkPayloadKeyNonce(nonce: Uint8Array): void {
  if (nonce.length !== 24) throw refused('nonce must be 24 bytes');
  if (bytesEqual(nonce, PAYLOAD_KEY_BOX_NONCE_V1)) return;
  if (bytesEqual(nonce.subarray(0, 16), RECIPSB_NONCE_PREFIX) && zeroAt16to19(nonce)) return;
  throw refused('unbox nonce is not a saltpack payload-key nonce');
}

/**
 * Random bytes for a seed-box nonce (24 bytes) or team nonce prefix (20 bytes) whose bytes
 * 16..19 are not all zero, so no Saltpack-shaped request can reproduce the box's keystream.
 */
export function seedBoxNonce(random: RandomSource, length: 20 | 24): Uint8Array {
  for (;;) {
    const n = random.randomBytes(length);
    if (!zeroAt16to19(n)) return n;
  }
}
