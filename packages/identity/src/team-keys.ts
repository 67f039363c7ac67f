/**
 * Per-team keys (spec §6.2–§6.4): HMAC-SHA-512/32 derivations with Keybase's
 * `Keybase-Derived-Team-NaCl-*-1` strings, application keys, the seed check, and the box and
 * `prev` layouts that carry team seeds to members.
 *
 * @packageDocumentation
 */
import { concatBytes, utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import { decodeCanonicalMsgpack, encodeCanonicalMsgpack } from './canonical-msgpack.js';
import { fromBase64, hexToBytes, toBase64 } from './encoding.js';
import { fail } from './errors.js';
import { naclPublicKey, KID_TYPE } from './ids.js';
import type { KidHex } from './ids.js';
import { naclKeyPairs } from './nacl-key-pair.js';
import type { NaclKeyPairs } from './nacl-key-pair.js';
import { openVersionedSecretbox, sealVersionedSecretbox } from './secretbox-envelope.js';

/** Keybase's team derivation strings (spec §6.4). The code's `NaCl-` forms win over the book's. */
export const TEAM_KEY_STRINGS = {
  signing: 'Keybase-Derived-Team-NaCl-EdDSA-1',
  encryption: 'Keybase-Derived-Team-NaCl-DH-1',
  prevSecretbox: 'Keybase-Derived-Team-NaCl-SecretBox-1',
  seedCheck: 'Keybase-Derived-Team-Seedcheck-1',
} as const;

/** Application keys: Keybase's application numbers and derivation strings (spec §6.4). */
export const TEAM_APPLICATIONS = {
  kbfs: { id: 1, string: 'Keybase-Derived-Team-NaCl-KBFS-1' },
  chat: { id: 2, string: 'Keybase-Derived-Team-NaCl-Chat-1' },
  saltpack: { id: 3, string: 'Keybase-Derived-Team-NaCl-Saltpack-1' },
  gitMetadata: { id: 4, string: 'Keybase-Derived-Team-NaCl-GitMetadata-1' },
  seitanInviteToken: { id: 5, string: 'Keybase-Derived-Team-NaCl-SeitanInviteToken-1' },
  stellarRelay: { id: 6, string: 'Keybase-Derived-Team-NaCl-StellarRelay-1' },
  kvStore: { id: 7, string: 'Keybase-Derived-Team-NaCl-KVStore-1' },
} as const;

/** An application name of {@link TEAM_APPLICATIONS}. */
export type TeamApplication = keyof typeof TEAM_APPLICATIONS;

/**
 * The keys of one PTK generation: the Ed25519 pair seeded by `HMAC-SHA512(seed, "…-EdDSA-1")[:32]`,
 * the X25519 secret `HMAC-SHA512(seed, "…-DH-1")[:32]`, and the prev-secretbox key.
 */
export interface PerTeamKeys extends NaclKeyPairs {
  /** Secretbox key for the `prev` that carries the previous generation's seed. */
  prevSecretboxKey: Uint8Array;
}

function checkSeed(seed: Uint8Array): void {
  if (seed.length !== 32)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'per-team-key seed must be 32 bytes');
}

/**
 * `HMAC-SHA512(key = seed, message = string)[:32]`: Keybase's team derivation (spec §6.4).
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a seed that is not 32 bytes.
 */
export function deriveTeamKeySecret(
  backend: CryptoBackend,
  seed: Uint8Array,
  derivationString: string,
): Uint8Array {
  checkSeed(seed);
  return backend.hmacSha512(seed, utf8(derivationString)).slice(0, 32);
}

/**
 * Derives the signing, encryption and prev-secretbox keys of a team seed (spec §6.4).
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a seed that is not 32 bytes.
 */
export function derivePerTeamKeys(backend: CryptoBackend, seed: Uint8Array): PerTeamKeys {
  const signingSeed = deriveTeamKeySecret(backend, seed, TEAM_KEY_STRINGS.signing);
  const pairs = naclKeyPairs(
    backend,
    signingSeed,
    deriveTeamKeySecret(backend, seed, TEAM_KEY_STRINGS.encryption),
  );
  signingSeed.fill(0);
  return {
    ...pairs,
    prevSecretboxKey: deriveTeamKeySecret(backend, seed, TEAM_KEY_STRINGS.prevSecretbox),
  };
}

/**
 * An application key: `HMAC-SHA512(seed, app string)[:32] XOR mask` (spec §6.4). Keybase's
 * server stores a per-(application, generation) reader-key mask; without one (`mask` omitted)
 * the derived key is returned unmasked, which is what saltbox uses for its own KV store.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a seed or mask that is not 32 bytes.
 */
export function deriveTeamApplicationKey(
  backend: CryptoBackend,
  seed: Uint8Array,
  application: TeamApplication,
  mask?: Uint8Array,
): Uint8Array {
  const key = deriveTeamKeySecret(backend, seed, TEAM_APPLICATIONS[application].string);
  if (mask !== undefined) {
    if (mask.length !== 32)
      throw fail('IDENTITY_INVALID_ARGUMENT', 'reader key mask must be 32 bytes');
    for (let i = 0; i < 32; i++) key[i]! ^= mask[i]!;
  }
  return key;
}

/** The seed check chain's starting value: `"Keybase-Derived-Team-Seedcheck-1" ‖ 0x00 ‖ team ID bytes`. */
export function teamSeedCheckStart(teamId: string): Uint8Array {
  return concatBytes(
    utf8(TEAM_KEY_STRINGS.seedCheck),
    Uint8Array.of(0),
    hexToBytes(teamId, 16, 'team id'),
  );
}

/**
 * Seed check v1 for one generation: `HMAC-SHA512(seed_g, check_{g-1})[:32]` (spec §6.4), where
 * `check_0` is {@link teamSeedCheckStart}.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for a seed that is not 32 bytes.
 */
export function teamSeedCheck(
  backend: CryptoBackend,
  seed: Uint8Array,
  previousCheck: Uint8Array,
): Uint8Array {
  checkSeed(seed);
  return backend.hmacSha512(seed, previousCheck).slice(0, 32);
}

// ---------------------------------------------------------------------------------------------
// Boxes (spec §6.2) and prevs (spec §6.3)

/** The 24-byte team-box nonce: a 20-byte prefix and a big-endian 32-bit counter. */
export function teamBoxNonce(prefix: Uint8Array, counter: number): Uint8Array {
  if (prefix.length !== 20)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'team nonce prefix must be 20 bytes');
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffffffff)
    throw fail('IDENTITY_INVALID_ARGUMENT', 'team nonce counter must be a uint32');
  const nonce = new Uint8Array(24);
  nonce.set(prefix);
  new DataView(nonce.buffer).setUint32(20, counter, false);
  return nonce;
}

/** A team seed box addressed to one member's PUK, as the server returns it (spec §6.2). */
export interface TeamKeyBox {
  /** Base64 of the full 24-byte nonce. */
  nonce: string;
  /** The sender's Curve25519 KID. */
  senderKid: KidHex;
  generation: number;
  /** Base64 of the 48-byte ciphertext. */
  ctext: string;
  /** Seqno of the receiver's `per_user_key` link whose key opens the box. */
  perUserKeySeqno: number;
}

/**
 * Seals a team seed to a member's PUK encryption key with NaCl `box`.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for wrong key or nonce sizes.
 */
export function sealTeamKeyBox(
  backend: CryptoBackend,
  seed: Uint8Array,
  nonce: Uint8Array,
  senderSecretKey: Uint8Array,
  receiverKid: KidHex,
): Uint8Array {
  checkSeed(seed);
  if (nonce.length !== 24) throw fail('IDENTITY_INVALID_ARGUMENT', 'nonce must be 24 bytes');
  const shared = backend.boxBeforeNm(
    naclPublicKey(receiverKid, KID_TYPE.curve25519),
    senderSecretKey,
  );
  try {
    return backend.secretboxSeal(seed, nonce, shared);
  } finally {
    shared.fill(0);
  }
}

/**
 * Opens a member's team seed box with the PUK encryption secret key named by
 * `perUserKeySeqno` (spec §6.2).
 *
 * @throws IdentityError `IDENTITY_MALFORMED` for bad base64 or sizes,
 *   `IDENTITY_DECRYPTION_FAILED` when the box does not open.
 */
export function openTeamKeyBox(
  backend: CryptoBackend,
  box: TeamKeyBox,
  receiverSecretKey: Uint8Array,
): Uint8Array {
  const nonce = fromBase64(box.nonce);
  const ctext = fromBase64(box.ctext);
  if (nonce.length !== 24 || ctext.length !== 48)
    throw fail('IDENTITY_MALFORMED', 'team key box has the wrong size');
  const sender = naclPublicKey(box.senderKid, KID_TYPE.curve25519);
  const shared = backend.boxBeforeNm(sender, receiverSecretKey);
  try {
    const seed = backend.secretboxOpen(ctext, nonce, shared);
    if (seed?.length !== 32)
      throw fail('IDENTITY_DECRYPTION_FAILED', 'team key box did not open', { kid: box.senderKid });
    return seed;
  } finally {
    shared.fill(0);
  }
}

/**
 * Encodes a per-member box for a `sig/multi` post: msgpack
 * `[1, per_user_key_seqno, nonce_counter, ctext]`, base64 (spec §6.2).
 */
export function encodeTeamMemberBox(
  perUserKeySeqno: number,
  nonceCounter: number,
  ctext: Uint8Array,
): string {
  return toBase64(encodeCanonicalMsgpack([1, perUserKeySeqno, nonceCounter, ctext]));
}

/**
 * Decodes a per-member box of a `sig/multi` post.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` or `IDENTITY_NON_CANONICAL` for a bad encoding.
 */
export function decodeTeamMemberBox(encoded: string): {
  perUserKeySeqno: number;
  nonceCounter: number;
  ctext: Uint8Array;
} {
  const v = decodeCanonicalMsgpack(fromBase64(encoded));
  if (
    !Array.isArray(v) ||
    v.length !== 4 ||
    v[0] !== 1 ||
    typeof v[1] !== 'number' ||
    typeof v[2] !== 'number' ||
    !(v[3] instanceof Uint8Array)
  )
    throw fail('IDENTITY_MALFORMED', 'team member box is not [1, seqno, counter, ctext]');
  return { perUserKeySeqno: v[1], nonceCounter: v[2], ctext: v[3] };
}

/**
 * Seals seed g−1 under seed g for a rotation: secretbox keyed by the new seed's
 * `…-SecretBox-1` derivation, nonce = the post's 20-byte prefix with counter 0 (spec §6.3).
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for wrong seed or prefix sizes.
 */
export function sealTeamPrev(
  backend: CryptoBackend,
  newSeed: Uint8Array,
  previousSeed: Uint8Array,
  noncePrefix: Uint8Array,
): string {
  checkSeed(previousSeed);
  const key = deriveTeamKeySecret(backend, newSeed, TEAM_KEY_STRINGS.prevSecretbox);
  return sealVersionedSecretbox(backend, key, teamBoxNonce(noncePrefix, 0), previousSeed);
}

/**
 * Opens a team `prev` (`prevs[g]` holds seed g−1) with seed g (spec §6.3).
 *
 * @throws IdentityError `IDENTITY_MALFORMED` or `IDENTITY_DECRYPTION_FAILED`.
 */
export function openTeamPrev(
  backend: CryptoBackend,
  newSeed: Uint8Array,
  prev: string,
): Uint8Array {
  const key = deriveTeamKeySecret(backend, newSeed, TEAM_KEY_STRINGS.prevSecretbox);
  return openVersionedSecretbox(backend, key, prev, 32);
}
