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
  /**
   * Optional: `crypto_box_beforenm(peer, secretKey)` for every peer, in order (the backend's
   * {@link CryptoBackend.boxBeforeNm}, same results). An encryption header needs one per
   * recipient, about 40 µs each, so thousands of recipients make the header the whole cost; an
   * engine with threads may share them out. `secretKey` is a message's one-time ephemeral key.
   * When absent, the caller runs the backend's `boxBeforeNm` inline.
   */
  boxBeforeNmMany?(secretKey: Uint8Array, peers: readonly Uint8Array[]): Promise<Uint8Array[]>;
  /**
   * Optional: SHA-512 of all of `bytes` (copied before the call returns). Attached signing and
   * verifying hash each 1 MiB chunk (§5); an engine with threads may do it elsewhere. When
   * absent, the caller hashes inline.
   */
  hash?(bytes: Uint8Array): Promise<Uint8Array>;
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
    boxBeforeNmMany(secretKey, peers) {
      return Promise.resolve(peers.map((peer) => backend.boxBeforeNm(peer, secretKey)));
    },
  };
}
