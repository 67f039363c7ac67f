/**
 * Byte encodings used by Keybase's wire formats: standard base64 with padding (packets, boxes)
 * and unpadded base64url (short sig IDs), plus strict hex. Written here rather than taken from
 * `Buffer` because this package must run in browsers (DESIGN.md: pure format code).
 *
 * @packageDocumentation
 */
import { fromHex } from '@saltbox/saltpack/encoding';
import { fail } from './errors.js';

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const STD_REV = reverse(STD);
const URL_REV = reverse(URL);

function reverse(alphabet: string): Int16Array {
  const rev = new Int16Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) rev[alphabet.charCodeAt(i)] = i;
  return rev;
}

function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out +=
      alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '');
  }
  return out;
}

function decode(text: string, rev: Int16Array, padded: boolean, what: string): Uint8Array {
  let n = text.length;
  if (padded) {
    if (n % 4 !== 0) throw fail('IDENTITY_MALFORMED', `${what}: bad length`);
    if (n > 0 && text.charCodeAt(n - 1) === 0x3d) n -= text.charCodeAt(n - 2) === 0x3d ? 2 : 1;
  }
  if (n % 4 === 1) throw fail('IDENTITY_MALFORMED', `${what}: bad length`);
  const out = new Uint8Array(Math.floor((n * 3) / 4));
  // Signature packets make this the hottest loop of chain verification, so lookups are inline
  // (no helper call per character) and an invalid character (-1 in the table, or any code unit
  // past it) is caught once per quantum by OR-ing.
  let o = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 127) throw fail('IDENTITY_MALFORMED', `${what}: invalid character`);
    const a = rev[c0]!;
    const b = rev[c1]!;
    const c = rev[c2]!;
    const d = rev[c3]!;
    if ((a | b | c | d) < 0) throw fail('IDENTITY_MALFORMED', `${what}: invalid character`);
    const x = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = x >> 16;
    out[o++] = (x >> 8) & 0xff;
    out[o++] = x & 0xff;
  }
  const at = (k: number): number => {
    const c = text.charCodeAt(k);
    return c < 128 ? rev[c]! : -1;
  };
  const rest = n - i;
  // Leftover bits must be zero so that each byte string has exactly one encoding.
  if (rest === 2) {
    const a = at(i);
    const b = at(i + 1);
    if ((a | b) < 0) throw fail('IDENTITY_MALFORMED', `${what}: invalid character`);
    const x = (a << 6) | b;
    if ((x & 0x0f) !== 0) throw fail('IDENTITY_MALFORMED', `${what}: non-zero padding bits`);
    out[o++] = x >> 4;
  } else if (rest === 3) {
    const a = at(i);
    const b = at(i + 1);
    const c = at(i + 2);
    if ((a | b | c) < 0) throw fail('IDENTITY_MALFORMED', `${what}: invalid character`);
    const x = (a << 12) | (b << 6) | c;
    if ((x & 0x03) !== 0) throw fail('IDENTITY_MALFORMED', `${what}: non-zero padding bits`);
    out[o++] = x >> 10;
    out[o++] = (x >> 2) & 0xff;
  }
  return out;
}

/** Standard base64 with `=` padding (Go's `base64.StdEncoding`). */
export function toBase64(bytes: Uint8Array): string {
  return encode(bytes, STD, true);
}

/**
 * Strict standard base64 decoding: padding required, no whitespace, zero trailing bits.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` on any deviation.
 */
export function fromBase64(text: string): Uint8Array {
  return decode(text, STD_REV, true, 'base64');
}

/** Unpadded base64url (Go's `base64.RawURLEncoding`), used by short sig IDs. */
export function toBase64Url(bytes: Uint8Array): string {
  return encode(bytes, URL, false);
}

/**
 * Strict unpadded base64url decoding.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` on any deviation.
 */
export function fromBase64Url(text: string): Uint8Array {
  return decode(text, URL_REV, false, 'base64url');
}

/**
 * Lowercase hex of exactly `length` bytes (when given) to bytes.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for non-hex input, uppercase or wrong length.
 */
export function hexToBytes(hex: string, length?: number, what = 'hex value'): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex))
    throw fail('IDENTITY_INVALID_ARGUMENT', `${what} is not lowercase hex`);
  if (length !== undefined && hex.length !== length * 2)
    throw fail('IDENTITY_INVALID_ARGUMENT', `${what} must be ${length} bytes`);
  return fromHex(hex);
}

/** The two hex digits of each byte value. */
const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, b) =>
  b.toString(16).padStart(2, '0'),
);

/**
 * Lowercase hex of bytes. Link IDs, sig IDs and KIDs are converted several times per link, so
 * this uses a byte-pair table rather than a `toString(16)` and pad per byte.
 */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX_PAIRS[b]!;
  return s;
}
