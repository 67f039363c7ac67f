/**
 * The bulk per-chunk work of encryption and decryption, behind an interface so it can run on
 * other threads. SHA-512 over each 1 MiB chunk is about 70% of the cost
 * (specs/crypto-benchmarks.md §4) and chunks are independent, so a pool of workers can use
 * every core; header work, authenticators and every decision stay on the caller's thread.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from './backend/types.js';

/** Result of sealing one chunk. */
export interface SealedChunk {
  /** secretbox(chunk): 16-byte tag then ciphertext. */
  box: Uint8Array;
  /** SHA-512(hashPrefix ‖ box). */
  hash: Uint8Array;
}

/** Result of opening one chunk. */
export interface OpenedChunk {
  /** The plaintext, or `null` when the secretbox did not open. */
  plaintext: Uint8Array | null;
  /** SHA-512(hashPrefix ‖ box). */
  hash: Uint8Array;
}

/**
 * Where payload chunks are sealed and opened. The `chunk`/`box` bytes are only valid during the
 * synchronous part of the call (they may be views into a reused stream buffer): an
 * implementation copies them before its first `await`. Returned buffers belong to the caller.
 */
export interface PayloadEngine {
  sealChunk(
    key: Uint8Array,
    nonce: Uint8Array,
    chunk: Uint8Array,
    hashPrefix: Uint8Array,
  ): Promise<SealedChunk>;
  openChunk(
    key: Uint8Array,
    nonce: Uint8Array,
    box: Uint8Array,
    hashPrefix: Uint8Array,
  ): Promise<OpenedChunk>;
}

/** The in-thread engine: the backend's primitives, called directly. */
export function inlineEngine(backend: CryptoBackend): PayloadEngine {
  return {
    sealChunk(key, nonce, chunk, hashPrefix) {
      const box = backend.secretboxSeal(chunk, nonce, key);
      return Promise.resolve({ box, hash: backend.sha512(hashPrefix, box) });
    },
    openChunk(key, nonce, box, hashPrefix) {
      return Promise.resolve({
        plaintext: backend.secretboxOpen(box, nonce, key),
        hash: backend.sha512(hashPrefix, box),
      });
    },
  };
}
