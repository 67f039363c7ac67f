/**
 * Masking of secret values in a byte stream, for `saltbox run` (the child's standard output and
 * error). Every occurrence of a value is replaced by {@link CONCEALED}, also when it arrives
 * split across reads and when it spans lines.
 *
 * The stream stays a stream: a read is released at once except for its tail that could still
 * become a value — the longest suffix that is a proper prefix of some value, so never more than
 * the longest value's length − 1 bytes are held back. Matching is on bytes, not characters (a
 * read may end inside a UTF-8 sequence, and output need not be text at all).
 *
 * Overlapping values are masked leftmost-longest: where two values match at the same place the
 * longer one wins (a password inside a connection string: the whole string is concealed, not
 * the password alone with the rest of the string left readable).
 *
 * @packageDocumentation
 */

/** What a masked value is replaced with. */
export const CONCEALED = '<concealed by saltbox>';

/** One value to mask and its KMP failure table (for the held-back tail). */
interface Pattern {
  readonly bytes: Buffer;
  /** `fail[i]`: length of the longest proper prefix of `bytes[0..i]` that is also its suffix. */
  readonly fail: Int32Array;
}

function failureTable(p: Buffer): Int32Array {
  const fail = new Int32Array(p.length);
  let k = 0;
  for (let i = 1; i < p.length; i++) {
    while (k > 0 && p[i] !== p[k]) k = fail[k - 1]!;
    if (p[i] === p[k]) k++;
    fail[i] = k;
  }
  return fail;
}

/**
 * The length of the longest suffix of `data` that is a proper prefix of `p`: KMP over the last
 * `p.length − 1` bytes only (a longer suffix cannot be a proper prefix), so the cost is bounded
 * by the value's length, not the output's.
 */
function pendingPrefix(data: Buffer, p: Pattern): number {
  const { bytes, fail } = p;
  let k = 0;
  for (let i = Math.max(0, data.length - (bytes.length - 1)); i < data.length; i++) {
    const b = data[i];
    while (k > 0 && b !== bytes[k]) k = fail[k - 1]!;
    if (b === bytes[k]) k++;
    // The window is shorter than the value, so k never reaches bytes.length.
  }
  return k;
}

/**
 * Replaces every occurrence of the given values in a byte stream fed in pieces.
 *
 * ```ts
 * const m = new Masker([Buffer.from('hunter2')]);
 * out.write(m.push(chunk)); // as often as reads come
 * out.write(m.end());       // once, at the end of the stream
 * ```
 */
export class Masker {
  readonly #patterns: readonly Pattern[];
  readonly #replacement: Buffer;
  #held: Buffer = Buffer.alloc(0);
  #ended = false;

  /**
   * @param values - the secrets; empty ones are ignored (an empty string cannot be found),
   *   duplicates are matched once
   * @param replacement - what each occurrence becomes (default {@link CONCEALED})
   */
  constructor(values: Iterable<Uint8Array | string>, replacement: string = CONCEALED) {
    const unique = new Map<string, Buffer>();
    for (const v of values) {
      const bytes = Buffer.from(typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
      if (bytes.length > 0) unique.set(bytes.toString('hex'), bytes);
    }
    // Longest first, so the first value found at a position is the longest one there.
    this.#patterns = [...unique.values()]
      .sort((a, b) => b.length - a.length)
      .map((bytes) => ({ bytes, fail: failureTable(bytes) }));
    this.#replacement = Buffer.from(replacement, 'utf8');
  }

  /** How many bytes are held back right now (at most the longest value's length − 1). */
  get held(): number {
    return this.#held.length;
  }

  /**
   * Takes the next piece of the stream and returns what can be released now: everything up to
   * the tail that might still grow into a value.
   *
   * @throws Error after {@link end} (a programming error).
   */
  push(chunk: Uint8Array): Buffer {
    if (this.#ended) throw new Error('masker: push after end');
    if (this.#patterns.length === 0) return Buffer.from(chunk);
    const data = this.#held.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#held, chunk]);
    let pending = 0;
    for (const p of this.#patterns) pending = Math.max(pending, pendingPrefix(data, p));
    return this.#release(data, data.length - pending);
  }

  /** Ends the stream: returns the held-back tail, masked where it holds whole values. */
  end(): Buffer {
    if (this.#ended) return Buffer.alloc(0);
    this.#ended = true;
    const data = this.#held;
    this.#held = Buffer.alloc(0);
    return this.#release(data, data.length);
  }

  /**
   * Masks `data` left to right for every match that starts before `safe` and keeps the rest.
   * No match can start before `safe` and end after `data` (that would be a pending prefix
   * longer than `data.length − safe`), so every decision made here is final.
   */
  #release(data: Buffer, safe: number): Buffer {
    const out: Buffer[] = [];
    // Next occurrence of each pattern at or after the cursor (-1: none in `data`).
    const next = this.#patterns.map(() => -2);
    let i = 0;
    while (i < safe) {
      let start = -1;
      let length = 0;
      for (let j = 0; j < this.#patterns.length; j++) {
        if (next[j] !== -1 && next[j]! < i) next[j] = data.indexOf(this.#patterns[j]!.bytes, i);
        const at = next[j]!;
        // Strictly earlier only: on a tie the longer pattern, met first, is kept.
        if (at !== -1 && at < safe && (start === -1 || at < start)) {
          start = at;
          length = this.#patterns[j]!.bytes.length;
        }
      }
      if (start === -1) {
        out.push(data.subarray(i, safe));
        i = safe;
        break;
      }
      if (start > i) out.push(data.subarray(i, start));
      out.push(this.#replacement);
      i = start + length;
    }
    // Copied: `data` may be the caller's chunk, which they are free to reuse.
    this.#held = Buffer.from(data.subarray(i));
    return out.length === 1 ? Buffer.from(out[0]!) : Buffer.concat(out);
  }
}
