/**
 * The password generator: unbiased selection (rejection of the top of the 32-bit range, shown
 * with a scripted random source), each chosen set present, and the platform CSPRNG's output
 * spread evenly over the alphabet.
 */
import { describe, expect, it } from 'vitest';
import { CHARACTER_SETS, generatePassword, uniformIndex } from '../src/password.js';
import type { RandomWords } from '../src/password.js';

/** A random source that yields the given words in order. */
function scripted(words: number[]): RandomWords & { used: number } {
  const fn = ((out: Uint32Array<ArrayBuffer>) => {
    for (let i = 0; i < out.length; i++) {
      const w = words.shift();
      if (w === undefined) throw new Error('script ran out');
      out[i] = w;
      fn.used++;
    }
  }) as RandomWords & { used: number };
  fn.used = 0;
  return fn;
}

describe('uniformIndex', () => {
  it('rejects words at or above the largest multiple of n (modulo would favour small indexes)', () => {
    // n = 10: 2^32 = 4294967296, largest multiple 4294967290; 4294967290..95 are rejected.
    const r = scripted([4294967295, 4294967290, 4294967289]);
    expect(uniformIndex(10, r)).toBe(4294967289 % 10);
    expect(r.used).toBe(3);
    expect(uniformIndex(10, scripted([17]))).toBe(7);
  });

  it('refuses an empty alphabet', () => {
    expect(() => uniformIndex(0)).toThrow(expect.objectContaining({ code: 'WEB_INVALID_INPUT' }));
  });
});

describe('generatePassword', () => {
  it('draws from the chosen sets only, with each present, at the chosen length', () => {
    for (let i = 0; i < 200; i++) {
      const pw = generatePassword({ length: 12, sets: ['digits', 'upper'] });
      expect(pw).toMatch(/^[0-9A-Z]{12}$/);
      expect(pw).toMatch(/[0-9]/);
      expect(pw).toMatch(/[A-Z]/);
    }
    const all = generatePassword({ length: 128, sets: ['lower', 'upper', 'digits', 'symbols'] });
    expect(all).toHaveLength(128);
    expect(
      Array.from(all).every((c) => Object.values(CHARACTER_SETS).some((s) => s.includes(c))),
    ).toBe(true);
  });

  it('spreads characters evenly over the alphabet (chi-square, 10 digits)', () => {
    const counts = new Array<number>(10).fill(0);
    const n = 200;
    for (let i = 0; i < n; i++)
      for (const c of generatePassword({ length: 100, sets: ['digits'] })) counts[Number(c)]!++;
    const expected = (n * 100) / 10;
    const chi = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: 27.9 is the 0.999 quantile.
    expect(chi).toBeLessThan(27.9);
  });

  it('refuses no set, an unknown set and lengths out of range with WEB_INVALID_INPUT', () => {
    const code = expect.objectContaining({ code: 'WEB_INVALID_INPUT' });
    expect(() => generatePassword({ length: 20, sets: [] })).toThrow(code);
    expect(() => generatePassword({ length: 20, sets: ['emoji' as 'lower'] })).toThrow(code);
    expect(() => generatePassword({ length: 7, sets: ['lower'] })).toThrow(code);
    expect(() => generatePassword({ length: 129, sets: ['lower'] })).toThrow(code);
    expect(() => generatePassword({ length: Number.NaN, sets: ['lower'] })).toThrow(code);
  });
});
