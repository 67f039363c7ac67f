/**
 * The masker of `saltbox run` (src/masking.ts), in process: whole values, values split across
 * reads at every position and one byte at a time, multi-line and unicode values, overlapping
 * values (leftmost-longest), the held-back tail bounded by the longest value − 1 and released
 * at once when nothing can still match, a 1 MiB value, and a property test against a
 * one-shot reference.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONCEALED, Masker } from '../src/masking.js';

/** Feeds `input` in the given pieces and returns everything released. */
function feed(values: (string | Uint8Array)[], pieces: Uint8Array[]): Buffer {
  const m = new Masker(values);
  const out: Buffer[] = [];
  for (const p of pieces) out.push(m.push(p));
  out.push(m.end());
  return Buffer.concat(out);
}

/** Splits `b` at the given offsets. */
function split(b: Buffer, at: number[]): Buffer[] {
  const cuts = [...new Set(at.map((n) => Math.min(b.length, n)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, b.length]) {
    out.push(b.subarray(prev, c));
    prev = c;
  }
  return out;
}

/** The specification, on a whole buffer: leftmost, then longest, non-overlapping. */
function reference(values: string[], input: Buffer): Buffer {
  const pats = [...new Set(values)].filter((v) => v.length > 0).map((v) => Buffer.from(v));
  const out: Buffer[] = [];
  let i = 0;
  let plainFrom = 0;
  while (i < input.length) {
    let best: Buffer | undefined;
    for (const p of pats) {
      if (input.subarray(i, i + p.length).equals(p) && (!best || p.length > best.length)) best = p;
    }
    if (best) {
      out.push(input.subarray(plainFrom, i), Buffer.from(CONCEALED));
      i += best.length;
      plainFrom = i;
    } else i++;
  }
  out.push(input.subarray(plainFrom));
  return Buffer.concat(out);
}

describe('Masker', () => {
  it('conceals every occurrence of every value', () => {
    const out = feed(['hunter2', 's3cr3t'], [Buffer.from('pw=hunter2 key=s3cr3t again hunter2')]);
    expect(out.toString()).toBe(`pw=${CONCEALED} key=${CONCEALED} again ${CONCEALED}`);
  });

  it('conceals a value split across reads, at every split point and one byte at a time', () => {
    const value = 'line one ✓\nline two — ünïcödé 🔑\n';
    const input = Buffer.from(`before ${value} between ${value}after`);
    const expected = `before ${CONCEALED} between ${CONCEALED}after`;
    for (let cut = 0; cut <= input.length; cut++) {
      expect(feed([value], split(input, [cut])).toString()).toBe(expected);
    }
    const bytewise = [...input].map((b) => Buffer.from([b]));
    expect(feed([value], bytewise).toString()).toBe(expected);
  });

  it('holds back only a tail that can still become a value, at most its length − 1', () => {
    const m = new Masker(['abcdef']);
    expect(m.push(Buffer.from('xyz')).toString()).toBe('xyz');
    expect(m.held).toBe(0);
    expect(m.push(Buffer.from('12abc')).toString()).toBe('12');
    expect(m.held).toBe(3);
    expect(m.push(Buffer.from('de')).toString()).toBe('');
    expect(m.held).toBe(5);
    // Not the value after all: everything that cannot start it any more is released.
    expect(m.push(Buffer.from('X')).toString()).toBe('abcdeX');
    expect(m.held).toBe(0);
    expect(m.push(Buffer.from('ab')).toString()).toBe('');
    expect(m.end().toString()).toBe('ab');
  });

  it('prefers the longer of two values matching at one place (leftmost-longest)', () => {
    const url = 'postgres://app:hunter2@db';
    const out = feed(['hunter2', url], [Buffer.from(`url=${url} pw=hunter2`)]);
    expect(out.toString()).toBe(`url=${CONCEALED} pw=${CONCEALED}`);
    // Split right after the shorter value completes: still one mask for the whole URL.
    const input = Buffer.from(`url=${url}`);
    const cut = input.indexOf('hunter2') + 'hunter2'.length;
    expect(feed(['hunter2', url], split(input, [cut])).toString()).toBe(`url=${CONCEALED}`);
    // Both start at the same byte: the longer one, not the shorter and a readable rest.
    expect(feed(['token', 'token-suffix'], [Buffer.from('token-suffix')]).toString()).toBe(
      CONCEALED,
    );
  });

  it('ignores empty values and passes everything through without values', () => {
    expect(feed([''], [Buffer.from('abc')]).toString()).toBe('abc');
    expect(feed([], [Buffer.from('abc'), Buffer.from('')]).toString()).toBe('abc');
  });

  it('masks a 1 MiB value delivered in 64 KiB reads and in odd-sized reads', () => {
    const value = Buffer.alloc(1 << 20);
    for (let i = 0; i < value.length; i++) value[i] = 97 + ((i * 7919) % 26);
    const input = Buffer.concat([Buffer.from('head '), value, Buffer.from(' mid '), value]);
    const expected = `head ${CONCEALED} mid ${CONCEALED}`;
    const even = split(
      input,
      Array.from({ length: Math.ceil(input.length / 65536) }, (_, k) => k * 65536),
    );
    const odd = split(
      input,
      Array.from({ length: Math.ceil(input.length / 9973) }, (_, k) => k * 9973),
    );
    const m = new Masker([value]);
    let maxHeld = 0;
    const out: Buffer[] = [];
    for (const p of odd) {
      out.push(m.push(p));
      maxHeld = Math.max(maxHeld, m.held);
    }
    out.push(m.end());
    expect(Buffer.concat(out).toString()).toBe(expected);
    expect(maxHeld).toBeLessThanOrEqual(value.length - 1);
    expect(feed([value], even).toString()).toBe(expected);
  }, 60_000);

  it('agrees with the one-shot specification for any values and any reads', () => {
    const alphabet = fc.constantFrom('a', 'b', 'c', '\n', 'é');
    const word = fc.array(alphabet, { minLength: 0, maxLength: 6 }).map((a) => a.join(''));
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 4 }),
        fc.array(alphabet, { maxLength: 60 }).map((a) => a.join('')),
        fc.array(fc.nat(80), { maxLength: 10 }),
        (values, text, cuts) => {
          const input = Buffer.from(text);
          const m = new Masker(values);
          const longest = Math.max(0, ...values.map((v) => Buffer.byteLength(v)));
          const out: Buffer[] = [];
          for (const p of split(input, cuts)) {
            out.push(m.push(p));
            expect(m.held).toBeLessThanOrEqual(Math.max(0, longest - 1));
          }
          out.push(m.end());
          expect(Buffer.concat(out).equals(reference(values, input))).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
