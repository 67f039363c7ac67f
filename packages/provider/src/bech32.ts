/**
 * Bech32 (BIP 173 checksum, constant 1) as age uses it for recipients and identities: no
 * 90-character limit, one case throughout (age writes recipients lower-case and identities
 * upper-case). Written from the BIP 173 description.
 *
 * @packageDocumentation
 */
import { ProviderError } from './errors.js';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATORS[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

function convertBits(data: Iterable<number>, from: number, to: number, pad: boolean): number[] {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (const value of data) {
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    throw bad('non-zero padding');
  }
  return out;
}

function bad(why: string): ProviderError {
  return new ProviderError('InvalidArgument', 'PROVIDER_BAD_RECIPIENT', `invalid bech32: ${why}`);
}

/** Encodes `data` under `hrp` (lower-case; upper-case the result for age identities). */
export function bech32Encode(hrp: string, data: Uint8Array): string {
  const h = hrp.toLowerCase();
  const words = convertBits(data, 8, 5, true);
  const mod = polymod([...hrpExpand(h), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
  return `${h}1${[...words, ...checksum].map((w) => CHARSET[w]).join('')}`;
}

/**
 * Decodes a Bech32 string (either case, not mixed).
 *
 * @throws ProviderError `InvalidArgument` for a bad checksum, character, case or padding.
 */
export function bech32Decode(text: string): { hrp: string; data: Uint8Array } {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) throw bad('mixed case');
  const s = text.toLowerCase();
  const pos = s.lastIndexOf('1');
  if (pos < 1 || pos + 7 > s.length) throw bad('no separator or too short');
  const hrp = s.slice(0, pos);
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i);
    if (c < 33 || c > 126) throw bad('bad prefix character');
  }
  const words: number[] = [];
  for (const ch of s.slice(pos + 1)) {
    const w = CHARSET.indexOf(ch);
    if (w < 0) throw bad('bad character');
    words.push(w);
  }
  if (polymod([...hrpExpand(hrp), ...words]) !== 1) throw bad('bad checksum');
  return { hrp, data: new Uint8Array(convertBits(words.slice(0, -6), 5, 8, false)) };
}
