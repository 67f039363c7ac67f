/**
 * Where the bulk per-chunk work of encryption and decryption runs, chosen in one place: every
 * command spreads {@link BulkCrypto.options} into its stream options.
 *
 * Large inputs use the saltpack worker engine (`@saltbox/saltpack/node`), which runs secretbox
 * and SHA-512 of each 1 MiB chunk on worker threads so every core is busy; small ones stay on
 * this thread, where starting workers would cost more than it saves.
 * `SALTBOX_CRYPTO_ENGINE=inline|workers` overrides the choice (benchmarks, tests).
 *
 * @packageDocumentation
 */
import type { PayloadEngine } from '@saltbox/saltpack';

/** Inputs of known size below this are processed on the main thread. */
export const ENGINE_THRESHOLD = 4 * 1024 * 1024;

/** Extra options for `createEncryptStream` / `createDecryptStream`, and their cleanup. */
export interface BulkCrypto {
  readonly options: { engine?: PayloadEngine };
  /** Stops the workers, if any. Never throws. */
  close(): Promise<void>;
}

const inline: BulkCrypto = { options: {}, close: () => Promise.resolve() };

/**
 * The bulk-crypto choice for an input of `size` bytes (`undefined` when unknown, as for a
 * pipe, which may be large). Falls back to the main thread when workers cannot start.
 */
export async function bulkCrypto(size: number | undefined): Promise<BulkCrypto> {
  const forced = process.env.SALTBOX_CRYPTO_ENGINE;
  if (forced === 'inline') return inline;
  if (forced !== 'workers' && size !== undefined && size < ENGINE_THRESHOLD) return inline;
  try {
    // Loaded only when needed: small operations do not pay for it at startup.
    const { createWorkerEngine } = await import('@saltbox/saltpack/node');
    const engine = createWorkerEngine();
    return {
      options: { engine },
      close: () => engine.close().catch(() => undefined),
    };
  } catch {
    // No sodium-native or no worker threads here: the in-thread path is always available.
    return inline;
  }
}
