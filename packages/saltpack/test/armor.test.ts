/**
 * Saltpack ASCII armor (spec §8): the reference vectors of armor.json, the exact Go layout,
 * streaming behaviour, error reasons and property tests.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  armor,
  createArmorStream,
  createDearmorStream,
  dearmor,
  encodeBase62,
} from '../src/armor/armor.js';
import type { ArmorType } from '../src/armor/armor.js';
import { ERROR_CLASS_CODES, GO_ERROR_REASONS, SaltpackError } from '../src/errors.js';
import { decodeMsgpack, decodeMsgpackAt } from '../src/msgpack.js';
import { toHex } from '../src/internal/bytes.js';
import {
  armorTypeForMode,
  caught,
  chunkBySizes,
  concat,
  dearmorChunks,
  loadArmorVectors,
  prng,
  randomSizes,
  rewrap,
  runStream,
} from './armor-helpers.js';
import type { ArmorVector } from './armor-helpers.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const TYPES: readonly ArmorType[] = ['ENCRYPTED MESSAGE', 'SIGNED MESSAGE', 'DETACHED SIGNATURE'];
const MODE_NUMBERS = { encryption: 0, attached_signing: 1, detached_signing: 2, signcryption: 3 };

// Feeding a text one byte per chunk costs a stream round trip per byte, so it is limited to
// texts of at most 64 KiB to keep the suite fast; larger texts get random chunkings instead.
const BYTEWISE_LIMIT = 64 * 1024;

/**
 * Byte arrays with a length drawn uniformly from 0..max (fast-check's own length bias favours
 * short arrays, and the 200-word line break only shows above 2232 bytes).
 */
const bytesUpTo = (max: number) =>
  fc.integer({ min: 0, max }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));

const vectors = loadArmorVectors();
const positives = vectors.filter((v) => v.expected.ok);
const negatives = vectors.filter((v) => !v.expected.ok);
const byId = new Map(vectors.map((v) => [v.id, v]));

/**
 * Where each negative armor vector fails. After checking every one, all of armor.json's
 * negative vectors fail in the armor layer itself; none of them needs the binary decryptor
 * (binary-layer failures such as ErrBadTag live in negative.json). `armor-neg-wrong-frame-type`
 * is well-formed armor and only fails when the caller says which type it expects, as Go's
 * decryptor does, so it is run with `expectedType` (below) and also checked to dearmor without it.
 */
const ARMOR_LAYER_NEGATIVES: Record<string, { expectedType?: ArmorType }> = {
  'armor-neg-brand-mismatch': {},
  'armor-neg-wrong-frame-type': { expectedType: 'ENCRYPTED MESSAGE' },
  'armor-neg-footer-missing': {},
  'armor-neg-trailing-garbage': {},
  'armor-neg-footer-type-mismatch': {},
  'armor-neg-invalid-char': {},
  'armor-neg-bad-block-length': {},
};
/** Negative vectors that only the binary layer rejects (none in the public armor.json). */
const BINARY_LAYER_NEGATIVES: readonly string[] = [];

type Feed = 'oneshot' | 'random chunks' | 'bytewise';
function feeds(text: string): Feed[] {
  return enc.encode(text).length <= BYTEWISE_LIMIT
    ? ['oneshot', 'random chunks', 'bytewise']
    : ['oneshot', 'random chunks'];
}

async function dearmorWith(
  feed: Feed,
  text: string,
  options: { expectedType?: ArmorType } = {},
  seed = 1,
) {
  const bytes = enc.encode(text);
  switch (feed) {
    case 'oneshot':
      return dearmor(text, options);
    case 'random chunks':
      return dearmorChunks(chunkBySizes(bytes, randomSizes(seed, 64, 997)), options);
    case 'bytewise':
      return dearmorChunks(chunkBySizes(bytes, [1]), options);
  }
}

/** The binary messages start with a msgpack bin holding the header array (§2). */
function headerOf(data: Uint8Array): unknown[] {
  const outer = decodeMsgpackAt(data, 0).value;
  expect(outer).toBeInstanceOf(Uint8Array);
  const inner = decodeMsgpack(outer as Uint8Array);
  expect(Array.isArray(inner)).toBe(true);
  return inner as unknown[];
}

describe('armor.json vectors', () => {
  it('has the expected shape (20 vectors, every negative classified)', () => {
    expect(vectors.length).toBe(20);
    for (const v of negatives) {
      expect(v.id in ARMOR_LAYER_NEGATIVES || BINARY_LAYER_NEGATIVES.includes(v.id)).toBe(true);
    }
  });

  describe.each(positives.map((v) => [v.id, v] as const))('%s', (_id, v: ArmorVector) => {
    const type = armorTypeForMode(v.mode);

    it.each(feeds(v.message_armored))(
      'dearmors (%s) to the framed binary message',
      async (feed) => {
        const { data, frame } = await dearmorWith(feed, v.message_armored, { expectedType: type });
        expect(frame).toEqual({ type, brand: v.expected.brand });
        // The decoded bytes are the Saltpack binary message of the vector's mode and version.
        const header = headerOf(data);
        expect(header[0]).toBe('saltpack');
        expect(header[1]).toEqual(v.version);
        expect(header[2]).toBe(MODE_NUMBERS[v.mode]);
        // Every feed gives exactly the one-shot bytes.
        if (feed !== 'oneshot') {
          expect(toHex(data)).toBe(toHex((await dearmor(v.message_armored)).data));
        }
      },
    );

    if (v.derived_from === undefined) {
      it('re-armors byte-for-byte (Go layout, §8.2)', async () => {
        const { data } = await dearmor(v.message_armored);
        expect(await armor(data, { type, brand: v.brand })).toBe(v.message_armored);
      });
    } else {
      it('dearmors to the same bytes as the message it re-wraps', async () => {
        const original = byId.get(v.derived_from!)!;
        const a = await dearmor(v.message_armored);
        const b = await dearmor(original.message_armored);
        expect(toHex(a.data)).toBe(toHex(b.data));
      });
    }
  });

  describe.each(negatives.map((v) => [v.id, v] as const))('%s', (id, v: ArmorVector) => {
    const layer = ARMOR_LAYER_NEGATIVES[id];
    if (layer === undefined) return;
    const reason = GO_ERROR_REASONS[v.expected.error as keyof typeof GO_ERROR_REASONS];
    const code = ERROR_CLASS_CODES[v.expected.error_class as keyof typeof ERROR_CLASS_CODES];

    it.each(feeds(v.message_armored))(`fails (%s) with ${reason}`, async (feed) => {
      expect(reason).toBeDefined();
      const e = await caught(() => dearmorWith(feed, v.message_armored, layer));
      expect(e).toBeInstanceOf(SaltpackError);
      const err = e as SaltpackError;
      expect(err.reason).toBe(reason);
      expect(err.code).toBe(code);
      // Go reports the offending body offset for illegal characters; so do we.
      const offset = /illegal data at input byte (\d+)/.exec(v.expected.go_error ?? '');
      if (offset) expect(err.details.offset).toBe(Number(offset[1]));
    });
  });

  it('armor-neg-wrong-frame-type is valid armor of type SIGNED MESSAGE when no type is expected', async () => {
    const v = byId.get('armor-neg-wrong-frame-type')!;
    const { frame } = await dearmor(v.message_armored);
    expect(frame).toEqual({ type: 'SIGNED MESSAGE', brand: 'KEYBASE' });
  });

  it('rejects a vector framed for another type when that type is not expected', async () => {
    const v = byId.get('armor-sign-detached-v2-s1000')!;
    const e = await caught(() => dearmor(v.message_armored, { expectedType: 'SIGNED MESSAGE' }));
    expect((e as SaltpackError).reason).toBe('bad_frame');
  });
});

describe('armor layout (§8.2)', () => {
  const frameText = (type: string, brand: string) =>
    brand === '' ? `SALTPACK ${type}` : `${brand} SALTPACK ${type}`;

  /** The layout restated from §8.2 over a whole Base62 string. */
  function expectedLayout(data: Uint8Array, type: ArmorType, brand: string): string {
    const body = encodeBase62(data);
    let out = `BEGIN ${frameText(type, brand)}. `;
    const words = body.match(/.{1,15}/g) ?? [];
    words.forEach((w, i) => {
      out += w;
      if (i < words.length - 1 || w.length === 15) out += (i + 1) % 200 === 0 ? '\n' : ' ';
    });
    return `${out}. END ${frameText(type, brand)}.\n`;
  }

  it('writes an empty body as header, ". ", footer', async () => {
    expect(await armor(new Uint8Array(0), { type: 'ENCRYPTED MESSAGE' })).toBe(
      'BEGIN SALTPACK ENCRYPTED MESSAGE. . END SALTPACK ENCRYPTED MESSAGE.\n',
    );
    const { data, frame } = await dearmor(
      'BEGIN SALTPACK ENCRYPTED MESSAGE. . END SALTPACK ENCRYPTED MESSAGE.\n',
    );
    expect(data.length).toBe(0);
    expect(frame).toEqual({ type: 'ENCRYPTED MESSAGE', brand: '' });
  });

  it('writes a space after a last word of exactly 15 characters', async () => {
    // 100 bytes → 3·43 + 6 = 135 characters = 9 full words.
    const text = await armor(new Uint8Array(100).fill(7), { type: 'SIGNED MESSAGE' });
    expect(text).toMatch(/ [0-9A-Za-z]{15} \. END SALTPACK SIGNED MESSAGE\.\n$/);
  });

  it('writes LF after every 200th word, also when the 200th word is the last', async () => {
    // 2232 bytes → 69·43 + 33 = 3000 characters = exactly 200 words.
    const exact = await armor(new Uint8Array(2232).fill(1), { type: 'SIGNED MESSAGE' });
    expect(exact).toMatch(/ [0-9A-Za-z]{15}\n\. END SALTPACK SIGNED MESSAGE\.\n$/);
    expect(exact.split('\n').length).toBe(3);
    // 4500 bytes → 140·43 + 27 = 6047 characters = 403 full words + 2 characters.
    const longer = await armor(new Uint8Array(4500).fill(200), { type: 'SIGNED MESSAGE' });
    const lines = longer.split('\n');
    expect(lines.length).toBe(4);
    expect(lines[0]!.split(' ').length).toBe(4 + 200); // 4 header words, then 200 words
    expect(lines[1]!.split(' ').length).toBe(200);
    expect(lines[2]).toMatch(
      /^([0-9A-Za-z]{15} ){3}[0-9A-Za-z]{2}\. END SALTPACK SIGNED MESSAGE\.$/,
    );
  });

  it('matches the §8.2 layout for random sizes, brands and types', async () => {
    await fc.assert(
      fc.asyncProperty(
        bytesUpTo(5000),
        fc.constantFrom(...TYPES),
        fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Za-z0-9]{1,20}$/)),
        async (data, type, brand) => {
          expect(await armor(data, { type, brand })).toBe(expectedLayout(data, type, brand));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('gives the same text for any input chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 10 }),
        async (data, sizes) => {
          const stream = createArmorStream({ type: 'DETACHED SIGNATURE', brand: 'KEYBASE' });
          const text = dec.decode(concat(await runStream(stream, chunkBySizes(data, sizes))));
          expect(text).toBe(await armor(data, { type: 'DETACHED SIGNATURE', brand: 'KEYBASE' }));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects invalid brands and types before writing anything', async () => {
    for (const brand of ['KEY BASE', 'x'.repeat(129), 'brand!', 'ü']) {
      expect(() => createArmorStream({ type: 'ENCRYPTED MESSAGE', brand })).toThrow(SaltpackError);
      const e = await caught(() => armor(new Uint8Array(1), { type: 'ENCRYPTED MESSAGE', brand }));
      expect((e as SaltpackError).reason).toBe('invalid_parameter');
    }
    const e = await caught(() => armor(new Uint8Array(1), { type: 'SECRET' as ArmorType }));
    expect((e as SaltpackError).reason).toBe('invalid_parameter');
  });

  it('rejects chunks that are not Uint8Array', async () => {
    const e = await caught(() =>
      runStream(createArmorStream({ type: 'SIGNED MESSAGE' }), ['abc' as unknown as Uint8Array]),
    );
    expect((e as SaltpackError).reason).toBe('invalid_parameter');
  });
});

describe('dearmor stream', () => {
  const HEADER = 'BEGIN SALTPACK ENCRYPTED MESSAGE.';
  const FOOTER = '. END SALTPACK ENCRYPTED MESSAGE.\n';
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 29 + 3) & 0xff);
  const body = encodeBase62(bytes); // 3·43 + 6 characters

  async function failure(text: string | Uint8Array, options = {}): Promise<SaltpackError> {
    const e = await caught(() => dearmor(text, options));
    expect(e).toBeInstanceOf(SaltpackError);
    return e as SaltpackError;
  }

  it('resolves frame as soon as the header is read, before any body arrives', async () => {
    const stream = createDearmorStream();
    const writer = stream.writable.getWriter();
    void writer.write(enc.encode(' > BEGIN MYAPP SALTPACK\r\n> SIGNED MESSAGE.'));
    expect(await stream.frame).toEqual({ type: 'SIGNED MESSAGE', brand: 'MYAPP' });
    void writer.abort();
  });

  it('emits each group as it completes and holds back only the partial last group', async () => {
    const stream = createDearmorStream({ expectedType: 'ENCRYPTED MESSAGE' });
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    void writer.write(enc.encode(`${HEADER} ${body.slice(0, 43)}`));
    const first = await reader.read();
    expect(toHex(first.value!)).toBe(toHex(bytes.subarray(0, 32)));
    // Two more full groups and the 6-character tail: the tail is held until the period.
    void writer.write(enc.encode(body.slice(43)));
    const second = await reader.read();
    expect(toHex(second.value!)).toBe(toHex(bytes.subarray(32, 96)));
    void writer.write(enc.encode(FOOTER));
    const third = await reader.read();
    expect(toHex(third.value!)).toBe(toHex(bytes.subarray(96)));
    void writer.close();
    expect((await reader.read()).done).toBe(true);
  });

  it('accepts a list of expected types', async () => {
    const text = await armor(bytes, { type: 'DETACHED SIGNATURE' });
    const ok = await dearmor(text, { expectedType: ['SIGNED MESSAGE', 'DETACHED SIGNATURE'] });
    expect(toHex(ok.data)).toBe(toHex(bytes));
    const e = await failure(text, { expectedType: ['SIGNED MESSAGE', 'ENCRYPTED MESSAGE'] });
    expect(e.reason).toBe('bad_frame');
  });

  it('rejects unknown expected types synchronously', () => {
    for (const expectedType of ['SECRET', [], ['SIGNED MESSAGE', 'nope']]) {
      expect(() => createDearmorStream({ expectedType } as never)).toThrow(SaltpackError);
    }
  });

  it('rejects frame with the same error that fails the stream', async () => {
    const stream = createDearmorStream({ expectedType: 'SIGNED MESSAGE' });
    const run = caught(() => runStream(stream, [enc.encode(`${HEADER} ${body}${FOOTER}`)]));
    const frameError = await caught(() => stream.frame);
    expect(await run).toBe(frameError);
    expect((frameError as SaltpackError).reason).toBe('bad_frame');
  });

  it('reports bad_frame when no period arrives within 8192 header bytes', async () => {
    const e = await failure(`BEGIN SALTPACK ENCRYPTED MESSAGE${' '.repeat(8192)}.`);
    expect(e.reason).toBe('bad_frame');
    // A long but terminated header is read, then rejected by the 512-character frame limit.
    const f = await failure(`BEGIN${' '.repeat(600)}SALTPACK ENCRYPTED MESSAGE. ${body}${FOOTER}`);
    expect(f.reason).toBe('bad_frame');
    // …while whitespace around a short frame does not count toward it.
    const ok = await dearmor(`${'\n'.repeat(4000)}${HEADER} ${body}${FOOTER}`);
    expect(toHex(ok.data)).toBe(toHex(bytes));
  });

  it('reports bad_frame for a header byte outside the alphabet and skip set, at once', async () => {
    const stream = createDearmorStream();
    const run = caught(() => runStream(stream, [enc.encode('\u0000\u0001binary')]));
    expect(((await run) as SaltpackError).reason).toBe('bad_frame');
    expect((await failure('BEGIN SALTPACK-ENCRYPTED MESSAGE.')).reason).toBe('bad_frame');
  });

  it('reports unexpected_eof when the input ends before the footer period', async () => {
    for (const text of [
      '',
      'BEGIN SALTPACK ENC',
      `${HEADER} ${body}`,
      `${HEADER} ${body}. END SALTPACK ENCRYPTED MESSAGE`,
    ]) {
      const e = await failure(text);
      expect(e.reason).toBe('unexpected_eof');
      expect(e.code).toBe('SALTPACK_TRUNCATED');
    }
  });

  it('accepts Base62 words and skip characters after the footer, nothing else', async () => {
    const ok = await dearmor(`${HEADER} ${body}${FOOTER}\n> trailing words 123\r\n`);
    expect(toHex(ok.data)).toBe(toHex(bytes));
    for (const tail of ['.', '\n-- \n', '\u0000', 'é']) {
      const e = await failure(`${HEADER} ${body}${FOOTER}${tail}`);
      expect(e.reason).toBe('trailing_garbage');
    }
  });

  it('reports a corrupt body character with its offset after the header period', async () => {
    const e = await failure(`${HEADER} ${body.slice(0, 50)}_${body.slice(50)}${FOOTER}`);
    expect(e.reason).toBe('corrupt_input');
    expect(e.details.offset).toBe(51);
  });

  it('rejects an overflowing final group with corrupt_input', async () => {
    const e = await failure(`${HEADER} ${body.slice(0, 43)} zz${FOOTER}`);
    expect(e.reason).toBe('corrupt_input');
    expect(e.details.offset).toBe(45);
  });

  it('rejects an impossible final group length with invalid_encoding_length', async () => {
    const e = await failure(`${HEADER} ${body.slice(0, 43)} 0${FOOTER}`);
    expect(e.reason).toBe('invalid_encoding_length');
  });

  it('rejects chunks that are not Uint8Array', async () => {
    const stream = createDearmorStream();
    const e = await caught(() => runStream(stream, [HEADER as unknown as Uint8Array]));
    expect((e as SaltpackError).reason).toBe('invalid_parameter');
    expect(await caught(() => stream.frame)).toBe(e);
  });

  it('rejects frame when the stream is abandoned before the header', async () => {
    const stream = createDearmorStream();
    const writer = stream.writable.getWriter();
    await writer.write(enc.encode('BEGIN SALT'));
    await writer.abort(new Error('gone'));
    expect(await caught(() => stream.frame)).toBeInstanceOf(SaltpackError);
  });
});

describe('armor properties', () => {
  const brandArb = fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Za-z0-9]{1,128}$/));

  it('round-trips random bytes through armor, re-wrapping and dearmor', async () => {
    await fc.assert(
      fc.asyncProperty(
        bytesUpTo(5000),
        fc.constantFrom(...TYPES),
        brandArb,
        fc.integer(),
        async (data, type, brand, seed) => {
          const text = await armor(data, { type, brand });
          const wrapped = rewrap(text, prng(seed));
          const direct = await dearmor(text, { expectedType: type });
          expect(toHex(direct.data)).toBe(toHex(data));
          expect(direct.frame).toEqual({ type, brand });
          const re = await dearmorWith('random chunks', wrapped, { expectedType: type }, seed);
          expect(toHex(re.data)).toBe(toHex(data));
          expect(re.frame).toEqual({ type, brand });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never throws anything but SaltpackError on mutated armor', async () => {
    const samples = await Promise.all(
      [0, 1, 31, 32, 33, 100, 700].map((n) =>
        armor(
          Uint8Array.from({ length: n }, (_, i) => (i * 73) & 0xff),
          { type: TYPES[n % 3]!, brand: n % 2 ? 'KEYBASE' : '' },
        ),
      ),
    );
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('replace', 'insert', 'delete', 'truncate'),
      byte: fc.oneof(
        fc.constantFrom(...enc.encode('.> \t\r\nzZ0_-é')),
        fc.integer({ min: 0, max: 255 }),
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...samples),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        async (text, mutations) => {
          let b = Array.from(enc.encode(text));
          for (const m of mutations) {
            const at = m.at % (b.length + 1);
            if (m.kind === 'replace' && at < b.length) b[at] = m.byte;
            else if (m.kind === 'insert') b.splice(at, 0, m.byte);
            else if (m.kind === 'delete') b.splice(at, 1);
            else if (m.kind === 'truncate') b = b.slice(0, at);
          }
          try {
            await dearmor(Uint8Array.from(b));
          } catch (e) {
            expect(e).toBeInstanceOf(SaltpackError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
