/**
 * Keybase's canonical JSON (spec §3.1): keys sorted at every level, compact, and Go's string
 * escaping (`<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes; other non-ASCII left as UTF-8).
 *
 * A strict parser comes with it. Numbers keep their exact value: integers beyond 2^53 parse to
 * `bigint`, so two payloads that differ only in a large number never collapse into one value
 * when a reverse signature is compared by re-serialisation (spec §3.6).
 *
 * @packageDocumentation
 */
import { fail } from './errors.js';

/** A JSON value as this package parses and serialises it. */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

const encoder = new TextEncoder();

function compareUtf8(a: string, b: string): number {
  // Go sorts map keys by their UTF-8 bytes; UTF-16 order differs above U+D7FF.
  if (a === b) return 0;
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function isAsciiKey(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function sortKeys(keys: string[]): string[] {
  // Fast path: for ASCII keys UTF-16 order and UTF-8 order coincide.
  return keys.every(isAsciiKey) ? keys.sort() : keys.sort(compareUtf8);
}

const HEX = '0123456789abcdef';

function quote(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      if (c === 0x0a) esc = '\\n';
      else if (c === 0x0d) esc = '\\r';
      else if (c === 0x09) esc = '\\t';
      else
        esc =
          '\\u' + HEX[(c >> 12) & 15]! + HEX[(c >> 8) & 15]! + HEX[(c >> 4) & 15]! + HEX[c & 15]!;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate is invalid UTF-8 in Go, which writes U+FFFD in its place.
      const pair =
        c <= 0xdbff &&
        i + 1 < s.length &&
        s.charCodeAt(i + 1) >= 0xdc00 &&
        s.charCodeAt(i + 1) <= 0xdfff;
      if (pair) {
        i++;
        continue;
      }
      esc = '\\ufffd';
    }
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

function write(v: JsonValue, depth: number): string {
  if (depth > 64) throw fail('IDENTITY_INVALID_ARGUMENT', 'json value nested too deeply');
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      if (!Number.isFinite(v))
        throw fail('IDENTITY_INVALID_ARGUMENT', 'json numbers must be finite');
      return JSON.stringify(v);
    case 'string':
      return quote(v);
    default:
      break;
  }
  if (Array.isArray(v)) return '[' + v.map((x) => write(x, depth + 1)).join(',') + ']';
  const obj = v;
  const parts: string[] = [];
  for (const k of sortKeys(Object.keys(obj))) {
    const x = obj[k];
    if (x === undefined) continue;
    parts.push(quote(k) + ':' + write(x, depth + 1));
  }
  return '{' + parts.join(',') + '}';
}

/**
 * Serialises a value as Keybase's canonical JSON: sorted keys (by UTF-8 bytes), no whitespace,
 * Go's escaping. `undefined` object members are left out.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` for non-finite numbers or nesting beyond 64.
 */
export function canonicalJson(value: JsonValue): string {
  return write(value, 0);
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** A run of string characters that need no attention: not a quote, backslash or control. */
// eslint-disable-next-line no-control-regex -- control characters are what JSON strings refuse
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;
/** A JSON number at `lastIndex` (sticky: matched in place, without slicing the text). */
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

class Parser {
  readonly s: string;
  pos = 0;
  constructor(s: string) {
    this.s = s;
  }
  bad(what: string): never {
    throw fail('IDENTITY_MALFORMED', `invalid json: ${what} at ${this.pos}`);
  }
  ws(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else return;
    }
  }
  value(depth: number): JsonValue {
    if (depth > 64) this.bad('nesting too deep');
    this.ws();
    const c = this.s[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === 't' && this.s.startsWith('true', this.pos)) return ((this.pos += 4), true);
    if (c === 'f' && this.s.startsWith('false', this.pos)) return ((this.pos += 5), false);
    if (c === 'n' && this.s.startsWith('null', this.pos)) return ((this.pos += 4), null);
    return this.number();
  }
  object(depth: number): JsonObject {
    this.pos++;
    const out: JsonObject = Object.create(null) as JsonObject;
    this.ws();
    if (this.s[this.pos] === '}') return (this.pos++, out);
    for (;;) {
      this.ws();
      if (this.s[this.pos] !== '"') this.bad('expected key');
      const k = this.string();
      if (Object.hasOwn(out, k)) this.bad('duplicate key');
      this.ws();
      if (this.s[this.pos] !== ':') this.bad('expected colon');
      this.pos++;
      out[k] = this.value(depth + 1);
      this.ws();
      const c = this.s[this.pos++];
      if (c === '}') return out;
      if (c !== ',') this.bad('expected comma');
    }
  }
  array(depth: number): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.pos] === ']') return (this.pos++, out);
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.pos++];
      if (c === ']') return out;
      if (c !== ',') this.bad('expected comma');
    }
  }
  string(): string {
    this.pos++;
    let out = '';
    let start = this.pos;
    for (;;) {
      // Runs of plain characters are skipped by the regex engine: payloads carry kilobyte-long
      // base64 strings (reverse sigs), and a JS loop per character dominated parsing.
      PLAIN_RUN.lastIndex = this.pos;
      PLAIN_RUN.test(this.s);
      this.pos = PLAIN_RUN.lastIndex;
      if (this.pos >= this.s.length) this.bad('unterminated string');
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x22) {
        out += this.s.slice(start, this.pos++);
        return out;
      }
      if (c < 0x20) this.bad('control character in string');
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += this.s.slice(start, this.pos);
      const e = this.s[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const h = this.s.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) this.bad('bad unicode escape');
          out += String.fromCharCode(parseInt(h, 16));
          this.pos += 4;
          break;
        }
        default:
          this.bad('bad escape');
      }
      start = this.pos;
    }
  }
  number(): number | bigint {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.s);
    if (!m) this.bad('unexpected character');
    // As long as numbers were matched in a 400-character window: a longer one is refused
    // rather than turned into a huge bigint.
    if (m[0].length > 400) this.bad('number too long');
    this.pos += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  }
}

/**
 * Parses JSON strictly: no trailing data, no duplicate keys, nesting at most 64; integers
 * beyond 2^53 become `bigint`. Objects have a null prototype.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` for anything that is not exactly one JSON value.
 */
export function parseJson(text: string): JsonValue {
  const p = new Parser(text);
  const v = p.value(0);
  p.ws();
  if (p.pos !== text.length) p.bad('trailing data');
  return v;
}

/**
 * Parses JSON and requires that it already be canonical (re-serialisation gives the same
 * text): the decode-then-re-encode check for payloads saltbox itself writes.
 *
 * @throws IdentityError `IDENTITY_MALFORMED` for invalid JSON, `IDENTITY_NON_CANONICAL` when the
 *   text is valid but not canonical.
 */
export function parseCanonicalJson(text: string): JsonValue {
  const v = parseJson(text);
  if (canonicalJson(v) !== text) throw fail('IDENTITY_NON_CANONICAL', 'json is not canonical');
  return v;
}

/** True for a JSON object (not null, not an array). */
export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
