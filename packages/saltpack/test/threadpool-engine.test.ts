/**
 * The thread-pool engine on the stream paths: attached signing and verifying hash their chunks
 * on the pool with the same bytes and verdicts as inline, also when the input comes in 1 MiB
 * pieces (the framer's buffer is then reused while hashes are still pending).
 */
import { afterAll, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../src/constants.js';
import {
  createSignStream,
  createVerifyStream,
  generateSigningKey,
  SaltpackError,
} from '../src/index.js';
import { collect } from '../src/internal/streams.js';
import { createThreadpoolEngine } from '../src/node/index.js';
import { backend } from './backends.js';

const native = await backend('native');
const engine = createThreadpoolEngine();
afterAll(() => engine.close());

function pieces(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= bytes.length) c.close();
      else {
        c.enqueue(bytes.slice(off, off + size));
        off += size;
      }
    },
  });
}

const signer = generateSigningKey(native);
const message = native.randomBytes(3 * CHUNK_SIZE + 77);
const nonce = native.randomBytes(32);

it('signs with the same bytes and verifies in 1 MiB pieces', async () => {
  const inline = await collect(
    pieces(message, CHUNK_SIZE).pipeThrough(createSignStream({ signer, nonce, backend: native })),
  );
  const pooled = await collect(
    pieces(message, CHUNK_SIZE).pipeThrough(
      createSignStream({ signer, nonce, backend: native, engine }),
    ),
  );
  expect(Buffer.from(pooled).equals(Buffer.from(inline))).toBe(true);
  for (const size of [CHUNK_SIZE, CHUNK_SIZE + 5, 65536]) {
    const verify = createVerifyStream({ backend: native, engine });
    const out = await collect(pieces(pooled, size).pipeThrough(verify));
    expect(Buffer.from(out).equals(Buffer.from(message)), String(size)).toBe(true);
  }
});

it('a flipped byte in the third chunk fails with SALTPACK_BAD_SIGNATURE at packet 3', async () => {
  const signed = await collect(
    pieces(message, CHUNK_SIZE).pipeThrough(createSignStream({ signer, backend: native, engine })),
  );
  const bad = signed.slice();
  bad[bad.length - 200]! ^= 0x01; // inside the last full chunk's bytes (packet 3)
  const error = await collect(
    pieces(bad, CHUNK_SIZE).pipeThrough(createVerifyStream({ backend: native, engine })),
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SaltpackError);
  expect((error as SaltpackError).code).toBe('SALTPACK_BAD_SIGNATURE');
  expect((error as SaltpackError).details.packetSeqno).toBe(3);
});
