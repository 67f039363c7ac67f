/**
 * In-memory keys and keyrings built on a crypto backend: what tests, the CLI's key files and
 * the in-process keystore use. The equivalent of Go saltpack's `basic` package.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from './backend/types.js';
import { SaltpackError } from './errors.js';
import { bytesEqual, bytesKey } from './internal/bytes.js';
import type {
  BoxKeyring,
  BoxSecretKey,
  SigningKeyring,
  SigningSecretKey,
  SymmetricKeyResolver,
  SymmetricReceiver,
} from './keyring.js';

function assertLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new SaltpackError('invalid_parameter', `${what} must be ${length} bytes`);
  }
}

/** An in-memory X25519 key pair that can also hand its secret to the local backend. */
export interface LocalBoxKey extends BoxSecretKey {
  /** The 32-byte secret (kept only in memory; never logged). */
  readonly secretKey: Uint8Array;
}

/** An in-memory Ed25519 key pair. */
export interface LocalSigningKey extends SigningSecretKey {
  /** The 64-byte NaCl secret key (seed ‖ public). */
  readonly secretKey: Uint8Array;
}

/**
 * Wraps a 32-byte X25519 secret key as a handle. Shared keys are cached per peer, so repeated
 * boxes to the same peer cost one scalar multiplication.
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` if the key is not 32 bytes.
 */
export function boxKeyFromSecret(backend: CryptoBackend, secretKey: Uint8Array): LocalBoxKey {
  assertLength(secretKey, 32, 'box secret key');
  const secret = secretKey.slice();
  const publicKey = backend.x25519PublicKey(secret);
  const shared = new Map<string, Uint8Array>();
  const sharedWith = (peer: Uint8Array): Uint8Array => {
    const k = bytesKey(peer);
    let s = shared.get(k);
    if (!s) {
      s = backend.boxBeforeNm(peer, secret);
      if (shared.size > 4096) shared.clear();
      shared.set(k, s);
    }
    return s;
  };
  return {
    publicKey,
    secretKey: secret,
    box: (peer, nonce, plaintext) => backend.secretboxSeal(plaintext, nonce, sharedWith(peer)),
    unbox: (peer, nonce, box) => backend.secretboxOpen(box, nonce, sharedWith(peer)),
  };
}

/** Generates a fresh X25519 key pair from the backend's CSPRNG. */
export function generateBoxKey(backend: CryptoBackend): LocalBoxKey {
  return boxKeyFromSecret(backend, backend.randomBytes(32));
}

/**
 * Wraps an Ed25519 key from its 32-byte seed (or 64-byte NaCl secret key).
 *
 * @throws SaltpackError `SALTPACK_INVALID_ARGUMENT` on a wrong length or a mismatched secret.
 */
export function signingKeyFromSecret(
  backend: CryptoBackend,
  seedOrSecret: Uint8Array,
): LocalSigningKey {
  if (seedOrSecret.length !== 32 && seedOrSecret.length !== 64) {
    throw new SaltpackError(
      'invalid_parameter',
      'signing secret key must be a 32-byte seed or a 64-byte secret key',
    );
  }
  const kp = backend.ed25519KeyPairFromSeed(seedOrSecret.subarray(0, 32));
  if (seedOrSecret.length === 64 && !bytesEqual(kp.publicKey, seedOrSecret.subarray(32))) {
    throw new SaltpackError(
      'invalid_parameter',
      'signing secret key does not match its public half',
    );
  }
  return {
    publicKey: kp.publicKey,
    secretKey: kp.secretKey,
    sign: (message) => backend.ed25519Sign(message, kp.secretKey),
  };
}

/** Generates a fresh Ed25519 key pair. */
export function generateSigningKey(backend: CryptoBackend): LocalSigningKey {
  return signingKeyFromSecret(backend, backend.randomBytes(32));
}

/**
 * A keyring over in-memory box keys. It accepts every sender unless `acceptSender` is given.
 */
export function createBasicKeyring(
  keys: readonly BoxSecretKey[],
  options: { acceptSender?: (publicKey: Uint8Array) => boolean | Promise<boolean> } = {},
): BoxKeyring {
  const ring: BoxKeyring = {
    lookupBoxSecretKey(publicKeys) {
      for (let i = 0; i < publicKeys.length; i++) {
        const key = keys.find((k) => bytesEqual(k.publicKey, publicKeys[i]!));
        if (key) return { index: i, key };
      }
      return null;
    },
    allBoxSecretKeys: () => keys,
  };
  if (options.acceptSender) ring.acceptSender = options.acceptSender;
  return ring;
}

/** A signing keyring that accepts only the listed signer public keys. */
export function createSignerAllowList(publicKeys: readonly Uint8Array[]): SigningKeyring {
  return { acceptSigner: (pk) => publicKeys.some((k) => bytesEqual(k, pk)) };
}

/** A resolver over a fixed list of symmetric receivers. */
export function createSymmetricResolver(
  receivers: readonly SymmetricReceiver[],
): SymmetricKeyResolver {
  return {
    resolveKeys: (identifiers) =>
      identifiers.map((id) => receivers.find((r) => bytesEqual(r.identifier, id))?.key ?? null),
  };
}
