/** The Base62 block codec under the armor (spec §8.1). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BASE62_ALPHABET,
  Base62Decoder,
  decodeBase62,
  decodedLength,
  encodeBase62,
  encodedLength,
} from '../src/armor/basex.js';
import { SaltpackError } from '../src/errors.js';
import { fromHex, toHex } from '../src/internal/bytes.js';
import { caught, concat } from './armor-helpers.js';

/** §8.1's table: characters for a final block of k = 1..32 bytes. */
const SPEC_TABLE = [
  2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19, 21, 22, 23, 25, 26, 27, 29, 30, 31, 33, 34, 35,
  37, 38, 39, 41, 42, 43,
];
const ILLEGAL_LENGTHS = [1, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40];

// An independent reference in BigInt, written straight from the §8.1 definition.
function bigOf(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}
function refDigits(value: bigint, chars: number): string {
  let s = '';
  for (let i = 0; i < chars; i++) {
    s = BASE62_ALPHABET[Number(value % 62n)]! + s;
    value /= 62n;
  }
  expect(value).toBe(0n);
  return s;
}
function refEncode(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 32) {
    const block = bytes.subarray(i, i + 32);
    s += refDigits(bigOf(block), SPEC_TABLE[block.length - 1]!);
  }
  return s;
}

function syncError(f: () => unknown): SaltpackError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SaltpackError);
    return e as SaltpackError;
  }
  throw new Error('expected an error, got none');
}

describe('Base62 codec: Go examples (§8.1)', () => {
  it('encodes 00 as "00" and ff as "47"', () => {
    expect(encodeBase62(fromHex('00'))).toBe('00');
    expect(encodeBase62(fromHex('ff'))).toBe('47');
  });

  it('encodes 32 zero bytes as 43 zeros and 32 ff bytes as the Go string', () => {
    expect(encodeBase62(new Uint8Array(32))).toBe('0'.repeat(43));
    expect(encodeBase62(new Uint8Array(32).fill(0xff))).toBe(
      'yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1',
    );
  });

  it('decodes the same examples back', () => {
    expect(toHex(decodeBase62('00'))).toBe('00');
    expect(toHex(decodeBase62('47'))).toBe('ff');
    expect(toHex(decodeBase62('0'.repeat(43)))).toBe('00'.repeat(32));
    expect(toHex(decodeBase62('yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1'))).toBe(
      'ff'.repeat(32),
    );
  });

  it('rejects "zz" (3843 > 255), which Go silently decodes to 0f', () => {
    const e = syncError(() => decodeBase62('zz'));
    expect(e.reason).toBe('corrupt_input');
    expect(e.code).toBe('SALTPACK_BAD_ARMOR');
    expect(e.details.offset).toBe(0);
  });

  it('encodes the empty input as the empty string and back', () => {
    expect(encodeBase62(new Uint8Array(0))).toBe('');
    expect(decodeBase62('').length).toBe(0);
  });
});

describe('Base62 codec: lengths', () => {
  it('uses the smallest C with 256^k ≤ 62^C for every k (the §8.1 table)', () => {
    for (let k = 1; k <= 32; k++) {
      let c = 0;
      while (62n ** BigInt(c) < 256n ** BigInt(k)) c++;
      expect(SPEC_TABLE[k - 1]).toBe(c);
      expect(encodedLength(k)).toBe(c);
      expect(encodedLength(32 * 3 + k)).toBe(43 * 3 + c);
    }
    expect(encodedLength(0)).toBe(0);
  });

  it('decodes a group of C characters to ⌊C·log2(62)/8⌋ bytes (largest B with 256^B ≤ 62^C)', () => {
    for (const c of SPEC_TABLE) {
      let b = 0;
      while (256n ** BigInt(b + 1) <= 62n ** BigInt(c)) b++;
      expect(decodedLength(c)).toBe(b);
      expect(decodedLength(43 * 2 + c)).toBe(64 + b);
      expect(decodeBase62('0'.repeat(c)).length).toBe(b);
    }
  });

  it('rejects every group length no encoder produces with invalid_encoding_length', () => {
    for (const c of ILLEGAL_LENGTHS) {
      expect(decodedLength(c)).toBe(-1);
      const e = syncError(() => decodeBase62('1'.repeat(43 + c)));
      expect(e.reason).toBe('invalid_encoding_length');
      expect(e.code).toBe('SALTPACK_BAD_ARMOR');
    }
  });
});

describe('Base62 codec: overflow (stricter than Go)', () => {
  it('accepts the largest value of every group length and rejects the next one', () => {
    for (let k = 1; k <= 32; k++) {
      const c = SPEC_TABLE[k - 1]!;
      const max = 256n ** BigInt(k) - 1n;
      expect(toHex(decodeBase62(refDigits(max, c)))).toBe('ff'.repeat(k));
      if (max + 1n < 62n ** BigInt(c)) {
        const e = syncError(() => decodeBase62('0'.repeat(43) + refDigits(max + 1n, c)));
        expect(e.reason).toBe('corrupt_input');
        expect(e.details.offset).toBe(43);
      }
    }
  });

  it('rejects a full 43-character group above 2^256 - 1', () => {
    const e = syncError(() => decodeBase62('z'.repeat(43)));
    expect(e.reason).toBe('corrupt_input');
    expect(e.details.offset).toBe(0);
  });
});

describe('Base62 codec: skip and illegal characters', () => {
  it('skips TAB, LF, CR, space and ">" anywhere, including inside a group', () => {
    const bytes = Uint8Array.from({ length: 70 }, (_, i) => (i * 37 + 11) & 0xff);
    const text = encodeBase62(bytes);
    const skips = ['', ' ', '\t', '\n', '\r', '>', ' >> '] as const;
    let spaced = '';
    for (let i = 0; i < text.length; i++) spaced += text.charAt(i) + skips[i % skips.length]!;
    expect(toHex(decodeBase62(spaced))).toBe(toHex(bytes));
  });

  it('reports an illegal character with its string offset', () => {
    for (const bad of ['.', '_', '+', '/', '=', '-', '\0', '\x7f', 'é', 'Ā', '😀']) {
      const text = `00 ${bad}00`;
      const e = syncError(() => decodeBase62(text));
      expect(e.reason).toBe('corrupt_input');
      expect(e.details.offset).toBe(3);
      expect(e.message).toBe('illegal data at input byte 3');
    }
  });
});

describe('Base62 codec: properties', () => {
  it('matches the BigInt reference encoder and round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => {
        const text = encodeBase62(bytes);
        expect(text).toBe(refEncode(bytes));
        expect(toHex(decodeBase62(text))).toBe(toHex(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('is canonical: any accepted text re-encodes to its own significant characters', () => {
    const alphabet = Array.from({ length: 62 }, (_, i) => BASE62_ALPHABET.charAt(i)).concat([
      ' ',
      '\n',
      '>',
      '.',
      '_',
    ]);
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...alphabet), { maxLength: 120 }).map((a) => a.join('')),
        (text) => {
          let decoded: Uint8Array;
          try {
            decoded = decodeBase62(text);
          } catch (e) {
            expect(e).toBeInstanceOf(SaltpackError);
            return;
          }
          expect(encodeBase62(decoded)).toBe(text.replace(/[\t\n\r >]/g, ''));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('decodes the same through the incremental decoder under any slicing', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 400 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (bytes, sizes) => {
          const text = new TextEncoder().encode(encodeBase62(bytes).replace(/(.{7})/g, '$1 '));
          const decoder = new Base62Decoder();
          const parts: Uint8Array[] = [];
          let i = 0;
          for (let s = 0; i < text.length; s++) {
            const end = Math.min(text.length, i + sizes[s % sizes.length]!);
            parts.push(decoder.update(text, i, end));
            i = end;
          }
          parts.push(decoder.final());
          expect(toHex(concat(parts))).toBe(toHex(bytes));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Base62Decoder', () => {
  it('emits a full group as soon as its 43rd character arrives and holds back a partial one', () => {
    const bytes = Uint8Array.from({ length: 40 }, (_, i) => i + 1);
    const text = new TextEncoder().encode(encodeBase62(bytes));
    expect(text.length).toBe(43 + 11);
    const decoder = new Base62Decoder();
    expect(decoder.update(text, 0, 42).length).toBe(0);
    expect(toHex(decoder.update(text, 42, 43))).toBe(toHex(bytes.subarray(0, 32)));
    expect(decoder.update(text, 43, text.length).length).toBe(0);
    expect(toHex(decoder.final())).toBe(toHex(bytes.subarray(32)));
  });

  it('counts offsets across updates, skip characters included', async () => {
    const decoder = new Base62Decoder();
    const enc = new TextEncoder();
    decoder.update(enc.encode('00 00\n'));
    const e = await caught(() => decoder.update(enc.encode('> 0#')));
    expect(e).toBeInstanceOf(SaltpackError);
    expect((e as SaltpackError).details.offset).toBe(9);
  });
});
