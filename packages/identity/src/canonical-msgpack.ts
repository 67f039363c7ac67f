/**
 * Keybase's canonical msgpack (spec §3.3, §8): minimal encodings, map keys in Go's canonical
 * order, `bin` for bytes — and the decode-then-re-encode check that rejects any other encoding
 * of the same value (Go's "fishy msgpack" rule).
 *
 * Why a helper over `@saltbox/saltpack`'s codec: its `sortKeys` orders keys by their *encoded*
 * bytes, which puts the fixstr `tag` (header 0xa3) before `body` (header 0xa4). Go's codec in
 * canonical mode orders string keys by the string bytes themselves (`body`, then `hash`, then `tag`), so
 * keys are pre-sorted here and the codec is told to keep insertion order.
 *
 * @packageDocumentation
 */
import { bytesEqual, decodeMsgpack, encodeMsgpack, MsgpackError } from '@saltbox/saltpack/encoding';
import type { MsgpackInput, MsgpackValue } from '@saltbox/saltpack/encoding';
import { fail } from './errors.js';

const encoder = new TextEncoder();

/**
 * Go orders string keys by their UTF-8 bytes. Below U+D800 the UTF-16 code-unit order is the
 * same, so keys are compared without encoding them; only a difference at a surrogate or above
 * (rare: keys are ASCII in Keybase's formats) pays for the encoding.
 */
function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return compareBytes(encoder.encode(a), encoder.encode(b));
  }
  return a.length - b.length;
}

function compareKeys(a: MsgpackInput, b: MsgpackInput): number {
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (
    (typeof a === 'number' || typeof a === 'bigint') &&
    (typeof b === 'number' || typeof b === 'bigint')
  )
    return a < b ? -1 : a > b ? 1 : 0;
  // Mixed or exotic key types never occur in Keybase's formats; any total order will do.
  return compareBytes(encodeMsgpack(a), encodeMsgpack(b));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function isPlainObject(v: object): v is Record<string, MsgpackInput> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function canonicalize(v: MsgpackInput): MsgpackInput {
  if (v === null || v === undefined || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return (v as readonly MsgpackInput[]).map(canonicalize);
  let entries: [MsgpackInput, MsgpackInput][];
  if (v instanceof Map) entries = [...(v as Map<MsgpackInput, MsgpackInput>).entries()];
  else if (isPlainObject(v)) entries = Object.entries(v).filter(([, x]) => x !== undefined);
  else return v; // an extension value
  entries.sort((x, y) => compareKeys(x[0], y[0]));
  return new Map(entries.map(([k, x]) => [k, canonicalize(x)] as [MsgpackValue, MsgpackValue]));
}

/**
 * Encodes a value as Keybase's canonical msgpack: minimal forms, map keys sorted by Go's
 * canonical order (string bytes), plain objects and Maps both as maps.
 *
 * @throws RangeError for integers outside 64 bits (a programming error, not input).
 */
export function encodeCanonicalMsgpack(value: MsgpackInput): Uint8Array {
  return encodeMsgpack(canonicalize(value));
}

/** Whether every map inside `v` lists its keys in strictly increasing canonical order. */
function keysInOrder(v: MsgpackValue): boolean {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return true;
  if (Array.isArray(v)) return (v as readonly MsgpackValue[]).every(keysInOrder);
  if (!(v instanceof Map)) return false;
  let prev: MsgpackValue | undefined;
  let first = true;
  for (const [k, x] of v) {
    if (!first && compareKeys(prev, k) >= 0) return false;
    if (!keysInOrder(x)) return false;
    prev = k;
    first = false;
  }
  return true;
}

/**
 * Decodes msgpack and requires that it be canonical: re-encoding must give the same bytes.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` for undecodable input,
 *   `IDENTITY_NON_CANONICAL` for any non-canonical encoding (non-minimal ints or lengths, unsorted
 *   or duplicate keys, invalid UTF-8, floats where ints belong…).
 */
export function decodeCanonicalMsgpack(bytes: Uint8Array, maxDepth = 16): MsgpackValue {
  let value: MsgpackValue;
  try {
    value = decodeMsgpack(bytes, { maxDepth });
  } catch (e) {
    if (e instanceof MsgpackError) throw fail('IDENTITY_MALFORMED', 'malformed msgpack', {}, e);
    throw e;
  }
  // A decoded value is already made of Maps in wire order: when every map's keys are in Go's
  // order, re-encoding it as is gives the canonical bytes, without rebuilding sorted copies.
  let again: Uint8Array;
  try {
    again = keysInOrder(value) ? encodeMsgpack(value) : encodeCanonicalMsgpack(value);
  } catch (e) {
    throw fail('IDENTITY_NON_CANONICAL', 'msgpack value cannot be re-encoded', {}, e);
  }
  if (!bytesEqual(again, bytes))
    throw fail('IDENTITY_NON_CANONICAL', 'msgpack is not canonically encoded');
  return value;
}
