/**
 * Round-trip properties for every mode on both backends: sizes on and around the 1 MiB chunk
 * boundary (0, 1, 1 MiB − 1, 1 MiB, 1 MiB + 1, 2 MiB) plus random sizes up to a little over
 * 2 MiB; sealed one-shot and opened streaming, sealed streaming and opened one-shot, with random
 * write sizes on both sides; the packet count follows the chunking rule of spec §2. Encryption
 * to 1..30 random recipients (some hidden) opens for every recipient, and so does a message to
 * 1000 recipients.
 *
 * Budget: a few random cases per property in CI; `SALTBOX_FUZZ_RUNS` raises the count of every
 * property for a long run, `SALTBOX_FUZZ_SEED` pins the seed (see fuzz.test.ts).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CHUNK_SIZE,
  createBasicKeyring,
  createDecryptStream,
  createEncryptStream,
  createSigncryptOpenStream,
  createSigncryptStream,
  createSignStream,
  createSymmetricResolver,
  createVerifyStream,
  decrypt,
  encrypt,
  generateBoxKey,
  generateSigningKey,
  sign,
  signcrypt,
  signcryptOpen,
  signDetached,
  verify,
  verifyDetached,
} from '../src/index.js';
import { bytesEqual, msgpackObjectEnd } from '../src/encoding.js';
import type { CryptoBackend, EncryptionRecipient } from '../src/index.js';
import { BACKEND_NAMES, backend } from './backends.js';
import { fuzzParams } from './fuzz-budget.js';

const params = (ciRuns: number): ReturnType<typeof fuzzParams> => fuzzParams(ciRuns, 0x5a17b1);

const BOUNDARY_SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE];

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Deterministic pseudo-random bytes (the portable backend's randomBytes is slow for MiBs). */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Top-level msgpack objects in a binary message (header first). */
function objectCount(msg: Uint8Array): number {
  let n = 0;
  for (let at = 0; at < msg.length; n++) {
    const end = msgpackObjectEnd(msg, at, msg.length);
    if (end < 0) throw new Error('not a sequence of msgpack objects');
    at = end;
  }
  return n;
}

/** Splits `bytes` into pieces whose sizes cycle through `sizes`. */
function piecesOf(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

function readableOf(pieces: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < pieces.length) controller.enqueue(pieces[i++]!);
      else controller.close();
    },
  });
}

/** Pipes `input` through a transform in pieces of the given sizes and collects the output. */
async function through(
  stream: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  input: Uint8Array,
  sizes: readonly number[],
): Promise<Uint8Array> {
  const writing = readableOf(piecesOf(input, sizes)).pipeTo(stream.writable);
  writing.catch(() => undefined); // the reader sees the same error
  const parts: Uint8Array[] = [];
  const reader = stream.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return concat(parts);
}

/**
 * A mode as a pair of one-shot and streaming seal/open functions. Detached signatures have no
 * "plaintext out": their open functions return the message they verified.
 */
interface Mode {
  name: string;
  sealOneShot(pt: Uint8Array): Promise<Uint8Array>;
  sealStream(pt: Uint8Array, sizes: readonly number[]): Promise<Uint8Array>;
  openOneShot(msg: Uint8Array, pt: Uint8Array): Promise<Uint8Array>;
  openStream(msg: Uint8Array, pt: Uint8Array, sizes: readonly number[]): Promise<Uint8Array>;
  /** Payload packets a plaintext of `n` bytes must produce (null: not a packet mode). */
  packets: ((n: number) => number) | null;
}

const v2Packets = (n: number): number => Math.max(1, Math.ceil(n / CHUNK_SIZE));
// v1 always ends with an extra empty packet (§4).
const v1Packets = (n: number): number => Math.ceil(n / CHUNK_SIZE) + 1;

function makeModes(b: CryptoBackend): Mode[] {
  const me = generateBoxKey(b);
  const others = [generateBoxKey(b), generateBoxKey(b)];
  const sender = generateBoxKey(b);
  const signer = generateSigningKey(b);
  const sym = { identifier: b.randomBytes(20), key: b.randomBytes(32) };
  const keyring = createBasicKeyring([me]);
  const symmetricResolver = createSymmetricResolver([sym]);
  const modes: Mode[] = [];
  for (const version of [2, 1] as const) {
    const variants: [string, Parameters<typeof encrypt>[1]][] = [
      [
        'visible and hidden recipients',
        {
          recipients: [
            others[0]!.publicKey,
            { publicKey: others[1]!.publicKey, hidden: true },
            me.publicKey,
          ],
          sender,
        },
      ],
      [
        'hidden recipient, anonymous sender',
        { recipients: [{ publicKey: me.publicKey, hidden: true }] },
      ],
    ];
    for (const [label, opts] of variants) {
      const o = { ...opts, version, backend: b };
      modes.push({
        name: `encryption v${version}, ${label}`,
        sealOneShot: (pt) => encrypt(pt, o),
        sealStream: (pt, sizes) => through(createEncryptStream(o), pt, sizes),
        openOneShot: async (m) => (await decrypt(m, { keyring, backend: b })).plaintext,
        openStream: (m, _pt, sizes) =>
          through(createDecryptStream({ keyring, backend: b }), m, sizes),
        packets: version === 2 ? v2Packets : v1Packets,
      });
    }
    const so = { signer, version, backend: b };
    modes.push({
      name: `attached signing v${version}`,
      sealOneShot: (pt) => sign(pt, so),
      sealStream: (pt, sizes) => through(createSignStream(so), pt, sizes),
      openOneShot: async (m) => (await verify(m, { backend: b })).message,
      openStream: (m, _pt, sizes) => through(createVerifyStream({ backend: b }), m, sizes),
      packets: version === 2 ? v2Packets : v1Packets,
    });
    modes.push({
      name: `detached signing v${version}`,
      sealOneShot: (pt) => signDetached(pt, so),
      sealStream: (pt, sizes) => signDetached(readableOf(piecesOf(pt, sizes)), so),
      openOneShot: async (sig, pt) => {
        await verifyDetached(sig, pt, { backend: b });
        return pt;
      },
      openStream: async (sig, pt, sizes) => {
        const info = await verifyDetached(sig, readableOf(piecesOf(pt, sizes)), { backend: b });
        expect(bytesEqual(info.signerPublicKey, signer.publicKey)).toBe(true);
        return pt;
      },
      packets: null,
    });
  }
  const scVariants: [
    string,
    Parameters<typeof signcrypt>[1],
    Parameters<typeof signcryptOpen>[1],
  ][] = [
    ['box receiver', { receivers: [sym, me.publicKey], signer }, { keyring }],
    [
      'symmetric receiver',
      { receivers: [others[0]!.publicKey, sym], signer },
      { symmetricResolver },
    ],
    ['anonymous signer', { receivers: [me.publicKey], signer: null }, { keyring }],
  ];
  for (const [label, sealOpts, openOpts] of scVariants) {
    const so = { ...sealOpts, backend: b };
    const oo = { ...openOpts, backend: b };
    modes.push({
      name: `signcryption, ${label}`,
      sealOneShot: (pt) => signcrypt(pt, so),
      sealStream: (pt, sizes) => through(createSigncryptStream(so), pt, sizes),
      openOneShot: async (m) => (await signcryptOpen(m, oo)).plaintext,
      openStream: (m, _pt, sizes) => through(createSigncryptOpenStream(oo), m, sizes),
      packets: v2Packets,
    });
  }
  return modes;
}

const MODE_NAMES = [
  'encryption v2, visible and hidden recipients',
  'encryption v2, hidden recipient, anonymous sender',
  'attached signing v2',
  'detached signing v2',
  'encryption v1, visible and hidden recipients',
  'encryption v1, hidden recipient, anonymous sender',
  'attached signing v1',
  'detached signing v1',
  'signcryption, box receiver',
  'signcryption, symmetric receiver',
  'signcryption, anonymous signer',
];

/** Write sizes: tiny, odd, and larger than a chunk, so every buffering path is crossed. */
const sizesArb = fc.array(
  fc.oneof(
    fc.integer({ min: 1, max: 64 }),
    fc.integer({ min: 65, max: 200_000 }),
    fc.integer({ min: CHUNK_SIZE - 3, max: CHUNK_SIZE + 3 }),
  ),
  { minLength: 1, maxLength: 5 },
);

async function checkRoundTrip(
  mode: Mode,
  pt: Uint8Array,
  sealSizes: readonly number[],
  openSizes: readonly number[],
): Promise<void> {
  const a = await mode.sealOneShot(pt);
  const b = await mode.sealStream(pt, sealSizes);
  if (mode.packets) {
    // Header plus the payload packets of the chunking rule, whichever way it was sealed.
    expect(objectCount(a)).toBe(1 + mode.packets(pt.length));
    expect(objectCount(b)).toBe(1 + mode.packets(pt.length));
  }
  expect(bytesEqual(await mode.openStream(a, pt, openSizes), pt)).toBe(true);
  expect(bytesEqual(await mode.openOneShot(b, pt), pt)).toBe(true);
}

describe.each(BACKEND_NAMES)('round trips on the %s backend', (backendName) => {
  let b: CryptoBackend;
  let modes: Mode[] = [];
  beforeAll(async () => {
    b = await backend(backendName);
    modes = makeModes(b);
  });
  const modeNamed = (name: string): Mode => modes.find((m) => m.name === name)!;

  describe.each(MODE_NAMES)('%s', (name) => {
    it('sizes at the chunk boundary: 0, 1, 1 MiB − 1, 1 MiB, 1 MiB + 1, 2 MiB', async () => {
      const mode = modeNamed(name);
      await fc.assert(
        fc.asyncProperty(sizesArb, sizesArb, async (sealSizes, openSizes) => {
          for (const size of BOUNDARY_SIZES) {
            await checkRoundTrip(mode, pattern(size, size + 1), sealSizes, openSizes);
          }
        }),
        params(1),
      );
    });

    it('random sizes up to 2 MiB + 1 KiB, near and away from the boundaries', async () => {
      const mode = modeNamed(name);
      const sizeArb = fc.oneof(
        fc.integer({ min: 0, max: 2 * CHUNK_SIZE + 1024 }),
        fc.integer({ min: CHUNK_SIZE - 40, max: CHUNK_SIZE + 40 }),
        fc.integer({ min: 0, max: 100 }),
      );
      await fc.assert(
        fc.asyncProperty(sizeArb, fc.nat(), sizesArb, sizesArb, async (size, seed, s1, s2) => {
          await checkRoundTrip(mode, pattern(size, seed), s1, s2);
        }),
        params(2),
      );
    });
  });

  it('encryption to 1..30 random recipients (some hidden) opens for every recipient', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
        fc.constantFrom(1 as const, 2 as const),
        fc.boolean(),
        fc.integer({ min: 0, max: 5000 }),
        async (hiddenFlags, version, anonymous, size) => {
          const keys = hiddenFlags.map(() => generateBoxKey(b));
          const recipients: EncryptionRecipient[] = keys.map((k, i) => ({
            publicKey: k.publicKey,
            hidden: hiddenFlags[i]!,
          }));
          const sender = anonymous ? null : generateBoxKey(b);
          const pt = pattern(size, size);
          const msg = await encrypt(pt, { recipients, sender, version, backend: b });
          for (const [i, key] of keys.entries()) {
            const { plaintext, info } = await decrypt(msg, {
              keyring: createBasicKeyring([key]),
              backend: b,
            });
            expect(bytesEqual(plaintext, pt)).toBe(true);
            expect(info.receiverIsHidden).toBe(hiddenFlags[i]);
            expect(info.senderIsAnonymous).toBe(anonymous);
          }
          // And nobody else.
          await expect(
            decrypt(msg, { keyring: createBasicKeyring([generateBoxKey(b)]), backend: b }),
          ).rejects.toMatchObject({ code: 'SALTPACK_NO_DECRYPTION_KEY' });
        },
      ),
      params(4),
    );
  });
});

describe('1000 recipients (native backend)', () => {
  it('a v2 message to 1000 recipients, 50 of them hidden, opens for each of them', async () => {
    const b = await backend('native');
    const keys = Array.from({ length: 1000 }, () => generateBoxKey(b));
    const hidden = (i: number): boolean => i % 20 === 7;
    const pt = pattern(3000, 1000);
    const msg = await encrypt(pt, {
      recipients: keys.map((k, i) => ({ publicKey: k.publicKey, hidden: hidden(i) })),
      sender: generateBoxKey(b),
      backend: b,
    });
    // Checking the plaintext once is enough; the rest confirm each key opens the header and
    // authenticates the payload (a wrong MAC key fails the packet).
    let opened = 0;
    for (const [i, key] of keys.entries()) {
      const { plaintext, info } = await decrypt(msg, {
        keyring: createBasicKeyring([key]),
        backend: b,
      });
      if (i === 0) expect(bytesEqual(plaintext, pt)).toBe(true);
      else expect(plaintext.length).toBe(pt.length);
      expect(info.receiverIsHidden).toBe(hidden(i));
      expect(info.namedReceivers).toHaveLength(950);
      expect(info.anonymousReceiverCount).toBe(50);
      opened++;
    }
    expect(opened).toBe(1000);
  });
});
