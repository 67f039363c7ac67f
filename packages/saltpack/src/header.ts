/**
 * Header encoding and decoding (specs/saltpack.md §2, §3.1, §5, §6).
 *
 * A header is a msgpack list encoded once to bytes H; H is written as a msgpack bin, and the
 * header hash is SHA-512(H) over the bytes exactly as received. Decoding mirrors the reference
 * reader's leniency: extra trailing fields are ignored, non-minimal encodings are accepted, and
 * `nil` stands for empty bytes.
 */
import type { CryptoBackend } from './backend/types.js';
import { FORMAT_NAME } from './constants.js';
import type { Mode, Version } from './constants.js';
import { badPacket, SaltpackError } from './errors.js';
import { decodeMsgpack, decodeMsgpackAt, encodeMsgpack, MsgpackError } from './msgpack.js';
import type { MsgpackInput, MsgpackValue } from './msgpack.js';

/** A decoded header: the common prefix plus the raw mode-specific fields. */
export interface RawHeader {
  /** H, the once-encoded header bytes (a view of the input). */
  bytes: Uint8Array;
  /** SHA-512(H). */
  hash: Uint8Array;
  version: Version;
  mode: number;
  /** Fields after the mode (index 0 = header field 3). */
  fields: MsgpackValue[];
}

/**
 * Encodes a header list and returns the wire bytes (H as a bin) and the header hash.
 */
export function encodeHeader(
  backend: CryptoBackend,
  version: Version,
  mode: Mode,
  fields: readonly MsgpackInput[],
): { wire: Uint8Array; hash: Uint8Array } {
  const h = encodeMsgpack([FORMAT_NAME, [version[0], version[1]], mode, ...fields]);
  return { wire: encodeMsgpack(h), hash: backend.sha512(h) };
}

/**
 * Decodes the first object of a message (raw bytes of one msgpack object) as a header.
 *
 * @throws SaltpackError `SALTPACK_MALFORMED` (`failed_to_read_header_bytes` when the object is not
 *   a bin; `bad_header` when its content is not a Saltpack header).
 */
export function decodeHeader(backend: CryptoBackend, object: Uint8Array): RawHeader {
  // Own copy: the decoded fields are views, and callers keep some (keys, receiver lists) while
  // the stream framer reuses its buffer for the packets that follow.
  const own = object.slice();
  let bytes: MsgpackValue;
  try {
    bytes = decodeMsgpackAt(own, 0).value;
  } catch (cause) {
    throw new SaltpackError(
      'failed_to_read_header_bytes',
      'failed to read header bytes',
      {},
      { cause },
    );
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new SaltpackError('failed_to_read_header_bytes', 'failed to read header bytes');
  }
  let list: MsgpackValue;
  try {
    list = decodeMsgpack(bytes);
  } catch (cause) {
    if (cause instanceof MsgpackError) {
      throw new SaltpackError('bad_header', 'header is not valid msgpack', {}, { cause });
    }
    throw cause;
  }
  if (!Array.isArray(list) || list.length < 3) {
    throw new SaltpackError('bad_header', 'header is not a saltpack header list');
  }
  const [name, version, mode] = list;
  if (name !== FORMAT_NAME) throw new SaltpackError('bad_header', 'wrong format name in header');
  if (
    !Array.isArray(version) ||
    version.length < 2 ||
    typeof version[0] !== 'number' ||
    typeof version[1] !== 'number' ||
    typeof mode !== 'number'
  ) {
    throw new SaltpackError('bad_header', 'malformed version or mode in header');
  }
  return {
    bytes,
    hash: backend.sha512(bytes),
    version: [version[0], version[1]],
    mode,
    fields: list.slice(3),
  };
}

/** Reads a field as bytes: `nil` and missing fields read as empty (Go semantics). */
export function fieldBytes(v: MsgpackValue | undefined, what: string): Uint8Array {
  if (v === null || v === undefined) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  throw new SaltpackError('bad_header', `header field ${what} is not bytes`);
}

/** Reads a field as a list; missing reads as empty. */
export function fieldList(v: MsgpackValue | undefined, what: string): MsgpackValue[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v;
  throw new SaltpackError('bad_header', `header field ${what} is not a list`);
}

/** Human text of a version for messages. */
export function versionText(v: Version): string {
  return `${v[0]}.${v[1]}`;
}

/** Mode names for messages. */
export const MODE_NAMES: Record<number, string> = {
  0: 'encryption',
  1: 'attached signature',
  2: 'detached signature',
  3: 'signcryption',
};

/**
 * Checks the mode.
 *
 * @throws SaltpackError `SALTPACK_MALFORMED` (`wrong_message_type`).
 */
export function checkMode(header: RawHeader, wanted: Mode): void {
  if (header.mode !== wanted) {
    throw new SaltpackError(
      'wrong_message_type',
      `wrong message type: wanted ${MODE_NAMES[wanted] ?? String(wanted)}, got ${MODE_NAMES[header.mode] ?? String(header.mode)}`,
      { wantedMode: wanted, receivedMode: header.mode },
    );
  }
}

/**
 * Checks the version against the accepted majors (any minor, like Go's CheckKnownMajorVersion).
 *
 * @throws SaltpackError `SALTPACK_MALFORMED` (`bad_version`).
 */
export function checkMajor(header: RawHeader, majors: readonly number[]): void {
  if (!majors.includes(header.version[0])) {
    throw new SaltpackError('bad_version', `unsupported version (${versionText(header.version)})`, {
      version: header.version,
    });
  }
}

/**
 * Decodes a payload packet as a msgpack list (extra trailing elements are the caller's to
 * ignore, as the reference does).
 *
 * @throws SaltpackError `SALTPACK_MALFORMED` (`bad_packet`) when it is not a list.
 */
export function decodePacketList(object: Uint8Array, seqno: number): MsgpackValue[] {
  let list: MsgpackValue;
  try {
    list = decodeMsgpack(object);
  } catch {
    throw badPacket(seqno, 'malformed payload packet');
  }
  if (!Array.isArray(list)) throw badPacket(seqno, 'payload packet is not a list');
  return list;
}
