/**
 * The Base62 block codec under Saltpack's ASCII armor (spec §8.1).
 *
 * Input is cut into 32-byte blocks; each block, read as a big-endian unsigned integer, is
 * written in base 62 (most significant digit first) and left-padded with `0` to 43 characters.
 * A final short block of k bytes takes the fewest characters C with 256^k ≤ 62^C. Decoding
 * reverses this group by group: the significant characters are split into groups of 43, and the
 * last group may be shorter but only with one of the lengths an encoder can produce.
 *
 * The arithmetic avoids BigInt: a block is held as 24-bit limbs and converted through radix
 * 62^4 with exact integer-valued double arithmetic (every intermediate stays below 2^53), using
 * precomputed weight tables so that the multiply-adds are independent of each other. Byte and
 * character counts come from integer tables, never from floating-point logarithms.
 *
 * @packageDocumentation
 */
import { SaltpackError } from '../errors.js';

/** The Base62 alphabet: digits, upper case, lower case, in ASCII order (§8.1). */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Bytes in one full input block. */
export const BLOCK_BYTES = 32;
/** Characters in one full encoded group. */
export const BLOCK_CHARS = 43;

/**
 * Characters for a final block of k bytes, k = 0..32: the smallest C with 256^k ≤ 62^C, exactly
 * the table of §8.1 (the tests re-derive it with BigInt).
 */
const ENCODED_CHARS: readonly number[] = [
  0, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19, 21, 22, 23, 25, 26, 27, 29, 30, 31, 33, 34,
  35, 37, 38, 39, 41, 42, 43,
];

/**
 * Bytes for a group of C characters, C = 0..43, or -1 when no encoder produces that length
 * (1, 4, 8, …, 40). This is the inverse of {@link ENCODED_CHARS}, which equals
 * ⌊C·log2(62)/8⌋ for every legal C (§8.1), built without floats.
 */
const DECODED_BYTES: Int8Array = (() => {
  const t = new Int8Array(BLOCK_CHARS + 1).fill(-1);
  for (let k = 0; k <= BLOCK_BYTES; k++) t[ENCODED_CHARS[k]!] = k;
  return t;
})();

/** Character class table values other than a digit value 0..61. */
const SKIP = 64;
const INVALID = 255;

/**
 * Maps an input byte to its digit value (0..61), {@link SKIP} for TAB, LF, CR, space and `>`
 * (Go's `Base62StdEncoding` skip set, §8.1), or {@link INVALID}.
 */
const CHAR_CLASS: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(INVALID);
  for (let i = 0; i < BASE62_ALPHABET.length; i++) t[BASE62_ALPHABET.charCodeAt(i)] = i;
  for (const c of '\t\n\r >') t[c.charCodeAt(0)] = SKIP;
  return t;
})();

/** ASCII code of each digit, for writing encoded text straight into byte buffers. */
const DIGIT_CODES: Uint8Array = new Uint8Array(BASE62_ALPHABET.length).map((_, i) =>
  BASE62_ALPHABET.charCodeAt(i),
);

// The conversion works between radix R = 62^4 = 14776336 (< 2^24; four Base62 digits per
// R-digit) and 24-bit limbs (three bytes each). A 32-byte block is at most 11 of either: 11 limbs
// hold 264 bits and 11 R-digits 62^44 > 2^256, and any 43-digit group is below 62^43 < 2^257.
const R = 14776336;
const LIMB = 16777216; // 2^24
const N = 11;

/**
 * ENC_WEIGHTS[j·11 + i] is R-digit j (least significant first) of 2^(24·i): R-digit j of a
 * block is Σ limb_i · ENC_WEIGHTS[j·11 + i] plus the carry from digit j-1. Each product is below
 * 2^48 and eleven of them below 2^52, so every sum is exact in a double, and the products are
 * independent of each other (no chain of long divisions).
 */
const ENC_WEIGHTS = new Float64Array(N * N);
/** DEC_WEIGHTS[j·11 + k] is 24-bit limb j (least significant first) of R^k. */
const DEC_WEIGHTS = new Float64Array(N * N);
/** ENC_FIRST[j]: the first i whose weight for R-digit j is non-zero (smaller ones are zero). */
const ENC_FIRST = new Uint8Array(N);
/** DEC_FIRST[j]: the first k whose weight for limb j is non-zero. */
const DEC_FIRST = new Uint8Array(N);

// Column j of the table holds the successive powers of `from` written in radix `to`. Built by
// repeated exact multiplication (digit · factor + carry < 2^49): no BigInt, no rounding.
function buildWeights(weights: Float64Array, first: Uint8Array, from: number, to: number): void {
  const value = new Float64Array(N);
  value[0] = 1;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) weights[j * N + i] = value[j]!;
    let carry = 0;
    for (let j = 0; j < N; j++) {
      const t = value[j]! * from + carry;
      carry = Math.floor(t / to);
      value[j] = t - carry * to;
    }
  }
  for (let j = 0; j < N; j++) {
    let i = 0;
    while (i < N && weights[j * N + i] === 0) i++;
    first[j] = i;
  }
}
buildWeights(ENC_WEIGHTS, ENC_FIRST, LIMB, R);
buildWeights(DEC_WEIGHTS, DEC_FIRST, R, LIMB);

/** 256^n for n = 0..2: the bound on a partially used top limb. */
const TOP_LIMIT = [1, 256, 65536] as const;

const asciiDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

// Scratch arrays shared by every call: the codec is synchronous and never re-entered.
const limbs = new Float64Array(N);
const chunks = new Float64Array(N);

/** True for a byte that may appear in armor text outside the punctuation: alphabet or skip. */
export function isArmorByte(b: number): boolean {
  return CHAR_CLASS[b] !== INVALID;
}

/** True for one of the skip characters TAB, LF, CR, space, `>` (§8.1). */
export function isSkipByte(b: number): boolean {
  return CHAR_CLASS[b] === SKIP;
}

/**
 * Number of characters the codec writes for `byteLength` bytes (§8.1: 43 per full block plus
 * the table value for the short final block).
 */
export function encodedLength(byteLength: number): number {
  const full = Math.floor(byteLength / BLOCK_BYTES);
  return full * BLOCK_CHARS + ENCODED_CHARS[byteLength - full * BLOCK_BYTES]!;
}

/**
 * Number of bytes `charCount` significant characters decode to, or -1 when the final group
 * length is illegal (§8.1).
 */
export function decodedLength(charCount: number): number {
  const full = Math.floor(charCount / BLOCK_CHARS);
  const last = DECODED_BYTES[charCount - full * BLOCK_CHARS]!;
  return last < 0 ? -1 : full * BLOCK_BYTES + last;
}

/**
 * Encodes `src[srcOff .. srcOff+k)` (k = 0..32) as one group of `encodedLength(k)` ASCII
 * characters written into `dst` at `dstOff`. Returns the number of characters written.
 */
export function encodeBlock(
  src: Uint8Array,
  srcOff: number,
  k: number,
  dst: Uint8Array,
  dstOff: number,
): number {
  if (k === BLOCK_BYTES) return encodeFullBlock(src, srcOff, dst, dstOff);
  const chars = ENCODED_CHARS[k]!;
  // 24-bit limbs from the least significant end; the top limb may hold fewer bytes.
  let n = 0;
  for (let p = srcOff + k; p > srcOff; n++) {
    let limb = src[--p]!;
    if (p > srcOff) limb |= src[--p]! << 8;
    if (p > srcOff) limb |= src[--p]! << 16;
    limbs[n] = limb;
  }
  // Each R-digit, least significant first, gives four digits. 256^k ≤ 62^chars, so the digits
  // beyond `chars` are zero and are not written.
  let carry = 0;
  let pos = dstOff + chars;
  for (let j = 0; pos > dstOff; j++) {
    let sum = carry;
    for (let i = ENC_FIRST[j]!, row = j * N; i < n; i++) sum += limbs[i]! * ENC_WEIGHTS[row + i]!;
    carry = Math.floor(sum / R);
    let r = (sum - carry * R) | 0;
    for (let m = 0; m < 4 && pos > dstOff; m++) {
      const q = (r / 62) | 0;
      dst[--pos] = DIGIT_CODES[r - q * 62]!;
      r = q;
    }
  }
  return chars;
}

/**
 * The hot path of {@link encodeBlock}: a full 32-byte block (10 three-byte limbs and one
 * two-byte limb) to 43 characters, with the digit loop unrolled.
 */
function encodeFullBlock(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): number {
  let p = srcOff + BLOCK_BYTES;
  for (let n = 0; n < 10; n++, p -= 3) {
    limbs[n] = src[p - 1]! | (src[p - 2]! << 8) | (src[p - 3]! << 16);
  }
  limbs[10] = src[p - 1]! | (src[p - 2]! << 8);
  let carry = 0;
  let pos = dstOff + BLOCK_CHARS;
  for (let j = 0; j < N; j++) {
    let sum = carry;
    for (let i = ENC_FIRST[j]!, row = j * N; i < N; i++) sum += limbs[i]! * ENC_WEIGHTS[row + i]!;
    // Exact: sum < 2^53 and sum/R is at least 1/R (> the rounding error) from the next integer.
    carry = Math.floor(sum / R);
    let r = (sum - carry * R) | 0;
    let q = (r / 62) | 0;
    dst[--pos] = DIGIT_CODES[r - q * 62]!;
    r = q;
    q = (r / 62) | 0;
    dst[--pos] = DIGIT_CODES[r - q * 62]!;
    r = q;
    q = (r / 62) | 0;
    dst[--pos] = DIGIT_CODES[r - q * 62]!;
    // 43 = 10·4 + 3: the top R-digit has only three digits (its fourth is always zero).
    if (j < N - 1) dst[--pos] = DIGIT_CODES[q]!;
  }
  return BLOCK_CHARS;
}

/**
 * Decodes one group of `c` digit values (`digits[0..c)`, each 0..61) into `dst` at `dstOff`.
 * Returns the number of bytes written, -1 for an illegal group length, or -2 when the value does
 * not fit the group's byte length (an overflowing group; Go accepts it, we reject, §8.1). On -2
 * the bytes at `dst` are unspecified.
 */
export function decodeGroup(
  digits: Uint8Array,
  c: number,
  dst: Uint8Array,
  dstOff: number,
): number {
  const bytes = DECODED_BYTES[c] ?? -1;
  if (bytes < 0) return -1;
  // R-digits (four Base62 digits each) from the least significant end.
  let nChunks = 0;
  for (let end = c; end > 0; nChunks++) {
    const start = end > 4 ? end - 4 : 0;
    let v = 0;
    for (let i = start; i < end; i++) v = v * 62 + digits[i]!;
    chunks[nChunks] = v;
    end = start;
  }
  return chunksToBytes(nChunks, bytes, dst, dstOff);
}

/**
 * The hot path of {@link decodeGroup} for a full 43-digit group (R-digits of 3 + 10·4 digits)
 * to 32 bytes (ten three-byte limbs and one two-byte limb). Returns false when the value
 * exceeds 2^256 - 1; the bytes at `dst` are then unspecified.
 */
export function decodeFullGroup(digits: Uint8Array, dst: Uint8Array, dstOff: number): boolean {
  for (let k = 0, i = BLOCK_CHARS; k < 10; k++, i -= 4) {
    chunks[k] =
      ((digits[i - 4]! * 62 + digits[i - 3]!) * 62 + digits[i - 2]!) * 62 + digits[i - 1]!;
  }
  chunks[10] = (digits[0]! * 62 + digits[1]!) * 62 + digits[2]!;
  let carry = 0;
  let p = dstOff + BLOCK_BYTES;
  for (let j = 0; j < 10; j++) {
    let sum = carry;
    for (let k = DEC_FIRST[j]!, row = j * N; k < N; k++) sum += chunks[k]! * DEC_WEIGHTS[row + k]!;
    carry = Math.floor(sum / LIMB);
    const limb = (sum - carry * LIMB) | 0;
    dst[--p] = limb & 0xff;
    dst[--p] = (limb >>> 8) & 0xff;
    dst[--p] = limb >>> 16;
  }
  // R^10 < 2^240, so no weight reaches limb 10: the top limb is the carry alone.
  const top = carry;
  if (top >= 65536) return false;
  dst[--p] = top & 0xff;
  dst[--p] = top >>> 8;
  return true;
}

/** Converts `chunks[0..n)` (R-digits, least significant first) to `bytes` big-endian bytes. */
function chunksToBytes(n: number, bytes: number, dst: Uint8Array, dstOff: number): number {
  // Limb j is Σ chunk_k · DEC_WEIGHTS[j·11 + k] plus the carry (products < 2^48, eleven of them
  // < 2^52: exact). Division by 2^24 is exact. 11 limbs hold any 43-digit value, so nothing is
  // carried out of the last one.
  let carry = 0;
  for (let j = 0; j < N; j++) {
    let sum = carry;
    for (let k = DEC_FIRST[j]!, row = j * N; k < n; k++) sum += chunks[k]! * DEC_WEIGHTS[row + k]!;
    carry = Math.floor(sum / LIMB);
    limbs[j] = sum - carry * LIMB;
  }
  // The value must be < 256^bytes: the limb holding the top byte(s) must fit them and every
  // limb above it must be zero.
  const top = Math.floor(bytes / 3);
  if (limbs[top]! >= TOP_LIMIT[(bytes - top * 3) as 0 | 1 | 2]) return -2;
  for (let j = top + 1; j < N; j++) if (limbs[j] !== 0) return -2;
  let p = dstOff + bytes;
  for (let j = 0; p > dstOff; j++) {
    const limb = limbs[j]! | 0;
    dst[--p] = limb & 0xff;
    if (p > dstOff) dst[--p] = (limb >>> 8) & 0xff;
    if (p > dstOff) dst[--p] = limb >>> 16;
  }
  return bytes;
}

/**
 * Encodes bytes as Base62 text without armor framing or spacing: 43 characters per 32-byte
 * block, short final block per the §8.1 table. For example `00` → `"00"` and `ff` → `"47"`.
 */
export function encodeBase62(bytes: Uint8Array): string {
  const out = new Uint8Array(encodedLength(bytes.length));
  let o = 0;
  for (let i = 0; i < bytes.length; i += BLOCK_BYTES) {
    o += encodeBlock(bytes, i, Math.min(BLOCK_BYTES, bytes.length - i), out, o);
  }
  return asciiDecoder.decode(out);
}

/**
 * An incremental Base62 decoder: feed it text bytes in any slices; it emits the bytes of every
 * complete 43-character group as soon as the group is complete and keeps only the current
 * partial group (at most 42 digits) until {@link Base62Decoder.final}.
 *
 * Offsets in errors count every byte passed in so far, skip characters included, from 0 —
 * the same count Go reports in "illegal data at input byte N" (§8.1).
 */
export class Base62Decoder {
  readonly #digits = new Uint8Array(BLOCK_CHARS);
  #count = 0;
  #offset = 0;
  #groupStart = 0;

  /**
   * Decodes `text[start..end)`, returning the bytes of the groups it completed (possibly
   * empty).
   *
   * @throws SaltpackError `SALTPACK_BAD_ARMOR`, reason `corrupt_input` with `details.offset`,
   *   for a byte outside the alphabet and skip set, or for a full group whose value exceeds 256
   *   bits (offset of the group's first character).
   */
  update(text: Uint8Array, start = 0, end: number = text.length): Uint8Array {
    const digits = this.#digits;
    let count = this.#count;
    const out = new Uint8Array(Math.floor((count + (end - start)) / BLOCK_CHARS) * BLOCK_BYTES);
    let o = 0;
    const base = this.#offset - start;
    for (let i = start; i < end; i++) {
      const v = CHAR_CLASS[text[i]!]!;
      if (v < 62) {
        if (count === 0) this.#groupStart = base + i;
        digits[count++] = v;
        if (count === BLOCK_CHARS) {
          if (!decodeFullGroup(digits, out, o)) {
            this.#count = 0;
            throw overflowError(this.#groupStart);
          }
          o += BLOCK_BYTES;
          count = 0;
        }
      } else if (v !== SKIP) {
        this.#count = count;
        throw corruptInput(base + i);
      }
    }
    this.#count = count;
    this.#offset += end - start;
    return o === out.length ? out : out.subarray(0, o);
  }

  /**
   * Ends the input: decodes the held-back final partial group (if any) and resets the decoder.
   *
   * @throws SaltpackError `SALTPACK_BAD_ARMOR`, reason `invalid_encoding_length`, when the final
   *   group has a length no encoder produces (1, 4, 8, …, 40 characters); reason
   *   `corrupt_input` when its value does not fit its byte length.
   */
  final(): Uint8Array {
    const count = this.#count;
    this.#count = 0;
    this.#offset = 0;
    if (count === 0) return new Uint8Array(0);
    const out = new Uint8Array(BLOCK_BYTES);
    const n = decodeGroup(this.#digits, count, out, 0);
    if (n === -1) {
      throw new SaltpackError(
        'invalid_encoding_length',
        'invalid encoding length; either truncated or has trailing garbage',
      );
    }
    if (n < 0) throw overflowError(this.#groupStart);
    return out.subarray(0, n);
  }
}

function corruptInput(offset: number): SaltpackError {
  return new SaltpackError('corrupt_input', `illegal data at input byte ${offset}`, { offset });
}

// Stricter than Go (§8.1, §14 item 4): an overflowing group cannot come from a correct encoder,
// and decoding it would silently drop high bits, so it is reported as corrupt input at the
// group's first character rather than as a length problem.
function overflowError(offset: number): SaltpackError {
  return new SaltpackError(
    'corrupt_input',
    `base62 group at input byte ${offset} overflows its byte length`,
    { offset },
  );
}

/**
 * Decodes Base62 text (no armor framing) back to bytes. Skip characters (TAB, LF, CR, space,
 * `>`) are ignored anywhere, even inside a group (§8.1).
 *
 * @throws SaltpackError `SALTPACK_BAD_ARMOR`, reason `corrupt_input` with `details.offset` (a
 *   string index), for a character outside the alphabet and skip set or an overflowing group
 *   such as `"zz"` (stricter than Go); reason `invalid_encoding_length` for an impossible final
 *   group length.
 */
export function decodeBase62(text: string): Uint8Array {
  // Error offsets must be string indices. For ASCII text (the normal case) UTF-8 bytes and
  // string indices coincide, and the native encoder is fast; otherwise copy char codes one by
  // one, mapping anything above 0xff to an invalid byte.
  let bytes = textEncoder.encode(text);
  if (bytes.length !== text.length) {
    bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      bytes[i] = c > 0xff ? INVALID : c;
    }
  }
  const decoder = new Base62Decoder();
  const body = decoder.update(bytes);
  const tail = decoder.final();
  if (tail.length === 0) return body;
  const out = new Uint8Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}
