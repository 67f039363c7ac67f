/**
 * A small MessagePack codec for the formats saltbox speaks (Saltpack headers and packets,
 * Keybase's msgpack link and packet encodings).
 *
 * Why not a general library: Saltpack must hash the header exactly as received, frame objects
 * incrementally out of a byte stream without copying 1 MiB payload bins, and accept the
 * reference implementation's lenient forms (non-minimal lengths, nil for bytes), while
 * Keybase's identity formats need a canonical encoder (minimal forms, sorted map keys) and a
 * decode-then-re-encode canonicality check. Those needs sit at the core of both formats.
 *
 * Encoding is always minimal. Decoding returns bins as views into the input (no copy),
 * integers as `number` when safe and `bigint` otherwise, maps as `Map`.
 *
 * @packageDocumentation
 */

/** A decoded MessagePack value. */
export type MsgpackValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | MsgpackValue[]
  | Map<MsgpackValue, MsgpackValue>
  | MsgpackExt;

/** A MessagePack extension value (type byte plus data). */
export interface MsgpackExt {
  readonly extType: number;
  readonly data: Uint8Array;
}

/** A value the encoder accepts: decoded values plus plain objects (encoded as maps). */
export type MsgpackInput =
  MsgpackValue | undefined | readonly MsgpackInput[] | { readonly [key: string]: MsgpackInput };

/** Raised for malformed MessagePack input. */
export class MsgpackError extends Error {
  override readonly name = 'MsgpackError';
  readonly code = 'MSGPACK_MALFORMED' as const;
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/** Limits applied while decoding untrusted input. */
export interface DecodeLimits {
  /** Maximum nesting depth (default 32). */
  maxDepth?: number;
}

const MAX_DEPTH = 32;
const textDecoder = new TextDecoder('utf-8', { fatal: false });
const textEncoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Encoding

/** Options for {@link encodeMsgpack}. */
export interface EncodeOptions {
  /**
   * Sort map keys (Keybase's canonical msgpack): by encoded-key bytes, which for string keys is
   * byte-wise UTF-8 order. Plain objects and Maps are both sorted.
   */
  sortKeys?: boolean;
}

class Writer {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  u16(n: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, n);
    this.pos += 2;
  }
  u32(n: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, n);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

function writeInt(w: Writer, n: bigint): void {
  if (n >= 0n) {
    if (n < 128n) w.u8(Number(n));
    else if (n < 256n) {
      w.u8(0xcc);
      w.u8(Number(n));
    } else if (n < 65536n) {
      w.u8(0xcd);
      w.u16(Number(n));
    } else if (n < 4294967296n) {
      w.u8(0xce);
      w.u32(Number(n));
    } else if (n < 18446744073709551616n) {
      w.u8(0xcf);
      w.ensure(8);
      w.view.setBigUint64(w.pos, n);
      w.pos += 8;
    } else throw new RangeError('integer too large for msgpack');
  } else {
    if (n >= -32n) w.u8(0x100 + Number(n));
    else if (n >= -128n) {
      w.u8(0xd0);
      w.ensure(1);
      w.view.setInt8(w.pos++, Number(n));
    } else if (n >= -32768n) {
      w.u8(0xd1);
      w.ensure(2);
      w.view.setInt16(w.pos, Number(n));
      w.pos += 2;
    } else if (n >= -2147483648n) {
      w.u8(0xd2);
      w.ensure(4);
      w.view.setInt32(w.pos, Number(n));
      w.pos += 4;
    } else if (n >= -9223372036854775808n) {
      w.u8(0xd3);
      w.ensure(8);
      w.view.setBigInt64(w.pos, n);
      w.pos += 8;
    } else throw new RangeError('integer too large for msgpack');
  }
}

function writeLength(
  w: Writer,
  n: number,
  fix: number | null,
  fixMax: number,
  t8: number | null,
  t16: number,
  t32: number,
): void {
  if (fix !== null && n <= fixMax) w.u8(fix | n);
  else if (t8 !== null && n < 256) {
    w.u8(t8);
    w.u8(n);
  } else if (n < 65536) {
    w.u8(t16);
    w.u16(n);
  } else {
    w.u8(t32);
    w.u32(n);
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function writeValue(w: Writer, v: MsgpackInput, opts: EncodeOptions, depth: number): void {
  if (depth > 64) throw new RangeError('msgpack value nested too deeply');
  if (v === null || v === undefined) w.u8(0xc0);
  else if (typeof v === 'boolean') w.u8(v ? 0xc3 : 0xc2);
  else if (typeof v === 'number') {
    if (Number.isInteger(v)) writeInt(w, BigInt(v));
    else {
      w.u8(0xcb);
      w.ensure(8);
      w.view.setFloat64(w.pos, v);
      w.pos += 8;
    }
  } else if (typeof v === 'bigint') writeInt(w, v);
  else if (typeof v === 'string') {
    const b = textEncoder.encode(v);
    writeLength(w, b.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
    w.bytes(b);
  } else if (v instanceof Uint8Array) {
    writeLength(w, v.length, null, 0, 0xc4, 0xc5, 0xc6);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    const arr = v as readonly MsgpackInput[];
    writeLength(w, arr.length, 0x90, 15, null, 0xdc, 0xdd);
    for (const item of arr) writeValue(w, item, opts, depth + 1);
  } else if (v instanceof Map) {
    writeMap(w, [...(v as Map<MsgpackInput, MsgpackInput>).entries()], opts, depth);
  } else if (isExt(v)) {
    const n = v.data.length;
    const fixed: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
    const tag = fixed[n];
    if (tag !== undefined) w.u8(tag);
    else writeLength(w, n, null, 0, 0xc7, 0xc8, 0xc9);
    w.u8(v.extType & 0xff);
    w.bytes(v.data);
  } else {
    const entries = Object.entries(v as Record<string, MsgpackInput>).filter(
      ([, x]) => x !== undefined,
    );
    writeMap(w, entries, opts, depth);
  }
}

function isExt(v: object): v is MsgpackExt {
  return 'extType' in v && 'data' in v && (v as MsgpackExt).data instanceof Uint8Array;
}

function writeMap(
  w: Writer,
  entries: [MsgpackInput, MsgpackInput][],
  opts: EncodeOptions,
  depth: number,
): void {
  writeLength(w, entries.length, 0x80, 15, null, 0xde, 0xdf);
  if (opts.sortKeys) {
    const encoded = entries.map(([k, val]) => [encodeMsgpack(k, opts), val] as const);
    encoded.sort((a, b) => compareBytes(a[0], b[0]));
    for (const [k, val] of encoded) {
      w.bytes(k);
      writeValue(w, val, opts, depth + 1);
    }
  } else {
    for (const [k, val] of entries) {
      writeValue(w, k, opts, depth + 1);
      writeValue(w, val, opts, depth + 1);
    }
  }
}

/**
 * Encodes a value with minimal MessagePack forms.
 *
 * @throws RangeError for integers outside 64 bits or values nested deeper than 64 levels.
 */
export function encodeMsgpack(value: MsgpackInput, options: EncodeOptions = {}): Uint8Array {
  const w = new Writer();
  writeValue(w, value, options, 0);
  return w.buf.slice(0, w.pos);
}

// ---------------------------------------------------------------------------------------------
// Decoding

class Reader {
  readonly view: DataView;
  readonly buf: Uint8Array;
  readonly end: number;
  readonly maxDepth: number;
  pos: number;
  constructor(buf: Uint8Array, offset: number, end: number, maxDepth: number) {
    this.buf = buf;
    this.end = end;
    this.maxDepth = maxDepth;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = offset;
  }
  need(n: number): void {
    if (this.pos + n > this.end) throw new MsgpackError('unexpected end of msgpack data', this.pos);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function normInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}

function readValue(r: Reader, depth: number): MsgpackValue {
  if (depth > r.maxDepth) throw new MsgpackError('msgpack nested too deeply', r.pos);
  const start = r.pos;
  const t = r.u8();
  if (t <= 0x7f) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t >= 0x80 && t <= 0x8f) return readMap(r, t & 0x0f, depth);
  if (t >= 0x90 && t <= 0x9f) return readArray(r, t & 0x0f, depth);
  if (t >= 0xa0 && t <= 0xbf) return textDecoder.decode(r.take(t & 0x1f));
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return r.take(r.u8());
    case 0xc5:
      return r.take(r.u16());
    case 0xc6:
      return r.take(r.u32());
    case 0xc7:
    case 0xc8:
    case 0xc9: {
      const n = t === 0xc7 ? r.u8() : t === 0xc8 ? r.u16() : r.u32();
      const extType = (r.u8() << 24) >> 24;
      return { extType, data: r.take(n) };
    }
    case 0xca: {
      r.need(4);
      const v = r.view.getFloat32(r.pos);
      r.pos += 4;
      return v;
    }
    case 0xcb: {
      r.need(8);
      const v = r.view.getFloat64(r.pos);
      r.pos += 8;
      return v;
    }
    case 0xcc:
      return r.u8();
    case 0xcd:
      return r.u16();
    case 0xce:
      return r.u32();
    case 0xcf: {
      r.need(8);
      const v = r.view.getBigUint64(r.pos);
      r.pos += 8;
      return normInt(v);
    }
    case 0xd0: {
      r.need(1);
      return r.view.getInt8(r.pos++);
    }
    case 0xd1: {
      r.need(2);
      const v = r.view.getInt16(r.pos);
      r.pos += 2;
      return v;
    }
    case 0xd2: {
      r.need(4);
      const v = r.view.getInt32(r.pos);
      r.pos += 4;
      return v;
    }
    case 0xd3: {
      r.need(8);
      const v = r.view.getBigInt64(r.pos);
      r.pos += 8;
      return normInt(v);
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8: {
      const extType = (r.u8() << 24) >> 24;
      return { extType, data: r.take(1 << (t - 0xd4)) };
    }
    case 0xd9:
      return textDecoder.decode(r.take(r.u8()));
    case 0xda:
      return textDecoder.decode(r.take(r.u16()));
    case 0xdb:
      return textDecoder.decode(r.take(r.u32()));
    case 0xdc:
      return readArray(r, r.u16(), depth);
    case 0xdd:
      return readArray(r, r.u32(), depth);
    case 0xde:
      return readMap(r, r.u16(), depth);
    case 0xdf:
      return readMap(r, r.u32(), depth);
    default:
      throw new MsgpackError(`invalid msgpack type byte 0x${t.toString(16)}`, start);
  }
}

function readArray(r: Reader, n: number, depth: number): MsgpackValue[] {
  // Every element takes at least one byte, so a length beyond the input is malformed; checking
  // first stops a hostile length from allocating a huge array.
  if (n > r.end - r.pos) throw new MsgpackError('unexpected end of msgpack data', r.pos);
  const out: MsgpackValue[] = new Array<MsgpackValue>(n);
  for (let i = 0; i < n; i++) out[i] = readValue(r, depth + 1);
  return out;
}

function readMap(r: Reader, n: number, depth: number): Map<MsgpackValue, MsgpackValue> {
  if (n * 2 > r.end - r.pos) throw new MsgpackError('unexpected end of msgpack data', r.pos);
  const out = new Map<MsgpackValue, MsgpackValue>();
  for (let i = 0; i < n; i++) {
    const k = readValue(r, depth + 1);
    const v = readValue(r, depth + 1);
    out.set(k, v);
  }
  return out;
}

/**
 * Decodes one value starting at `offset`, returning it and the offset just past it.
 *
 * @throws MsgpackError `MSGPACK_MALFORMED` on malformed or incomplete input.
 */
export function decodeMsgpackAt(
  buf: Uint8Array,
  offset = 0,
  limits: DecodeLimits = {},
): { value: MsgpackValue; end: number } {
  const r = new Reader(buf, offset, buf.length, limits.maxDepth ?? MAX_DEPTH);
  const value = readValue(r, 0);
  return { value, end: r.pos };
}

/**
 * Decodes exactly one value that must span the whole input.
 *
 * @throws MsgpackError `MSGPACK_MALFORMED` on malformed input or trailing bytes.
 */
export function decodeMsgpack(buf: Uint8Array, limits: DecodeLimits = {}): MsgpackValue {
  const { value, end } = decodeMsgpackAt(buf, 0, limits);
  if (end !== buf.length) throw new MsgpackError('trailing bytes after msgpack value', end);
  return value;
}

/**
 * Finds where the msgpack object starting at `offset` ends without decoding it.
 *
 * Returns the end offset when the object is complete within `buf[offset..length)`. When it is
 * not, returns the negated smallest total length the buffer must reach before a retry can make
 * progress (so streaming readers need not rescan on every byte).
 *
 * @throws MsgpackError `MSGPACK_MALFORMED` on an invalid type byte or excessive nesting.
 */
export function msgpackObjectEnd(
  buf: Uint8Array,
  offset: number,
  length: number,
  maxDepth = MAX_DEPTH,
): number {
  // Iterative skip with a count of pending items, so deep or wide input costs no recursion.
  let pos = offset;
  let pending = 1;
  const stack: number[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (n: number): boolean => pos + n <= length;
  while (pending > 0) {
    if (!need(1)) return -(pos + 1);
    const t = buf[pos]!;
    pos++;
    pending--;
    let skip = 0;
    let children = 0;
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) skip = 0;
    else if (t >= 0x80 && t <= 0x8f) children = (t & 0x0f) * 2;
    else if (t >= 0x90 && t <= 0x9f) children = t & 0x0f;
    else if (t >= 0xa0 && t <= 0xbf) skip = t & 0x1f;
    else {
      switch (t) {
        case 0xc4:
        case 0xd9:
          if (!need(1)) return -(pos + 1);
          skip = buf[pos]! + 1;
          break;
        case 0xc5:
        case 0xda:
          if (!need(2)) return -(pos + 2);
          skip = view.getUint16(pos) + 2;
          break;
        case 0xc6:
        case 0xdb:
          if (!need(4)) return -(pos + 4);
          skip = view.getUint32(pos) + 4;
          break;
        case 0xc7:
          if (!need(1)) return -(pos + 1);
          skip = buf[pos]! + 2;
          break;
        case 0xc8:
          if (!need(2)) return -(pos + 2);
          skip = view.getUint16(pos) + 3;
          break;
        case 0xc9:
          if (!need(4)) return -(pos + 4);
          skip = view.getUint32(pos) + 5;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xd4:
          skip = 2;
          break;
        case 0xd5:
          skip = 3;
          break;
        case 0xd6:
          skip = 5;
          break;
        case 0xd7:
          skip = 9;
          break;
        case 0xd8:
          skip = 17;
          break;
        case 0xdc:
          if (!need(2)) return -(pos + 2);
          children = view.getUint16(pos);
          skip = 2;
          break;
        case 0xdd:
          if (!need(4)) return -(pos + 4);
          children = view.getUint32(pos);
          skip = 4;
          break;
        case 0xde:
          if (!need(2)) return -(pos + 2);
          children = view.getUint16(pos) * 2;
          skip = 2;
          break;
        case 0xdf:
          if (!need(4)) return -(pos + 4);
          children = view.getUint32(pos) * 2;
          skip = 4;
          break;
        default:
          throw new MsgpackError(`invalid msgpack type byte 0x${t.toString(16)}`, pos - 1);
      }
    }
    pos += skip;
    if (pos > length) return -pos;
    if (children > 0) {
      stack.push(pending);
      if (stack.length > maxDepth) throw new MsgpackError('msgpack nested too deeply', pos);
      pending = children;
    }
    while (pending === 0 && stack.length > 0) pending = stack.pop()!;
  }
  return pos;
}
