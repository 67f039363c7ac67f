/**
 * The Node bulk pipelines (`src/node/pipeline.ts`): the same bytes as the streams whatever the
 * input's pieces; packets written in order although chunks finish out of order; a bounded
 * number of chunks in flight when the sink is slow; and the error paths — a corrupted chunk in
 * the middle fails with its code after exactly the chunks before it were written, the earliest
 * failure wins, truncated input, trailing data, a failing sink or source.
 */
import { describe, expect, it } from 'vitest';
import { CHUNK_SIZE } from '../src/constants.js';
import {
  createBasicKeyring,
  createDecryptStream,
  createEncryptStream,
  generateBoxKey,
  SaltpackError,
} from '../src/index.js';
import type { EncryptOptions, RandomSource } from '../src/index.js';
import { collect, streamOf } from '../src/internal/streams.js';
import { msgpackObjectEnd } from '../src/msgpack.js';
import { decryptPipeline, encryptPipeline } from '../src/node/index.js';
import type { PipelineSink } from '../src/node/index.js';
import { BACKEND_NAMES, backend } from './backends.js';

const native = await backend('native');

/** A deterministic random source, so two encryptions can be compared byte for byte. */
function seeded(seed: number): RandomSource {
  let counter = 0;
  return {
    randomBytes(n) {
      const out = new Uint8Array(n);
      for (let o = 0; o < n; o += 64) {
        const block = native.sha512(Uint8Array.of(seed, counter >>> 8, counter & 0xff));
        counter++;
        out.set(block.subarray(0, Math.min(64, n - o)), o);
      }
      return out;
    },
  };
}

function patterned(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + (i >>> 11)) & 0xff;
  return out;
}

/** A source yielding `bytes` in pieces of the given sizes, cycling. */
function pieces(bytes: Uint8Array, sizes: readonly number[]): ReadableStream<Uint8Array> {
  let off = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= bytes.length) {
        c.close();
        return;
      }
      const n = sizes[i++ % sizes.length]!;
      c.enqueue(bytes.slice(off, off + n));
      off += n;
    },
  });
}

/** A sink keeping copies of what it was given (the pipeline reuses its buffers). */
function collector(): PipelineSink & { bytes(): Uint8Array; writes: number } {
  const parts: Uint8Array[] = [];
  const sink = {
    writes: 0,
    write(ps: readonly Uint8Array[]) {
      sink.writes++;
      for (const p of ps) parts.push(p.slice());
      return Promise.resolve();
    },
    bytes: () => new Uint8Array(Buffer.concat(parts)),
  };
  return sink;
}

const alice = generateBoxKey(native);
const bob = generateBoxKey(native);
const carol = generateBoxKey(native);

async function viaStream(plaintext: Uint8Array, options: EncryptOptions): Promise<Uint8Array> {
  return collect(streamOf(plaintext).pipeThrough(createEncryptStream(options)));
}

async function viaPipeline(
  source: ReadableStream<Uint8Array>,
  options: EncryptOptions,
): Promise<Uint8Array> {
  const sink = collector();
  await encryptPipeline(source, sink, options);
  return sink.bytes();
}

async function openWithPipeline(
  message: Uint8Array,
  sizes: readonly number[] = [CHUNK_SIZE],
): Promise<{ error: unknown; written: Uint8Array }> {
  const sink = collector();
  try {
    await decryptPipeline(pieces(message, sizes), sink, {
      keyring: createBasicKeyring([bob]),
      backend: native,
    });
    return { error: null, written: sink.bytes() };
  } catch (error) {
    return { error, written: sink.bytes() };
  }
}

const SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 5];

describe.each(BACKEND_NAMES)('pipelines on the %s backend', (name) => {
  for (const version of [1, 2] as const) {
    it(`v${version}: the same bytes as the stream at every chunk boundary, any input pieces`, async () => {
      const b = await backend(name);
      for (const size of SIZES) {
        const plaintext = patterned(size, size);
        const options = (seed: number): EncryptOptions => ({
          recipients: [bob.publicKey, { publicKey: carol.publicKey, hidden: true }],
          sender: size % 2 === 0 ? alice : null,
          version,
          backend: b,
          random: seeded(seed),
        });
        const expected = await viaStream(plaintext, options(size));
        for (const sizes of [[CHUNK_SIZE], [7, 65536, 333, CHUNK_SIZE + 3], [3 * CHUNK_SIZE]]) {
          const got = await viaPipeline(pieces(plaintext, sizes), options(size));
          expect(Buffer.from(got).equals(Buffer.from(expected)), `${size} ${sizes.join()}`).toBe(
            true,
          );
        }
        // And the pipeline reads what the stream wrote, in pieces across packet boundaries.
        const opened = await openWithPipeline(expected, [1, 4093, CHUNK_SIZE + 17]);
        expect(opened.error).toBeNull();
        expect(Buffer.from(opened.written).equals(Buffer.from(plaintext))).toBe(true);
      }
    });
  }
});

describe('ordering and back-pressure', () => {
  it('writes packets in order when chunks finish out of order and the sink is slow', async () => {
    const plaintext = patterned(6 * CHUNK_SIZE + 9, 3);
    const options = (): EncryptOptions => ({
      recipients: [bob.publicKey],
      backend: native,
      random: seeded(9),
    });
    const expected = await viaStream(plaintext, options());
    const parts: Uint8Array[] = [];
    let turn = 0;
    const slow: PipelineSink = {
      async write(ps) {
        // Irregular delays: later writes sometimes faster than earlier ones would be.
        await new Promise((r) => setTimeout(r, [5, 0, 12, 1, 7][turn++ % 5]));
        for (const p of ps) parts.push(p.slice());
      },
    };
    await encryptPipeline(pieces(plaintext, [CHUNK_SIZE]), slow, { ...options(), inFlight: 3 });
    expect(Buffer.concat(parts).equals(Buffer.from(expected))).toBe(true);
  });

  it('reads at most inFlight + 1 chunks ahead of a sink that does not finish', async () => {
    const inFlight = 2;
    let pulled = 0;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          pulled += CHUNK_SIZE;
          c.enqueue(new Uint8Array(CHUNK_SIZE));
          if (pulled >= 64 * CHUNK_SIZE) c.close();
        },
      },
      { highWaterMark: 0 },
    );
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let writes = 0;
    const stuck: PipelineSink = {
      async write() {
        writes++;
        if (writes > 1) await gate; // the header goes through; the first packet never finishes
      },
    };
    const run = encryptPipeline(source, stuck, {
      recipients: [bob.publicKey],
      backend: native,
      inFlight,
    });
    await new Promise((r) => setTimeout(r, 300));
    // Slots: inFlight sealed + 1 filling; one more piece read shows the filled one is not last.
    expect(pulled).toBeLessThanOrEqual((inFlight + 2) * CHUNK_SIZE);
    expect(pulled).toBeGreaterThanOrEqual(inFlight * CHUNK_SIZE);
    release();
    await run;
    expect(pulled).toBe(64 * CHUNK_SIZE);
  });
});

describe('error paths', () => {
  const plaintext = patterned(5 * CHUNK_SIZE + 100, 5);
  const sealed = viaStream(plaintext, {
    recipients: [bob.publicKey, carol.publicKey],
    sender: alice,
    backend: native,
  });
  /** [start, end) of each top-level object: 0 is the header, then packet 1, 2, … */
  const bounds = async (): Promise<[number, number][]> => {
    const m = await sealed;
    const out: [number, number][] = [];
    for (let o = 0; o < m.length;) {
      const end = msgpackObjectEnd(m, o, m.length);
      out.push([o, end]);
      o = end;
    }
    return out;
  };
  /** Where packet `seqno`'s (full-size) payload box starts. */
  const boxStart = async (seqno: number): Promise<number> =>
    (await bounds())[seqno]![1] - (CHUNK_SIZE + 16);

  it('a corrupted chunk in the middle fails with its code after exactly the chunks before it', async () => {
    const m = (await sealed).slice();
    m[(await boxStart(3)) + 1000]! ^= 0x01;
    const { error, written } = await openWithPipeline(m, [65536]);
    expect(error).toBeInstanceOf(SaltpackError);
    expect((error as SaltpackError).code).toBe('SALTPACK_AUTHENTICATION_FAILED');
    expect((error as SaltpackError).details.packetSeqno).toBe(3);
    // Packets 1 and 2 authenticated and were written; nothing of 3 or later.
    expect(written.length).toBe(2 * CHUNK_SIZE);
    expect(Buffer.from(written).equals(Buffer.from(plaintext.subarray(0, 2 * CHUNK_SIZE)))).toBe(
      true,
    );
  });

  it('reports the earliest failure when a later packet is also broken', async () => {
    const m = (await sealed).slice();
    m[(await boxStart(2)) + 5]! ^= 0x80; // packet 2: bad authenticator check
    m[(await bounds())[4]![0]] = 0x01; // packet 4: no longer a list (a malformed packet)
    const { error, written } = await openWithPipeline(m);
    expect((error as SaltpackError).code).toBe('SALTPACK_AUTHENTICATION_FAILED');
    expect((error as SaltpackError).details.packetSeqno).toBe(2);
    expect(written.length).toBe(CHUNK_SIZE);
    // The same message through the stream gives the same verdict.
    const s = createDecryptStream({ keyring: createBasicKeyring([bob]), backend: native });
    const viaStreamError = await collect(streamOf(m).pipeThrough(s)).catch((e: unknown) => e);
    expect((viaStreamError as SaltpackError).details.packetSeqno).toBe(2);
  });

  it('truncated input is SALTPACK_TRUNCATED, inside a packet or between packets', async () => {
    const m = await sealed;
    const b = await bounds();
    for (const cut of [b[4]![0] + 12345, b[5]![1], b[6]![1] - 1]) {
      const { error, written } = await openWithPipeline(m.subarray(0, cut), [100000]);
      expect((error as SaltpackError).code, String(cut)).toBe('SALTPACK_TRUNCATED');
      // Only whole authenticated chunks were written.
      expect(written.length % CHUNK_SIZE).toBe(0);
      expect(Buffer.from(written).equals(Buffer.from(plaintext.subarray(0, written.length)))).toBe(
        true,
      );
    }
    // Cut inside the header: the code the stream gives.
    const none = await openWithPipeline(m.subarray(0, 10));
    const s = createDecryptStream({ keyring: createBasicKeyring([bob]), backend: native });
    const streamed = await collect(streamOf(m.subarray(0, 10)).pipeThrough(s)).catch(
      (e: unknown) => e,
    );
    expect((none.error as SaltpackError).code).toBe((streamed as SaltpackError).code);
    expect(none.written.length).toBe(0);
  });

  it('trailing data after the final packet is SALTPACK_MALFORMED', async () => {
    const m = await sealed;
    const { error } = await openWithPipeline(
      new Uint8Array(Buffer.concat([m, Uint8Array.of(0xc0)])),
    );
    expect((error as SaltpackError).code).toBe('SALTPACK_MALFORMED');
  });

  it('no key: SALTPACK_NO_DECRYPTION_KEY and nothing written', async () => {
    const sink = collector();
    const error = await decryptPipeline(pieces(await sealed, [CHUNK_SIZE]), sink, {
      keyring: createBasicKeyring([generateBoxKey(native)]),
      backend: native,
    }).catch((e: unknown) => e);
    expect((error as SaltpackError).code).toBe('SALTPACK_NO_DECRYPTION_KEY');
    expect(sink.writes).toBe(0);
  });

  it('a failing sink ends the pipeline with its error and cancels the source', async () => {
    let cancelled: unknown = null;
    let pulls = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        pulls++;
        c.enqueue(new Uint8Array(CHUNK_SIZE));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const disk = new Error('disk full');
    let writes = 0;
    const sink: PipelineSink = {
      write() {
        return ++writes === 3 ? Promise.reject(disk) : Promise.resolve();
      },
    };
    const error = await encryptPipeline(source, sink, {
      recipients: [bob.publicKey],
      backend: native,
    }).catch((e: unknown) => e);
    expect(error).toBe(disk);
    expect(cancelled).toBe(disk);
    expect(pulls).toBeLessThan(16);
    // Decryption too: the third write (the third chunk) fails.
    writes = 0;
    const d = await decryptPipeline(pieces(await sealed, [CHUNK_SIZE]), sink, {
      keyring: createBasicKeyring([bob]),
      backend: native,
    }).catch((e: unknown) => e);
    expect(d).toBe(disk);
  });

  it("a failing source ends the pipeline with the source's error", async () => {
    const broken = new Error('read failed');
    let n = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        if (++n === 4) c.error(broken);
        else c.enqueue(new Uint8Array(CHUNK_SIZE));
      },
    });
    const sink = collector();
    const error = await encryptPipeline(source, sink, {
      recipients: [bob.publicKey],
      backend: native,
    }).catch((e: unknown) => e);
    expect(error).toBe(broken);
  });
});
