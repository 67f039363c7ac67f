/** Batched key operations over handles that may be remote. */
import type { BoxRequest, BoxSecretKey } from '../keyring.js';

/** Boxes many requests with one key, using its batch form when it has one. */
export async function boxMany(
  key: BoxSecretKey,
  requests: readonly BoxRequest[],
): Promise<readonly Uint8Array[]> {
  if (key.boxBatch) return key.boxBatch(requests);
  const out: Uint8Array[] = [];
  for (const r of requests) out.push(await key.box(r.peer, r.nonce, r.plaintext));
  return out;
}

/** 32 zero bytes: the plaintext boxed to derive MAC keys and signcryption shared keys. */
export const ZERO_32 = new Uint8Array(32);

/** The last 32 bytes of a 48-byte box of 32 zero bytes (§3.2). */
export function boxTail(box: Uint8Array): Uint8Array {
  return box.subarray(box.length - 32);
}
