/**
 * The worker-thread engine when a worker dies: its jobs fail with a coded error instead of
 * hanging, and the engine keeps working (on the remaining workers, or on the calling thread).
 */
import { expect, it } from 'vitest';
import { inlineEngine } from '../src/engine.js';
import { SaltpackError } from '../src/errors.js';
import { createWorkerEngine } from '../src/node/index.js';
import { backend } from './backends.js';

const native = await backend('native');

/** Rejects if `p` does not settle in time, so a hang is a failure and not a stuck suite. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => {
        reject(new Error(`no answer within ${ms} ms`));
      }, ms),
    ),
  ]);
}

it('a crashed worker fails its job with SALTPACK_BACKEND_UNAVAILABLE; later jobs still complete', async () => {
  const engine = createWorkerEngine({ threads: 1, shareCallingThread: false });
  try {
    const key = native.randomBytes(32);
    const nonce = native.randomBytes(24);
    const chunk = native.randomBytes(100_000);
    const prefix = native.randomBytes(89);
    // A nonce of the wrong length makes sodium throw inside the worker, which ends it.
    const crashed = await within(
      engine.sealChunk(key, nonce.subarray(0, 5), chunk, prefix),
      10_000,
    ).catch((e: unknown) => e);
    expect(crashed).toBeInstanceOf(SaltpackError);
    expect((crashed as SaltpackError).code).toBe('SALTPACK_BACKEND_UNAVAILABLE');
    // The next jobs must not go to the dead worker (they would never be answered).
    const sealed = await within(engine.sealChunk(key, nonce, chunk, prefix), 10_000);
    const expected = await inlineEngine(native).sealChunk(key, nonce, chunk, prefix);
    expect(Buffer.from(sealed.box).equals(Buffer.from(expected.box))).toBe(true);
    expect(Buffer.from(sealed.hash).equals(Buffer.from(expected.hash))).toBe(true);
    const opened = await within(engine.openChunk(key, nonce, sealed.box, prefix), 10_000);
    expect(Buffer.from(opened.plaintext!).equals(Buffer.from(chunk))).toBe(true);
  } finally {
    await engine.close();
  }
});
