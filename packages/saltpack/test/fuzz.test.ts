/**
 * Hostile input: valid messages of every mode, binary and armored, mangled by random byte flips,
 * truncations, moved byte ranges, duplicated ranges and insertions. Opening must end in one of
 * two ways: the original plaintext (the mutation was harmless, e.g. whitespace in armor or a
 * flipped authenticator that belongs to another recipient), or a `SaltpackError` whose code is
 * one of the hostile-input codes. Anything else — a TypeError, a hang, a different plaintext,
 * streamed bytes that were never authenticated — fails the property.
 *
 * Budget: CI runs a few cases per property (the whole file stays well under a minute on two
 * cores) with a fixed seed, so CI is deterministic. For a long fuzzing session set
 * `SALTBOX_FUZZ_RUNS` (runs per property, e.g. 2000); the seed is then random unless
 * `SALTBOX_FUZZ_SEED` pins it. fast-check prints the seed and shrink path of any failure; rerun
 * with both variables to reproduce it:
 *
 *   SALTBOX_FUZZ_RUNS=2000 npx vitest run packages/saltpack/test/fuzz.test.ts
 *   SALTBOX_FUZZ_RUNS=1 SALTBOX_FUZZ_SEED=<seed> npx vitest run packages/saltpack/test/fuzz.test.ts
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { armor, createDearmorStream, dearmor } from '../src/armor/armor.js';
import type { ArmorType } from '../src/armor/armor.js';
import {
  CHUNK_SIZE,
  createBasicKeyring,
  createDecryptStream,
  createSigncryptOpenStream,
  createSymmetricResolver,
  createVerifyStream,
  decrypt,
  encrypt,
  generateBoxKey,
  generateSigningKey,
  SaltpackError,
  sign,
  signcrypt,
  signcryptOpen,
  signDetached,
  verify,
  verifyDetached,
} from '../src/index.js';
import { bytesEqual, msgpackObjectEnd } from '../src/encoding.js';
import type { CryptoBackend, SaltpackErrorCode } from '../src/index.js';
import { BACKEND_NAMES, backend } from './backends.js';
import { fuzzParams } from './fuzz-budget.js';

// ---------------------------------------------------------------------------------------------
// Budget and seed

const params = (ciRuns: number): ReturnType<typeof fuzzParams> => fuzzParams(ciRuns, 0x5a17b0);

/** Per-open time limit: far above any legitimate open of these small messages. */
const HANG_MS = 20_000;

// ---------------------------------------------------------------------------------------------
// Codes a hostile message may produce. INVALID_ARGUMENT and BACKEND_UNAVAILABLE describe caller
// mistakes and platform problems, never message contents, so they must not appear here.

const HOSTILE_CODES: readonly SaltpackErrorCode[] = [
  'SALTPACK_TRUNCATED',
  'SALTPACK_NO_DECRYPTION_KEY',
  'SALTPACK_AUTHENTICATION_FAILED',
  'SALTPACK_BAD_SIGNATURE',
  'SALTPACK_MALFORMED',
  'SALTPACK_BAD_ARMOR',
  'SALTPACK_UNKNOWN_SENDER',
];

function codeOf(e: unknown): SaltpackErrorCode {
  if (!(e instanceof SaltpackError)) {
    throw new Error(`expected a SaltpackError, got ${String(e)}`, { cause: e });
  }
  expect(HOSTILE_CODES).toContain(e.code);
  return e.code;
}

async function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not settle within ${HANG_MS} ms (hang)`));
    }, HANG_MS);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Byte helpers

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Deterministic pseudo-random plaintext (the portable backend's randomBytes is slow for MiBs). */
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

const text = new TextEncoder();

/** Byte span of one msgpack object. */
interface Span {
  start: number;
  end: number;
}

/** Splits a binary message into its top-level msgpack objects (header first). */
function objects(msg: Uint8Array): Span[] {
  const out: Span[] = [];
  let at = 0;
  while (at < msg.length) {
    const end = msgpackObjectEnd(msg, at, msg.length);
    if (end < 0) throw new Error('fixture is not a sequence of msgpack objects');
    out.push({ start: at, end });
    at = end;
  }
  return out;
}

/** The elements of the msgpack array at `span`, each with where its bytes' payload begins. */
function elements(msg: Uint8Array, span: Span): (Span & { data: number })[] {
  const b = msg[span.start]!;
  let n: number;
  let at: number;
  if (b >= 0x90 && b <= 0x9f) [n, at] = [b & 0x0f, span.start + 1];
  else if (b === 0xdc)
    [n, at] = [(msg[span.start + 1]! << 8) | msg[span.start + 2]!, span.start + 3];
  else throw new Error('fixture packet is not a small array');
  const out: (Span & { data: number })[] = [];
  for (let i = 0; i < n; i++) {
    const end = msgpackObjectEnd(msg, at, span.end);
    const t = msg[at]!;
    const data = t === 0xc4 ? at + 2 : t === 0xc5 ? at + 3 : t === 0xc6 ? at + 5 : at;
    out.push({ start: at, end, data });
    at = end;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mutations

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'move'; from: number; length: number; to: number }
  | { kind: 'duplicate'; from: number; length: number; to: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

const pos = fc.nat({ max: 0x7fffffff });
// Insertions mix arbitrary bytes with the characters the armor parser treats specially.
const insertBytes = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 24 }),
  fc
    .string({
      unit: fc.constantFrom(...' \t\r\n>.0aZzBEGINENDSALTPACK'.split('')),
      minLength: 1,
      maxLength: 12,
    })
    .map((s) => text.encode(s)),
  fc.constantFrom(
    ...[0xc0, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0x90, 0x93, 0xdc, 0xdd].map((b) => Uint8Array.of(b)),
  ),
);
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: pos, xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: pos }),
  fc.record({
    kind: fc.constant('move' as const),
    from: pos,
    length: fc.integer({ min: 1, max: 64 }),
    to: pos,
  }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    from: pos,
    length: fc.integer({ min: 1, max: 64 }),
    to: pos,
  }),
  fc.record({ kind: fc.constant('insert' as const), at: pos, bytes: insertBytes }),
);
const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 3 });

function mutate(msg: Uint8Array, m: Mutation): Uint8Array {
  const n = msg.length;
  switch (m.kind) {
    case 'flip': {
      if (n === 0) return msg;
      const out = msg.slice();
      out[m.at % n]! ^= m.xor;
      return out;
    }
    case 'truncate':
      return msg.slice(0, m.at % Math.max(n, 1));
    case 'move': {
      if (n === 0) return msg;
      const from = m.from % n;
      const range = msg.subarray(from, Math.min(n, from + m.length));
      const rest = concat([msg.subarray(0, from), msg.subarray(from + range.length)]);
      const to = m.to % (rest.length + 1);
      return concat([rest.subarray(0, to), range, rest.subarray(to)]);
    }
    case 'duplicate': {
      if (n === 0) return msg;
      const from = m.from % n;
      const range = msg.subarray(from, Math.min(n, from + m.length));
      const to = m.to % (n + 1);
      return concat([msg.subarray(0, to), range, msg.subarray(to)]);
    }
    case 'insert': {
      const at = m.at % (n + 1);
      return concat([msg.subarray(0, at), m.bytes, msg.subarray(at)]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming helpers

interface Duplex {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/**
 * Writes `input` in pieces of the given sizes (cycled) while reading; returns what was released
 * before the stream ended and the error that ended it, if any.
 */
async function pump(
  stream: Duplex,
  input: Uint8Array,
  pieces: readonly number[],
): Promise<{ out: Uint8Array; error?: unknown }> {
  const writer = stream.writable.getWriter();
  const writing = (async () => {
    let at = 0;
    let i = 0;
    while (at < input.length) {
      const n = Math.max(1, pieces[i++ % pieces.length]!);
      await writer.write(input.subarray(at, at + n));
      at += n;
    }
    await writer.close();
  })();
  writing.catch(() => undefined); // the same error reaches the reader
  const parts: Uint8Array[] = [];
  const reader = stream.readable.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
  } catch (error) {
    return { out: concat(parts), error };
  }
  return { out: concat(parts) };
}

// ---------------------------------------------------------------------------------------------
// Modes

/** Where the interesting fields sit inside a payload packet. */
interface Layout {
  payload: number;
  flag?: number;
  auth?: number;
}

interface Mode {
  name: string;
  armorType: ArmorType;
  /** Seals `plaintext` to the binary message (for detached: the signature). */
  seal(plaintext: Uint8Array): Promise<Uint8Array>;
  /** One-shot open; resolves to the plaintext (detached: the message it verified). */
  open(message: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** A streaming opener, or (detached) null: the signature is not a stream. */
  stream: (() => Duplex) | null;
  /** Packet layout, or null for detached signatures (no payload packets). */
  layout: Layout | null;
  /** The code a tampered payload chunk must give. */
  tamperCode: SaltpackErrorCode;
  /** v1 messages end with an extra empty packet instead of a final flag. */
  v1: boolean;
  /** Encryption: the header position of the entry our key opened. */
  receiverIndex?: (message: Uint8Array) => Promise<number>;
}

function makeModes(b: CryptoBackend): Mode[] {
  const me = generateBoxKey(b);
  const other = generateBoxKey(b);
  const sender = generateBoxKey(b);
  const signer = generateSigningKey(b);
  const sym = { identifier: b.randomBytes(13), key: b.randomBytes(32) };
  const otherSym = { identifier: b.randomBytes(32), key: b.randomBytes(32) };
  const keyring = createBasicKeyring([me]);
  const resolver = createSymmetricResolver([sym]);
  const decryptOpen = async (m: Uint8Array): Promise<Uint8Array> =>
    (await decrypt(m, { keyring, backend: b })).plaintext;
  const modes: Mode[] = [];
  for (const version of [2, 1] as const) {
    const encLayout: Layout =
      version === 2 ? { flag: 0, auth: 1, payload: 2 } : { auth: 0, payload: 1 };
    const encModes: [string, Parameters<typeof encrypt>[1]][] = [
      ['visible', { recipients: [other.publicKey, me.publicKey], sender }],
      [
        'hidden',
        {
          recipients: [{ publicKey: other.publicKey }, { publicKey: me.publicKey, hidden: true }],
          sender,
        },
      ],
      ['anonymous sender', { recipients: [me.publicKey] }],
    ];
    for (const [label, opts] of encModes) {
      modes.push({
        name: `encryption v${version} ${label}`,
        armorType: 'ENCRYPTED MESSAGE',
        seal: (pt) => encrypt(pt, { ...opts, version, backend: b }),
        open: decryptOpen,
        stream: () => createDecryptStream({ keyring, backend: b }),
        layout: encLayout,
        tamperCode: 'SALTPACK_AUTHENTICATION_FAILED',
        v1: version === 1,
        receiverIndex: async (m) => (await decrypt(m, { keyring, backend: b })).info.receiverIndex,
      });
    }
    modes.push({
      name: `attached signing v${version}`,
      armorType: 'SIGNED MESSAGE',
      seal: (pt) => sign(pt, { signer, version, backend: b }),
      open: async (m) => (await verify(m, { backend: b })).message,
      stream: () => createVerifyStream({ backend: b }),
      layout: version === 2 ? { flag: 0, payload: 2 } : { payload: 1 },
      tamperCode: 'SALTPACK_BAD_SIGNATURE',
      v1: version === 1,
    });
    modes.push({
      name: `detached signing v${version}`,
      armorType: 'DETACHED SIGNATURE',
      seal: (pt) => signDetached(pt, { signer, version, backend: b }),
      open: async (sig, pt) => {
        await verifyDetached(sig, pt, { backend: b });
        return pt;
      },
      stream: null,
      layout: null,
      tamperCode: 'SALTPACK_BAD_SIGNATURE',
      v1: version === 1,
    });
  }
  const signcryptModes: [
    string,
    Parameters<typeof signcrypt>[1],
    Parameters<typeof signcryptOpen>[1],
  ][] = [
    ['box receiver', { receivers: [otherSym, me.publicKey], signer }, { keyring }],
    [
      'symmetric receiver',
      { receivers: [other.publicKey, sym], signer },
      { symmetricResolver: resolver },
    ],
    ['anonymous signer', { receivers: [me.publicKey], signer: null }, { keyring }],
  ];
  for (const [label, sealOpts, openOpts] of signcryptModes) {
    modes.push({
      name: `signcryption ${label}`,
      armorType: 'ENCRYPTED MESSAGE',
      seal: (pt) => signcrypt(pt, { ...sealOpts, backend: b }),
      open: async (m) => (await signcryptOpen(m, { ...openOpts, backend: b })).plaintext,
      stream: () => createSigncryptOpenStream({ ...openOpts, backend: b }),
      layout: { payload: 0, flag: 1 },
      tamperCode: 'SALTPACK_AUTHENTICATION_FAILED',
      v1: false,
    });
  }
  return modes;
}

/** The armored variant's one-shot open: dearmor (frame type checked), then open. */
async function openArmored(mode: Mode, armored: Uint8Array, pt: Uint8Array): Promise<Uint8Array> {
  const { data } = await dearmor(armored, { expectedType: mode.armorType });
  return mode.open(data, pt);
}

/** The armored variant's streaming open: the dearmor stream piped into the opener. */
function armoredStream(mode: Mode): Duplex {
  const d = createDearmorStream({ expectedType: mode.armorType });
  return { writable: d.writable, readable: d.readable.pipeThrough(mode.stream!()) };
}

/** Outcome of one open: the code it failed with, or 'ok'. Checks the plaintext on success. */
type Outcome = SaltpackErrorCode | 'ok';

async function oneShot(run: () => Promise<Uint8Array>, pt: Uint8Array): Promise<Outcome> {
  let out: Uint8Array;
  try {
    out = await withTimeout(run(), 'one-shot open');
  } catch (e) {
    return codeOf(e);
  }
  // A mutation that still opens must have been harmless: never a different plaintext.
  expect(bytesEqual(out, pt)).toBe(true);
  return 'ok';
}

async function streamed(
  stream: Duplex,
  input: Uint8Array,
  pieces: readonly number[],
  pt: Uint8Array,
): Promise<Outcome> {
  const { out, error } = await withTimeout(pump(stream, input, pieces), 'streaming open');
  if (error === undefined) {
    expect(bytesEqual(out, pt)).toBe(true);
    return 'ok';
  }
  // Only authenticated chunks may have been released: a prefix of the plaintext made of whole
  // chunks (or all of it, when the damage lies after the final packet).
  expect(out.length % CHUNK_SIZE === 0 || out.length === pt.length).toBe(true);
  expect(bytesEqual(out, pt.subarray(0, out.length))).toBe(true);
  return codeOf(error);
}

const piecesArb = fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 6 });
const plaintextArb = fc.uint8Array({ maxLength: 300 });

// ---------------------------------------------------------------------------------------------

describe.each(BACKEND_NAMES)('hostile input on the %s backend', (backendName) => {
  let modes: Mode[] = [];
  beforeAll(async () => {
    modes = makeModes(await backend(backendName));
  });
  // Mode names are needed at collection time; the list is rebuilt identically in beforeAll.
  const names = [
    'encryption v2 visible',
    'encryption v2 hidden',
    'encryption v2 anonymous sender',
    'attached signing v2',
    'detached signing v2',
    'encryption v1 visible',
    'encryption v1 hidden',
    'encryption v1 anonymous sender',
    'attached signing v1',
    'detached signing v1',
    'signcryption box receiver',
    'signcryption symmetric receiver',
    'signcryption anonymous signer',
  ];
  const modeNamed = (name: string): Mode => {
    const m = modes.find((x) => x.name === name);
    if (!m) throw new Error(`no mode ${name}`);
    return m;
  };

  describe.each(names)('%s', (name) => {
    it('unmutated messages open, binary and armored, one-shot and streaming (baseline)', async () => {
      const mode = modeNamed(name);
      for (const pt of [new Uint8Array(0), pattern(1, 1), pattern(300, 2)]) {
        const msg = await mode.seal(pt);
        const armored = text.encode(await armor(msg, { type: mode.armorType, brand: 'KEYBASE' }));
        expect(await oneShot(() => mode.open(msg, pt), pt)).toBe('ok');
        expect(await oneShot(() => openArmored(mode, armored, pt), pt)).toBe('ok');
        if (mode.stream) {
          expect(await streamed(mode.stream(), msg, [7, 100], pt)).toBe('ok');
          expect(await streamed(armoredStream(mode), armored, [7, 100], pt)).toBe('ok');
        }
      }
    });

    it('armored: whitespace, CRLF and quoting inserted anywhere in the body change nothing', async () => {
      const mode = modeNamed(name);
      const skip = fc
        .string({
          unit: fc.constantFrom(' ', '\t', '\r\n', '\n', '>', '> '),
          minLength: 1,
          maxLength: 4,
        })
        .map((s) => text.encode(s));
      await fc.assert(
        fc.asyncProperty(
          plaintextArb,
          fc.array(fc.tuple(pos, skip), { minLength: 1, maxLength: 6 }),
          async (pt, inserts) => {
            const armored = await armor(await mode.seal(pt), { type: mode.armorType });
            const bodyStart = armored.indexOf('.') + 1;
            const bodyEnd = armored.indexOf('.', bodyStart);
            let msg: Uint8Array = text.encode(armored);
            let end = bodyEnd;
            for (const [at, bytes] of inserts) {
              const i = bodyStart + (at % (end - bodyStart + 1));
              msg = concat([msg.subarray(0, i), bytes, msg.subarray(i)]);
              end += bytes.length;
            }
            expect(await oneShot(() => openArmored(mode, msg, pt), pt)).toBe('ok');
          },
        ),
        params(6),
      );
    });

    it('binary: random mutations give the plaintext or a coded error, one-shot and streaming alike', async () => {
      const mode = modeNamed(name);
      await fc.assert(
        fc.asyncProperty(plaintextArb, mutationsArb, piecesArb, async (pt, muts, pieces) => {
          let msg = await mode.seal(pt);
          for (const m of muts) msg = mutate(msg, m);
          const a = await oneShot(() => mode.open(msg, pt), pt);
          if (mode.stream) {
            // Chunking the input must not change the verdict.
            const b = await streamed(mode.stream(), msg, pieces, pt);
            expect(b).toBe(a);
          }
        }),
        params(12),
      );
    });

    it('armored: random mutations give the plaintext or a coded error, one-shot and streaming', async () => {
      const mode = modeNamed(name);
      await fc.assert(
        fc.asyncProperty(
          plaintextArb,
          fc.constantFrom('', 'KEYBASE'),
          mutationsArb,
          piecesArb,
          async (pt, brand, muts, pieces) => {
            let msg: Uint8Array = text.encode(
              await armor(await mode.seal(pt), { type: mode.armorType, brand }),
            );
            for (const m of muts) msg = mutate(msg, m);
            await oneShot(() => openArmored(mode, msg, pt), pt);
            if (mode.stream) await streamed(armoredStream(mode), msg, pieces, pt);
          },
        ),
        params(8),
      );
    });

    // A cut inside a detached signature's final bin object is truncation too (this once gave
    // SALTPACK_MALFORMED; found by this test).
    it('binary: truncation inside the header is malformed, after it is SALTPACK_TRUNCATED', async () => {
      const mode = modeNamed(name);
      await fc.assert(
        fc.asyncProperty(plaintextArb, pos, async (pt, at) => {
          const msg = await mode.seal(pt);
          const headerEnd = objects(msg)[0]!.end;
          const cut = at % msg.length;
          const want: SaltpackErrorCode =
            cut < headerEnd ? 'SALTPACK_MALFORMED' : 'SALTPACK_TRUNCATED';
          expect(await oneShot(() => mode.open(msg.slice(0, cut), pt), pt)).toBe(want);
        }),
        params(10),
      );
    });

    it('armored: truncation before the footer ends is SALTPACK_TRUNCATED', async () => {
      const mode = modeNamed(name);
      await fc.assert(
        fc.asyncProperty(plaintextArb, pos, async (pt, at) => {
          const armored = text.encode(await armor(await mode.seal(pt), { type: mode.armorType }));
          // Everything up to (not including) the footer's closing period.
          const cut = at % (armored.length - 1);
          expect(await oneShot(() => openArmored(mode, armored.slice(0, cut), pt), pt)).toBe(
            'SALTPACK_TRUNCATED',
          );
        }),
        params(10),
      );
    });

    it('armored: a character outside the alphabet in the body is SALTPACK_BAD_ARMOR', async () => {
      const mode = modeNamed(name);
      await fc.assert(
        fc.asyncProperty(
          plaintextArb,
          pos,
          fc.constantFrom('!', '#', ',', '-', '/', '~', '\u00e9', '\0'),
          async (pt, at, bad) => {
            const armored = await armor(await mode.seal(pt), { type: mode.armorType });
            const bodyStart = armored.indexOf('.') + 2;
            const bodyEnd = armored.indexOf('.', bodyStart);
            const i = bodyStart + (at % (bodyEnd - bodyStart));
            const mangled = text.encode(armored.slice(0, i) + bad + armored.slice(i + 1));
            expect(await oneShot(() => openArmored(mode, mangled, pt), pt)).toBe(
              'SALTPACK_BAD_ARMOR',
            );
          },
        ),
        params(10),
      );
    });

    it('binary: a flipped byte in a payload chunk (or the signature) is rejected with its code', async () => {
      const mode = modeNamed(name);
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          pos,
          fc.integer({ min: 1, max: 255 }),
          async (pt, at, xor) => {
            const msg = (await mode.seal(pt)).slice();
            const objs = objects(msg);
            let span: Span;
            if (mode.layout) {
              const field = elements(msg, objs[1]!)[mode.layout.payload]!;
              span = { start: field.data, end: field.end };
            } else {
              const sig = objs[1]!;
              span = { start: sig.end - 64, end: sig.end }; // the 64 signature bytes
            }
            msg[span.start + (at % (span.end - span.start))]! ^= xor;
            expect(await oneShot(() => mode.open(msg, pt), pt)).toBe(mode.tamperCode);
          },
        ),
        params(10),
      );
    });

    it('binary: a packet appended after the final one is malformed (trailing garbage)', async () => {
      const mode = modeNamed(name);
      if (!mode.layout) return; // detached: Go ignores bytes after the signature (§5)
      await fc.assert(
        fc.asyncProperty(plaintextArb, async (pt) => {
          const msg = await mode.seal(pt);
          const objs = objects(msg);
          const last = objs[objs.length - 1]!;
          const doubled = concat([msg, msg.subarray(last.start, last.end)]);
          expect(await oneShot(() => mode.open(doubled, pt), pt)).toBe('SALTPACK_MALFORMED');
        }),
        params(4),
      );
    });
  });

  // Detached signatures cover the message too.
  describe.each(['detached signing v2', 'detached signing v1'])('%s', (name) => {
    it('a flipped byte in the message is SALTPACK_BAD_SIGNATURE', async () => {
      const mode = modeNamed(name);
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          pos,
          fc.integer({ min: 1, max: 255 }),
          async (pt, at, xor) => {
            const sig = await mode.seal(pt);
            const changed = pt.slice();
            changed[at % changed.length]! ^= xor;
            expect(await oneShot(() => mode.open(sig, changed), changed)).toBe(
              'SALTPACK_BAD_SIGNATURE',
            );
          },
        ),
        params(10),
      );
    });
  });

  describe('final flags and authenticators (v2)', () => {
    const v2Chunked = [
      'encryption v2 visible',
      'encryption v2 hidden',
      'encryption v2 anonymous sender',
      'attached signing v2',
      'signcryption box receiver',
      'signcryption symmetric receiver',
      'signcryption anonymous signer',
    ];
    it.each(v2Chunked)(
      '%s: clearing the final flag is rejected with the mode’s code',
      async (name) => {
        const mode = modeNamed(name);
        const pt = pattern(100, 7);
        const msg = (await mode.seal(pt)).slice();
        const flag = elements(msg, objects(msg)[1]!)[mode.layout!.flag!]!;
        expect(msg[flag.start]).toBe(0xc3);
        msg[flag.start] = 0xc2;
        expect(await oneShot(() => mode.open(msg, pt), pt)).toBe(mode.tamperCode);
      },
    );

    it.each(['encryption v2 visible', 'encryption v1 visible'])(
      '%s: a flipped byte in our own authenticator fails, in the other recipient’s it is ignored',
      async (name) => {
        const mode = modeNamed(name);
        await fc.assert(
          fc.asyncProperty(pos, fc.integer({ min: 1, max: 255 }), async (at, xor) => {
            const pt = pattern(50, at);
            const msg = await mode.seal(pt);
            const objs = objects(msg);
            const auths = elements(msg, objs[1]!)[mode.layout!.auth!]!;
            const list = elements(msg, auths);
            expect(list).toHaveLength(2);
            // The header order is shuffled on every seal, so ask which entry is ours.
            const ownIndex = await mode.receiverIndex!(msg);
            for (const i of [0, 1]) {
              const copy = msg.slice();
              const entry = list[i]!;
              copy[entry.data + (at % 32)]! ^= xor;
              const want: Outcome = i === ownIndex ? 'SALTPACK_AUTHENTICATION_FAILED' : 'ok';
              expect(await oneShot(() => mode.open(copy, pt), pt)).toBe(want);
            }
          }),
          params(4),
        );
      },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Multi-packet messages: packet order and streaming release. Native backend only: these are
// about the packet state machine, which both backends share, and 2 MiB messages on the portable
// backend would take most of the CI budget.

describe('multi-packet messages (native backend)', () => {
  let modes: Mode[] = [];
  beforeAll(async () => {
    modes = makeModes(await backend('native'));
  });
  const names = [
    'encryption v2 visible',
    'encryption v2 hidden',
    'encryption v2 anonymous sender',
    'encryption v1 visible',
    'attached signing v2',
    'attached signing v1',
    'signcryption box receiver',
    'signcryption symmetric receiver',
    'signcryption anonymous signer',
  ];
  const modeNamed = (name: string): Mode => modes.find((x) => x.name === name)!;
  // 2 MiB + 77 bytes: three packets in every version (v1 adds an empty terminator: four).
  const pt = pattern(2 * CHUNK_SIZE + 77, 99);

  describe.each(names)('%s', (name) => {
    it('swapping, duplicating or dropping packets is rejected with the mode’s code', async () => {
      const mode = modeNamed(name);
      const msg = await mode.seal(pt);
      const [h, p0, p1, ...rest] = objects(msg);
      const part = (s: Span): Uint8Array => msg.subarray(s.start, s.end);
      const restBytes = rest.map(part);
      const variants: [string, Uint8Array][] = [
        ['swap 0 and 1', concat([part(h!), part(p1!), part(p0!), ...restBytes])],
        ['duplicate 0', concat([part(h!), part(p0!), part(p0!), part(p1!), ...restBytes])],
        ['drop 0', concat([part(h!), part(p1!), ...restBytes])],
        ['drop 1', concat([part(h!), part(p0!), ...restBytes])],
      ];
      for (const [label, variant] of variants) {
        expect([label, await oneShot(() => mode.open(variant, pt), pt)]).toEqual([
          label,
          mode.tamperCode,
        ]);
      }
    });

    it('streaming releases exactly the first 1 MiB when the second packet is corrupted', async () => {
      const mode = modeNamed(name);
      const msg = (await mode.seal(pt)).slice();
      const p1 = objects(msg)[2]!;
      const field = elements(msg, p1)[mode.layout!.payload]!;
      msg[field.data + 1000]! ^= 0x40;
      await fc.assert(
        fc.asyncProperty(piecesArb, async (pieces) => {
          const sizes = pieces.map((p) => p * 997); // keep the write count reasonable for 2 MiB
          for (const armored of [false, true]) {
            let input = msg;
            let stream: Duplex = mode.stream!();
            if (armored) {
              input = text.encode(await armor(msg, { type: mode.armorType }));
              stream = armoredStream(mode);
            }
            const { out, error } = await withTimeout(pump(stream, input, sizes), 'stream');
            expect(codeOf(error)).toBe(mode.tamperCode);
            expect(out.length).toBe(CHUNK_SIZE);
            expect(bytesEqual(out, pt.subarray(0, CHUNK_SIZE))).toBe(true);
          }
        }),
        params(2),
      );
    });

    it('one-shot returns nothing from the same message', async () => {
      const mode = modeNamed(name);
      const msg = (await mode.seal(pt)).slice();
      const field = elements(msg, objects(msg)[2]!)[mode.layout!.payload]!;
      msg[field.data + 5]! ^= 1;
      await expect(mode.open(msg, pt)).rejects.toSatisfy(
        (e) => e instanceof SaltpackError && e.code === mode.tamperCode,
      );
    });

    it('truncation at any packet boundary after the header is SALTPACK_TRUNCATED', async () => {
      const mode = modeNamed(name);
      const msg = await mode.seal(pt);
      const objs = objects(msg);
      for (const o of objs.slice(0, -1)) {
        expect(await oneShot(() => mode.open(msg.slice(0, o.end), pt), pt)).toBe(
          'SALTPACK_TRUNCATED',
        );
      }
    });
  });
});
