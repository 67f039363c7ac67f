/**
 * Where the bulk per-chunk work of encryption and decryption runs, chosen in one place: every
 * command spreads {@link BulkCrypto.options} into its stream options, and binary file-to-file
 * work goes through {@link BulkCrypto.pipelines} when present.
 *
 * Large inputs use `@saltbox/saltpack/node`: its bulk pipelines (binary encryption and
 * decryption: SHA-512 of each 1 MiB chunk on libuv's thread pool, secretbox in place on this
 * thread, a fixed ring of chunk buffers so memory stays flat in the file size) and, for the
 * stream paths (armor), its thread-pool engine (the same split). Small inputs stay on this
 * thread, where the pipelines' buffers would cost more than they save.
 * `SALTBOX_CRYPTO_ENGINE=inline|threadpool|workers` overrides the choice (benchmarks, tests):
 * `inline` is the streams alone, `workers` the worker-thread engine with the streams.
 *
 * @packageDocumentation
 */
import type { PayloadEngine } from '@saltbox/saltpack';
import type { decryptPipeline, encryptPipeline } from '@saltbox/saltpack/node';

/** Inputs of known size below this are processed on the main thread. */
export const ENGINE_THRESHOLD = 4 * 1024 * 1024;

/** Extra options for `createEncryptStream` / `createDecryptStream`, and their cleanup. */
export interface BulkCrypto {
  readonly options: { engine?: PayloadEngine };
  /** The bulk pipelines for binary input and output, when chosen. */
  readonly pipelines?: { encrypt: typeof encryptPipeline; decrypt: typeof decryptPipeline };
  /** Stops the workers, if any. Never throws. */
  close(): Promise<void>;
}

const inline: BulkCrypto = { options: {}, close: () => Promise.resolve() };

/**
 * The bulk-crypto choice for an input of `size` bytes (`undefined` when unknown, as for a
 * pipe, which may be large). Falls back to the main thread when the addon cannot load.
 */
export async function bulkCrypto(size: number | undefined): Promise<BulkCrypto> {
  const forced = process.env.SALTBOX_CRYPTO_ENGINE;
  if (forced === 'inline') return inline;
  if (
    forced !== 'workers' &&
    forced !== 'threadpool' &&
    size !== undefined &&
    size < ENGINE_THRESHOLD
  )
    return inline;
  try {
    // Loaded only when needed: small operations do not pay for it at startup.
    const node = await import('@saltbox/saltpack/node');
    if (forced === 'workers') {
      const engine = node.createWorkerEngine();
      return { options: { engine }, close: () => engine.close().catch(() => undefined) };
    }
    const engine = node.createThreadpoolEngine();
    return {
      options: { engine },
      pipelines: { encrypt: node.encryptPipeline, decrypt: node.decryptPipeline },
      close: () => engine.close(),
    };
  } catch {
    // No sodium-native here: the in-thread path is always available.
    return inline;
  }
}
