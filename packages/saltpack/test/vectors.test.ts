/**
 * Known-answer vectors from the reference Go implementation (packages/saltpack/test/vectors), on both
 * crypto backends: every vector opened one-shot, streaming in irregular pieces, and byte by
 * byte; every deterministic vector re-sealed byte for byte; every negative vector rejected with
 * the code of its error class and the reason of its Go error.
 *
 * Byte-by-byte feeding is limited to messages up to 64 KiB: each byte is a separate stream
 * write (several promise turns), so the multi-MiB vectors would take minutes per backend while
 * exercising no boundary the smaller ones do not (every framing state is hit within the first
 * packet's few hundred bytes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThreadpoolEngine, createWorkerEngine } from '../src/node/index.js';
import { resolve } from 'node:path';
import { BACKEND_NAMES, backend } from './backends.js';
import { checkReseal, checkVector, isResealable, loadVectorDir } from './vector-runner.js';
import type { Vector } from './vector-runner.js';

const dir = resolve(import.meta.dirname, 'vectors');
const files = loadVectorDir(dir);
const BYTEWISE_LIMIT = 64 * 1024;

function size(v: Vector): number {
  return (v.message_b64 ? (v.message_b64.length * 3) / 4 : 0) + (v.message_armored?.length ?? 0);
}

it('finds the public vector set', () => {
  const count = files.reduce((n, f) => n + f.vectors.length, 0);
  expect(count).toBe(130);
});

describe.each(BACKEND_NAMES)('vectors on the %s backend', (name) => {
  for (const { file, vectors } of files) {
    describe(file, () => {
      for (const v of vectors) {
        it(`${v.id} one-shot`, async () => {
          expect(await checkVector(v, await backend(name), 'oneshot')).toBeNull();
        });
        it(`${v.id} streaming`, async () => {
          expect(await checkVector(v, await backend(name), 'stream')).toBeNull();
        });
        if (size(v) <= BYTEWISE_LIMIT) {
          it(`${v.id} byte by byte`, async () => {
            expect(await checkVector(v, await backend(name), 'bytewise')).toBeNull();
          });
        }
        if (isResealable(v)) {
          it(`${v.id} re-seals byte for byte`, async () => {
            expect(await checkReseal(v, await backend(name))).toBeNull();
          });
        }
      }
    });
  }
});

describe('encryption vectors through the worker-thread engine', () => {
  // Threshold 1: every header's key agreement goes to the workers too, so re-sealing checks
  // that their keys give the vectors' bytes.
  const engine = createWorkerEngine({ threads: 2, keyAgreementThreshold: 1 });
  beforeAll(async () => {
    expect(await engine.ready()).toBe(true);
  });
  afterAll(() => engine.close());
  for (const { file, vectors } of files) {
    for (const v of vectors.filter((x) => x.mode === 'encryption')) {
      it(`${file} ${v.id} streaming`, async () => {
        expect(await checkVector(v, await backend('native'), 'stream', engine)).toBeNull();
      });
      if (isResealable(v) && !v.armored) {
        it(`${file} ${v.id} re-seals byte for byte`, async () => {
          expect(await checkReseal(v, await backend('native'), engine)).toBeNull();
        });
      }
    }
  }
});

describe.each(BACKEND_NAMES)(
  'encryption and attached-signing vectors through the thread-pool engine, and the bulk pipeline, %s backend',
  (name) => {
    const pool = createThreadpoolEngine();
    afterAll(() => pool.close());
    // Attached signatures hash each chunk through the engine's `hash` (signing and verifying).
    for (const { file, vectors } of files) {
      for (const v of vectors.filter((x) => x.mode === 'attached_signing')) {
        it(`${file} ${v.id} thread-pool engine, verifying and re-signing`, async () => {
          expect(await checkVector(v, await backend(name), 'stream', pool)).toBeNull();
          if (isResealable(v)) expect(await checkReseal(v, await backend(name), pool)).toBeNull();
        });
      }
    }
    for (const { file, vectors } of files) {
      for (const v of vectors.filter((x) => x.mode === 'encryption')) {
        it(`${file} ${v.id} thread-pool engine, streaming`, async () => {
          expect(await checkVector(v, await backend(name), 'stream', pool)).toBeNull();
        });
        // The pipeline reads any source: one piece, irregular pieces and single bytes.
        it(`${file} ${v.id} pipeline, one-shot and streaming`, async () => {
          expect(await checkVector(v, await backend(name), 'oneshot', 'pipeline')).toBeNull();
          expect(await checkVector(v, await backend(name), 'stream', 'pipeline')).toBeNull();
        });
        if (size(v) <= BYTEWISE_LIMIT) {
          it(`${file} ${v.id} pipeline, byte by byte`, async () => {
            expect(await checkVector(v, await backend(name), 'bytewise', 'pipeline')).toBeNull();
          });
        }
        if (isResealable(v) && !v.armored) {
          it(`${file} ${v.id} re-seals byte for byte (engine and pipeline)`, async () => {
            expect(await checkReseal(v, await backend(name), pool)).toBeNull();
            expect(await checkReseal(v, await backend(name), 'pipeline')).toBeNull();
          });
        }
      }
    }
  },
);
