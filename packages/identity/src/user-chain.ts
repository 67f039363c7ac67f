/**
 * The user sigchain verifier (spec §3.8): replays a user's links and yields the live sibkeys,
 * subkeys, per-user keys and devices of the current subchain.
 *
 * Deviations from Keybase's loader, all in the strict direction: every signature is verified
 * (Keybase skips links that change no keys, except the last), and the replay state can be
 * extended link by link ({@link extendUserChain}) so a client that cached a verified chain pays
 * only for new links. Merkle checks are the caller's: it passes the eldest KID it trusts.
 *
 * @packageDocumentation
 */
import { bytesEqual } from '@saltbox/saltpack/encoding';
import type { CryptoBackend } from '@saltbox/saltpack';
import { canonicalJson, isJsonObject, parseJson } from './canonical-json.js';
import type { JsonObject, JsonValue } from './canonical-json.js';
import {
  bodyHasRevocations,
  importChainLink,
  jget,
  jstr,
  readPgpSignedOuterLink,
} from './chain-link.js';
import type { ImportedLink, ServerChainLink } from './chain-link.js';
import { fail } from './errors.js';
import type { ChainErrorCode, IdentityError } from './errors.js';
import { isKid, KID_TYPE } from './ids.js';
import type { KidHex } from './ids.js';
import { hasKey } from './key-family.js';
import type { KeyFamily } from './key-family.js';
import { isStubbableUserLink, USER_LINK_TYPES } from './link-types.js';
import { decodeSignaturePacket, verifySignaturePacket } from './packets.js';
import type { SignaturePacket } from './packets.js';
import { isArmoredPgpKey, verifyPgpMessage } from './pgp.js';
import type { PgpKeyBundle } from './pgp.js';
import { asciiLower } from './ids.js';

/** Rejects invalid UTF-8 in signed payloads; one decoder is shared instead of one per link. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Link types whose key effects this verifier applies; others replay as plain signed links. */
const SUPPORTED_USER_TYPES: ReadonlySet<string> = new Set([
  ...Object.keys(USER_LINK_TYPES),
  'update_passphrase_hash',
  'update_settings',
  'auth',
]);

/** Links with these `(uid, seqno, link ID)` start a subchain although they are not `eldest`
 * links: Keybase's six hard-coded legacy resets (keyed by link ID since NCC-KB2018-003, so a
 * server cannot relabel other links). */
const HARDCODED_RESETS: ReadonlyMap<string, { uid: string; seqno: number }> = new Map([
  [
    'f6dae096194690cfee8974b0e10a99ecac2cc8e4f9383516a1f626f614e566e0',
    { uid: '2d5c41137d7d9108dbdaa2160ba7e200', seqno: 11 },
  ],
  [
    '8d7c1a0c99186f972afc5d3624aca2f88ddc3a5dbf84e826ef0b520c31a78aa3',
    { uid: 'f1c263462dd526695c458af924977719', seqno: 8 },
  ],
  [
    'b489635b4243ef80836a0c4515ed7e30e146f0041704931df280c72e28e9d0fe',
    { uid: '8dbf0f1617e285befa93d3da54b68419', seqno: 8 },
  ],
  [
    'bc898feeb7a2717e23dc1f457dc18902fb9157bf86374b2a0b1aaba4f2831bee',
    { uid: '372c1cbd72e4f851a74d232478a72319', seqno: 2 },
  ],
  [
    '91cb1b2c3c76d2ad54be47b034a3f544da9ea8405f6eb68a929ef5fb98914436',
    { uid: '12e124d5d1ff6179f3aab88100b93d19', seqno: 5 },
  ],
  [
    'af381fd3a43e22edc2ac1f271e3270b92038e4a820de335d179d34eb780f8796',
    { uid: 'a07089770463db10994c8727177eef19', seqno: 12 },
  ],
]);

/**
 * Links Keybase's loader ignores (its `badChainLinks`, keyed by link ID and bound to a UID and
 * seqno): akalin 22–25 (added by a development client in 2015), jamgregory 17–19 (a corrupted
 * PGP key), dens 8 (a revoked PGP key), ajar 98 (a PGP update without a valid cross-sig). Chains
 * carrying them verify only if they are skipped, exactly as Keybase does.
 */
const IGNORED_LINKS: ReadonlyMap<string, { uid: string; seqno: number }> = new Map([
  [
    '694ed7166cee72449964e97bcd4be58243877718425c4dc655d2d80832bd5cdf',
    { uid: 'ebbe1d99410ab70123262cf8dfc87900', seqno: 22 },
  ],
  [
    '27bc88059a768a82b1a21dcc1c46f7fc61c2d2b80c445eb2d18fed3a5bb42e49',
    { uid: 'ebbe1d99410ab70123262cf8dfc87900', seqno: 23 },
  ],
  [
    '12b594e44d9289349283f8b14a6f83ad144a17a3025a758e17d4eca70fbdc923',
    { uid: 'ebbe1d99410ab70123262cf8dfc87900', seqno: 24 },
  ],
  [
    'ce162011e380c954de15f30db28f8b7b358866d2721143d9d0d4424166ce5ed8',
    { uid: 'ebbe1d99410ab70123262cf8dfc87900', seqno: 25 },
  ],
  [
    'bf914e6d4cf9b4eb7c88c2a8a6f5650e969ade9a97cf1605c1eb8cae97d5d278',
    { uid: 'e8767e19a3ed9c7350847b7b040de319', seqno: 17 },
  ],
  [
    'e56f492c1b519905d04ce51368e87794963906dd6dacb63fbeab7ad23596af29',
    { uid: 'e8767e19a3ed9c7350847b7b040de319', seqno: 18 },
  ],
  [
    '51e46dad8b71a1a7204368f9cb4931257a32eed92cf3b97a08190c12912739dd',
    { uid: 'e8767e19a3ed9c7350847b7b040de319', seqno: 19 },
  ],
  [
    '6d527d776cb28ea980c6e0474286fe745377e116fd5d07b44928d165ae4b7c97',
    { uid: 'ca9e948f6f7a4a19e02058ad626f6c19', seqno: 8 },
  ],
  [
    '9b3b3a3d973449ca3238bf59b7407186dc80242b917c158cba5e374595257dd0',
    { uid: 'd1d94b3131e493dfee738802843f7719', seqno: 98 },
  ],
]);

function isIgnoredLink(link: ImportedLink, uid: string): boolean {
  const entry = IGNORED_LINKS.get(link.id);
  if (entry === undefined) return false;
  // A table hit with another UID or seqno is a server relabelling a link (NCC-KB2018-003).
  if (entry.uid !== uid || entry.seqno !== link.seqno)
    throw err('IDENTITY_BAD_CHAIN_LINK', 'ignored-link table entry used for another link', link);
  return true;
}

/** A key delegated in the current subchain. */
export interface KeyInfo {
  kid: KidHex;
  /** `sibkey` (the eldest is a sibkey too) or `subkey`. */
  role: 'sibkey' | 'subkey';
  isEldest: boolean;
  status: 'live' | 'revoked';
  /** The sibkey that delegated it (absent for the eldest). */
  parentKid?: KidHex;
  /** Sig ID of the delegating link (absent for an eldest key inserted implicitly). */
  delegatedBy?: string;
  /** Seqno of the delegating link (0 for a server-inserted eldest key). */
  seqno: number;
  /**
   * For a revoked key: the signed-log root (`merkle_root` seqno and `hash_meta`) the revoking
   * link was made against, when it names one. Links of other chains signed by this key stand
   * when the log shows them before this root (spec §7).
   */
  revokedAt?: { seqno: number; hashMeta: string };
}

/** A per-user key generation announced by a `per_user_key` link. */
export interface PerUserKeyInfo {
  generation: number;
  seqno: number;
  signingKid: KidHex;
  encryptionKid: KidHex;
}

/** A device as the chain describes it. */
export interface DeviceInfo {
  id: string;
  name?: string;
  type?: string;
  status: 'active' | 'revoked';
  /** KIDs the chain has bound to the device. */
  kids: KidHex[];
}

/** The verified state of a user's current subchain. */
export interface UserChainState {
  uid: string;
  username: string;
  /** The eldest KID of the current subchain. */
  eldestKid: KidHex;
  /** Seqno of the first link of the current subchain (0 when it is empty). */
  eldestSeqno: number;
  /** The last link of the whole chain: continuity for {@link extendUserChain}. */
  tail: { seqno: number; linkId: string } | null;
  /** Keys by KID (live and revoked). */
  keys: Map<KidHex, KeyInfo>;
  /** Per-user keys by generation. */
  perUserKeys: Map<number, PerUserKeyInfo>;
  /** Devices by device ID. */
  devices: Map<string, DeviceInfo>;
  /** Active PGP full hash per PGP KID (set by `pgp_update` and delegations). */
  activePgpHash: Map<KidHex, string>;
  /** Sig IDs (64-hex base) of the current subchain's unstubbed links, in order. */
  linkSigIds: string[];
  /** Sig ID bases revoked by `revoke.sig_ids`. */
  revokedSigIds: Set<string>;
  /** The expected next high skip (spec §3.8 item 2). */
  highSkip: { seqno: number; hash: string | null };
}

/** The result of verifying a whole chain. */
export interface UserChainResult {
  state: UserChainState;
  /** Live sibkeys (eldest included), in delegation order. */
  sibkeys: KidHex[];
  /** Live subkeys, in delegation order. */
  subkeys: KidHex[];
  /** Unrevoked, unstubbed links of the current subchain. */
  linkCount: number;
  /** Earlier subchains that replayed cleanly, oldest first. */
  previousSubchains: {
    eldestSeqno: number;
    eldestKid: KidHex;
    sibkeys: KidHex[];
    subkeys: KidHex[];
  }[];
  /** Highest-generation per-user key. */
  latestPerUserKey?: PerUserKeyInfo;
}

/** Input of {@link verifyUserChain}. */
export interface UserChainInput {
  uid: string;
  username: string;
  /** The links as the server sent them, oldest first, starting at seqno 1. */
  links: readonly ServerChainLink[];
  /** The user's key bundles (see `buildKeyFamily`). */
  keyFamily: KeyFamily;
  /**
   * The eldest KID the caller trusts (from the Merkle leaf or a pin). When omitted, the last
   * link's eldest is taken, which trusts the server for resets.
   */
  eldestKid?: KidHex;
}

function err(
  code: ChainErrorCode,
  message: string,
  link?: ImportedLink,
  extra: Record<string, string> = {},
): IdentityError {
  return fail(code, message, { ...(link ? { seqno: link.seqno, linkId: link.id } : {}), ...extra });
}

const USER_OPTS = { chain: 'user' as const, supportedTypes: SUPPORTED_USER_TYPES };

/**
 * Imports and structurally checks a run of links (spec §3.8 item 2), newest to oldest as
 * Keybase does, so the error reported is the one nearest the tail.
 */
function checkStructure(
  links: readonly ImportedLink[],
  uid: string,
  username: string,
  before: { seqno: number; linkId: string } | null,
): void {
  for (let i = links.length - 1; i >= 0; i--) {
    const cur = links[i]!;
    const prev = i > 0 ? links[i - 1]! : before;
    if (prev !== null) {
      const prevId = 'id' in prev ? prev.id : prev.linkId;
      if (cur.prev !== prevId)
        throw err('IDENTITY_WRONG_PREV', 'prev does not match the previous link', cur);
      if (cur.seqno !== prev.seqno + 1)
        throw err('IDENTITY_WRONG_SEQNO', 'seqno is not the previous seqno + 1', cur);
    }
    if (!cur.stubbed) {
      if (jstr(cur.body, 'key', 'uid') !== uid)
        throw err('IDENTITY_WRONG_UID', 'link is for another uid', cur);
      const name = jstr(cur.body, 'key', 'username');
      if (name === undefined || asciiLower(name) !== asciiLower(username))
        throw err('IDENTITY_WRONG_USERNAME', 'link is for another username', cur);
    }
  }
  const first = links[0];
  if (before === null && first !== undefined) {
    if (first.seqno !== 1)
      throw err('IDENTITY_WRONG_SEQNO', 'chain does not start at seqno 1', first);
    if (first.prev !== null) throw err('IDENTITY_WRONG_PREV', 'the first link has a prev', first);
  }
}

/** Whether a link is "high" for high-skip purposes (spec §3.7). */
function isHigh(l: ImportedLink): boolean {
  if (l.seqno === 1) return true;
  const c = l.typeCode;
  if (
    c === USER_LINK_TYPES.eldest ||
    c === USER_LINK_TYPES.revoke ||
    c === USER_LINK_TYPES.sibkey ||
    c === USER_LINK_TYPES.pgp_update
  )
    return true;
  if (c === 9 || c === 10 || c === 17) return true;
  return l.hasRevocations === true;
}

function checkHighSkips(
  links: readonly ImportedLink[],
  start: { seqno: number; hash: string | null },
): { seqno: number; hash: string | null } {
  let expected = start;
  for (const l of links) {
    if (
      l.highSkip !== undefined &&
      (l.highSkip.seqno !== expected.seqno || l.highSkip.hash !== expected.hash)
    )
      throw err('IDENTITY_BAD_CHAIN_LINK', 'high_skip does not match the chain', l);
    if (isHigh(l)) expected = { seqno: l.seqno, hash: l.id };
  }
  return expected;
}

function isSubchainStart(cur: ImportedLink, prev: ImportedLink, uid: string): boolean {
  if (cur.seqno === 1) return true;
  if (cur.stubbed ? cur.typeCode === USER_LINK_TYPES.eldest : cur.type === 'eldest') return true;
  // Eldest changes and hard-coded resets predate sig v2, whose stubs hide eldest_kid.
  if (cur.sigVersion > 1 || prev.sigVersion > 1) return false;
  if (cur.eldestKid !== prev.eldestKid) return true;
  const reset = HARDCODED_RESETS.get(cur.id);
  return reset?.uid === uid && reset.seqno === cur.seqno;
}

/** The rightmost subchain whose eldest is `eldest` (empty when the account was just reset). */
function cropToSubchain(
  links: readonly ImportedLink[],
  eldest: KidHex,
  uid: string,
): ImportedLink[] {
  if (links.length === 0) return [];
  const last = links[links.length - 1]!;
  if (last.stubbed) throw err('IDENTITY_BAD_CHAIN_LINK', 'the last link is stubbed', last);
  if (last.eldestKid !== eldest) return [];
  for (let i = links.length - 1; i > 0; i--)
    if (isSubchainStart(links[i]!, links[i - 1]!, uid)) return links.slice(i);
  return links.slice();
}

function newState(
  uid: string,
  username: string,
  eldestKid: KidHex,
  eldestSeqno: number,
): UserChainState {
  return {
    uid,
    username,
    eldestKid,
    eldestSeqno,
    tail: null,
    keys: new Map(),
    perUserKeys: new Map(),
    devices: new Map(),
    activePgpHash: new Map(),
    linkSigIds: [],
    revokedSigIds: new Set(),
    highSkip: { seqno: 0, hash: null },
  };
}

/** The collections of a state, which {@link StateWriter} copies on first write. */
type Collections = Pick<
  UserChainState,
  'keys' | 'perUserKeys' | 'devices' | 'activePgpHash' | 'linkSigIds' | 'revokedSigIds'
>;

const COLLECTIONS: readonly (keyof Collections)[] = [
  'keys',
  'perUserKeys',
  'devices',
  'activePgpHash',
  'linkSigIds',
  'revokedSigIds',
];

/**
 * Write access to a state being replayed. {@link extendUserChain} must leave the caller's state
 * as it was, and copying all of it per call (keys, devices, sig IDs: O(chain length)) was most
 * of the cost of extending a cached state by one link. So a collection is copied only when a
 * link first writes to it, and map entries (`KeyInfo`, `DeviceInfo`) are never changed in place
 * but replaced, which lets the copies share them.
 */
class StateWriter {
  readonly state: UserChainState;
  /** Collections still shared with the state being extended. */
  private readonly shared: Set<keyof Collections>;

  constructor(state: UserChainState, sharesCollections: boolean) {
    this.state = state;
    this.shared = new Set(sharesCollections ? COLLECTIONS : []);
  }

  keys(): Map<KidHex, KeyInfo> {
    if (this.shared.delete('keys')) this.state.keys = new Map(this.state.keys);
    return this.state.keys;
  }

  perUserKeys(): Map<number, PerUserKeyInfo> {
    if (this.shared.delete('perUserKeys')) this.state.perUserKeys = new Map(this.state.perUserKeys);
    return this.state.perUserKeys;
  }

  devices(): Map<string, DeviceInfo> {
    if (this.shared.delete('devices')) this.state.devices = new Map(this.state.devices);
    return this.state.devices;
  }

  activePgpHash(): Map<KidHex, string> {
    if (this.shared.delete('activePgpHash'))
      this.state.activePgpHash = new Map(this.state.activePgpHash);
    return this.state.activePgpHash;
  }

  linkSigIds(): string[] {
    if (this.shared.delete('linkSigIds')) this.state.linkSigIds = this.state.linkSigIds.slice();
    return this.state.linkSigIds;
  }

  revokedSigIds(): Set<string> {
    if (this.shared.delete('revokedSigIds'))
      this.state.revokedSigIds = new Set(this.state.revokedSigIds);
    return this.state.revokedSigIds;
  }

  /** Marks a key revoked by replacing its entry (entries may be shared). */
  revokeKey(info: KeyInfo, at: KeyInfo['revokedAt']): void {
    if (info.status !== 'revoked')
      this.keys().set(info.kid, {
        ...info,
        status: 'revoked',
        ...(at === undefined ? {} : { revokedAt: at }),
      });
  }
}

/** The `merkle_root` a link body names (spec §3.1), when well formed. */
function linkMerkleRootRef(body: JsonValue | undefined): KeyInfo['revokedAt'] {
  const seqno = jget(body, 'merkle_root', 'seqno');
  const hashMeta = jstr(body, 'merkle_root', 'hash_meta');
  if (typeof seqno !== 'number' || !Number.isSafeInteger(seqno) || seqno < 1) return undefined;
  if (hashMeta === undefined || !/^[0-9a-f]{64}$/.test(hashMeta)) return undefined;
  return { seqno, hashMeta };
}

function pgpVersions(
  family: KeyFamily,
  state: UserChainState,
  kid: KidHex,
  link?: ImportedLink,
): readonly PgpKeyBundle[] {
  const all = family.pgp.get(kid);
  if (all === undefined)
    throw err('IDENTITY_NONEXISTENT_KID', 'pgp key is not among the user keys', link, { kid });
  const wanted = (link && jstr(link.body, 'key', 'full_hash')) ?? state.activePgpHash.get(kid);
  if (wanted === undefined) return all;
  const match = all.filter((k) => k.fullHash === wanted);
  if (match.length === 0)
    throw err(
      'IDENTITY_NO_KEY_WITH_THIS_HASH',
      'no version of the pgp key has this full hash',
      link,
      { kid },
    );
  return match;
}

/** Verifies a signature made by `kid` over `expected` bytes; returns nothing or throws `code`. */
async function verifyBy(
  backend: CryptoBackend,
  family: KeyFamily,
  state: UserChainState,
  kid: KidHex,
  sig: string,
  link: ImportedLink,
  code: ChainErrorCode,
  pgpLink?: ImportedLink,
  decoded?: SignaturePacket,
): Promise<Uint8Array> {
  if (!hasKey(family, kid))
    throw err('IDENTITY_NONEXISTENT_KID', 'key is not among the user keys', link, { kid });
  if (isArmoredPgpKey(sig) || family.pgp.has(kid)) {
    const versions = pgpVersions(family, state, kid, pgpLink);
    try {
      return await verifyPgpMessage(sig, versions);
    } catch {
      throw err(code, 'pgp signature did not verify', link, { kid });
    }
  }
  // The link's own packet was decoded (and its canonical form and hash checked) at import.
  let packet = decoded;
  if (packet === undefined) {
    try {
      packet = decodeSignaturePacket(backend, sig);
    } catch {
      throw err(code, 'signature packet is malformed', link, { kid });
    }
  }
  if (packet.kid !== kid || packet.version !== 1 || !verifySignaturePacket(backend, packet))
    throw err(code, 'signature did not verify', link, { kid });
  return packet.payload;
}

async function verifyLinkSignature(
  backend: CryptoBackend,
  family: KeyFamily,
  state: UserChainState,
  link: ImportedLink,
): Promise<void> {
  const kid = link.signingKid;
  if (kid === undefined) throw err('IDENTITY_BAD_CHAIN_LINK', 'link names no signing key', link);
  const bodyKid = jstr(link.body, 'key', 'kid');
  if (bodyKid !== undefined && bodyKid !== kid)
    throw err('IDENTITY_KID_MISMATCH', 'payload kid differs from the signing kid', link, { kid });
  const fp = jstr(link.body, 'key', 'fingerprint');
  if (fp !== undefined && family.pgp.has(kid)) {
    const versions = family.pgp.get(kid)!;
    if (!versions.some((v) => v.fingerprint === fp.toLowerCase()))
      throw err(
        'IDENTITY_FINGERPRINT_MISMATCH',
        'payload fingerprint does not match the signing key',
        link,
        { kid },
      );
  }
  if (!hasKey(family, kid))
    throw err('IDENTITY_NONEXISTENT_KID', 'signing key is not among the user keys', link, { kid });
  const info = state.keys.get(kid);
  if (info?.role !== 'sibkey' || info.status !== 'live')
    throw err('IDENTITY_INVALID_SIBKEY', 'signing key is not a live sibkey', link, { kid });
  const signed = await verifyBy(
    backend,
    family,
    state,
    kid,
    link.sig!,
    link,
    'IDENTITY_VERIFY_FAILED',
    link,
    link.packet,
  );
  // v1 signs the inner JSON; v2 signs the outer link, already tied to the inner by hash.
  const expected = link.sigVersion === 1 ? link.payloadBytes! : link.outerBytes!;
  // For v1 NaCl links `expected` is normally the signed array itself (see `payloadBytes`).
  if (signed === expected || bytesEqual(signed, expected)) return;
  // Keybase keeps a table of old PGP-signed links whose server copy lost the signed text's
  // trailing newline (spec §3.4). The JSON is the same either way, so any PGP-signed v1 link
  // may differ from its signed text by exactly that newline.
  const lostNewline =
    link.isPgp === true &&
    link.sigVersion === 1 &&
    signed.length === expected.length + 1 &&
    signed[signed.length - 1] === 0x0a &&
    bytesEqual(signed.subarray(0, expected.length), expected);
  if (!lostNewline)
    throw err('IDENTITY_VERIFY_FAILED', 'signed payload differs from the link', link);
}

/** Reverse-sig check (spec §3.6): the new key signed this very payload with the field null. */
async function verifyReverseSig(
  backend: CryptoBackend,
  family: KeyFamily,
  state: UserChainState,
  link: ImportedLink,
  section: string,
  newKid: KidHex,
  code: ChainErrorCode,
): Promise<void> {
  const rs = jget(link.body, section, 'reverse_sig');
  if (isJsonObject(rs) && section === 'sibkey')
    return verifyLegacyReverseSig(backend, family, state, link, rs, newKid, code);
  if (typeof rs !== 'string' || rs === '') throw err(code, 'reverse signature is missing', link);
  if (!hasKey(family, newKid))
    throw err('IDENTITY_NONEXISTENT_KID', 'delegated key is not among the user keys', link, {
      kid: newKid,
    });
  const signed = await verifyBy(backend, family, state, newKid, rs, link, code);
  let text: string;
  try {
    text = STRICT_UTF8.decode(signed);
  } catch {
    throw err(code, 'reverse signature payload is not utf-8', link);
  }
  // The payload with the reverse sig nulled, copied only along that path: the parsed payload
  // stays the link's, and parsing the payload JSON a second time per delegation is avoided.
  // (Spreading copies own data properties, a `__proto__` key included.)
  const body = link.body!;
  const ours: JsonObject = {
    ...link.payload!,
    body: { ...body, [section]: { ...(body[section] as JsonObject), reverse_sig: null } },
  };
  const expected = canonicalJson(ours);
  // Signers sign the canonical form, so the common case is a plain string match; anything
  // else is parsed and canonicalised before it is compared (spec §3.6).
  if (text === expected) return;
  let theirs: JsonValue;
  try {
    theirs = parseJson(text);
  } catch {
    throw err(code, 'reverse signature payload is not json', link);
  }
  if (canonicalJson(theirs) !== expected)
    throw err(code, 'reverse signature covers a different payload', link);
}

/**
 * The 2015 reverse-sig form `{type: "kb", sig}`: a packet by the new key over
 * `{ctime, delegated_by, uid, username}`. Keybase's loader skips it; saltbox checks that the new
 * key signed a delegation by this signer for this user.
 */
async function verifyLegacyReverseSig(
  backend: CryptoBackend,
  family: KeyFamily,
  state: UserChainState,
  link: ImportedLink,
  rs: JsonObject,
  newKid: KidHex,
  code: ChainErrorCode,
): Promise<void> {
  if (rs.type !== 'kb' || typeof rs.sig !== 'string')
    throw err(code, 'legacy reverse signature is malformed', link);
  const signed = await verifyBy(backend, family, state, newKid, rs.sig, link, code);
  let claim: JsonValue;
  try {
    claim = parseJson(STRICT_UTF8.decode(signed));
  } catch {
    throw err(code, 'legacy reverse signature payload is not json', link);
  }
  if (
    jstr(claim, 'delegated_by') !== link.signingKid ||
    jstr(claim, 'uid') !== state.uid ||
    asciiLower(jstr(claim, 'username') ?? '') !== asciiLower(state.username)
  )
    throw err(code, 'legacy reverse signature names another delegation', link);
}

function sigBase(sigId: string): string {
  return sigId.slice(0, 64);
}

function stringList(v: JsonValue | undefined): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

async function applyLink(
  backend: CryptoBackend,
  family: KeyFamily,
  w: StateWriter,
  link: ImportedLink,
  first: boolean,
): Promise<void> {
  const state = w.state;
  state.tail = { seqno: link.seqno, linkId: link.id };
  if (isIgnoredLink(link, state.uid)) return;
  if (link.stubbed) {
    if (first)
      throw err(
        'IDENTITY_SIGCHAIN_V2_STUBBED_FIRST_LINK',
        'the first link of a subchain is stubbed',
        link,
      );
    if (!isStubbableUserLink(link.typeCode!, link.ignoreIfUnsupported === true))
      throw err(
        'IDENTITY_SIGCHAIN_V2_STUBBED_SIGNATURE_NEEDED',
        'this link type cannot be stubbed',
        link,
      );
    return;
  }
  const body = link.body!;
  const kid = link.signingKid;
  if (first) {
    // The subchain's first signer becomes the eldest sibkey (spec §3.8 item 4).
    if (kid === undefined || !hasKey(family, kid))
      throw err(
        'IDENTITY_NONEXISTENT_KID',
        'eldest key is not among the user keys',
        link,
        kid ? { kid } : {},
      );
    w.keys().set(kid, {
      kid,
      role: 'sibkey',
      isEldest: true,
      status: 'live',
      seqno: link.seqno,
      ...(link.type === 'eldest' ? { delegatedBy: sigBase(link.sigId!) } : {}),
    });
    const fh = jstr(body, 'key', 'full_hash');
    if (fh !== undefined && family.pgp.has(kid)) w.activePgpHash().set(kid, fh);
  }
  if (link.type === 'pgp_update') {
    const pkid = jstr(body, 'pgp_update', 'kid');
    const fh = jstr(body, 'pgp_update', 'full_hash');
    if (pkid === undefined || fh === undefined)
      throw err('IDENTITY_BAD_CHAIN_LINK', 'pgp_update lacks kid or full_hash', link);
    const info = state.keys.get(pkid);
    if (info?.role !== 'sibkey' || info.status !== 'live')
      throw err('IDENTITY_INVALID_SIBKEY', 'pgp_update of a key that is not a live sibkey', link, {
        kid: pkid,
      });
    w.activePgpHash().set(pkid, fh);
  }
  await verifyLinkSignature(backend, family, state, link);

  if (link.type === 'sibkey' || link.type === 'subkey') {
    const section = link.type;
    const newKid = jstr(body, section, 'kid');
    if (newKid === undefined || !isKid(newKid))
      throw err('IDENTITY_BAD_CHAIN_LINK', `${section} link lacks a kid`, link);
    if (!hasKey(family, newKid))
      throw err('IDENTITY_NONEXISTENT_KID', 'delegated key is not among the user keys', link, {
        kid: newKid,
      });
    const versions = family.pgp.get(newKid);
    // "Any PGP fingerprint in the link must match the key" (spec §3.8): the delegated key's
    // fingerprint and key ID, when the section names them, as well as the signer's.
    const fp = jstr(body, section, 'fingerprint');
    const keyId = jstr(body, section, 'key_id');
    if (
      versions !== undefined &&
      ((fp !== undefined && !versions.some((v) => v.fingerprint === fp.toLowerCase())) ||
        (keyId !== undefined && !versions.some((v) => v.keyId === keyId.toLowerCase())))
    )
      throw err(
        'IDENTITY_FINGERPRINT_MISMATCH',
        'the delegated pgp key has another fingerprint or key id',
        link,
        { kid: newKid },
      );
    const fh = jstr(body, section, 'full_hash');
    if (fh !== undefined && family.pgp.has(newKid)) {
      if (!family.pgp.get(newKid)!.some((v) => v.fullHash === fh))
        throw err(
          'IDENTITY_NO_KEY_WITH_THIS_HASH',
          'no version of the delegated pgp key has this full hash',
          link,
          { kid: newKid },
        );
      w.activePgpHash().set(newKid, fh);
    }
    if (section === 'sibkey')
      await verifyReverseSig(
        backend,
        family,
        state,
        link,
        'sibkey',
        newKid,
        'IDENTITY_REVERSE_SIG_VERIFY_FAILED',
      );
    const parent = section === 'subkey' ? (jstr(body, 'subkey', 'parent_kid') ?? kid) : kid;
    const prior = state.keys.get(newKid);
    w.keys().set(newKid, {
      kid: newKid,
      role: section,
      isEldest: prior?.isEldest ?? false,
      status: 'live',
      seqno: link.seqno,
      delegatedBy: sigBase(link.sigId!),
      ...(parent === undefined ? {} : { parentKid: parent }),
    });
  }
  if (link.type === 'per_user_key') {
    const gen = jget(body, 'per_user_key', 'generation');
    const sk = jstr(body, 'per_user_key', 'signing_kid');
    const ek = jstr(body, 'per_user_key', 'encryption_kid');
    if (
      typeof gen !== 'number' ||
      !Number.isSafeInteger(gen) ||
      gen < 1 ||
      !isKid(sk, KID_TYPE.ed25519) ||
      !isKid(ek, KID_TYPE.curve25519)
    )
      throw err('IDENTITY_BAD_CHAIN_LINK', 'per_user_key section is malformed', link);
    await verifyReverseSig(
      backend,
      { ...family, nacl: new Set([...family.nacl, sk]) },
      state,
      link,
      'per_user_key',
      sk,
      'IDENTITY_WRONG_PER_USER_KEY_REVERSE_SIG',
    );
    const latest = Math.max(0, ...state.perUserKeys.keys());
    if (gen !== latest + 1)
      throw err('IDENTITY_BAD_CHAIN_LINK', 'per_user_key generation is not the next one', link);
    w.perUserKeys().set(gen, {
      generation: gen,
      seqno: link.seqno,
      signingKid: sk,
      encryptionKid: ek,
    });
  }

  // Revocations come after the signature check, so a link may revoke its own key.
  if (bodyHasRevocations(body)) {
    const at = linkMerkleRootRef(body);
    for (const rk of [
      ...stringList(jget(body, 'revoke', 'kids')),
      ...stringList(jget(body, 'revoke', 'kid')),
    ]) {
      const info = state.keys.get(rk);
      if (info) w.revokeKey(info, at);
    }
    for (const rs of [
      ...stringList(jget(body, 'revoke', 'sig_ids')),
      ...stringList(jget(body, 'revoke', 'sig_id')),
    ]) {
      const base = sigBase(rs);
      w.revokedSigIds().add(base);
      // Undo the delegation made by that sig; an eldest key inserted implicitly by a
      // non-eldest first link has no delegating sig and so survives (spec §3.8).
      for (const info of state.keys.values()) if (info.delegatedBy === base) w.revokeKey(info, at);
    }
  }
  const device = jget(body, 'device');
  if (isJsonObject(device) && typeof device.id === 'string') {
    // A new entry, not an update in place: entries are shared with the state extended.
    const prior = state.devices.get(device.id);
    const d: DeviceInfo = prior ? { ...prior } : { id: device.id, status: 'active', kids: [] };
    if (typeof device.name === 'string') d.name = device.name;
    if (typeof device.type === 'string') d.type = device.type;
    if (typeof device.kid === 'string' && !d.kids.includes(device.kid))
      d.kids = [...d.kids, device.kid];
    d.status = device.status === 2 ? 'revoked' : 'active';
    w.devices().set(device.id, d);
  }
  w.linkSigIds().push(sigBase(link.sigId!));
}

async function replaySubchain(
  backend: CryptoBackend,
  family: KeyFamily,
  uid: string,
  username: string,
  links: readonly ImportedLink[],
): Promise<UserChainState> {
  const head = links[0]!;
  const eldest = head.stubbed ? '' : (head.signingKid ?? '');
  const w = new StateWriter(newState(uid, username, eldest, head.seqno), false);
  let first = true;
  for (const link of links) {
    const ignored = !link.stubbed && IGNORED_LINKS.has(link.id);
    await applyLink(backend, family, w, link, first);
    if (!ignored) first = false;
  }
  return w.state;
}

function summarize(state: UserChainState): Omit<UserChainResult, 'state' | 'previousSubchains'> {
  // Plain loops: this runs on every extension of a cached state, over the whole subchain.
  const sibkeys: KidHex[] = [];
  const subkeys: KidHex[] = [];
  for (const k of state.keys.values())
    if (k.status === 'live') (k.role === 'sibkey' ? sibkeys : subkeys).push(k.kid);
  let latest: PerUserKeyInfo | undefined;
  for (const p of state.perUserKeys.values())
    if (latest === undefined || p.generation > latest.generation) latest = p;
  let linkCount = state.linkSigIds.length;
  if (state.revokedSigIds.size > 0)
    for (const s of state.linkSigIds) if (state.revokedSigIds.has(s)) linkCount--;
  return {
    sibkeys,
    subkeys,
    linkCount,
    ...(latest === undefined ? {} : { latestPerUserKey: latest }),
  };
}

/**
 * Imports server links as user-chain links. Asynchronous because a PGP-signed v2 link's outer
 * link is inside its PGP message, read first (spec §3.5); other links import as they are.
 *
 * @throws IdentityError the codes of {@link importChainLink}.
 */
export async function importUserLinks(
  backend: CryptoBackend,
  links: readonly ServerChainLink[],
): Promise<ImportedLink[]> {
  const reads = links.map(readPgpSignedOuterLink);
  // Most chains have no PGP-signed v2 link: then nothing is awaited per link.
  const signed = reads.some((r) => r !== undefined)
    ? await Promise.all(reads.map((r) => r ?? Promise.resolve(undefined)))
    : [];
  return links.map((l, i) => importChainLink(backend, l, USER_OPTS, signed[i]));
}

/**
 * Verifies a whole user chain (spec §3.8) and returns the current subchain's key state.
 *
 * @throws IdentityError with a code of {@link ERR_TYPE_CODES} — `IDENTITY_WRONG_PREV`,
 *   `IDENTITY_WRONG_SEQNO`, `IDENTITY_WRONG_UID`, `IDENTITY_WRONG_USERNAME`,
 *   `IDENTITY_VERIFY_FAILED`, `IDENTITY_NONEXISTENT_KID`, `IDENTITY_INVALID_SIBKEY`,
 *   `IDENTITY_KID_MISMATCH`, `IDENTITY_FINGERPRINT_MISMATCH`, `IDENTITY_REVERSE_SIG_VERIFY_FAILED`,
 *   `IDENTITY_WRONG_PER_USER_KEY_REVERSE_SIG`, `IDENTITY_KEY_OWNERSHIP`,
 *   `IDENTITY_NO_KEY_WITH_THIS_HASH`, `IDENTITY_BAD_CHAIN_LINK`, the `IDENTITY_SIGCHAIN_V2_*` and
 *   `IDENTITY_CHAIN_LINK_STUBBED_UNSUPPORTED` codes.
 */
export async function verifyUserChain(
  backend: CryptoBackend,
  input: UserChainInput,
): Promise<UserChainResult> {
  const { uid, username, keyFamily: family } = input;
  const links = await importUserLinks(backend, input.links);
  checkStructure(links, uid, username, null);
  const highSkip = checkHighSkips(links, { seqno: 0, hash: null });
  const last = links[links.length - 1];
  const eldest = input.eldestKid ?? (last && !last.stubbed ? last.eldestKid : undefined);
  const tail = last ? { seqno: last.seqno, linkId: last.id } : null;
  if (eldest === undefined)
    throw fail('IDENTITY_NONEXISTENT_KID', 'no eldest key is known for this user');
  const current = cropToSubchain(links, eldest, uid);
  let state: UserChainState;
  if (current.length === 0) {
    state = serverEldestState(family, uid, username, eldest);
  } else {
    state = await replaySubchain(backend, family, uid, username, current);
  }
  state.tail = tail;
  state.highSkip = highSkip;
  // Earlier subchains are informational: a failure there does not fail the load (Keybase).
  const previousSubchains: UserChainResult['previousSubchains'] = [];
  let rest = links.slice(0, links.length - current.length);
  while (rest.length > 0) {
    const end = rest[rest.length - 1]!;
    if (end.stubbed || end.eldestKid === undefined) break;
    try {
      const sub = cropToSubchain(rest, end.eldestKid, uid);
      if (sub.length === 0) break;
      const s = await replaySubchain(backend, family, uid, username, sub);
      const sum = summarize(s);
      previousSubchains.unshift({
        eldestSeqno: sub[0]!.seqno,
        eldestKid: s.eldestKid,
        sibkeys: sum.sibkeys,
        subkeys: sum.subkeys,
      });
      rest = rest.slice(0, rest.length - sub.length);
    } catch {
      break;
    }
  }
  return { state, ...summarize(state), previousSubchains };
}

/** An empty current subchain: the eldest must be a PGP key bound to `username@keybase.io`. */
function serverEldestState(
  family: KeyFamily,
  uid: string,
  username: string,
  eldest: KidHex,
): UserChainState {
  if (!hasKey(family, eldest))
    throw fail('IDENTITY_NONEXISTENT_KID', 'eldest key is not among the user keys', {
      kid: eldest,
    });
  const versions = family.pgp.get(eldest);
  const identity = `${asciiLower(username)}@keybase.io`;
  if (!versions?.some((v) => v.emails.includes(identity)))
    throw fail('IDENTITY_KEY_OWNERSHIP', 'eldest key is not bound to this username', {
      kid: eldest,
    });
  const state = newState(uid, username, eldest, 0);
  state.keys.set(eldest, { kid: eldest, role: 'sibkey', isEldest: true, status: 'live', seqno: 0 });
  return state;
}

/**
 * Extends a verified state with links appended after its tail, verifying only those links.
 * A new link that starts a subchain (an `eldest` link) replaces the state with the new
 * subchain's. The input state is not modified.
 *
 * @throws IdentityError as {@link verifyUserChain}; `IDENTITY_STATE_MISMATCH` when the state
 *   has no tail to extend.
 */
export async function extendUserChain(
  backend: CryptoBackend,
  previous: UserChainState,
  newLinks: readonly ServerChainLink[],
  family: KeyFamily,
): Promise<UserChainResult> {
  if (previous.tail === null || previous.eldestSeqno === 0)
    throw fail(
      'IDENTITY_STATE_MISMATCH',
      'only a state with a non-empty current subchain can be extended',
    );
  const links = await importUserLinks(backend, newLinks);
  checkStructure(links, previous.uid, previous.username, previous.tail);
  const highSkip = checkHighSkips(links, previous.highSkip);
  let w = new StateWriter({ ...previous }, true);
  let prevLink: ImportedLink | undefined;
  for (const link of links) {
    const starts = link.stubbed
      ? link.typeCode === USER_LINK_TYPES.eldest
      : link.type === 'eldest' ||
        (prevLink !== undefined && isSubchainStart(link, prevLink, previous.uid));
    if (starts) {
      const fresh = newState(previous.uid, previous.username, link.signingKid ?? '', link.seqno);
      w = new StateWriter(fresh, false);
      await applyLink(backend, family, w, link, true);
    } else {
      if (!link.stubbed && link.eldestKid !== w.state.eldestKid)
        throw err('IDENTITY_NOT_LATEST_SUBCHAIN', 'link belongs to another eldest key', link);
      await applyLink(backend, family, w, link, false);
    }
    prevLink = link;
  }
  const state = w.state;
  state.highSkip = highSkip;
  return { state, ...summarize(state), previousSubchains: [] };
}
