/**
 * The native backend: sodium-native for the curve and secretbox work, node:crypto for bulk
 * SHA-512 and HMAC (OpenSSL's assembly SHA-512 is about 1.7× libsodium's on 1 MiB inputs,
 * specs/crypto-benchmarks.md §2). Node only.
 */
import { createHash, createHmac, scrypt as nodeScrypt } from 'node:crypto';
import { createRequire } from 'node:module';
import type { CryptoBackend, Ed25519KeyPair, IncrementalHash } from './types.js';
import { hsalsaBoxKey } from './hsalsa.js';

/** The subset of sodium-native this backend uses (the package ships no types). */
interface SodiumNative {
  randombytes_buf(out: Uint8Array): void;
  crypto_scalarmult_base(out: Uint8Array, sk: Uint8Array): void;
  crypto_scalarmult(out: Uint8Array, sk: Uint8Array, pk: Uint8Array): void;
  crypto_secretbox_easy(out: Uint8Array, msg: Uint8Array, nonce: Uint8Array, key: Uint8Array): void;
  crypto_secretbox_open_easy(
    out: Uint8Array,
    box: Uint8Array,
    nonce: Uint8Array,
    key: Uint8Array,
  ): boolean;
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(sig: Uint8Array, msg: Uint8Array, sk: Uint8Array): void;
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
  crypto_hash_sha512(out: Uint8Array, msg: Uint8Array): void;
  crypto_auth(out: Uint8Array, msg: Uint8Array, key: Uint8Array): void;
}

const SMALL = 4096; // below this, one N-API call beats creating a node:crypto Hash object

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Loads sodium-native; throws if the addon is unavailable on this platform. */
export function loadSodiumNative(): SodiumNative {
  const require = createRequire(import.meta.url);
  return require('sodium-native') as SodiumNative;
}

/** Creates the native backend. Throws when sodium-native cannot be loaded. */
export function createNativeBackend(): CryptoBackend {
  const sodium = loadSodiumNative();
  const incremental = (algo: 'sha512' | 'sha256'): IncrementalHash => {
    const h = createHash(algo);
    const api: IncrementalHash = {
      update(data) {
        h.update(data);
        return api;
      },
      digest: () => u8(h.digest()),
    };
    return api;
  };
  return {
    name: 'native',
    randomBytes(length) {
      const out = new Uint8Array(length);
      if (length > 0) sodium.randombytes_buf(out);
      return out;
    },
    x25519PublicKey(secretKey) {
      const out = new Uint8Array(32);
      sodium.crypto_scalarmult_base(out, secretKey);
      return out;
    },
    boxBeforeNm(peerPublicKey, secretKey) {
      const shared = new Uint8Array(32);
      try {
        sodium.crypto_scalarmult(shared, secretKey, peerPublicKey);
      } catch {
        // libsodium refuses low-order points; Go's box.Precompute does not. Mirror Go: the
        // all-zero point yields a key under which nothing honest opens.
        shared.fill(0);
      }
      return hsalsaBoxKey(shared);
    },
    secretboxSeal(plaintext, nonce, key) {
      const out = new Uint8Array(plaintext.length + 16);
      sodium.crypto_secretbox_easy(out, plaintext, nonce, key);
      return out;
    },
    secretboxOpen(box, nonce, key) {
      if (box.length < 16) return null;
      const out = new Uint8Array(box.length - 16);
      return sodium.crypto_secretbox_open_easy(out, box, nonce, key) ? out : null;
    },
    ed25519KeyPairFromSeed(seed): Ed25519KeyPair {
      const publicKey = new Uint8Array(32);
      const secretKey = new Uint8Array(64);
      sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
      return { publicKey, secretKey };
    },
    ed25519Sign(message, secretKey) {
      const sig = new Uint8Array(64);
      sodium.crypto_sign_detached(sig, message, secretKey);
      return sig;
    },
    ed25519Verify(signature, message, publicKey) {
      if (signature.length !== 64 || publicKey.length !== 32) return false;
      try {
        return sodium.crypto_sign_verify_detached(signature, message, publicKey);
      } catch {
        return false;
      }
    },
    sha512(...parts) {
      if (parts.length === 1 && parts[0]!.length <= SMALL) {
        const out = new Uint8Array(64);
        sodium.crypto_hash_sha512(out, parts[0]!);
        return out;
      }
      const h = createHash('sha512');
      for (const p of parts) h.update(p);
      return u8(h.digest());
    },
    createSha512: () => incremental('sha512'),
    sha256(...parts) {
      const h = createHash('sha256');
      for (const p of parts) h.update(p);
      return u8(h.digest());
    },
    hmacSha512(key, ...parts) {
      const h = createHmac('sha512', key);
      for (const p of parts) h.update(p);
      return u8(h.digest());
    },
    hmacSha256(key, ...parts) {
      const h = createHmac('sha256', key);
      for (const p of parts) h.update(p);
      return u8(h.digest());
    },
    hmacSha512Trunc32(key32, message) {
      const out = new Uint8Array(32);
      sodium.crypto_auth(out, message, key32);
      return out;
    },
    scrypt(password, salt, { N, r, p, length }) {
      return new Promise((resolve, reject) => {
        nodeScrypt(
          password,
          salt,
          length,
          { N, r, p, maxmem: 256 * N * r + 16 * 1024 * 1024 },
          (err, key) => {
            if (err) reject(err);
            else resolve(u8(key));
          },
        );
      });
    },
  };
}
