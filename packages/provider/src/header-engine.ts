/**
 * Where a keeper's Saltpack header does its key agreement. A header needs one X25519 and
 * HSalsa20 per receiver (about 40 µs each), so with hundreds of recipients that is nearly all
 * of an encryption; above {@link KEY_AGREEMENT_THRESHOLD} receivers it is shared between this
 * thread and a process-wide pool of worker threads from `@saltbox/saltpack/node`. The message
 * bytes do not depend on where the keys were computed.
 *
 * The pool starts on the first large encryption and does nothing until its workers are loaded
 * (that encryption runs on this thread); idle workers never keep the process alive.
 * `SALTBOX_CRYPTO_ENGINE=inline` keeps everything on this thread, as it does for the CLI's bulk
 * crypto.
 *
 * @packageDocumentation
 */
import { availableParallelism } from 'node:os';
import { inlineEngine } from '@saltbox/saltpack';
import type { CryptoBackend, PayloadEngine } from '@saltbox/saltpack';
import { KEY_AGREEMENT_THRESHOLD, createWorkerEngine } from '@saltbox/saltpack/node';
import type { WorkerEngine } from '@saltbox/saltpack/node';

export { KEY_AGREEMENT_THRESHOLD };

let pool: WorkerEngine | null | undefined;

function keyAgreementPool(): WorkerEngine | null {
  if (pool !== undefined) return pool;
  if (process.env.SALTBOX_CRYPTO_ENGINE === 'inline' || availableParallelism() < 2) {
    pool = null;
    return pool;
  }
  try {
    pool = createWorkerEngine();
  } catch {
    pool = null; // no sodium-native or no worker threads: this thread does it all
  }
  return pool;
}

/**
 * The engine for a message to `receivers` Saltpack receivers: `undefined` (all inline) for
 * small sets, else chunks inline and key agreement shared with the worker pool.
 */
export function headerEngine(backend: CryptoBackend, receivers: number): PayloadEngine | undefined {
  if (receivers < KEY_AGREEMENT_THRESHOLD) return undefined;
  const workers = keyAgreementPool();
  if (!workers) return undefined;
  return {
    ...inlineEngine(backend),
    boxBeforeNmMany: (secretKey, peers) => workers.boxBeforeNmMany(secretKey, peers),
  };
}
