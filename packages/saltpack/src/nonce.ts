/** Every nonce derivation of the format, one function each (specs/saltpack.md §3, §4, §6, §7). */
import {
  PAYLOAD_KEY_BOX_NONCE_V1,
  PAYLOAD_NONCE_PREFIX,
  RECIPSB_NONCE_PREFIX,
} from './constants.js';

function prefixed(prefix: Uint8Array, counter: number | bigint): Uint8Array {
  const out = new Uint8Array(24);
  out.set(prefix.subarray(0, 16));
  if (typeof counter === 'number' && Number.isSafeInteger(counter) && counter >= 0) {
    // Byte by byte: no BigInt or DataView per nonce (a header builds three per recipient).
    const hi = Math.floor(counter / 2 ** 32);
    const lo = counter >>> 0;
    for (let i = 0; i < 4; i++) {
      out[19 - i] = (hi >>> (8 * i)) & 0xff;
      out[23 - i] = (lo >>> (8 * i)) & 0xff;
    }
  } else new DataView(out.buffer).setBigUint64(16, BigInt(counter), false);
  return out;
}

/** Payload-key box nonce of recipient `index` (v2: per index; v1: one constant). */
export function payloadKeyBoxNonce(major: number, index: number): Uint8Array {
  return major === 1 ? PAYLOAD_KEY_BOX_NONCE_V1 : prefixed(RECIPSB_NONCE_PREFIX, index);
}

/** Signcryption payload-key secretbox nonce (`saltpack_recipsb` ‖ u64be(index)). */
export function signcryptionKeyBoxNonce(index: number): Uint8Array {
  return prefixed(RECIPSB_NONCE_PREFIX, index);
}

/** Encryption payload secretbox nonce of packet `k` (0-based). */
export function payloadNonce(k: number | bigint): Uint8Array {
  return prefixed(PAYLOAD_NONCE_PREFIX, k);
}

/**
 * v2 MAC-key box nonces of recipient `index`: header hash[0:16] ‖ u64be(index) with byte 15's
 * low bit cleared (long-term sender box) or set (ephemeral box).
 */
export function macKeyNonces(
  headerHash: Uint8Array,
  index: number,
): { sender: Uint8Array; ephemeral: Uint8Array } {
  const base = prefixed(headerHash, index);
  const sender = base.slice();
  sender[15] = sender[15]! & 0xfe;
  const ephemeral = base;
  ephemeral[15] = ephemeral[15]! | 0x01;
  return { sender, ephemeral };
}

/** v1 MAC-key box nonce: the first 24 bytes of the header hash. */
export function macKeyNonceV1(headerHash: Uint8Array): Uint8Array {
  return headerHash.slice(0, 24);
}

/** Signcryption payload nonce: header hash[0:16] with byte 15's low bit = final ‖ u64be(k). */
export function signcryptionPayloadNonce(
  headerHash: Uint8Array,
  k: number | bigint,
  final: boolean,
): Uint8Array {
  const out = prefixed(headerHash, k);
  out[15] = final ? out[15]! | 0x01 : out[15]! & 0xfe;
  return out;
}
