/** Armor frame lines: building (§8.2) and parsing (§8.3). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ARMOR_TYPES,
  assertValidBrand,
  buildFrame,
  checkFooter,
  checkFrameType,
  parseFrame,
} from '../src/armor/frame.js';
import type { ArmorType } from '../src/armor/frame.js';
import { SaltpackError } from '../src/errors.js';

function syncError(f: () => unknown): SaltpackError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SaltpackError);
    return e as SaltpackError;
  }
  throw new Error('expected an error, got none');
}

const badFrame = (f: () => unknown): void => {
  const e = syncError(f);
  expect(e.reason).toBe('bad_frame');
  expect(e.code).toBe('SALTPACK_BAD_ARMOR');
};

describe('buildFrame', () => {
  it('writes Go frames with and without a brand', () => {
    expect(buildFrame('BEGIN', 'ENCRYPTED MESSAGE', 'KEYBASE')).toBe(
      'BEGIN KEYBASE SALTPACK ENCRYPTED MESSAGE',
    );
    expect(buildFrame('END', 'SIGNED MESSAGE')).toBe('END SALTPACK SIGNED MESSAGE');
    expect(buildFrame('BEGIN', 'DETACHED SIGNATURE', '')).toBe('BEGIN SALTPACK DETACHED SIGNATURE');
  });

  it('accepts brands of 1 to 128 letters and digits', () => {
    for (const brand of ['A', 'KEYBASE', 'MyApp2', 'x'.repeat(128)]) {
      expect(() => {
        assertValidBrand(brand);
      }).not.toThrow();
    }
  });

  it('rejects other brands and unknown types with invalid_parameter', () => {
    for (const brand of ['x'.repeat(129), 'KEY BASE', 'käse', 'a.b', 'a-b', 'a>b', '\n']) {
      const e = syncError(() => buildFrame('BEGIN', 'ENCRYPTED MESSAGE', brand));
      expect(e.reason).toBe('invalid_parameter');
      expect(e.code).toBe('SALTPACK_INVALID_ARGUMENT');
    }
    const e = syncError(() => buildFrame('BEGIN', 'SECRET MESSAGE' as ArmorType));
    expect(e.reason).toBe('invalid_parameter');
  });
});

describe('parseFrame', () => {
  it('parses every type with and without a brand', () => {
    for (const type of ARMOR_TYPES) {
      expect(parseFrame(`BEGIN SALTPACK ${type}`, 'BEGIN')).toEqual({ type, brand: '' });
      expect(parseFrame(`END MYAPP SALTPACK ${type}`, 'END')).toEqual({ type, brand: 'MYAPP' });
    }
  });

  it('collapses runs of [>\\n\\r\\t ] and trims them at both ends', () => {
    expect(
      parseFrame('\r\n> BEGIN  KEYBASE\tSALTPACK \r\n>> ENCRYPTED\nMESSAGE \n', 'BEGIN'),
    ).toEqual({ type: 'ENCRYPTED MESSAGE', brand: 'KEYBASE' });
    expect(parseFrame('>>BEGIN>SALTPACK>SIGNED>MESSAGE>', 'BEGIN')).toEqual({
      type: 'SIGNED MESSAGE',
      brand: '',
    });
  });

  it('is case-sensitive', () => {
    badFrame(() => parseFrame('begin SALTPACK ENCRYPTED MESSAGE', 'BEGIN'));
    badFrame(() => parseFrame('BEGIN saltpack ENCRYPTED MESSAGE', 'BEGIN'));
    badFrame(() => parseFrame('BEGIN SALTPACK encrypted message', 'BEGIN'));
  });

  it('rejects the wrong marker, word count, format name or type', () => {
    badFrame(() => parseFrame('END SALTPACK ENCRYPTED MESSAGE', 'BEGIN'));
    badFrame(() => parseFrame('BEGIN SALTPACK ENCRYPTED MESSAGE', 'END'));
    badFrame(() => parseFrame('BEGIN SALTPACK MESSAGE', 'BEGIN'));
    badFrame(() => parseFrame('BEGIN A B SALTPACK ENCRYPTED MESSAGE', 'BEGIN'));
    badFrame(() => parseFrame('BEGIN KEYBASE SALTPAK ENCRYPTED MESSAGE', 'BEGIN'));
    badFrame(() => parseFrame('BEGIN SALTPACK ENCRYPTED SIGNATURE', 'BEGIN'));
    badFrame(() => parseFrame('', 'BEGIN'));
  });

  it('rejects characters outside the alphabet and skip set', () => {
    badFrame(() => parseFrame('BEGIN KEY-BASE SALTPACK ENCRYPTED MESSAGE', 'BEGIN'));
    badFrame(() => parseFrame('BEGIN KÄSE SALTPACK ENCRYPTED MESSAGE', 'BEGIN'));
    badFrame(() => parseFrame('BEGIN SALTPACK ENCRYPTED MESSAGE\0', 'BEGIN'));
  });

  it('accepts a brand of 128 characters and rejects 129', () => {
    const ok = parseFrame(`BEGIN ${'b'.repeat(128)} SALTPACK SIGNED MESSAGE`, 'BEGIN');
    expect(ok.brand).toBe('b'.repeat(128));
    badFrame(() => parseFrame(`BEGIN ${'b'.repeat(129)} SALTPACK SIGNED MESSAGE`, 'BEGIN'));
  });

  it('limits the trimmed frame to 512 characters', () => {
    // 'BEGIN SALTPACK SIGNED MESSAGE' is 29 characters; pad inner separators to exactly 512.
    const at512 = `BEGIN${' '.repeat(512 - 28)}SALTPACK SIGNED MESSAGE`;
    expect(at512.length).toBe(512);
    expect(parseFrame(`\n\n${at512}  \r\n`, 'BEGIN').type).toBe('SIGNED MESSAGE');
    badFrame(() => parseFrame(`BEGIN ${at512.slice(5)}`, 'BEGIN'));
  });

  it('parses back whatever buildFrame writes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ARMOR_TYPES),
        fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Za-z0-9]{1,128}$/)),
        fc.constantFrom('BEGIN' as const, 'END' as const),
        (type, brand, marker) => {
          expect(parseFrame(buildFrame(marker, type, brand), marker)).toEqual({ type, brand });
        },
      ),
    );
  });
});

describe('frame checks', () => {
  const header = { type: 'ENCRYPTED MESSAGE', brand: 'KEYBASE' } as const;

  it('checkFrameType accepts listed types and rejects others', () => {
    expect(() => {
      checkFrameType(header, ['ENCRYPTED MESSAGE']);
    }).not.toThrow();
    badFrame(() => {
      checkFrameType(header, ['SIGNED MESSAGE', 'DETACHED SIGNATURE']);
    });
  });

  it('checkFooter requires the same type and brand', () => {
    expect(() => {
      checkFooter(header, { ...header });
    }).not.toThrow();
    badFrame(() => {
      checkFooter(header, { type: 'SIGNED MESSAGE', brand: 'KEYBASE' });
    });
    badFrame(() => {
      checkFooter(header, { type: 'ENCRYPTED MESSAGE', brand: 'KEYBAES' });
    });
    // A missing footer brand against a branded header is a mismatch (§8.3), and vice versa.
    badFrame(() => {
      checkFooter(header, { type: 'ENCRYPTED MESSAGE', brand: '' });
    });
    badFrame(() => {
      checkFooter({ ...header, brand: '' }, header);
    });
  });
});
