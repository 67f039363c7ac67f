/**
 * The parts of Go's `encoding/json` (Go 1.21, the toolchain of Keybase's last client releases)
 * that `keybase kvstore api` exposes byte for byte: a streaming `json.Decoder` (one value after
 * another, the same syntax-error texts), the decoding rules of `json.Unmarshal` into a struct
 * (case-insensitive field names, unknown keys ignored, `null` leaves a value untouched, the same
 * `UnmarshalTypeError` texts) and the `json.Encoder` output (HTML-safe escaping, optional
 * four-space indent, trailing newline). Spec: specs/keybase-kvstore.md §1.1.
 *
 * JavaScript's `JSON.parse` cannot stand in: it forgets duplicate keys, accepts what Go's scanner
 * refuses with other words, and keeps lone surrogates that Go replaces with U+FFFD.
 *
 * @packageDocumentation
 */

/** A decoded JSON value that keeps every object member in input order (duplicates too). */
export type GoJsonValue =
  | { readonly kind: 'object'; readonly members: readonly GoJsonMember[] }
  | { readonly kind: 'array'; readonly items: readonly GoJsonValue[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly raw: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'null' };

/** One object member. */
export interface GoJsonMember {
  readonly key: string;
  readonly value: GoJsonValue;
}

/** What {@link scanValue} found at a position of the input. */
export type GoScanResult =
  | { readonly type: 'value'; readonly value: GoJsonValue; readonly end: number }
  /** Only whitespace is left. At end of input this is Go's `io.EOF`: the stream is over. */
  | { readonly type: 'end' }
  /** The value continues past the bytes seen so far; wait for more. */
  | { readonly type: 'more' }
  /** End of input inside a value: Go's `io.ErrUnexpectedEOF`. */
  | { readonly type: 'truncated' }
  /** A syntax error, with Go's `SyntaxError` text. */
  | { readonly type: 'error'; readonly message: string };

/** Go's `maxNestingDepth` in encoding/json's scanner. */
const MAX_DEPTH = 10_000;

/** Thrown inside the scanner when the bytes end inside a value. */
class NeedMore extends Error {}
const NEED_MORE = new NeedMore('need more input');

/** Thrown inside the scanner with Go's `SyntaxError` text. */
class GoSyntaxError extends Error {}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/**
 * Go's `strconv.IsPrint` for U+0000..U+00FF: ASCII space and graphic characters; in Latin-1
 * everything from U+00A1 except the soft hyphen U+00AD.
 */
function isPrintLatin1(c: number): boolean {
  return (c >= 0x20 && c < 0x7f) || (c >= 0xa1 && c !== 0xad);
}

/**
 * Go's `quoteChar`: how the scanner names the offending *byte* (a byte ≥ 0x80 is shown as the
 * Latin-1 character of that value, as `string(c)` does in Go).
 */
export function goQuoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const named: Record<number, string> = {
    0x07: '\\a',
    0x08: '\\b',
    0x0c: '\\f',
    0x0a: '\\n',
    0x0d: '\\r',
    0x09: '\\t',
    0x0b: '\\v',
    0x5c: '\\\\',
  };
  const name = named[c];
  if (name !== undefined) return `'${name}'`;
  if (isPrintLatin1(c)) return `'${String.fromCharCode(c)}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  return `'\\u${c.toString(16).padStart(4, '0')}'`;
}

function syntax(c: number, context: string): GoSyntaxError {
  return new GoSyntaxError(`invalid character ${goQuoteChar(c)} ${context}`);
}

/** For runs of ASCII only: on bytes below 0x80 every UTF-8 decoder agrees with Go. */
const asciiDecoder = new TextDecoder();

/**
 * The ASCII bytes `from..to` as a string. Never a spread into `String.fromCharCode`: that puts
 * one argument per byte on the stack and throws `RangeError` past ~125 KB (issue #12.1), and a
 * value, a string or even a number literal may be longer than that.
 */
function asciiString(bytes: Uint8Array, from: number, to: number): string {
  return asciiDecoder.decode(bytes.subarray(from, to));
}

/** Decodes UTF-8 the way Go's `utf8.DecodeRune` does: each invalid byte becomes U+FFFD. */
function decodeUtf8Go(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  let i = start;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => {
    if (j >= end) return false;
    const b = bytes[j] ?? 0;
    return b >= lo && b <= hi;
  };
  while (i < end) {
    const b0 = bytes[i] ?? 0;
    if (b0 < 0x80) {
      // Runs of ASCII are by far the common case.
      let j = i + 1;
      while (j < end && (bytes[j] ?? 0) < 0x80) j++;
      out += asciiString(bytes, i, j);
      i = j;
      continue;
    }
    let cp = -1;
    let size = 1;
    if (b0 >= 0xc2 && b0 <= 0xdf && cont(i + 1)) {
      cp = ((b0 & 0x1f) << 6) | ((bytes[i + 1] ?? 0) & 0x3f);
      size = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      const lo = b0 === 0xe0 ? 0xa0 : 0x80;
      const hi = b0 === 0xed ? 0x9f : 0xbf;
      if (cont(i + 1, lo, hi) && cont(i + 2)) {
        cp =
          ((b0 & 0x0f) << 12) | (((bytes[i + 1] ?? 0) & 0x3f) << 6) | ((bytes[i + 2] ?? 0) & 0x3f);
        size = 3;
      }
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      const lo = b0 === 0xf0 ? 0x90 : 0x80;
      const hi = b0 === 0xf4 ? 0x8f : 0xbf;
      if (cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3)) {
        cp =
          ((b0 & 0x07) << 18) |
          (((bytes[i + 1] ?? 0) & 0x3f) << 12) |
          (((bytes[i + 2] ?? 0) & 0x3f) << 6) |
          ((bytes[i + 3] ?? 0) & 0x3f);
        size = 4;
      }
    }
    out += cp < 0 ? '\ufffd' : String.fromCodePoint(cp);
    i += size;
  }
  return out;
}

function hex4(bytes: Uint8Array, at: number): number {
  return Number.parseInt(asciiString(bytes, at, at + 4), 16);
}

/**
 * Go's `unquote` of a string literal already checked by the scanner (between the quotes):
 * escapes, surrogate pairs (a lone surrogate becomes U+FFFD), invalid UTF-8 bytes → U+FFFD.
 */
function unquote(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  let i = start;
  let run = start;
  while (i < end) {
    if (bytes[i] !== 0x5c) {
      i++;
      continue;
    }
    out += decodeUtf8Go(bytes, run, i);
    const e = bytes[i + 1] ?? 0;
    if (e === 0x75) {
      let r = hex4(bytes, i + 2);
      i += 6;
      if (r >= 0xd800 && r <= 0xdfff) {
        const pairOk =
          r <= 0xdbff &&
          bytes[i] === 0x5c &&
          bytes[i + 1] === 0x75 &&
          i + 6 <= end &&
          [2, 3, 4, 5].every((k) => isHex(bytes[i + k] ?? 0));
        const r2 = pairOk ? hex4(bytes, i + 2) : -1;
        if (r2 >= 0xdc00 && r2 <= 0xdfff) {
          r = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
          i += 6;
        } else {
          r = 0xfffd;
        }
      }
      out += String.fromCodePoint(r);
    } else {
      const simple: Record<number, string> = {
        0x22: '"',
        0x5c: '\\',
        0x2f: '/',
        0x62: '\b',
        0x66: '\f',
        0x6e: '\n',
        0x72: '\r',
        0x74: '\t',
      };
      out += simple[e] ?? '';
      i += 2;
    }
    run = i;
  }
  return out + decodeUtf8Go(bytes, run, end);
}

type Frame =
  | { kind: 'object'; members: GoJsonMember[]; key: string }
  | { kind: 'array'; items: GoJsonValue[] };

/**
 * Scans one JSON value starting at `start` (leading whitespace skipped), as Go's
 * `json.Decoder.Decode` does: returns the value and where it ended, `more` when the bytes seen
 * so far end inside the value (`atEnd` false), `truncated` when the input really ends there,
 * `end` when only whitespace remains, or Go's syntax error text. Bytes after a complete value
 * are left for the next call (Go reports them then, "looking for beginning of value").
 */
export function scanValue(bytes: Uint8Array, start: number, atEnd: boolean): GoScanResult {
  let i = start;
  while (i < bytes.length && isSpace(bytes[i] ?? 0)) i++;
  if (i >= bytes.length) return atEnd ? { type: 'end' } : { type: 'more' };
  try {
    const { value, end } = parseFrom(bytes, i, atEnd);
    return { type: 'value', value, end };
  } catch (e) {
    if (e instanceof NeedMore) return atEnd ? { type: 'truncated' } : { type: 'more' };
    if (e instanceof GoSyntaxError) return { type: 'error', message: e.message };
    throw e;
  }
}

function parseFrom(
  bytes: Uint8Array,
  begin: number,
  atEnd: boolean,
): { value: GoJsonValue; end: number } {
  const n = bytes.length;
  let i = begin;
  const stack: Frame[] = [];
  type State =
    'value' | 'valueOrClose' | 'keyOrClose' | 'key' | 'colon' | 'afterMember' | 'afterItem';
  let state: State = 'value';

  const byteAt = (j: number): number => {
    if (j >= n) throw NEED_MORE;
    return bytes[j] ?? 0;
  };
  const skipSpace = (): number => {
    let c = byteAt(i);
    while (isSpace(c)) {
      i++;
      c = byteAt(i);
    }
    return c;
  };
  const readString = (): string => {
    // bytes[i] is the opening quote.
    const from = i + 1;
    let j = from;
    for (;;) {
      const c = byteAt(j);
      if (c === 0x22) break;
      if (c === 0x5c) {
        const e = byteAt(j + 1);
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            const h = byteAt(j + k);
            if (!isHex(h)) throw syntax(h, 'in \\u hexadecimal character escape');
          }
          j += 6;
          continue;
        }
        if (![0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22].includes(e)) {
          throw syntax(e, 'in string escape code');
        }
        j += 2;
        continue;
      }
      if (c < 0x20) throw syntax(c, 'in string literal');
      j++;
    }
    i = j + 1;
    return unquote(bytes, from, j);
  };
  /** The number may end at the end of the input only at the top level. */
  const numberByte = (j: number): number => {
    if (j >= n) {
      if (stack.length === 0 && atEnd) return -1;
      throw NEED_MORE;
    }
    return bytes[j] ?? 0;
  };
  const readNumber = (): string => {
    const from = i;
    let j = i;
    let c = byteAt(j);
    if (c === 0x2d) {
      j++;
      c = byteAt(j);
      if (!isDigit(c)) throw syntax(c, 'in numeric literal');
    }
    if (c === 0x30) {
      j++;
    } else {
      while (isDigit(numberByte(j))) j++;
    }
    c = numberByte(j);
    if (c === 0x2e) {
      j++;
      c = byteAt(j);
      if (!isDigit(c)) throw syntax(c, 'after decimal point in numeric literal');
      while (isDigit(numberByte(j))) j++;
      c = numberByte(j);
    }
    if (c === 0x65 || c === 0x45) {
      j++;
      c = byteAt(j);
      if (c === 0x2b || c === 0x2d) {
        j++;
        c = byteAt(j);
      }
      if (!isDigit(c)) throw syntax(c, 'in exponent of numeric literal');
      while (isDigit(numberByte(j))) j++;
    }
    i = j;
    return asciiString(bytes, from, j);
  };
  const readLiteral = (word: string): void => {
    for (let k = 1; k < word.length; k++) {
      const c = byteAt(i + k);
      if (c !== word.charCodeAt(k)) {
        throw syntax(c, `in literal ${word} (expecting '${word[k] ?? ''}')`);
      }
    }
    i += word.length;
  };

  for (;;) {
    let done: GoJsonValue | undefined;
    switch (state) {
      case 'valueOrClose':
      case 'value': {
        const c = skipSpace();
        if (state === 'valueOrClose' && c === 0x5d) {
          i++;
          done = { kind: 'array', items: (stack.pop() as { items: GoJsonValue[] }).items };
          break;
        }
        if (c === 0x7b || c === 0x5b) {
          if (stack.length + 1 > MAX_DEPTH) throw syntax(c, 'exceeded max depth');
          i++;
          if (c === 0x7b) {
            stack.push({ kind: 'object', members: [], key: '' });
            state = 'keyOrClose';
          } else {
            stack.push({ kind: 'array', items: [] });
            state = 'valueOrClose';
          }
          continue;
        }
        if (c === 0x22) done = { kind: 'string', value: readString() };
        else if (c === 0x2d || isDigit(c)) done = { kind: 'number', raw: readNumber() };
        else if (c === 0x74) {
          readLiteral('true');
          done = { kind: 'bool', value: true };
        } else if (c === 0x66) {
          readLiteral('false');
          done = { kind: 'bool', value: false };
        } else if (c === 0x6e) {
          readLiteral('null');
          done = { kind: 'null' };
        } else throw syntax(c, 'looking for beginning of value');
        break;
      }
      case 'keyOrClose':
      case 'key': {
        const c = skipSpace();
        if (state === 'keyOrClose' && c === 0x7d) {
          i++;
          done = { kind: 'object', members: (stack.pop() as { members: GoJsonMember[] }).members };
          break;
        }
        if (c !== 0x22) throw syntax(c, 'looking for beginning of object key string');
        (stack[stack.length - 1] as { key: string }).key = readString();
        state = 'colon';
        continue;
      }
      case 'colon': {
        const c = skipSpace();
        if (c !== 0x3a) throw syntax(c, 'after object key');
        i++;
        state = 'value';
        continue;
      }
      case 'afterMember': {
        const c = skipSpace();
        i++;
        if (c === 0x2c) {
          state = 'key';
          continue;
        }
        if (c !== 0x7d) throw syntax(c, 'after object key:value pair');
        done = { kind: 'object', members: (stack.pop() as { members: GoJsonMember[] }).members };
        break;
      }
      case 'afterItem': {
        const c = skipSpace();
        i++;
        if (c === 0x2c) {
          state = 'value';
          continue;
        }
        if (c !== 0x5d) throw syntax(c, 'after array element');
        done = { kind: 'array', items: (stack.pop() as { items: GoJsonValue[] }).items };
        break;
      }
    }
    const top = stack[stack.length - 1];
    if (top === undefined) return { value: done, end: i };
    if (top.kind === 'object') {
      top.members.push({ key: top.key, value: done });
      state = 'afterMember';
    } else {
      top.items.push(done);
      state = 'afterItem';
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Unmarshal rules

/**
 * Go 1.21's field-name folding (`appendFoldedName`): ASCII upper-cased, other runes through
 * `ToUpper(ToLower(r))` — which folds four non-ASCII runes onto ASCII letters: KELVIN SIGN → K,
 * LONG S → S, DOTTED CAPITAL I → I, DOTLESS SMALL I → I. Field names here are ASCII, so any
 * other non-ASCII rune can never match.
 */
export function goFoldName(name: string): string {
  let out = '';
  for (const ch of name) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) out += ch.toUpperCase();
    else if (cp === 0x212a) out += 'K';
    else if (cp === 0x17f) out += 'S';
    else if (cp === 0x130 || cp === 0x131) out += 'I';
    else out += ch;
  }
  return out;
}

/** The name Go's `UnmarshalTypeError` gives a JSON value's kind. */
function kindName(v: GoJsonValue): string {
  return v.kind;
}

/**
 * Collects the first `UnmarshalTypeError` while decoding goes on, as Go's `decodeState`
 * (`saveError`) does; the caller reports it once the whole value was decoded.
 */
export class GoDecodeErrors {
  first: string | undefined;

  /**
   * Records a type error, Go's text:
   * `json: cannot unmarshal <what> into Go struct field <Struct>.<path> of type <type>`
   * (or `… into Go value of type <type>` outside a struct).
   */
  typeError(what: string, goType: string, struct?: string, path?: string): void {
    if (this.first !== undefined) return;
    this.first =
      struct === undefined
        ? `json: cannot unmarshal ${what} into Go value of type ${goType}`
        : `json: cannot unmarshal ${what} into Go struct field ${struct}.${path ?? ''} of type ${goType}`;
  }
}

/** Where a struct field sits, for error texts: Go's innermost struct name and field path. */
export interface GoFieldContext {
  readonly struct: string;
  readonly path: string;
}

/**
 * Decodes a JSON value into a Go `string` field. Returns the new value, or `current` when the
 * value is `null` (Go leaves it untouched) or of another kind (a type error is recorded).
 */
export function goString(
  v: GoJsonValue,
  current: string,
  at: GoFieldContext,
  errors: GoDecodeErrors,
): string {
  if (v.kind === 'string') return v.value;
  if (v.kind !== 'null') errors.typeError(kindName(v), 'string', at.struct, at.path);
  return current;
}

/** Go's `int` (64-bit) bounds. */
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Decodes a JSON value into a Go `int` field: only integer literals within int64 are accepted
 * (`1.0`, `1e3` and overflows are `number <literal>` type errors, as `strconv.ParseInt` refuses
 * them). `null` leaves `current` untouched. A bigint, because an echoed `id` must keep all 64
 * bits.
 */
export function goInt(
  v: GoJsonValue,
  current: bigint,
  at: GoFieldContext,
  errors: GoDecodeErrors,
): bigint {
  if (v.kind === 'null') return current;
  if (v.kind !== 'number') {
    errors.typeError(kindName(v), 'int', at.struct, at.path);
    return current;
  }
  if (/^-?\d+$/.test(v.raw)) {
    const big = BigInt(v.raw);
    if (big >= INT64_MIN && big <= INT64_MAX) return big;
  }
  errors.typeError(`number ${v.raw}`, 'int', at.struct, at.path);
  return current;
}

/**
 * Walks an object's members in order and hands each one whose key folds to a known field name
 * to `assign` (Go: exact match first, then case-insensitive; a later duplicate overrides).
 * Unknown keys are ignored.
 */
export function goEachField(
  members: readonly GoJsonMember[],
  fields: readonly string[],
  assign: (field: string, value: GoJsonValue) => void,
): void {
  const folded = new Map(fields.map((f) => [goFoldName(f), f]));
  for (const m of members) {
    const field = fields.includes(m.key) ? m.key : folded.get(goFoldName(m.key));
    if (field !== undefined) assign(field, m.value);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** A value the encoder writes: what the kvstore replies are made of. */
export type GoOut =
  | string
  | number
  | bigint
  | null
  | readonly GoOut[]
  | { readonly [key: string]: GoOut | undefined };

function hex2(c: number): string {
  return c.toString(16).padStart(2, '0');
}

/**
 * Go's `encodeState.string` with HTML escaping (the `json.Encoder` default): `"` and `\` with a
 * backslash, `\n` `\r` `\t` by name, other control characters and `<` `>` `&` as `\u00XX`,
 * U+2028 and U+2029 escaped, invalid UTF-16 (a lone surrogate) as `\ufffd`, everything else raw.
 */
export function goQuoteString(s: string): string {
  let out = '"';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x80) {
      if (c === 0x22) esc = '\\"';
      else if (c === 0x5c) esc = '\\\\';
      else if (c === 0x0a) esc = '\\n';
      else if (c === 0x0d) esc = '\\r';
      else if (c === 0x09) esc = '\\t';
      else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) esc = `\\u00${hex2(c)}`;
    } else if (c === 0x2028 || c === 0x2029) {
      esc = `\\u${c.toString(16)}`;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      esc = '\\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      esc = '\\ufffd';
    }
    if (esc !== undefined) {
      out += s.slice(run, i) + esc;
      run = i + 1;
    }
  }
  return `${out}${s.slice(run)}"`;
}

/**
 * Encodes a reply as Go's `json.Encoder.Encode` does: compact, or with `SetIndent("", "    ")`,
 * followed by a newline. Object keys keep their insertion order (Go's struct field order);
 * `undefined` members are left out (Go's `omitempty`).
 */
export function goEncode(value: GoOut, indent: boolean): string {
  return `${encodeAt(value, indent ? '\n' : '')}\n`;
}

function encodeAt(v: GoOut, nl: string): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return goQuoteString(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  const inner = nl === '' ? '' : `${nl}    `;
  const sep = nl === '' ? ':' : ': ';
  if (Array.isArray(v)) {
    const items = v as readonly GoOut[];
    if (items.length === 0) return '[]';
    return `[${items.map((x) => inner + encodeAt(x, inner)).join(',')}${nl}]`;
  }
  const entries = Object.entries(v as Record<string, GoOut | undefined>).filter(
    (e): e is [string, GoOut] => e[1] !== undefined,
  );
  if (entries.length === 0) return '{}';
  return `{${entries
    .map(([k, x]) => `${inner}${goQuoteString(k)}${sep}${encodeAt(x, inner)}`)
    .join(',')}${nl}}`;
}

/** Go's `strconv.IsPrint`, close enough: letters, marks, numbers, punctuation, symbols, space. */
function isGoPrintable(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

/** Go's `strconv.Quote` (what `%q` prints): escapes non-printable runes, keeps the rest. */
export function goStrconvQuote(s: string): string {
  const named: Record<string, string> = {
    '\x07': '\\a',
    '\b': '\\b',
    '\f': '\\f',
    '\n': '\\n',
    '\r': '\\r',
    '\t': '\\t',
    '\v': '\\v',
    '"': '\\"',
    '\\': '\\\\',
  };
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const name = named[ch];
    if (name !== undefined) out += name;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (isGoPrintable(ch)) out += ch;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex2(cp)}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}
