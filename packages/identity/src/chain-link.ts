/**
 * Importing sigchain links as a server sends them (spec §3.9, the simple form of `sig/get`,
 * plus `s2` stubs): hashing, v1/v2 unpacking and the outer/inner agreement checks of spec §3.5.
 * Signatures are checked later, by the chain verifiers, against the key state at that point.
 *
 * @packageDocumentation
 */
import { bytesEqual, utf8 } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import { isJsonObject, parseJson } from './canonical-json.js';
import type { JsonObject, JsonValue } from './canonical-json.js';
import { fromBase64, toHex } from './encoding.js';
import { fail, IdentityError } from './errors.js';
import { linkIdV1, linkIdV2, SIG_ID_SUFFIX } from './ids.js';
import type { KidHex } from './ids.js';
import { linkTypeCode, linkTypeName as linkTypeNameFor } from './link-types.js';
import { decodeOuterLink } from './outer-link.js';
import type { OuterLink } from './outer-link.js';
import { decodeSignaturePacket } from './packets.js';
import type { SignaturePacket } from './packets.js';
import { dearmorPgp, isArmoredPgpKey, readPgpSignedData } from './pgp.js';

/** A link in the simple `sig/get` form, or a stub `{ s2 }`. Unknown fields are ignored. */
export interface ServerChainLink {
  seqno?: number;
  prev?: string | null;
  sig?: string;
  payload_json?: string;
  kid?: string;
  sig_version?: number;
  /** A stubbed v2 link: the base64 outer link only. */
  s2?: string;
  sig_id?: string;
  payload_hash?: string;
  ctime?: number;
  [other: string]: unknown;
}

/** A link after import. */
export interface ImportedLink {
  seqno: number;
  /** Hex link ID of the previous link, or null. */
  prev: string | null;
  /** Hex link ID: SHA-256 of the payload JSON (v1) or of the outer link (v2). */
  id: string;
  sigVersion: 1 | 2;
  stubbed: boolean;
  /** The outer link (v2 only). */
  outer?: OuterLink;
  /** The signed bytes of the outer link (unstubbed v2 only): the NaCl packet's payload, or the
   * literal data of the PGP message. The link ID hashes them; the signature must cover them. */
  outerBytes?: Uint8Array;
  /** The v2 type code (from the outer link, or derived from the inner type for v1). */
  typeCode?: number;
  /** Only on unstubbed links: */
  payloadJson?: string;
  /** UTF-8 of {@link payloadJson}, made once (for v1 NaCl links normally the packet's own
   * payload array): hashed for the link ID (v1) or the outer link's `curr` (v2), and compared
   * to the signed bytes (v1). */
  payloadBytes?: Uint8Array;
  payload?: JsonObject;
  body?: JsonObject;
  type?: string;
  /** True for a type this verifier does not know but that is marked ignore_if_unsupported. */
  unsupported?: boolean;
  /** The signing KID the server named (`kid`), falling back to the packet's own key. */
  signingKid?: KidHex;
  /** `body.key.eldest_kid`, or `body.key.kid` when absent (Keybase's `ToEldestKID`). */
  eldestKid?: KidHex;
  ctime?: number;
  sig?: string;
  isPgp?: boolean;
  packet?: SignaturePacket;
  /** 66-hex sig ID computed from the signature bytes. */
  sigId?: string;
  /** Whether the payload declares a high skip, and its value. */
  highSkip?: { seqno: number; hash: string | null };
  /** Whether the link revokes something. */
  hasRevocations?: boolean;
  ignoreIfUnsupported?: boolean;
  seqType?: number;
}

/** Reads a nested member of a JSON object. */
export function jget(v: JsonValue | undefined, ...path: string[]): JsonValue | undefined {
  let cur = v;
  for (const p of path) {
    if (!isJsonObject(cur) || !Object.hasOwn(cur, p)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** Reads a nested string member, or undefined. */
export function jstr(v: JsonValue | undefined, ...path: string[]): string | undefined {
  const x = jget(v, ...path);
  return typeof x === 'string' ? x : undefined;
}

function jint(v: JsonValue | undefined, ...path: string[]): number | undefined {
  const x = jget(v, ...path);
  return typeof x === 'number' && Number.isSafeInteger(x) ? x : undefined;
}

/** Whether a link body revokes keys or sigs (spec §3.2, `revoke`). */
export function bodyHasRevocations(body: JsonObject): boolean {
  const r = body.revoke;
  if (!isJsonObject(r)) return false;
  const nonEmpty = (x: JsonValue | undefined): boolean =>
    typeof x === 'string' ? x !== '' : Array.isArray(x) && x.length > 0;
  return nonEmpty(r.kids) || nonEmpty(r.kid) || nonEmpty(r.sig_ids) || nonEmpty(r.sig_id);
}

/** Options for {@link importChainLink}. */
export interface ImportOptions {
  /** Which type table applies: user links or team links. */
  chain: 'user' | 'team';
  /** Sig ID suffix (user `0f`, team `22`). */
  sigIdSuffix?: string;
  /** Type names this verifier understands; other types need `ignore_if_unsupported`. */
  supportedTypes: ReadonlySet<string>;
}

/**
 * Reads what a PGP-signed link signs, when the link may be a v2 link: its outer link, which the
 * import needs (for the link ID and the outer/inner checks) before any key is known. OpenPGP
 * messages are read asynchronously, so this runs before {@link importChainLink}, which takes the
 * result. Returns `undefined`, without a promise, for any other link (NaCl-signed, stubbed, or
 * declared v1).
 *
 * @throws IdentityError `IDENTITY_BAD_CHAIN_LINK` (through the promise) when the PGP message is
 *   unreadable.
 */
export function readPgpSignedOuterLink(raw: ServerChainLink): Promise<Uint8Array> | undefined {
  if (typeof (raw as unknown) !== 'object' || (raw as unknown) === null) return undefined;
  const sig = raw.sig;
  if (typeof sig !== 'string' || raw.sig_version === 1 || !isArmoredPgpKey(sig)) return undefined;
  return readPgpSignedData(sig).catch((e: unknown) => {
    const seqno = typeof raw.seqno === 'number' ? { seqno: raw.seqno } : {};
    throw fail(
      'IDENTITY_BAD_CHAIN_LINK',
      'malformed chain link: its pgp signature is not a readable signed message',
      seqno,
      e,
    );
  });
}

/**
 * Imports one server link: decodes it, computes its link ID and sig ID, and checks the v2
 * outer/inner agreement (spec §3.5). Does not verify the signature. A PGP-signed v2 link needs
 * `pgpSignedData`, what its PGP message signs (from {@link readPgpSignedOuterLink}): the outer
 * link, checked like a NaCl packet's payload (Keybase reads both through one path).
 *
 * @throws IdentityError `IDENTITY_BAD_CHAIN_LINK` for a malformed link or an unsupported user
 *   link type without `ignore_if_unsupported` (`IDENTITY_UNSUPPORTED` for a team link); `IDENTITY_CHAIN_LINK_STUBBED_UNSUPPORTED` for a stub of an
 *   unknown type without it; `IDENTITY_VERIFY_FAILED` when the signed outer link disagrees with
 *   the inner payload's hash, seqno or prev; `IDENTITY_SIGCHAIN_V2_MISMATCHED_FIELD` when it
 *   disagrees on type, seq_type, ignore_if_unsupported or high_skip.
 */
export function importChainLink(
  backend: CryptoBackend,
  raw: ServerChainLink,
  options: ImportOptions,
  pgpSignedData?: Uint8Array,
): ImportedLink {
  try {
    return importInner(backend, raw, options, pgpSignedData);
  } catch (e) {
    if (e instanceof IdentityError) {
      if (
        e.code === 'IDENTITY_MALFORMED' ||
        e.code === 'IDENTITY_BAD_PACKET' ||
        e.code === 'IDENTITY_NON_CANONICAL' ||
        e.code === 'IDENTITY_INVALID_ARGUMENT'
      )
        throw fail('IDENTITY_BAD_CHAIN_LINK', `malformed chain link: ${e.message}`, e.details, e);
      throw e;
    }
    throw fail('IDENTITY_BAD_CHAIN_LINK', 'malformed chain link', {}, e);
  }
}

function importInner(
  backend: CryptoBackend,
  raw: ServerChainLink,
  options: ImportOptions,
  pgpSignedData: Uint8Array | undefined,
): ImportedLink {
  if (typeof (raw as unknown) !== 'object' || (raw as unknown) === null)
    throw fail('IDENTITY_BAD_CHAIN_LINK', 'chain link is not an object');
  const suffix = options.sigIdSuffix ?? SIG_ID_SUFFIX.user;
  if (typeof raw.s2 === 'string' && raw.sig === undefined)
    return importStub(backend, raw.s2, options);
  if (typeof raw.sig !== 'string' || typeof raw.payload_json !== 'string')
    throw fail('IDENTITY_BAD_CHAIN_LINK', 'chain link lacks sig or payload_json');
  const payloadJson = raw.payload_json;
  const payload = parseJson(payloadJson);
  if (!isJsonObject(payload) || !isJsonObject(payload.body))
    throw fail('IDENTITY_BAD_CHAIN_LINK', 'chain link payload has no body');
  const body = payload.body;
  const type = jstr(body, 'type');
  const seqno = jint(payload, 'seqno');
  if (type === undefined || seqno === undefined || seqno < 1)
    throw fail('IDENTITY_BAD_CHAIN_LINK', 'chain link payload lacks type or seqno');
  const prevRaw = jget(payload, 'prev');
  if (!(
    prevRaw === null ||
    prevRaw === undefined ||
    (typeof prevRaw === 'string' && /^[0-9a-f]{64}$/.test(prevRaw))
  ))
    throw fail('IDENTITY_BAD_CHAIN_LINK', 'chain link prev is malformed', { seqno });
  const prev = typeof prevRaw === 'string' ? prevRaw : null;
  const hasRevocations = bodyHasRevocations(body);
  const ignoreIfUnsupported = jget(payload, 'ignore_if_unsupported') === true;
  const seqType = jint(payload, 'seq_type');
  const hsRaw = jget(payload, 'high_skip');
  let highSkip: ImportedLink['highSkip'];
  if (hsRaw !== undefined) {
    const hsSeqno = jint(hsRaw, 'seqno');
    const hsHash = jget(hsRaw, 'hash');
    if (hsSeqno === undefined || !(hsHash === null || typeof hsHash === 'string'))
      throw fail('IDENTITY_BAD_CHAIN_LINK', 'chain link high_skip is malformed', { seqno });
    highSkip = { seqno: hsSeqno, hash: hsHash };
  }
  const unsupported = !options.supportedTypes.has(type);
  // Team links: an unknown type is judged after the outer/inner agreement below, so a link whose
  // outer says "ignorable" and inner does not is a mismatch, not an unknown type.
  if (unsupported && !ignoreIfUnsupported && options.chain !== 'team')
    throw fail('IDENTITY_BAD_CHAIN_LINK', 'unsupported link type without ignore_if_unsupported', {
      seqno,
    });

  const sigVersion = raw.sig_version ?? jint(body, 'version') ?? 1;
  if (sigVersion !== 1 && sigVersion !== 2)
    throw fail('IDENTITY_BAD_CHAIN_LINK', 'unsupported sig version', { seqno });
  const isPgp = isArmoredPgpKey(raw.sig);
  let packet: SignaturePacket | undefined;
  let sigBytes: Uint8Array;
  if (isPgp) {
    // v2: the PGP message signs the outer link, read beforehand (it may be compressed).
    if (sigVersion === 2 && pgpSignedData === undefined)
      throw fail('IDENTITY_BAD_CHAIN_LINK', 'the outer link of a pgp-signed v2 link was not read', {
        seqno,
      });
    sigBytes = dearmorPgp(raw.sig);
  } else {
    packet = decodeSignaturePacket(backend, raw.sig);
    sigBytes = packet.bytes;
  }
  const payloadBytes = payloadUtf8(payloadJson, sigVersion === 1 ? packet?.payload : undefined);
  const signingKid = typeof raw.kid === 'string' && raw.kid !== '' ? raw.kid : packet?.kid;
  // Keybase's ToEldestKID: eldest_kid, else the payload's kid, else the signing kid (the
  // oldest links name no kid in their payload).
  const eldestKid = jstr(body, 'key', 'eldest_kid') ?? jstr(body, 'key', 'kid') ?? signingKid;
  const ctime = jint(payload, 'ctime');
  const sigId = toHex(backend.sha256(sigBytes)) + suffix;
  const codeFromInner = linkTypeCode(type, hasRevocations);
  const common = {
    seqno,
    prev,
    stubbed: false,
    payloadJson,
    payloadBytes,
    payload,
    body,
    type,
    unsupported,
    sig: raw.sig,
    isPgp,
    sigId,
    hasRevocations,
    ignoreIfUnsupported,
    ...(signingKid === undefined ? {} : { signingKid }),
    ...(eldestKid === undefined ? {} : { eldestKid }),
    ...(ctime === undefined ? {} : { ctime }),
    ...(packet === undefined ? {} : { packet }),
    ...(highSkip === undefined ? {} : { highSkip }),
    ...(seqType === undefined ? {} : { seqType }),
  };
  if (sigVersion === 1) {
    return {
      ...common,
      id: linkIdV1(backend, payloadBytes),
      sigVersion: 1,
      ...(codeFromInner === undefined ? {} : { typeCode: codeFromInner }),
    };
  }

  // Sig v2: the signed payload (a NaCl packet's, or a PGP message's literal data) is the outer
  // link; the link ID hashes it (spec §3.5).
  const outerBytes = packet?.payload ?? pgpSignedData!;
  const outer = decodeOuterLink(outerBytes);
  const id = linkIdV2(backend, outerBytes);
  const details = { seqno, linkId: id };
  if (!bytesEqual(outer.curr, backend.sha256(payloadBytes)))
    throw fail('IDENTITY_VERIFY_FAILED', 'outer link does not hash the inner payload', details);
  if (outer.seqno !== seqno)
    throw fail('IDENTITY_VERIFY_FAILED', 'outer and inner seqno differ', details);
  if ((outer.prev === null ? null : toHex(outer.prev)) !== prev)
    throw fail('IDENTITY_VERIFY_FAILED', 'outer and inner prev differ', details);
  if (jint(body, 'version') !== 2)
    throw fail(
      'IDENTITY_SIGCHAIN_V2_MISMATCHED_FIELD',
      'v2 link whose inner body version is not 2',
      { ...details, field: 'version' },
    );
  // An inner type unknown to saltbox cannot be compared to the outer code; on a team chain it
  // only must not contradict a known code (ignorability is compared below and judged last).
  const typeMismatch =
    codeFromInner !== undefined
      ? outer.linkType !== codeFromInner
      : options.chain === 'team'
        ? linkTypeNameFor(outer.linkType) !== undefined
        : !outer.ignoreIfUnsupported;
  if (typeMismatch)
    throw fail('IDENTITY_SIGCHAIN_V2_MISMATCHED_FIELD', 'outer and inner link types differ', {
      ...details,
      field: 'type',
    });
  if ((outer.seqType ?? 1) !== (seqType ?? 1) && outer.seqType !== undefined)
    throw fail('IDENTITY_SIGCHAIN_V2_MISMATCHED_FIELD', 'outer and inner seq_type differ', {
      ...details,
      field: 'seq_type',
    });
  if ((outer.ignoreIfUnsupported ?? false) !== ignoreIfUnsupported)
    throw fail(
      'IDENTITY_SIGCHAIN_V2_MISMATCHED_FIELD',
      'outer and inner ignore_if_unsupported differ',
      {
        ...details,
        field: 'ignore_if_unsupported',
      },
    );
  if (outer.highSkip !== undefined || highSkip !== undefined) {
    const o = outer.highSkip;
    const outerForm = o ? `${o.seqno}:${o.hash === null ? 'null' : toHex(o.hash)}` : 'absent';
    const innerForm = highSkip ? `${highSkip.seqno}:${highSkip.hash ?? 'null'}` : 'absent';
    if (outerForm !== innerForm)
      throw fail('IDENTITY_SIGCHAIN_V2_MISMATCHED_FIELD', 'outer and inner high_skip differ', {
        ...details,
        field: 'high_skip',
      });
  }
  if (unsupported && !ignoreIfUnsupported)
    throw fail('IDENTITY_UNSUPPORTED', 'unsupported link type without ignore_if_unsupported', {
      seqno,
    });
  return { ...common, id, sigVersion: 2, outer, outerBytes, typeCode: outer.linkType };
}

/** Refuses invalid UTF-8 and keeps a leading BOM, so equal text means equal bytes. */
const EXACT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The UTF-8 bytes of `payload_json`. A v1 NaCl packet carries the signed payload itself,
 * normally this very text: then its bytes are reused, so the link ID hashes them and the
 * signature check finds the same array, instead of encoding the text and comparing byte by byte.
 */
function payloadUtf8(json: string, signed: Uint8Array | undefined): Uint8Array {
  if (signed !== undefined) {
    try {
      if (EXACT_UTF8.decode(signed) === json) return signed;
    } catch {
      // Not UTF-8: the signature check will refuse the link.
    }
  }
  return utf8(json);
}

function importStub(backend: CryptoBackend, s2: string, options: ImportOptions): ImportedLink {
  const bytes = fromBase64(s2);
  const outer = decodeOuterLink(bytes);
  const known = options.chain === 'user' ? outer.linkType < 32 : outer.linkType >= 32;
  const name = linkTypeNameFor(outer.linkType);
  if (
    (!known || name === undefined || !options.supportedTypes.has(name)) &&
    !outer.ignoreIfUnsupported
  )
    throw fail('IDENTITY_CHAIN_LINK_STUBBED_UNSUPPORTED', 'stubbed link of an unsupported type', {
      seqno: outer.seqno,
    });
  return {
    seqno: outer.seqno,
    prev: outer.prev === null ? null : toHex(outer.prev),
    id: linkIdV2(backend, bytes),
    sigVersion: 2,
    stubbed: true,
    outer,
    typeCode: outer.linkType,
    ignoreIfUnsupported: outer.ignoreIfUnsupported ?? false,
    ...(outer.seqType === undefined ? {} : { seqType: outer.seqType }),
    ...(outer.highSkip === undefined
      ? {}
      : {
          highSkip: {
            seqno: outer.highSkip.seqno,
            hash: outer.highSkip.hash === null ? null : toHex(outer.highSkip.hash),
          },
        }),
  };
}
