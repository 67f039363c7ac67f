/**
 * The portable backend: libsodium compiled to WebAssembly (libsodium-wrappers-sumo). It runs in
 * browsers and wherever the native addon does not load. Chosen over pure-JS noble because it
 * is 3–10× faster on every Saltpack primitive (specs/crypto-benchmarks.md §2) while keeping the
 * same libsodium semantics as the native backend; the sumo build is needed for incremental
 * SHA-512, HMAC with arbitrary keys and scrypt.
 */
import sodiumModule from 'libsodium-wrappers-sumo';
import type { CryptoBackend, IncrementalHash } from './types.js';
import { hsalsaBoxKey } from './hsalsa.js';
import { concatBytes } from '../internal/bytes.js';

type Sodium = typeof sodiumModule;

/** Creates the portable backend, waiting for the WebAssembly module to initialise. */
export async function createPortableBackend(): Promise<CryptoBackend> {
  await sodiumModule.ready;
  const s: Sodium = sodiumModule;
  const hmac = (alg: 'sha512' | 'sha256', key: Uint8Array, parts: Uint8Array[]): Uint8Array => {
    if (alg === 'sha512') {
      const st = s.crypto_auth_hmacsha512_init(key);
      for (const p of parts) s.crypto_auth_hmacsha512_update(st, p);
      return s.crypto_auth_hmacsha512_final(st);
    }
    const st = s.crypto_auth_hmacsha256_init(key);
    for (const p of parts) s.crypto_auth_hmacsha256_update(st, p);
    return s.crypto_auth_hmacsha256_final(st);
  };
  return {
    name: 'portable',
    randomBytes: (length) => (length === 0 ? new Uint8Array(0) : s.randombytes_buf(length)),
    x25519PublicKey: (secretKey) => s.crypto_scalarmult_base(secretKey),
    boxBeforeNm(peerPublicKey, secretKey) {
      let shared: Uint8Array;
      try {
        shared = s.crypto_scalarmult(secretKey, peerPublicKey);
      } catch {
        shared = new Uint8Array(32); // low-order point: mirror Go (see native backend)
      }
      return hsalsaBoxKey(shared);
    },
    secretboxSeal: (plaintext, nonce, key) => s.crypto_secretbox_easy(plaintext, nonce, key),
    secretboxOpen(box, nonce, key) {
      if (box.length < 16) return null;
      try {
        return s.crypto_secretbox_open_easy(box, nonce, key);
      } catch {
        return null;
      }
    },
    ed25519KeyPairFromSeed(seed) {
      const kp = s.crypto_sign_seed_keypair(seed);
      return { publicKey: kp.publicKey, secretKey: kp.privateKey };
    },
    ed25519Sign: (message, secretKey) => s.crypto_sign_detached(message, secretKey),
    ed25519Verify(signature, message, publicKey) {
      if (signature.length !== 64 || publicKey.length !== 32) return false;
      try {
        return s.crypto_sign_verify_detached(signature, message, publicKey);
      } catch {
        return false;
      }
    },
    sha512(...parts) {
      if (parts.length === 1) return s.crypto_hash_sha512(parts[0]!);
      const st = s.crypto_hash_sha512_init();
      for (const p of parts) s.crypto_hash_sha512_update(st, p);
      return s.crypto_hash_sha512_final(st);
    },
    createSha512(): IncrementalHash {
      const st = s.crypto_hash_sha512_init();
      const api: IncrementalHash = {
        update(data) {
          s.crypto_hash_sha512_update(st, data);
          return api;
        },
        digest: () => s.crypto_hash_sha512_final(st),
      };
      return api;
    },
    sha256: (...parts) =>
      s.crypto_hash_sha256(parts.length === 1 ? parts[0]! : concatBytes(...parts)),
    hmacSha512: (key, ...parts) => hmac('sha512', key, parts),
    hmacSha256: (key, ...parts) => hmac('sha256', key, parts),
    hmacSha512Trunc32: (key32, message) => s.crypto_auth(message, key32),
    scrypt(password, salt, { N, r, p, length }) {
      return Promise.resolve(
        s.crypto_pwhash_scryptsalsa208sha256_ll(password, salt, N, r, p, length),
      );
    },
  };
}
