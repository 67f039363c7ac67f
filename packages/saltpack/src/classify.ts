/**
 * Recognising a message from its first bytes: armored or binary, and which mode and version
 * (compare Go's `ClassifyStream`, specs/saltpack.md §8.3, §2).
 */
import type { Version } from './constants.js';
import { SaltpackError } from './errors.js';
import { decodeMsgpackAt, MsgpackError } from './msgpack.js';

/** What the first bytes of a binary message say. */
export interface HeaderPeek {
  mode: number;
  version: Version;
}

/**
 * Reads mode and version from the start of a binary message without decoding the rest.
 * Returns `null` when more bytes are needed.
 *
 * @throws SaltpackError `SALTPACK_MALFORMED` when the bytes cannot start a Saltpack message.
 */
export function peekHeader(prefix: Uint8Array): HeaderPeek | null {
  if (prefix.length === 0) return null;
  const tag = prefix[0]!;
  const binHeaderLength = tag === 0xc4 ? 2 : tag === 0xc5 ? 3 : tag === 0xc6 ? 5 : 0;
  if (binHeaderLength === 0)
    throw new SaltpackError('failed_to_read_header_bytes', 'not a saltpack message');
  let pos = binHeaderLength;
  if (prefix.length <= pos) return null;
  const arrayTag = prefix[pos]!;
  if (arrayTag >= 0x93 && arrayTag <= 0x9f) pos += 1;
  else if (arrayTag === 0xdc) pos += 3;
  else if (arrayTag === 0xdd) pos += 5;
  else throw new SaltpackError('bad_header', 'not a saltpack header');
  try {
    const name = decodeMsgpackAt(prefix, pos);
    const version = decodeMsgpackAt(prefix, name.end);
    const mode = decodeMsgpackAt(prefix, version.end);
    const v = version.value;
    if (
      name.value !== 'saltpack' ||
      !Array.isArray(v) ||
      typeof v[0] !== 'number' ||
      typeof v[1] !== 'number'
    ) {
      throw new SaltpackError('bad_header', 'not a saltpack header');
    }
    if (typeof mode.value !== 'number')
      throw new SaltpackError('bad_header', 'not a saltpack header');
    return { mode: mode.value, version: [v[0], v[1]] };
  } catch (e) {
    if (e instanceof MsgpackError) {
      // Incomplete prefix: ask for more, unless the bytes we have are already invalid.
      if (e.message.includes('unexpected end')) return null;
      throw new SaltpackError('bad_header', 'not a saltpack header', {}, { cause: e });
    }
    throw e;
  }
}

const SKIP = new Set([0x09, 0x0a, 0x0d, 0x20, 0x3e]);

/**
 * Whether a message is ASCII-armored: its first byte after whitespace and `>` quoting is the
 * `B` of `BEGIN` (a binary message starts with a msgpack bin tag). `null` when only skip bytes
 * were seen so far.
 */
export function looksArmored(prefix: Uint8Array): boolean | null {
  for (const b of prefix) {
    if (SKIP.has(b)) continue;
    return b === 0x42;
  }
  return null;
}
