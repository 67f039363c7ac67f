/**
 * A {@link PayloadEngine} that spreads a message's chunk work over Node's libuv thread pool
 * (Node only): SHA-512 of each chunk — about two thirds of the work (README, Benchmark) — runs
 * on the pool through WebCrypto's `digest`, which hashes on a pool thread; secretbox runs on the
 * calling thread, which has no thread-pool entry point in Node. With a few chunks in flight
 * (the streams keep a bounded window) the pool's hashes and this thread's secretboxes keep both
 * cores of a two-core machine busy, without a worker isolate (about 10 MiB each and 30–50 ms to
 * start) and without copying chunks into and out of shared memory.
 *
 * `digest` copies its input before it returns (Node's asynchronous crypto jobs own their input),
 * so the caller's buffer is free again as soon as the call returns; the vector suite checks the
 * resulting bytes.
 */
import { webcrypto } from 'node:crypto';
import { loadSodiumNative } from '../backend/native.js';
import type { OpenedChunk, PayloadEngine, SealedChunk } from '../engine.js';
import { SaltpackError } from '../errors.js';

/** A thread-pool engine; `close()` makes later calls fail (there is nothing to stop). */
export interface ThreadpoolEngine extends PayloadEngine {
  /** Counters, for tests and benchmarks: chunks whose hash ran on the pool. */
  readonly stats: { chunks: number };
  /** Makes every later call reject with `SALTPACK_INVALID_ARGUMENT`. */
  close(): Promise<void>;
}

/** The pool's failure, coded: the crypto could not run (it never means a bad message). */
function poolFailure(cause: unknown): SaltpackError {
  return new SaltpackError('backend_unavailable', 'a thread-pool hash failed', {}, { cause });
}

/**
 * Creates the thread-pool engine.
 *
 * @throws SaltpackError `SALTPACK_BACKEND_UNAVAILABLE` if sodium-native cannot be loaded.
 */
export function createThreadpoolEngine(): ThreadpoolEngine {
  let sodium: ReturnType<typeof loadSodiumNative>;
  try {
    sodium = loadSodiumNative();
  } catch (cause) {
    throw new SaltpackError(
      'backend_unavailable',
      'the thread-pool engine needs sodium-native',
      {},
      { cause },
    );
  }
  let closed = false;
  const stats = { chunks: 0 };
  const open = (): void => {
    if (closed) throw new SaltpackError('invalid_parameter', 'the thread-pool engine is closed');
  };
  /** SHA-512 of all of `bytes` on the pool; `bytes` may be reused once this returns. */
  const hashOnPool = (bytes: Uint8Array): Promise<Uint8Array> => {
    stats.chunks++;
    return webcrypto.subtle.digest('SHA-512', bytes).then(
      (d) => new Uint8Array(d),
      (e: unknown) => {
        throw poolFailure(e);
      },
    );
  };
  return {
    stats,
    sealChunk(key, nonce, chunk, hashPrefix): Promise<SealedChunk> {
      open();
      // One buffer: the hash prefix, then the box sealed straight behind it, so the pool hashes
      // prefix ‖ box (§3.3) without assembling it from parts.
      const p = hashPrefix.length;
      const joined = new Uint8Array(p + 16 + chunk.length);
      joined.set(hashPrefix, 0);
      const box = joined.subarray(p);
      sodium.crypto_secretbox_easy(box, chunk, nonce, key);
      return hashOnPool(joined).then((hash) => ({ box, hash }));
    },
    openChunk(key, nonce, box, hashPrefix): Promise<OpenedChunk> {
      open();
      // prefix ‖ box is copied into one buffer for the hash (the pool copies it again before
      // `digest` returns), then the box is opened from the caller's bytes over that copy.
      const p = hashPrefix.length;
      const joined = new Uint8Array(p + box.length);
      joined.set(hashPrefix, 0);
      joined.set(box, p);
      const hash = hashOnPool(joined);
      const plaintext = joined.subarray(p + 16);
      const ok = box.length >= 16 && sodium.crypto_secretbox_open_easy(plaintext, box, nonce, key);
      return hash.then((h) => ({ plaintext: ok ? plaintext : null, hash: h }));
    },
    hash(bytes) {
      open();
      return hashOnPool(bytes);
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
