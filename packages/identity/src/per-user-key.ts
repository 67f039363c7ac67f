/**
 * Per-user keys (spec §4): the seed → key derivations with Keybase's HMAC-SHA-256 reason strings,
 * and the `prev` secretbox that chains older generations to the newest seed.
 *
 * @packageDocumentation
 */
import { utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import { fail } from './errors.js';
import { naclKeyPairs } from './nacl-key-pair.js';
import type { NaclKeyPairs } from './nacl-key-pair.js';
import { openVersionedSecretbox, sealVersionedSecretbox } from './secretbox-envelope.js';

/**
 * Keybase's PUK reason strings (spec §4.1). There is deliberately no `Keybase-` prefix: the
 * strings differ from the team ones, and the hash differs too (SHA-256, not SHA-512).
 */
export const PUK_REASONS = {
  signing: 'Derived-User-NaCl-EdDSA-1',
  encryption: 'Derived-User-NaCl-DH-1',
  prevSecretbox: 'Derived-User-NaCl-SecretBox-1',
  stellarBundle: 'Derived-User-NaCl-SecretBox-StellarBundle-1',
  stellarSelfNote: 'Derived-User-NaCl-SecretBox-StellarSelfNote-1',
  stellarAcctBundle: 'Derived-User-NaCl-SecretBox-StellarAcctBundle-1',
  ephemeralUser: 'Derived-Ephemeral-User-NaCl-DH-1',
  ephemeralDevice: 'Derived-Ephemeral-Device-NaCl-DH-1',
  ephemeralTeam: 'Derived-Ephemeral-Team-NaCl-DH-1',
} as const;

/**
 * The keys of one PUK generation: the Ed25519 pair seeded by
 * `HMAC-SHA256(seed, "Derived-User-NaCl-EdDSA-1")`, the X25519 secret
 * `HMAC-SHA256(seed, "Derived-User-NaCl-DH-1")`, and the secretbox key.
 */
export interface PerUserKeys extends NaclKeyPairs {
  /** Secretbox key for the `prev` of the next generation. */
  secretboxKey: Uint8Array;
}

function checkSeed(seed: Uint8Array): void {
  if (seed.length !== 32)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'per-user-key seed must be 32 bytes');
}

/**
 * `HMAC-SHA256(key = seed, message = reason)`: Keybase's PUK derivation (spec §4.1). Reasons must
 * be at least 8 bytes, as Keybase enforces.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a seed that is not 32 bytes or a reason
 *   shorter than 8 bytes.
 */
export function derivePerUserKeySecret(
  backend: CryptoBackend,
  seed: Uint8Array,
  reason: string,
): Uint8Array {
  checkSeed(seed);
  const r = utf8(reason);
  if (r.length < 8)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'derivation reason must be at least 8 bytes');
  return backend.hmacSha256(seed, r);
}

/**
 * Derives the signing, encryption and secretbox keys of a PUK seed (spec §4.1).
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a seed that is not 32 bytes.
 */
export function derivePerUserKeys(backend: CryptoBackend, seed: Uint8Array): PerUserKeys {
  const signingSeed = derivePerUserKeySecret(backend, seed, PUK_REASONS.signing);
  const pairs = naclKeyPairs(
    backend,
    signingSeed,
    derivePerUserKeySecret(backend, seed, PUK_REASONS.encryption),
  );
  signingSeed.fill(0);
  return {
    ...pairs,
    secretboxKey: derivePerUserKeySecret(backend, seed, PUK_REASONS.prevSecretbox),
  };
}

/**
 * Seals seed g−1 under seed g for upload as `per_user_key.prev`: `[1, nonce, sealed]` msgpack,
 * standard base64, random 24-byte nonce (spec §4.3).
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for seeds that are not 32 bytes.
 */
export function sealPerUserKeyPrev(
  backend: CryptoBackend,
  newSeed: Uint8Array,
  previousSeed: Uint8Array,
): string {
  checkSeed(previousSeed);
  const key = derivePerUserKeySecret(backend, newSeed, PUK_REASONS.prevSecretbox);
  return sealVersionedSecretbox(backend, key, backend.randomBytes(24), previousSeed);
}

/**
 * Opens a PUK `prev` with the next generation's seed, yielding the previous seed (spec §4.3).
 *
 * @throws IdentityError `IDENTITY_MALFORMED` for a malformed encoding,
 *   `IDENTITY_DECRYPTION_FAILED` when it does not open or holds something other than 32 bytes.
 */
export function openPerUserKeyPrev(
  backend: CryptoBackend,
  newSeed: Uint8Array,
  prev: string,
): Uint8Array {
  const key = derivePerUserKeySecret(backend, newSeed, PUK_REASONS.prevSecretbox);
  return openVersionedSecretbox(backend, key, prev, 32);
}
