/**
 * The team-chain verifier (spec §6): replays Keybase's v2 team links (`team.root`,
 * `team.change_membership`, `team.rotate_key`, `team.leave`, `team.new_subteam`,
 * `team.subteam_head`) and yields the members' roles, the per-team keys by generation and the
 * subteams; {@link openTeamKeys} (in `team-chain-keys.ts`) then opens a member's seed box and the
 * `prev` chain against that verified state.
 *
 * What saltbox leaves out, on purpose: invites (`team.invite` and invite sections), hidden chains
 * (sig v3, `ratchets`), settings/KBFS/bot-settings links, implicit admins beyond the verified
 * parent, and every Merkle-based check. Without a Merkle tree nothing orders a team link against
 * the signer's own chain, so a link signed by a key its owner has since revoked is refused: the
 * verifier cannot tell it from a link forged with the revoked key afterwards.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { canonicalJson, isJsonObject, parseJson } from './canonical-json.js';
import type { JsonObject, JsonValue } from './canonical-json.js';
import { importChainLink, jget, jstr } from './chain-link.js';
import type { ImportedLink, ServerChainLink } from './chain-link.js';
import { fromBase64, toHex } from './encoding.js';
import { fail } from './errors.js';
import type { IdentityErrorCode, IdentityError } from './errors.js';
import {
  formatUserVersion,
  isKid,
  isRootTeamId,
  isTeamId,
  KID_TYPE,
  linkIdV2,
  parseUserVersion,
  rootTeamId,
  SIG_ID_SUFFIX,
} from './ids.js';
import type { KidHex, UserVersion } from './ids.js';
import { isStubbableTeamLink, linkTypeName, TEAM_LINK_TYPES } from './link-types.js';
import { decodeOuterLink } from './outer-link.js';
import { decodeSignaturePacket, verifySignaturePacket } from './packets.js';
import type { UserChainState } from './user-chain.js';

/** Team roles, weakest first (Keybase's `TeamRole` order). */
export const TEAM_ROLES = [
  'none',
  'restricted_bot',
  'bot',
  'reader',
  'writer',
  'admin',
  'owner',
] as const;

/** A team role; `none` means "not a member". */
export type TeamRole = (typeof TEAM_ROLES)[number];

const RANK: Readonly<Record<TeamRole, number>> = {
  none: 0,
  restricted_bot: 1,
  bot: 2,
  reader: 3,
  writer: 4,
  admin: 5,
  owner: 6,
};

/** Whether `role` is at least `min`. */
export function roleAtLeast(role: TeamRole, min: TeamRole): boolean {
  return RANK[role] >= RANK[min];
}

/** What the signer's own verified user chain says about the key that signed a team link. */
export interface TeamSignerKey {
  /** The signer's current eldest seqno: with the UID, the user version that roles name. */
  eldestSeqno: number;
  /** Whether the key is a sibkey (device signing key); subkeys cannot sign. */
  sibkey: boolean;
  /** Whether the signer's chain has revoked the key (at any point). */
  revoked: boolean;
  /**
   * For a revoked key, the signed-log root the revoking link names in `merkle_root` (the root
   * its signer saw, so the revocation came after it); absent when that link names none.
   */
  revokedAt?: { seqno: number; hashMeta: string };
}

/**
 * Looks up a signing key in its owner's verified user chain, or undefined when the user has no
 * such key. Synchronous: the caller verifies the members' user chains first.
 */
export type TeamSignerLookup = (uid: string, kid: KidHex) => TeamSignerKey | undefined;

/**
 * A {@link TeamSignerLookup} over verified user-chain states (from `verifyUserChain` /
 * `extendUserChain`): a key counts when the user's current subchain delegated it.
 */
export function teamSignersFromUserChains(states: Iterable<UserChainState>): TeamSignerLookup {
  const byUid = new Map<string, UserChainState>();
  for (const s of states) byUid.set(s.uid, s);
  return (uid, kid) => {
    const s = byUid.get(uid);
    const k = s?.keys.get(kid);
    if (s === undefined || k === undefined) return undefined;
    return {
      eldestSeqno: s.eldestSeqno,
      sibkey: k.role === 'sibkey',
      revoked: k.status !== 'live',
      ...(k.revokedAt === undefined ? {} : { revokedAt: k.revokedAt }),
    };
  };
}

/** A per-team key generation as the chain records it. */
export interface PerTeamKeyInfo {
  generation: number;
  /** Seqno of the link that introduced it. */
  seqno: number;
  signingKid: KidHex;
  encryptionKid: KidHex;
}

/** A subteam announced by a `team.new_subteam` link. */
export interface SubteamInfo {
  id: string;
  name: string;
  seqno: number;
}

/** The verified state of a team chain; {@link extendTeamChain} continues from it. */
export interface TeamChainState {
  id: string;
  name: string;
  isPublic: boolean;
  /** The parent team's ID, for a subteam. */
  parentId?: string;
  /** The outer `seq_type` every link of this chain carries. */
  seqType: number;
  /** The last link: continuity for {@link extendTeamChain}. */
  tail: { seqno: number; linkId: string };
  /** Current roles by user version (`uid%eldest_seqno`); members with role `none` are absent. */
  members: Map<string, TeamRole>;
  /** Every role a user version has held, with the seqno it took effect, oldest first. */
  roleHistory: Map<string, { seqno: number; role: TeamRole }[]>;
  /** Per-team keys by generation. */
  perTeamKeys: Map<number, PerTeamKeyInfo>;
  /** Subteams by ID. */
  subteams: Map<string, SubteamInfo>;
  /** Seqnos of links that arrived stubbed. */
  stubbedSeqnos: number[];
}

/** Options shared by {@link verifyTeamChain} and {@link extendTeamChain}. */
export interface TeamChainOptions {
  /** Resolves link signers against their verified user chains. */
  signers: TeamSignerLookup;
  /**
   * The caller needs admin powers: every link must be present in full (no stubs) and `me`
   * must end up an admin or owner.
   */
  needAdmin?: boolean;
  /** The loading user, for `needAdmin`. */
  me?: UserVersion;
  /** The tail the caller trusts (its Merkle leaf or pin); the chain must end exactly there. */
  expectedTail?: { seqno: number; linkId: string };
  /** The verified parent team, required for a subteam and for `admin` sections. */
  parent?: TeamChainState;
  /**
   * This team's chain tail in the signed log at the root with the given `hash_meta`, as the
   * caller proved it (a map proof against that signed root), or undefined when it cannot. It
   * lets a link signed by a since-revoked key stand when the log shows the link was already in
   * the chain at the root the revocation was made against (Keybase's "team link before user key
   * revocation", spec §7).
   */
  teamTailAt?: (hashMeta: string) => { seqno: number; linkId: string } | undefined;
}

/** Input of {@link verifyTeamChain}. */
export interface TeamChainInput extends TeamChainOptions {
  /** The team ID the caller asked for. */
  teamId: string;
  /** The links as the server sent them, oldest first from seqno 1; stubs lack `payload_json`. */
  links: readonly ServerChainLink[];
}

/** A verified team chain. */
export interface TeamChainResult {
  state: TeamChainState;
  /** The highest per-team-key generation. */
  latestGeneration: number;
}

/** Team link types whose effects saltbox applies. */
const APPLIED = new Set<string>([
  'team.root',
  'team.change_membership',
  'team.rotate_key',
  'team.leave',
  'team.new_subteam',
  'team.subteam_head',
]);

/** Import accepts every known team type name; unknown ones need `ignore_if_unsupported`. */
const TEAM_OPTS = {
  chain: 'team' as const,
  sigIdSuffix: SIG_ID_SUFFIX.teamV2,
  supportedTypes: new Set<string>(Object.keys(TEAM_LINK_TYPES)),
};

/** Minimum explicit role per applied type (spec §3.7); others need admin. */
const MIN_ROLE: Readonly<Record<string, TeamRole>> = {
  'team.rotate_key': 'writer',
  'team.leave': 'restricted_bot',
};

/** `body.team` keys saltbox understands; anything else on an applied link is refused. */
const KNOWN_TEAM_KEYS = new Set([
  'id',
  'name',
  'members',
  'parent',
  'subteam',
  'admin',
  'per_team_key',
  'public',
  'is_public',
  'implicit',
  'is_implicit',
  'entropy',
  'box_summary_hash',
]);

/** `body.team` keys of features saltbox leaves out (spec §6.1). */
const UNSUPPORTED_TEAM_KEYS: Readonly<Record<string, string>> = {
  invites: 'team invites',
  completed_invites: 'team invites',
  used_invites: 'team invites',
  ratchets: 'hidden team chains',
  settings: 'team settings',
  kbfs: 'kbfs team links',
  bot_settings: 'restricted-bot settings',
};

function err(
  code: IdentityErrorCode,
  message: string,
  link?: { seqno: number; id?: string },
  extra: { kid?: string; field?: string; keybaseError?: string } = {},
): IdentityError {
  return fail(code, message, {
    ...(link ? { seqno: link.seqno, ...(link.id ? { linkId: link.id } : {}) } : {}),
    ...extra,
  });
}

/**
 * Imports one team link. The server stubs a team link by leaving out `payload_json` (the
 * signature packet, and so the outer link, stays), or sends the outer link alone as `s2`.
 */
function importTeamLink(backend: CryptoBackend, raw: ServerChainLink): ImportedLink {
  if (
    typeof (raw as unknown) === 'object' &&
    (raw as unknown) !== null &&
    raw.payload_json === undefined &&
    typeof raw.sig === 'string'
  ) {
    let outer: Uint8Array;
    try {
      outer = decodeSignaturePacket(backend, raw.sig).payload;
    } catch (e) {
      throw fail('IDENTITY_BAD_CHAIN_LINK', 'stubbed team link has a malformed packet', {}, e);
    }
    return importStubbed(backend, outer);
  }
  if (typeof raw.s2 === 'string' && raw.sig === undefined)
    return importStubbed(backend, fromBase64(raw.s2));
  return importChainLink(backend, raw, TEAM_OPTS);
}

function importStubbed(backend: CryptoBackend, bytes: Uint8Array): ImportedLink {
  // Decoded here rather than by importChainLink: whether a stub of this type is acceptable
  // depends on who loads (admins need every link), which only the replay knows.
  const outer = decodeOuterLink(bytes);
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
  };
}

function stringList(v: JsonValue | undefined, link: ImportedLink, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw err('IDENTITY_TEAM_CHAIN_INVALID', `members.${field} is not a list of strings`, link, {
      field,
    });
  return v;
}

/** Parses `body.team.members` into (user version, new role) pairs, refusing duplicate UIDs. */
function parseMembers(team: JsonObject, link: ImportedLink): [string, TeamRole][] {
  const m = team.members;
  if (m === undefined) return [];
  if (!isJsonObject(m))
    throw err('IDENTITY_TEAM_CHAIN_INVALID', 'members section is not an object', link);
  const out: [string, TeamRole][] = [];
  const uids = new Set<string>();
  for (const key of Object.keys(m)) {
    if (!(TEAM_ROLES as readonly string[]).includes(key))
      throw err('IDENTITY_TEAM_CHAIN_INVALID', 'unknown role in members section', link, {
        field: key,
      });
    for (const s of stringList(m[key], link, key)) {
      let uv: UserVersion;
      try {
        uv = parseUserVersion(s);
      } catch {
        throw err('IDENTITY_TEAM_CHAIN_INVALID', 'malformed user version in members', link);
      }
      // One role per user per link, as Keybase ("duplicate UID in members").
      if (uids.has(uv.uid))
        throw err('IDENTITY_TEAM_CHAIN_INVALID', 'duplicate uid in members', link);
      uids.add(uv.uid);
      out.push([formatUserVersion(uv), key as TeamRole]);
    }
  }
  return out;
}

function roleOf(state: TeamChainState | undefined, uv: string): TeamRole {
  return state?.members.get(uv) ?? 'none';
}

/** The role `uv` held right after link `seqno` (Keybase's `AssertWasRoleOrAboveAt`). */
export function teamRoleAt(state: TeamChainState, uv: string, seqno: number): TeamRole {
  const h = state.roleHistory.get(uv);
  if (h === undefined) return 'none';
  let role: TeamRole = 'none';
  for (const e of h) {
    if (e.seqno > seqno) break;
    role = e.role;
  }
  return role;
}

function setRole(state: TeamChainState, uv: string, role: TeamRole, seqno: number): void {
  if (role === 'none') state.members.delete(uv);
  else state.members.set(uv, role);
  let h = state.roleHistory.get(uv);
  if (h === undefined) state.roleHistory.set(uv, (h = []));
  h.push({ seqno, role });
}

/** Checks and records a `per_team_key` section: next generation, KID types, reverse sig. */
function applyPerTeamKey(
  backend: CryptoBackend,
  state: TeamChainState,
  link: ImportedLink,
  section: JsonValue | undefined,
): void {
  if (!isJsonObject(section))
    throw err('IDENTITY_TEAM_CHAIN_INVALID', 'missing per-team-key section', link);
  const gen = section.generation;
  const sk = section.signing_kid;
  const ek = section.encryption_kid;
  if (typeof gen !== 'number' || !Number.isSafeInteger(gen) || gen < 1)
    throw err('IDENTITY_TEAM_CHAIN_INVALID', 'per-team-key generation is malformed', link);
  if (!isKid(sk, KID_TYPE.ed25519))
    throw err('IDENTITY_TEAM_CHAIN_INVALID', 'invalid per-team-key signing kid', link);
  if (!isKid(ek, KID_TYPE.curve25519))
    throw err('IDENTITY_TEAM_CHAIN_INVALID', 'invalid per-team-key encryption kid', link);
  if (state.perTeamKeys.has(gen))
    throw err('IDENTITY_TEAM_CHAIN_INVALID', `per-team-key clash at generation ${gen}`, link);
  const latest = state.perTeamKeys.size;
  if (gen !== latest + 1)
    throw err(
      'IDENTITY_TEAM_CHAIN_INVALID',
      `per-team-key generation ${gen} does not follow ${latest}`,
      link,
    );
  verifyTeamReverseSig(backend, link, sk);
  state.perTeamKeys.set(gen, {
    generation: gen,
    seqno: link.seqno,
    signingKid: sk,
    encryptionKid: ek,
  });
}

/**
 * The PTK reverse signature (spec §3.6, §6.1): the new signing key signed this very inner JSON
 * with `body.team.per_team_key.reverse_sig` set to null.
 */
function verifyTeamReverseSig(backend: CryptoBackend, link: ImportedLink, kid: KidHex): void {
  const code = 'IDENTITY_REVERSE_SIG_VERIFY_FAILED';
  const rs = jget(link.body, 'team', 'per_team_key', 'reverse_sig');
  if (typeof rs !== 'string' || rs === '')
    throw err(code, 'per-team-key reverse signature is missing', link);
  let packet;
  try {
    packet = decodeSignaturePacket(backend, rs);
  } catch {
    throw err(code, 'per-team-key reverse signature is malformed', link, { kid });
  }
  if (packet.kid !== kid || packet.version !== 1 || !verifySignaturePacket(backend, packet))
    throw err(code, 'per-team-key reverse signature did not verify', link, { kid });
  let theirs: JsonValue;
  try {
    theirs = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(packet.payload));
  } catch {
    throw err(code, 'per-team-key reverse signature payload is not json', link);
  }
  const ours = parseJson(link.payloadJson!) as JsonObject;
  ((((ours.body as JsonObject).team as JsonObject).per_team_key as JsonObject)
    .reverse_sig as JsonValue) = null;
  if (canonicalJson(theirs) !== canonicalJson(ours))
    throw err(code, 'per-team-key reverse signature covers a different payload', link);
}

/** Verifies the link's own signature and resolves its signer's user version. */
/** A revoked-key link accepted because the log placed it first: its tail is checked at the end. */
interface LoggedBefore {
  link: ImportedLink;
  tail: { seqno: number; linkId: string };
}

/**
 * A link signed by a since-revoked key stands only when the signed log shows this team's chain
 * already held the link at the root the revoking link was made against: that root's leaf has
 * reached the link's seqno (and, checked once the chain is read, names the chain's own link
 * there).
 */
function loggedBeforeRevocation(
  link: ImportedLink,
  key: TeamSignerKey,
  options: TeamChainOptions,
  kid: KidHex,
): LoggedBefore {
  const refuse = (why: string): IdentityError =>
    err('IDENTITY_INVALID_SIBKEY', `team link signed by a since-revoked key: ${why}`, link, {
      kid,
      keybaseError: 'ProofError',
    });
  if (key.revokedAt === undefined)
    throw refuse('the revocation names no log root, so nothing shows the link came first');
  const tail = options.teamTailAt?.(key.revokedAt.hashMeta);
  if (tail === undefined)
    throw refuse(`no log proof of the team's tail at root ${key.revokedAt.seqno}`);
  if (tail.seqno < link.seqno)
    throw refuse(
      `team link before user key revocation is not proven (the log had the team at seqno ` +
        `${tail.seqno} when the key was revoked)`,
    );
  return { link, tail };
}

function checkSigner(
  link: ImportedLink,
  backend: CryptoBackend,
  options: TeamChainOptions,
  logged: LoggedBefore[],
): { uv: string; uid: string } {
  const uid = jstr(link.body, 'key', 'uid');
  const kid = jstr(link.body, 'key', 'kid');
  if (uid === undefined || kid === undefined)
    throw err('IDENTITY_BAD_CHAIN_LINK', 'team link has no key section with uid and kid', link);
  // The payload names the signer; its key is resolved first (Keybase loads the key named in
  // the payload, then checks that this key made the signature).
  const key = options.signers(uid, kid);
  if (key === undefined)
    throw err('IDENTITY_NONEXISTENT_KID', "signing key is not in the signer's chain", link, {
      kid,
    });
  const packet = link.packet!;
  if (packet.kid !== kid)
    throw err('IDENTITY_KID_MISMATCH', 'packet key differs from the payload kid', link, { kid });
  if (packet.version !== 1 || !verifySignaturePacket(backend, packet))
    throw err('IDENTITY_VERIFY_FAILED', 'team link signature did not verify', link, { kid });
  if (!key.sibkey)
    throw err('IDENTITY_INVALID_SIBKEY', 'team links must be signed by a sibkey', link, { kid });
  if (key.revoked) logged.push(loggedBeforeRevocation(link, key, options, kid));
  return { uv: formatUserVersion({ uid, eldestSeqno: key.eldestSeqno }), uid };
}

function checkTeamSection(link: ImportedLink, teamId: string, applied: boolean): JsonObject {
  const team = jget(link.body, 'team');
  if (!isJsonObject(team)) throw err('IDENTITY_TEAM_CHAIN_INVALID', 'no team section', link);
  if (team.id !== teamId)
    throw err('IDENTITY_TEAM_CHAIN_INVALID', 'wrong team id in team section', link, {
      field: 'id',
    });
  for (const k of Object.keys(team)) {
    const what = UNSUPPORTED_TEAM_KEYS[k];
    if (what !== undefined && team[k] !== null)
      throw err('IDENTITY_UNSUPPORTED', `${what} are not supported by saltbox`, link, { field: k });
    if (applied && !KNOWN_TEAM_KEYS.has(k))
      throw err('IDENTITY_TEAM_CHAIN_INVALID', 'unknown field in team section', link, { field: k });
  }
  return team;
}

/** The explicit or (through the verified parent) implicit admin rights of a signer. */
function assertRole(
  state: TeamChainState | undefined,
  link: ImportedLink,
  team: JsonObject,
  signer: { uv: string },
  min: TeamRole,
  options: TeamChainOptions,
): TeamRole {
  const role = roleOf(state, signer.uv);
  const admin = team.admin;
  // An `admin` section is checked even when the signer is an explicit admin: a link must not
  // claim authority it cannot show (Keybase's AdminNotFoundError).
  if (admin !== undefined) {
    // An implicit admin names the ancestor team where it is an admin. saltbox follows one
    // level, to the verified parent the caller passed.
    const p = options.parent;
    const aid = jstr(admin, 'team_id');
    const aseq = jget(admin, 'seqno');
    if (p === undefined || aid !== p.id || typeof aseq !== 'number' || aseq > p.tail.seqno)
      throw err('IDENTITY_TEAM_PERMISSION', 'admin section names no verified ancestor', link, {
        keybaseError: 'AdminNotFoundError',
      });
    if (
      roleAtLeast(role, min) ||
      (min === 'admin' && roleAtLeast(teamRoleAt(p, signer.uv, aseq), 'admin'))
    )
      return role;
  } else if (roleAtLeast(role, min)) return role;
  throw err('IDENTITY_TEAM_PERMISSION', `signer is not ${min} or above`, link, {
    keybaseError: 'AdminPermissionError',
  });
}

function applyMembers(
  state: TeamChainState,
  link: ImportedLink,
  changes: [string, TeamRole][],
  signerRole: TeamRole,
): void {
  if (signerRole !== 'owner') {
    for (const [uv, role] of changes) {
      if (role === 'owner')
        throw err('IDENTITY_TEAM_PERMISSION', 'non-owner cannot add owners', link);
      if (roleOf(state, uv) === 'owner')
        throw err('IDENTITY_TEAM_PERMISSION', 'non-owner cannot demote owners', link);
    }
  }
  for (const [uv, role] of changes) setRole(state, uv, role, link.seqno);
}

function requireNoMembers(team: JsonObject, link: ImportedLink): void {
  if (team.members !== undefined)
    throw err('IDENTITY_TEAM_CHAIN_INVALID', `${link.type} cannot change members`, link);
}

function firstLink(
  backend: CryptoBackend,
  link: ImportedLink,
  teamId: string,
  team: JsonObject,
  signer: { uv: string },
  options: TeamChainOptions,
): TeamChainState {
  const name = team.name;
  if (typeof name !== 'string' || name === '')
    throw err('IDENTITY_TEAM_CHAIN_INVALID', 'first team link has no name', link);
  const isPublic = team.public === true || team.is_public === true;
  const state: TeamChainState = {
    id: teamId,
    name,
    isPublic,
    seqType: link.seqType ?? 1,
    tail: { seqno: link.seqno, linkId: link.id },
    members: new Map(),
    roleHistory: new Map(),
    perTeamKeys: new Map(),
    subteams: new Map(),
    stubbedSeqnos: [],
  };
  const changes = parseMembers(team, link);
  if (link.type === 'team.root') {
    if (!isRootTeamId(teamId) || rootTeamId(backend, name, isPublic) !== teamId)
      throw err('IDENTITY_TEAM_CHAIN_INVALID', 'team id is not the hash of the root name', link);
    if (team.parent !== undefined)
      throw err('IDENTITY_TEAM_CHAIN_INVALID', 'a root team has no parent', link);
    if (!changes.some(([uv, r]) => uv === signer.uv && r === 'owner'))
      throw err('IDENTITY_TEAM_PERMISSION', 'the root link must be signed by an owner', link, {
        keybaseError: 'AdminPermissionError',
      });
  } else {
    // team.subteam_head: signed by an admin of the parent, which announced this subteam.
    const p = options.parent;
    const pid = jstr(team, 'parent', 'id');
    const pseq = jget(team, 'parent', 'seqno');
    if (p === undefined)
      throw err('IDENTITY_UNSUPPORTED', 'a subteam needs its verified parent chain', link);
    if (isRootTeamId(teamId) || pid !== p.id || typeof pseq !== 'number')
      throw err('IDENTITY_TEAM_CHAIN_INVALID', 'subteam head names another parent', link);
    const announced = p.subteams.get(teamId);
    if (announced?.seqno !== pseq || announced.name !== name)
      throw err('IDENTITY_TEAM_CHAIN_INVALID', 'the parent did not announce this subteam', link);
    if (!roleAtLeast(teamRoleAt(p, signer.uv, pseq), 'admin'))
      throw err('IDENTITY_TEAM_PERMISSION', 'subteam head signer is not a parent admin', link, {
        keybaseError: 'AdminPermissionError',
      });
    state.parentId = p.id;
  }
  if (changes.some(([, r]) => r === 'none'))
    throw err('IDENTITY_TEAM_CHAIN_INVALID', 'the first link cannot remove members', link);
  for (const [uv, role] of changes) setRole(state, uv, role, link.seqno);
  applyPerTeamKey(backend, state, link, team.per_team_key);
  return state;
}

/** Whether a stub is acceptable, per spec §3.5 and Keybase's admin rule. */
function applyStub(
  state: TeamChainState | undefined,
  link: ImportedLink,
  needAdmin: boolean,
): void {
  const code = link.typeCode!;
  const unknownIgnorable = link.ignoreIfUnsupported === true && linkTypeName(code) === undefined;
  if (state === undefined || needAdmin || !(isStubbableTeamLink(code) || unknownIgnorable))
    throw err('IDENTITY_TEAM_STUBBED', `team link at seqno ${link.seqno} is stubbed`, link, {
      keybaseError: 'StubbedError',
    });
  state.stubbedSeqnos.push(link.seqno);
}

/** Replays one unstubbed link on `state` (undefined before the first link). */
function applyLink(
  backend: CryptoBackend,
  state: TeamChainState | undefined,
  link: ImportedLink,
  teamId: string,
  options: TeamChainOptions,
  logged: LoggedBefore[],
): TeamChainState {
  if (link.sigVersion !== 2 || link.packet === undefined)
    throw err('IDENTITY_BAD_CHAIN_LINK', 'team links are sig v2 nacl links', link);
  const type = link.type!;
  const applied = APPLIED.has(type);
  // Who signed comes first, whatever the link says (as Keybase, which checks the signer before
  // it reads the type): a forged or since-revoked link is refused as such.
  const signer = checkSigner(link, backend, options, logged);
  // Known team types saltbox does not apply (invites, settings, renames…) are refused unless
  // the link says a client may ignore them.
  if (!applied && !link.unsupported && link.ignoreIfUnsupported !== true)
    throw err('IDENTITY_UNSUPPORTED', `${type} links are not supported by saltbox`, link);
  const team = checkTeamSection(link, teamId, applied);
  const first = type === 'team.root' || type === 'team.subteam_head';
  if (state === undefined || first) {
    if (!first || link.seqno !== 1 || state !== undefined)
      throw err('IDENTITY_TEAM_CHAIN_INVALID', 'a team chain starts with one root or head', link);
    return firstLink(backend, link, teamId, team, signer, options);
  }
  if ((link.seqType ?? 1) !== state.seqType)
    throw err('IDENTITY_TEAM_CHAIN_INVALID', 'seq_type differs from the chain', link, {
      field: 'seq_type',
    });
  const signerRole = assertRole(state, link, team, signer, MIN_ROLE[type] ?? 'admin', options);
  switch (type) {
    case 'team.change_membership': {
      const changes = parseMembers(team, link);
      applyMembers(state, link, changes, signerRole);
      if (team.per_team_key !== undefined) applyPerTeamKey(backend, state, link, team.per_team_key);
      break;
    }
    case 'team.rotate_key':
      requireNoMembers(team, link);
      applyPerTeamKey(backend, state, link, team.per_team_key);
      break;
    case 'team.leave': {
      requireNoMembers(team, link);
      if (team.per_team_key !== undefined)
        throw err('IDENTITY_TEAM_CHAIN_INVALID', 'team.leave cannot carry a per-team key', link);
      // The last owner of a root team cannot leave it ownerless.
      if (
        signerRole === 'owner' &&
        state.parentId === undefined &&
        ![...state.members].some(([uv, r]) => r === 'owner' && uv !== signer.uv)
      )
        throw err('IDENTITY_TEAM_CHAIN_INVALID', 'the last owner cannot leave', link);
      setRole(state, signer.uv, 'none', link.seqno);
      break;
    }
    case 'team.new_subteam': {
      requireNoMembers(team, link);
      const id = jstr(team, 'subteam', 'id');
      const name = jstr(team, 'subteam', 'name');
      if (
        !isTeamId(id) ||
        isRootTeamId(id) ||
        name === undefined ||
        !name.startsWith(`${state.name}.`) ||
        name.slice(state.name.length + 1).includes('.') ||
        state.subteams.has(id)
      )
        throw err('IDENTITY_TEAM_CHAIN_INVALID', 'new_subteam section is malformed', link);
      state.subteams.set(id, { id, name, seqno: link.seqno });
      break;
    }
    default:
      // An unknown type marked ignore_if_unsupported: signed and authorised, no effect.
      break;
  }
  return state;
}

function cloneState(s: TeamChainState): TeamChainState {
  return {
    ...s,
    tail: { ...s.tail },
    members: new Map(s.members),
    roleHistory: new Map([...s.roleHistory].map(([k, v]) => [k, [...v]])),
    perTeamKeys: new Map(s.perTeamKeys),
    subteams: new Map(s.subteams),
    stubbedSeqnos: [...s.stubbedSeqnos],
  };
}

function replay(
  backend: CryptoBackend,
  start: TeamChainState | undefined,
  links: readonly ServerChainLink[],
  teamId: string,
  options: TeamChainOptions,
): TeamChainResult {
  let state = start;
  const logged: LoggedBefore[] = [];
  const linkIds = new Map<number, string>();
  for (const raw of links) {
    const link = importTeamLink(backend, raw);
    // Continuity first, prev before seqno as Keybase: a hole is a PrevError, a link that
    // names the right prev but a wrong seqno is a seqno error.
    const expectedPrev = state === undefined ? null : state.tail.linkId;
    if (link.prev !== expectedPrev)
      throw err('IDENTITY_WRONG_PREV', 'prev does not match the previous link', link, {
        keybaseError: 'PrevError',
      });
    const expectedSeqno = state === undefined ? 1 : state.tail.seqno + 1;
    if (link.seqno !== expectedSeqno)
      throw err('IDENTITY_WRONG_SEQNO', `expected seqno ${expectedSeqno}`, link);
    if (link.stubbed) applyStub(state, link, options.needAdmin === true);
    else state = applyLink(backend, state, link, teamId, options, logged);
    state!.tail = { seqno: link.seqno, linkId: link.id };
    linkIds.set(link.seqno, link.id);
  }
  if (state === undefined) throw fail('IDENTITY_TEAM_CHAIN_INVALID', 'the team chain is empty');
  // The log's tail at the revocation must be this chain's own link at that seqno. A tail past
  // the links read now (a load up to an earlier seqno) is checked by the load that reaches it.
  for (const { link, tail } of logged) {
    const id = linkIds.get(tail.seqno);
    if (id !== undefined && id !== tail.linkId)
      throw err(
        'IDENTITY_INVALID_SIBKEY',
        'team link signed by a since-revoked key: the log names another link at the revocation',
        link,
        { keybaseError: 'ProofError' },
      );
  }
  const t = options.expectedTail;
  if (t !== undefined && (t.seqno !== state.tail.seqno || t.linkId !== state.tail.linkId))
    throw fail('IDENTITY_TEAM_TAIL_MISMATCH', 'team chain does not end at the trusted tail', {
      seqno: state.tail.seqno,
      linkId: state.tail.linkId,
    });
  if (options.needAdmin === true) {
    if (state.stubbedSeqnos.length > 0)
      throw fail('IDENTITY_TEAM_STUBBED', 'an admin needs every link in full', {
        seqno: state.stubbedSeqnos[0]!,
        keybaseError: 'StubbedError',
      });
    const me = options.me;
    if (me === undefined || !roleAtLeast(roleOf(state, formatUserVersion(me)), 'admin'))
      throw fail('IDENTITY_TEAM_PERMISSION', 'the loading user is not an admin of the team');
  }
  return { state, latestGeneration: state.perTeamKeys.size };
}

/**
 * Verifies a whole team chain (spec §6.1) and returns the roles, per-team keys and subteams.
 *
 * Checks, link by link: seqno and prev continuity; the v2 outer/inner agreement; the signature,
 * made by a live sibkey of the signer's verified user chain; the team section (same team ID,
 * no unsupported features); the signer's role *before* the link (admin for membership changes
 * and subteams, writer for rotations, any member to leave; owners alone add or change owners);
 * per-team keys at exactly the next generation with a valid reverse signature; stubs only where
 * spec §3.5 allows and never for an admin; finally the trusted tail and `needAdmin`.
 *
 * @throws IdentityError `IDENTITY_WRONG_SEQNO`, `IDENTITY_WRONG_PREV`,
 *   `IDENTITY_BAD_CHAIN_LINK`, `IDENTITY_VERIFY_FAILED`, `IDENTITY_SIGCHAIN_V2_MISMATCHED_FIELD`,
 *   `IDENTITY_KID_MISMATCH`, `IDENTITY_NONEXISTENT_KID`, `IDENTITY_INVALID_SIBKEY` (including a
 *   since-revoked signing key), `IDENTITY_REVERSE_SIG_VERIFY_FAILED`, `IDENTITY_TEAM_PERMISSION`,
 *   `IDENTITY_TEAM_CHAIN_INVALID`, `IDENTITY_TEAM_STUBBED`, `IDENTITY_TEAM_TAIL_MISMATCH`, and
 *   `IDENTITY_UNSUPPORTED` for invites, hidden chains, settings and other left-out features.
 */
export function verifyTeamChain(backend: CryptoBackend, input: TeamChainInput): TeamChainResult {
  if (!isTeamId(input.teamId)) throw fail('IDENTITY_INVALID_ARGUMENT', 'malformed team id');
  return replay(backend, undefined, input.links, input.teamId, input);
}

/**
 * Extends a verified team state with links appended after its tail, verifying only those. The
 * input state is not modified.
 *
 * @throws IdentityError as {@link verifyTeamChain}; `IDENTITY_TEAM_STUBBED` when `needAdmin` is
 *   set and the cached state holds stubs (verify from scratch with the full links instead).
 */
export function extendTeamChain(
  backend: CryptoBackend,
  previous: TeamChainState,
  newLinks: readonly ServerChainLink[],
  options: TeamChainOptions,
): TeamChainResult {
  return replay(backend, cloneState(previous), newLinks, previous.id, options);
}
