/**
 * Keybase's identity derivations, in the one module that will delegate to `@saltbox/identity`.
 *
 * `@saltbox/identity` owns these formats (DESIGN.md); it was still empty when the keystore was
 * written, so the minimum the keystore needs is implemented here, following
 * `specs/keybase-identity.md` (§2 IDs, §4 PUK, §5 paper keys, §6.4 team keys) exactly. Every
 * other keystore module calls only this file, so switching to identity's exports is a change
 * here and nowhere else.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { toHex, utf8 } from '@saltbox/saltpack';
import { invalidArgument } from './errors.js';

/** KID of an Ed25519 public key: `01 20 ‖ key ‖ 0a` in lowercase hex (spec §2.1). */
export function signingKid(publicKey: Uint8Array): string {
  return `0120${toHex(publicKey)}0a`;
}

/** KID of an X25519 public key: `01 21 ‖ key ‖ 0a` in lowercase hex (spec §2.1). */
export function encryptionKid(publicKey: Uint8Array): string {
  return `0121${toHex(publicKey)}0a`;
}

/** A fresh device ID: 16 random bytes whose last byte is the device suffix `0x18` (§2.2). */
export function newDeviceId(backend: CryptoBackend): string {
  const id = backend.randomBytes(16);
  id[15] = 0x18;
  return toHex(id);
}

/** The secrets behind one device-like key pair: an Ed25519 seed and an X25519 secret. */
export interface DeviceSecrets {
  signingSeed: Uint8Array;
  encryptionSecret: Uint8Array;
}

/** A paper key's public name and secrets. */
export interface PaperKeySecrets extends DeviceSecrets {
  /** The first two words: the paper device's public name (spec §5.1). */
  name: string;
}

/**
 * Lowercases, trims and collapses whitespace; requires at least 13 words and version nibble 0
 * (`SHA-256(last word)[31] & 0x0f`, spec §5.1).
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for a malformed phrase (the message never
 *   repeats the phrase).
 */
export function normalizePaperPhrase(backend: CryptoBackend, phrase: string): string {
  const words = phrase.toLowerCase().trim().split(/\s+/).filter(Boolean);
  if (words.length < 13) throw invalidArgument('paper key phrase must have at least 13 words');
  if (!words.every((w) => /^[a-z]+$/.test(w))) {
    throw invalidArgument('paper key phrase must contain only words');
  }
  const last = backend.sha256(utf8(words[words.length - 1]!));
  if ((last[31]! & 0x0f) !== 0) throw invalidArgument('paper key phrase has an unknown version');
  return words.join(' ');
}

/**
 * Paper key derivation (spec §5.2): scrypt(phrase, salt = empty, N = 32768, r = 8, p = 1,
 * 128 bytes); bytes 32..63 are the Ed25519 seed, 64..95 the X25519 secret.
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for a malformed phrase.
 */
export async function paperKeyFromPhrase(
  backend: CryptoBackend,
  phrase: string,
): Promise<PaperKeySecrets> {
  const normalized = normalizePaperPhrase(backend, phrase);
  const out = await backend.scrypt(utf8(normalized), new Uint8Array(0), {
    N: 32768,
    r: 8,
    p: 1,
    length: 128,
  });
  const secrets = {
    name: normalized.split(' ').slice(0, 2).join(' '),
    signingSeed: out.slice(32, 64),
    encryptionSecret: out.slice(64, 96),
  };
  out.fill(0);
  return secrets;
}

/** Keys derived from a per-user-key seed (spec §4.1). */
export interface PukSecrets extends DeviceSecrets {
  /** Secretbox key of the `prev` chain. */
  secretboxKey: Uint8Array;
}

/** PUK derivations: HMAC-SHA-256(key = seed, message = reason) with Keybase's strings. */
export function pukSecrets(backend: CryptoBackend, seed: Uint8Array): PukSecrets {
  return {
    signingSeed: backend.hmacSha256(seed, utf8('Derived-User-NaCl-EdDSA-1')),
    encryptionSecret: backend.hmacSha256(seed, utf8('Derived-User-NaCl-DH-1')),
    secretboxKey: backend.hmacSha256(seed, utf8('Derived-User-NaCl-SecretBox-1')),
  };
}

/** Keys derived from a per-team-key seed (spec §6.4). */
export interface TeamSecrets extends PukSecrets {
  /** The KV-store application key before the reader key mask is applied. */
  kvKey: Uint8Array;
}

const teamDerive = (backend: CryptoBackend, seed: Uint8Array, reason: string): Uint8Array =>
  backend.hmacSha512(seed, utf8(reason)).slice(0, 32);

/** Team derivations: HMAC-SHA-512(key = seed, message = string) truncated to 32 bytes. */
export function teamSecrets(backend: CryptoBackend, seed: Uint8Array): TeamSecrets {
  return {
    signingSeed: teamDerive(backend, seed, 'Keybase-Derived-Team-NaCl-EdDSA-1'),
    encryptionSecret: teamDerive(backend, seed, 'Keybase-Derived-Team-NaCl-DH-1'),
    secretboxKey: teamDerive(backend, seed, 'Keybase-Derived-Team-NaCl-SecretBox-1'),
    kvKey: teamDerive(backend, seed, 'Keybase-Derived-Team-NaCl-KVStore-1'),
  };
}
