/**
 * The internal byte helpers that the header code leans on for speed: table-driven hex in both
 * directions, and `bytesKey`, the Map/Set key for public keys (recipient de-duplication,
 * shared-key caches), which must tell every pair of distinct keys apart.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { bytesKey, fromHex, toHex } from '../src/internal/bytes.js';

it('hex round-trips every byte value, either case in', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const hex = toHex(all);
  expect(hex).toBe(Array.from(all, (b) => b.toString(16).padStart(2, '0')).join(''));
  expect(fromHex(hex)).toEqual(all);
  expect(fromHex(hex.toUpperCase())).toEqual(all);
  expect(fromHex('')).toEqual(new Uint8Array(0));
});

it('fromHex refuses odd lengths and non-hex characters', () => {
  for (const bad of ['0', 'abc', 'zz', '0g', 'g0', ' 0', '0\u0130', '\u0661\u0662', '+1'])
    expect(() => fromHex(bad)).toThrow(TypeError);
});

it('bytesKey is equal exactly when the bytes are', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
      const same = a.length === b.length && a.every((x, i) => x === b[i]);
      expect(bytesKey(a) === bytesKey(b)).toBe(same);
      expect(bytesKey(a).length).toBe(a.length);
    }),
  );
  expect(bytesKey(Uint8Array.of(0, 255))).not.toBe(bytesKey(Uint8Array.of(255, 0)));
});
