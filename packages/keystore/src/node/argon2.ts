/**
 * Argon2id for keystore encryption at rest, from libsodium's `crypto_pwhash` (sodium-native).
 * Node only: the portable core has no Argon2id, which is why the KDF is injected
 * (`KeystoreOptions.argon2id`, `KdfChoice`).
 *
 * @packageDocumentation
 */
import { createRequire } from 'node:module';
import { KeystoreError } from '../errors.js';
import type { Argon2idFunction } from '../store/passphrase.js';

/** The subset of sodium-native used here (the package ships no types). */
interface SodiumPwhash {
  crypto_pwhash_ALG_ARGON2ID13: number;
  crypto_pwhash_SALTBYTES: number;
  crypto_pwhash_async(
    out: Uint8Array,
    password: Uint8Array,
    salt: Uint8Array,
    opslimit: number,
    memlimit: number,
    alg: number,
  ): Promise<void>;
}

let sodium: SodiumPwhash | undefined;

function load(): SodiumPwhash {
  if (!sodium) {
    try {
      sodium = createRequire(import.meta.url)('sodium-native') as SodiumPwhash;
    } catch (cause) {
      throw new KeystoreError(
        'KEYSTORE_UNSUPPORTED_VERSION',
        'argon2id is not available on this platform',
        {},
        { cause },
      );
    }
  }
  return sodium;
}

/**
 * Argon2id (version 1.3) through sodium-native, on libuv's thread pool so the event loop stays
 * free while it runs.
 *
 * @throws KeystoreError `KEYSTORE_UNSUPPORTED_VERSION` when sodium-native cannot be loaded;
 *   `KEYSTORE_INVALID_ARGUMENT` for parameters libsodium rejects.
 */
export const nodeArgon2id: Argon2idFunction = async (password, salt, params, length) => {
  const s = load();
  if (salt.length !== s.crypto_pwhash_SALTBYTES) {
    throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'argon2id salt must be 16 bytes');
  }
  const out = new Uint8Array(length);
  try {
    await s.crypto_pwhash_async(
      out,
      password,
      salt,
      params.opslimit,
      params.memlimit,
      s.crypto_pwhash_ALG_ARGON2ID13,
    );
  } catch (cause) {
    throw new KeystoreError(
      'KEYSTORE_INVALID_ARGUMENT',
      'argon2id rejected its parameters',
      {},
      { cause },
    );
  }
  return out;
};
