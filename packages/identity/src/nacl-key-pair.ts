/**
 * The signing + encryption pair that every Keybase key set derives (PUK §4.1, PTK §6.4, paper
 * key §5.2): an Ed25519 key from a 32-byte seed and an X25519 key from a 32-byte secret, each
 * with its KID. Only where the two secrets come from differs between the three.
 *
 * @packageDocumentation
 */
import type { CryptoBackend, Ed25519KeyPair } from '@saltbox/saltpack';
import { curve25519Kid, ed25519Kid } from './ids.js';
import type { KidHex } from './ids.js';

/** An Ed25519 signing key and an X25519 encryption key, with their KIDs. */
export interface NaclKeyPairs {
  /** The Ed25519 key pair (NaCl layout; `secretKey` is seed ‖ public). */
  signing: Ed25519KeyPair;
  /** KID of the signing key, `0120…0a`. */
  signingKid: KidHex;
  /** X25519 secret key. */
  encryptionSecretKey: Uint8Array;
  /** X25519 public key. */
  encryptionPublicKey: Uint8Array;
  /** KID of the encryption key, `0121…0a`. */
  encryptionKid: KidHex;
}

/**
 * Builds both key pairs from their secrets. `encryptionSecretKey` is kept as given (callers
 * hand over a fresh copy); `signingSeed` is only read.
 */
export function naclKeyPairs(
  backend: CryptoBackend,
  signingSeed: Uint8Array,
  encryptionSecretKey: Uint8Array,
): NaclKeyPairs {
  const signing = backend.ed25519KeyPairFromSeed(signingSeed);
  const encryptionPublicKey = backend.x25519PublicKey(encryptionSecretKey);
  return {
    signing,
    signingKid: ed25519Kid(signing.publicKey),
    encryptionSecretKey,
    encryptionPublicKey,
    encryptionKid: curve25519Kid(encryptionPublicKey),
  };
}
