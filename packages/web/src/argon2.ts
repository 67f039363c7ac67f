/**
 * Argon2id for the browser keystore's encryption at rest: libsodium's `crypto_pwhash`
 * (Argon2id 1.3) from libsodium-wrappers-sumo — the WebAssembly libsodium the app already loads
 * for every other primitive (the CLI's Node keystore runs the same function natively through
 * sodium-native, `packages/keystore/src/node/argon2.ts`), so it adds no bytes to the bundle.
 *
 * @packageDocumentation
 */
import sodium from 'libsodium-wrappers-sumo';
import { KeystoreError } from '@saltbox/keystore';
import type { Argon2idFunction, Argon2idParams, KdfChoice } from '@saltbox/keystore';

/**
 * The cost of a keystore made in the browser: libsodium's "interactive" limits (2 passes over
 * 64 MiB). The keystore's Node default ("moderate", 256 MiB) takes seconds in WebAssembly on
 * this machine; unlocking sits on the way to the first rendered view (target ≤ 1.5 s).
 */
export const BROWSER_ARGON2ID: Argon2idParams = { opslimit: 2, memlimit: 64 * 1024 * 1024 };

/**
 * Argon2id (version 1.3) in WebAssembly. Runs in the keystore Worker, so the page stays
 * responsive while it works.
 *
 * @throws KeystoreError `KEYSTORE_INVALID_ARGUMENT` for a salt that is not 16 bytes or
 *   parameters libsodium rejects.
 */
export const browserArgon2id: Argon2idFunction = async (password, salt, params, length) => {
  await sodium.ready;
  if (salt.length !== sodium.crypto_pwhash_SALTBYTES)
    throw new KeystoreError('KEYSTORE_INVALID_ARGUMENT', 'argon2id salt must be 16 bytes');
  try {
    return sodium.crypto_pwhash(
      length,
      password,
      salt,
      params.opslimit,
      params.memlimit,
      sodium.crypto_pwhash_ALG_ARGON2ID13,
    );
  } catch (cause) {
    throw new KeystoreError(
      'KEYSTORE_INVALID_ARGUMENT',
      'argon2id rejected its parameters',
      {},
      { cause },
    );
  }
};

/** The KDF a new persistent browser keystore is made with. */
export const BROWSER_KDF: KdfChoice = {
  alg: 'argon2id',
  params: BROWSER_ARGON2ID,
  argon2id: browserArgon2id,
};
