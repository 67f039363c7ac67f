/**
 * The sigchain-v2 outer link (spec §3.5): a msgpack array of 5, 6, 7 or 9 fields that the
 * Ed25519 signature covers, pointing at the inner JSON by hash.
 *
 * @packageDocumentation
 */
import type { MsgpackValue } from '@saltbox/saltpack/encoding';
import { decodeCanonicalMsgpack, encodeCanonicalMsgpack } from './canonical-msgpack.js';
import { fail, IdentityError } from './errors.js';

/** A decoded outer link. */
export interface OuterLink {
  version: 2;
  seqno: number;
  /** The previous link's ID (32 bytes), or null at seqno 1. */
  prev: Uint8Array | null;
  /** SHA-256 of the inner JSON bytes. */
  curr: Uint8Array;
  /** The v2 link-type code (spec §3.7). */
  linkType: number;
  /** Field 6; absent in 5-field links (then 1, PUBLIC, is implied). */
  seqType?: number;
  /** Field 7. */
  ignoreIfUnsupported?: boolean;
  /** Fields 8 and 9. */
  highSkip?: { seqno: number; hash: Uint8Array | null };
  /** How many fields were (or are to be) encoded: the encoding must keep this count. */
  fieldCount: 5 | 6 | 7 | 9;
}

/**
 * Encodes an outer link with exactly `fieldCount` fields.
 *
 * @throws IdentityError `IDENTITY_INVALID_ARGUMENT` when a field needed by the count is missing.
 */
export function encodeOuterLink(o: OuterLink): Uint8Array {
  const fields: MsgpackValue[] = [2, o.seqno, o.prev, o.curr, o.linkType];
  if (o.fieldCount >= 6) {
    if (o.seqType === undefined)
      throw fail('IDENTITY_INVALID_ARGUMENT', 'outer link needs seq_type');
    fields.push(o.seqType);
  }
  if (o.fieldCount >= 7) fields.push(o.ignoreIfUnsupported ?? false);
  if (o.fieldCount === 9) {
    if (o.highSkip === undefined)
      throw fail('IDENTITY_INVALID_ARGUMENT', 'outer link needs high_skip');
    fields.push(o.highSkip.seqno, o.highSkip.hash);
  }
  return encodeCanonicalMsgpack(fields);
}

function hash32(v: MsgpackValue | undefined, nullable: boolean): Uint8Array | null {
  if (v === null && nullable) return null;
  if (v instanceof Uint8Array && v.length === 32) return v;
  throw fail('IDENTITY_BAD_CHAIN_LINK', 'outer link hash field is malformed');
}

function int(v: MsgpackValue | undefined): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw fail('IDENTITY_BAD_CHAIN_LINK', 'outer link integer field is malformed');
}

/**
 * Decodes an outer link, requiring canonical msgpack and one of the four array lengths.
 *
 * @throws IdentityError `IDENTITY_BAD_CHAIN_LINK` for anything else.
 */
export function decodeOuterLink(bytes: Uint8Array): OuterLink {
  let v: MsgpackValue;
  try {
    v = decodeCanonicalMsgpack(bytes);
  } catch (e) {
    if (e instanceof IdentityError)
      throw fail('IDENTITY_BAD_CHAIN_LINK', 'outer link is not canonical msgpack', {}, e);
    throw e;
  }
  if (!Array.isArray(v) || ![5, 6, 7, 9].includes(v.length))
    throw fail('IDENTITY_BAD_CHAIN_LINK', 'outer link is not an array of 5, 6, 7 or 9 fields');
  if (v[0] !== 2) throw fail('IDENTITY_BAD_CHAIN_LINK', 'outer link version is not 2');
  const o: OuterLink = {
    version: 2,
    seqno: int(v[1]),
    prev: hash32(v[2], true),
    curr: hash32(v[3], false)!,
    linkType: int(v[4]),
    fieldCount: v.length as OuterLink['fieldCount'],
  };
  if (v.length >= 6) o.seqType = int(v[5]);
  if (v.length >= 7) {
    if (typeof v[6] !== 'boolean')
      throw fail('IDENTITY_BAD_CHAIN_LINK', 'ignore_if_unsupported is not a bool');
    o.ignoreIfUnsupported = v[6];
  }
  if (v.length === 9) o.highSkip = { seqno: int(v[7]), hash: hash32(v[8], true) };
  return o;
}
