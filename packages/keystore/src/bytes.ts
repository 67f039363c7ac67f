/**
 * Base64 for the wire and for records: identity's strict standard base64 (padding required, no
 * whitespace, zero trailing bits — one encoding per byte string), with decoding failures turned
 * into `null` so each caller picks its own error code (invalid argument on the wire,
 * corruption in storage).
 *
 * @packageDocumentation
 */
import { fromBase64 as strictFromBase64, toBase64 } from '@saltbox/identity';

export { toBase64 };

/** Decodes strict standard base64; `null` on any malformed input. */
export function fromBase64(text: string): Uint8Array | null {
  try {
    return strictFromBase64(text);
  } catch {
    return null;
  }
}
