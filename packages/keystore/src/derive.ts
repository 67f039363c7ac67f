/**
 * The keystore's only door to `@saltbox/identity`, which owns Keybase's formats: KIDs, device
 * IDs, paper-key derivation, PUK and team-key derivations and their `prev` secretboxes.
 *
 * This module adapts identity's results to what the keystore holds (secret halves only) and
 * maps identity's errors onto keystore codes; apart from base64 (`bytes.ts`) no other keystore
 * file imports identity.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  curve25519Kid,
  derivePaperKeys,
  derivePerTeamKeys,
  derivePerUserKeys,
  deriveTeamApplicationKey,
  ed25519Kid,
  generateDeviceId,
  isIdentityError,
  KID_TYPE,
  parseKid,
  openPerUserKeyPrev,
  openTeamPrev,
  sealPerUserKeyPrev,
  sealTeamPrev,
  teamBoxNonce,
} from '@saltbox/identity';
import { KeystoreError, invalidArgument } from './errors.js';

/** KID of an Ed25519 public key (`0120…0a`). */
export const signingKid = (publicKey: Uint8Array): string => ed25519Kid(publicKey);

/** KID of an X25519 public key (`0121…0a`). */
export const encryptionKid = (publicKey: Uint8Array): string => curve25519Kid(publicKey);

/**
 * The 32-byte public key inside an Ed25519 (`0120…0a`) or X25519 (`0121…0a`) KID.
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for a malformed or non-NaCl KID.
 */
export function kidPublicKey(kid: string): Uint8Array {
  try {
    const parsed = parseKid(kid);
    if (parsed.type === KID_TYPE.ed25519 || parsed.type === KID_TYPE.curve25519) {
      return parsed.payload;
    }
  } catch (e) {
    if (!isIdentityError(e)) throw e;
  }
  throw invalidArgument('not a nacl kid');
}

/** A fresh device ID (16 random bytes ending in `0x18`). */
export const newDeviceId = (backend: CryptoBackend): string => generateDeviceId(backend);

/** A team-box nonce: the 20-byte prefix and a big-endian 32-bit counter. */
export const teamNonce = (prefix: Uint8Array, counter: number): Uint8Array =>
  teamBoxNonce(prefix, counter);

/** A paper key's public name and secret halves. */
export interface PaperKeySecrets {
  /** The first two words: the paper device's public name. */
  name: string;
  signingSeed: Uint8Array;
  encryptionSecret: Uint8Array;
}

/**
 * Derives a paper device from its phrase (Keybase's scrypt layout, through identity).
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for a phrase identity rejects (the message
 *   never repeats the phrase).
 */
export async function paperKeyFromPhrase(
  backend: CryptoBackend,
  phrase: string,
): Promise<PaperKeySecrets> {
  try {
    const keys = await derivePaperKeys(backend, phrase);
    const secrets = {
      name: keys.deviceName,
      signingSeed: keys.signing.secretKey.slice(0, 32),
      encryptionSecret: keys.encryptionSecretKey,
    };
    keys.signing.secretKey.fill(0);
    return secrets;
  } catch (e) {
    if (isIdentityError(e)) throw invalidArgument('invalid paper key phrase');
    throw e;
  }
}

/** Which seed family: per-user keys or per-team keys. */
export type SeedKind = 'puk' | 'team';

/** The keys of one seed generation, as the keystore holds them. */
export interface SeedKeys {
  /** The 64-byte NaCl Ed25519 secret key. */
  signingSecretKey: Uint8Array;
  signingKid: string;
  /** The X25519 secret key. */
  encryptionSecret: Uint8Array;
  encryptionKid: string;
  /** Team seeds only: the KV-store application key before any reader key mask. */
  kvKey?: Uint8Array;
}

/** Derives a seed's keys (PUK: HMAC-SHA-256 strings; team: HMAC-SHA-512/32 strings). */
export function seedKeys(backend: CryptoBackend, kind: SeedKind, seed: Uint8Array): SeedKeys {
  if (kind === 'puk') {
    const k = derivePerUserKeys(backend, seed);
    k.secretboxKey.fill(0);
    return {
      signingSecretKey: k.signing.secretKey,
      signingKid: k.signingKid,
      encryptionSecret: k.encryptionSecretKey,
      encryptionKid: k.encryptionKid,
    };
  }
  const k = derivePerTeamKeys(backend, seed);
  k.prevSecretboxKey.fill(0);
  return {
    signingSecretKey: k.signing.secretKey,
    signingKid: k.signingKid,
    encryptionSecret: k.encryptionSecretKey,
    encryptionKid: k.encryptionKid,
    kvKey: deriveTeamApplicationKey(backend, seed, 'kvStore'),
  };
}

/**
 * Seals the previous generation's seed under the new one: the `prev` string Keybase uploads
 * (base64 of msgpack `[1, nonce, sealed]`). Team prevs use the post's nonce prefix with
 * counter 0; PUK prevs a random nonce.
 */
export function sealPrev(
  backend: CryptoBackend,
  kind: SeedKind,
  newSeed: Uint8Array,
  previousSeed: Uint8Array,
  noncePrefix: Uint8Array | null,
): string {
  if (kind === 'puk') return sealPerUserKeyPrev(backend, newSeed, previousSeed);
  if (!noncePrefix) throw invalidArgument('team prev needs a nonce prefix');
  return sealTeamPrev(backend, newSeed, previousSeed, noncePrefix);
}

/**
 * Opens a `prev` string with the next generation's seed, yielding the previous seed.
 *
 * @throws KeystoreError `KEYSTORE_DECRYPTION_FAILED` when it does not open;
 *   `KEYSTORE_INVALID_ARGUMENT` when it is not a `prev` encoding.
 */
export function openPrev(
  backend: CryptoBackend,
  kind: SeedKind,
  newSeed: Uint8Array,
  prev: string,
  generation: number,
): Uint8Array {
  try {
    return kind === 'puk'
      ? openPerUserKeyPrev(backend, newSeed, prev)
      : openTeamPrev(backend, newSeed, prev);
  } catch (e) {
    if (isIdentityError(e, 'IDENTITY_DECRYPTION_FAILED')) {
      throw new KeystoreError('KEYSTORE_DECRYPTION_FAILED', 'prev box does not open', {
        generation,
      });
    }
    if (isIdentityError(e)) throw invalidArgument('malformed prev box', { generation });
    throw e;
  }
}
