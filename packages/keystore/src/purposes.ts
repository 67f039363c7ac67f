/**
 * Signing purposes and their domain separation.
 *
 * A keystore that signs arbitrary bytes is a signing oracle: a caller could get a sigchain
 * link signed by presenting it as an "HTTP request". So every signature names a purpose, and
 * the purpose fixes what is signed:
 *
 * - where the format has a prefix, the keystore prepends `prefix ‖ 0x00` itself;
 * - where the format signs raw bytes (Keybase sigchain links and reverse signatures sign the
 *   payload with no prefix, spec keybase-identity §3.3), the keystore checks that the bytes have
 *   that format's shape (a JSON object or a msgpack array) — a shape no prefixed message can
 *   have, since every prefix starts with an ASCII letter;
 * - Saltpack builds its own prefixed messages, so for `saltpack` the keystore checks that one
 *   of Saltpack's three prefixes is present instead of adding one.
 *
 * @packageDocumentation
 */
import {
  ATTACHED_SIGNATURE_PREFIX,
  DETACHED_SIGNATURE_PREFIX,
  SIGNCRYPTION_SIGNATURE_PREFIX,
} from '@saltbox/saltpack';
import { bytesEqual, concatBytes, utf8 } from '@saltbox/saltpack/encoding';
import { invalidArgument, refused } from './errors.js';

/** Every purpose a caller may ask {@link signPayload} for. */
export const SIGNING_PURPOSES = [
  'sigchain_link',
  'reverse_sig',
  'http_request',
  'nist',
  'saltpack',
] as const;

/** A signing purpose. */
export type SigningPurpose = (typeof SIGNING_PURPOSES)[number];

/**
 * Prefixes the keystore prepends (followed by one 0x00 byte). `kv_chunk` is listed for
 * verifiers but is used only inside `sealKv`: its signed bytes contain the team's KV key,
 * which no caller holds, so `sign` refuses it.
 */
export const SIGNATURE_PREFIXES = {
  /** saltbox's server request signature (method, path, query, body hash, time, nonce). */
  http_request: 'Saltbox-HTTP-Request-1',
  /** Keybase session tokens (keybase-identity §5.4). */
  nist: 'Keybase-Auth-NIST-1',
  /** Keybase's KV-store chunk signatures (keybase-kvstore §2.2). */
  kv_chunk: 'Keybase-TeamStore-1',
} as const;

/** The three message prefixes Saltpack itself puts in front of what it signs. */
const saltpackPrefixBytes = [
  ATTACHED_SIGNATURE_PREFIX,
  DETACHED_SIGNATURE_PREFIX,
  SIGNCRYPTION_SIGNATURE_PREFIX,
];

/** Which kinds of key may sign for which purposes. Derived keys only sign their own links. */
export const PURPOSES_BY_KEY_KIND = {
  device: SIGNING_PURPOSES,
  puk: ['reverse_sig'],
  team: ['reverse_sig'],
} as const satisfies Record<string, readonly SigningPurpose[]>;

/** The kinds of signing key the keystore holds. */
export type SigningKeyKind = keyof typeof PURPOSES_BY_KEY_KIND;

function looksLikeLink(message: Uint8Array): boolean {
  const first = message[0];
  if (first === undefined) return false;
  // `{`: a v1 inner JSON payload; 0x90..0x9f / 0xdc / 0xdd: a msgpack array (v2 outer link).
  return first === 0x7b || (first >= 0x90 && first <= 0x9f) || first === 0xdc || first === 0xdd;
}

/**
 * The exact bytes to sign for `purpose`.
 *
 * @throws KeystoreError `KEYSTORE_REFUSED` when the key kind may not sign for the purpose;
 *   `KEYSTORE_INVALID_ARGUMENT` when the message does not have the purpose's shape.
 */
export function signPayload(
  purpose: SigningPurpose,
  kind: SigningKeyKind,
  message: Uint8Array,
): Uint8Array {
  if (!(PURPOSES_BY_KEY_KIND[kind] as readonly string[]).includes(purpose)) {
    throw refused(`a ${kind} key may not sign for purpose ${purpose}`);
  }
  switch (purpose) {
    case 'sigchain_link':
    case 'reverse_sig':
      if (!looksLikeLink(message)) {
        throw invalidArgument(`a ${purpose} must be a json object or a msgpack array`);
      }
      return message;
    case 'saltpack':
      if (!saltpackPrefixBytes.some((p) => bytesEqual(message.subarray(0, p.length), p))) {
        throw invalidArgument('a saltpack signature input must start with a saltpack prefix');
      }
      return message;
    case 'http_request':
    case 'nist':
      return concatBytes(utf8(SIGNATURE_PREFIXES[purpose]), new Uint8Array([0]), message);
  }
}
