/**
 * Team writes and reads (DESIGN.md, Teams; spec keybase-identity §6): every team link is
 * replayed through `@saltbox/identity`'s team-chain verifier, with each signer checked against
 * their verified user chain, BEFORE anything is stored; the key boxes of a post must be exactly
 * the ones the verified chain calls for. The server refuses what a client would refuse, and
 * more: a removal without a new per-team-key generation (`TEAM_ROTATION_REQUIRED`).
 *
 * Verified team states are cached per team, keyed by the stored tail, like user chains.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  canonicalizeImplicitTeamName,
  decodeTeamMemberBox,
  extendTeamChain,
  importChainLink,
  fromBase64,
  isIdentityError,
  isKid,
  isTeamId,
  KID_TYPE,
  parseTeamName,
  parseUserVersion,
  SIG_ID_SUFFIX,
  teamBoxNonce,
  TEAM_LINK_TYPES,
  teamMembersByUid,
  teamOrphanRule,
  teamRotationPending,
  teamSignersFromUserChains,
  toBase64,
  uidFromUsername,
  verifyTeamChain,
} from '@saltbox/identity';
import type {
  TeamChainState,
  TeamSignerLookup,
  TeamChainResult,
  UserChainState,
} from '@saltbox/identity';
import type {
  ChainLink,
  PerTeamKeyPost,
  TeamChainResponse,
  TeamDeleted,
  TeamKeyBoxesResponse,
  TeamKeyBoxWire,
  TeamListResponse,
  TeamTail,
} from '@saltbox/protocol';
import { teamRefSchema } from '@saltbox/protocol';
import type { ChainService } from './chain.js';
import { fail } from '../errors.js';
import { checkLinkMerkleRoots } from './log-freshness.js';
import type {
  KeyRecord,
  Storage,
  StoredLink,
  TeamKeyBoxRecord,
  TeamPrevRecord,
  TeamRecord,
  TeamRole,
} from '../storage/types.js';

/** What a team link says about routing, read before verification (the verifier re-checks). */
interface LinkInfo {
  type: string;
  signerUid: string;
  teamId: string;
  name: string | undefined;
  implicit: boolean;
  parentId: string | undefined;
  subteam: { id: string; name: string } | undefined;
  /** User versions named in the members section, with their new role. */
  members: { uv: string; uid: string; role: string }[];
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** Reads the routing fields of a team link's payload; malformed is `CHAIN_INVALID`. */
function linkInfo(link: ChainLink): LinkInfo {
  let payload: unknown;
  try {
    payload = JSON.parse(link.payload_json);
  } catch {
    throw fail('CHAIN_INVALID', `team link ${link.seqno}: payload is not json`);
  }
  const body = obj(obj(payload)?.body);
  const team = obj(body?.team);
  const key = obj(body?.key);
  const type = body?.type;
  const signerUid = key?.uid;
  const teamId = team?.id;
  if (typeof type !== 'string' || typeof signerUid !== 'string' || !isTeamId(teamId))
    throw fail('CHAIN_INVALID', `team link ${link.seqno}: no type, signer or team id`);
  const members: LinkInfo['members'] = [];
  const m = obj(team?.members);
  for (const [role, list] of Object.entries(m ?? {})) {
    if (!Array.isArray(list)) continue;
    for (const uv of list) {
      if (typeof uv !== 'string') continue;
      try {
        members.push({ uv, uid: parseUserVersion(uv).uid, role });
      } catch {
        throw fail('CHAIN_INVALID', `team link ${link.seqno}: malformed member`);
      }
    }
  }
  const sub = obj(team?.subteam);
  const parentId = obj(team?.parent)?.id;
  return {
    type,
    signerUid,
    teamId,
    name: typeof team?.name === 'string' ? team.name : undefined,
    implicit: team?.implicit === true || team?.is_implicit === true,
    parentId: typeof parentId === 'string' ? parentId : undefined,
    subteam:
      typeof sub?.id === 'string' && typeof sub.name === 'string'
        ? { id: sub.id, name: sub.name }
        : undefined,
    members,
  };
}

/** Maps a verifier refusal to the wire: missing rights are `FORBIDDEN`, the rest `CHAIN_INVALID`. */
function refused(e: unknown): never {
  if (isIdentityError(e)) {
    const at = e.details.seqno === undefined ? '' : ` at seqno ${e.details.seqno}`;
    const code = e.code === 'IDENTITY_TEAM_PERMISSION' ? 'FORBIDDEN' : 'CHAIN_INVALID';
    throw fail(code, `team chain rejected (${e.code}${at}): ${e.message}`, { cause: e });
  }
  throw e;
}

/**
 * Refuses a change that would leave a root team without an owner or any team without members
 * (`@saltbox/identity`'s {@link teamOrphanRule}; DESIGN.md, Teams).
 */
function checkOrphans(before: TeamChainState, after: ReadonlyMap<string, string>): void {
  const rule = teamOrphanRule(before, after);
  if (rule === 'last_owner')
    throw fail(
      'TEAM_LAST_OWNER',
      'the team would have no owner left; make another member owner first',
    );
  if (rule === 'last_member')
    throw fail('TEAM_LAST_MEMBER', 'the team would have no members left; delete it instead');
}

/** Roles the storage projection keeps (the verifier also knows bots, which saltbox never adds). */
const STORED_ROLES: ReadonlySet<string> = new Set(['owner', 'admin', 'writer', 'reader']);

function uidsOf(state: TeamChainState): Set<string> {
  return new Set([...state.members.keys()].map((uv) => parseUserVersion(uv).uid));
}

const TEAM_IMPORT = {
  chain: 'team' as const,
  sigIdSuffix: SIG_ID_SUFFIX.teamV2,
  supportedTypes: new Set<string>(Object.keys(TEAM_LINK_TYPES)),
};

/** Which key boxes a post must carry. */
interface BoxExpectation {
  generation: number;
  uids: ReadonlySet<string>;
  /** A new generation above 1 carries the previous seed's secretbox. */
  prev: boolean;
}

interface CachedTeam {
  tailLinkId: string;
  state: TeamChainState;
}

/** Team creation, appends, reads and key boxes. */
export class TeamService {
  readonly #backend: CryptoBackend;
  readonly #storage: Storage;
  readonly #chains: ChainService;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedTeam>();
  readonly #maxCached: number;

  /**
   * @param backend - crypto for the verifier.
   * @param storage - where teams live.
   * @param chains - verified user chains (team-link signers and members).
   * @param now - the clock (Unix ms).
   * @param maxCached - how many teams' verified states to keep in memory.
   */
  constructor(
    backend: CryptoBackend,
    storage: Storage,
    chains: ChainService,
    now: () => number,
    maxCached = 10_000,
  ) {
    this.#backend = backend;
    this.#storage = storage;
    this.#chains = chains;
    this.#now = now;
    this.#maxCached = maxCached;
  }

  #remember(teamId: string, entry: CachedTeam): void {
    this.#cache.delete(teamId);
    this.#cache.set(teamId, entry);
    if (this.#cache.size > this.#maxCached) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
  }

  /** Verified user-chain states by UID; an unknown user is `VALIDATION_FAILED`. */
  async #userStates(uids: Iterable<string>): Promise<Map<string, UserChainState>> {
    const out = new Map<string, UserChainState>();
    for (const uid of new Set(uids)) {
      const user = await this.#storage.users.getUserByUid(uid);
      if (user === null) throw fail('VALIDATION_FAILED', 'a team link names an unknown user');
      out.set(uid, await this.#chains.verifiedState(user));
    }
    return out;
  }

  /**
   * The verified state at the stored tail. Stored links were verified against live keys when
   * they were written, so the replay accepts a signing key revoked since (without a Merkle
   * tree a *new* link by a revoked key is refused; an old one must not make the team
   * unreadable to the server).
   */
  async #stateOf(team: TeamRecord): Promise<TeamChainState> {
    const hit = this.#cache.get(team.teamId);
    if (hit?.tailLinkId === team.tailLinkId) return hit.state;
    const links = (await this.#storage.teams.getTeamLinks(team.teamId, 0)).map((l) => l.link);
    const states = await this.#userStates(links.map((l) => linkInfo(l).signerUid));
    const strict = teamSignersFromUserChains(states.values());
    const historic: TeamSignerLookup = (uid, kid) => {
      const k = strict(uid, kid);
      return k === undefined ? undefined : { ...k, revoked: false };
    };
    const parent = await this.#parentState(team);
    let state: TeamChainState;
    try {
      state = verifyTeamChain(this.#backend, {
        teamId: team.teamId,
        links,
        signers: historic,
        ...(parent ? { parent } : {}),
      }).state;
    } catch (e) {
      throw fail('INTERNAL', 'stored team chain does not verify', { cause: e });
    }
    this.#remember(team.teamId, { tailLinkId: team.tailLinkId, state });
    return state;
  }

  async #parentState(team: TeamRecord): Promise<TeamChainState | undefined> {
    if (team.parentId === null) return undefined;
    const parent = await this.#storage.teams.getTeam(team.parentId);
    if (parent === null) throw fail('INTERNAL', 'a subteam without its parent');
    return this.#stateOf(parent);
  }

  /**
   * A team by ID or canonical name, if `uid` may read it: a member, a member of one of its
   * subteams (they verify a subteam against its parent chain), or an admin of its parent.
   * Anyone else gets `TEAM_NOT_FOUND`, as for a team that does not exist.
   *
   * @throws ServerError `TEAM_NOT_FOUND`; `VALIDATION_FAILED` for a reference that is not
   *   storable text (a NUL or a lone surrogate, issue #12.5) — here, so every team route has it.
   */
  async readable(ref: string, uid: string): Promise<TeamRecord> {
    const checked = teamRefSchema.safeParse(ref);
    if (!checked.success)
      throw fail('VALIDATION_FAILED', `team: ${checked.error.issues[0]?.message ?? 'invalid'}`);
    const byId = /^[0-9a-f]{32}$/.test(ref);
    const team = byId
      ? await this.#storage.teams.getTeam(ref)
      : await this.#storage.teams.getTeamByName(ref.toLowerCase());
    if (team === null || !(await this.#mayRead(team, uid)))
      throw fail('TEAM_NOT_FOUND', 'no such team');
    return team;
  }

  async #mayRead(team: TeamRecord, uid: string): Promise<boolean> {
    const mine = await this.#storage.teams.listTeamsForUser(uid);
    if (mine.some((m) => m.team.teamId === team.teamId)) return true;
    if (
      team.parentId !== null &&
      mine.some(
        (m) => m.team.teamId === team.parentId && (m.role === 'admin' || m.role === 'owner'),
      )
    )
      return true;
    // An ancestor of one of the caller's teams.
    for (const m of mine) {
      let parentId = m.team.parentId;
      for (let depth = 0; parentId !== null && depth < 16; depth++) {
        if (parentId === team.teamId) return true;
        parentId = (await this.#storage.teams.getTeam(parentId))?.parentId ?? null;
      }
    }
    return false;
  }

  /**
   * The team's links after `since`, with the usernames of every user the whole chain names.
   *
   * @throws ServerError `INTERNAL` for a stored link that names an unknown user.
   */
  async chain(team: TeamRecord, since: number): Promise<TeamChainResponse> {
    const all = await this.#storage.teams.getTeamLinks(team.teamId, 0);
    const uids = new Set<string>();
    for (const l of all) {
      const info = linkInfo(l.link);
      uids.add(info.signerUid);
      for (const m of info.members) uids.add(m.uid);
    }
    const usernames: Record<string, string> = {};
    for (const uid of uids) {
      const u = await this.#storage.users.getUserByUid(uid);
      if (u === null) throw fail('INTERNAL', 'a stored team link names an unknown user');
      usernames[uid] = u.username;
    }
    return {
      teamId: team.teamId,
      name: team.name,
      parentId: team.parentId,
      implicit: team.implicit,
      links: all.filter((l) => l.seqno > since).map((l) => l.link),
      usernames,
    };
  }

  /** The caller's key boxes of a team (current members only) and the team's prevs. */
  async keyBoxes(
    team: TeamRecord,
    uid: string,
    generation: number | undefined,
  ): Promise<TeamKeyBoxesResponse> {
    const members = await this.#storage.teams.getMembers(team.teamId);
    if (!members.some((m) => m.uid === uid)) throw fail('TEAM_NOT_FOUND', 'no such team');
    const boxes = await this.#storage.teams.getTeamKeyBoxes(team.teamId, uid, generation);
    const prevs = await this.#storage.teams.getTeamPrevs(team.teamId);
    return {
      teamId: team.teamId,
      boxes: boxes.map((b) => ({
        ...(JSON.parse(b.box) as Omit<TeamKeyBoxWire, 'generation'>),
        generation: b.generation,
      })),
      prevs,
    };
  }

  /** The caller's teams; implicit teams only when asked. */
  async list(uid: string, implicit: boolean): Promise<TeamListResponse> {
    const mine = await this.#storage.teams.listTeamsForUser(uid);
    return {
      teams: mine
        .filter((m) => implicit || !m.team.implicit)
        .map((m) => ({
          teamId: m.team.teamId,
          name: m.team.name,
          parentId: m.team.parentId,
          implicit: m.team.implicit,
          role: m.role,
        })),
    };
  }

  /**
   * Creates a root team, an implicit team (`alice,bob`: canonical name, exactly the named users
   * as members) or a subteam (with the parent's `team.new_subteam` link).
   *
   * @throws ServerError `FORBIDDEN` (signer is not the caller, or lacks the rights),
   *   `CHAIN_INVALID`, `VALIDATION_FAILED` (bad name, unknown member), `TEAM_NOT_FOUND`
   *   (parent), `TEAM_NAME_TAKEN`, `CHAIN_CONFLICT` (parent moved), `TEAM_KEY_BOXES_INVALID`.
   */
  async create(
    req: { links: ChainLink[]; perTeamKey: PerTeamKeyPost; parentLinks?: ChainLink[] | undefined },
    caller: KeyRecord,
  ): Promise<TeamTail> {
    const head = req.links[0]!;
    const info = linkInfo(head);
    if (info.signerUid !== caller.uid)
      throw fail('FORBIDDEN', 'team links must be signed by the requesting user');
    if (info.name === undefined) throw fail('CHAIN_INVALID', 'the first team link has no name');
    await checkLinkMerkleRoots(
      this.#storage,
      [...req.links, ...(req.parentLinks ?? [])],
      this.#now(),
    );
    let parentTeam: TeamRecord | null = null;
    let parentResult: TeamChainResult | undefined;
    if (info.type === 'team.root') {
      if (req.parentLinks !== undefined)
        throw fail('VALIDATION_FAILED', 'a root team has no parent links');
      if (info.implicit) this.#checkImplicit(info);
      else {
        let canonical: string;
        try {
          const n = parseTeamName(info.name);
          if (!n.isRoot) throw new Error('not a root name');
          canonical = n.name;
        } catch {
          throw fail('VALIDATION_FAILED', 'a root team name is one part of 2–16 of a-z, 0-9, _');
        }
        if (canonical !== info.name) throw fail('VALIDATION_FAILED', 'team names are lowercase');
      }
    } else if (info.type === 'team.subteam_head') {
      if (req.parentLinks === undefined || info.parentId === undefined)
        throw fail('VALIDATION_FAILED', "a subteam needs its parent's new_subteam link");
      parentTeam = await this.#storage.teams.getTeam(info.parentId);
      if (parentTeam === null) throw fail('TEAM_NOT_FOUND', 'no such parent team');
      if (parentTeam.implicit) throw fail('VALIDATION_FAILED', 'implicit teams have no subteams');
      const p = linkInfo(req.parentLinks[0]!);
      if (p.type !== 'team.new_subteam' || p.signerUid !== caller.uid)
        throw fail('CHAIN_INVALID', "the parent link must be the caller's team.new_subteam");
      if (p.subteam?.id !== info.teamId || p.subteam.name !== info.name)
        throw fail('CHAIN_INVALID', 'the parent link announces another subteam');
      const prefix = `${parentTeam.name}.`;
      let ok = false;
      try {
        ok = info.name.startsWith(prefix) && parseTeamName(info.name).name === info.name;
      } catch {
        ok = false;
      }
      if (!ok || info.name.slice(prefix.length).includes('.'))
        throw fail('VALIDATION_FAILED', 'a subteam is named <parent>.<part>, lowercase');
      if (req.parentLinks[0]!.seqno !== parentTeam.tailSeqno + 1)
        throw fail(
          'CHAIN_CONFLICT',
          `parent links must start at seqno ${parentTeam.tailSeqno + 1}`,
        );
      const parentState = await this.#stateOf(parentTeam);
      const grandparent = await this.#parentState(parentTeam);
      const signers = teamSignersFromUserChains((await this.#userStates([caller.uid])).values());
      try {
        parentResult = extendTeamChain(this.#backend, parentState, req.parentLinks, {
          signers,
          ...(grandparent ? { parent: grandparent } : {}),
        });
      } catch (e) {
        refused(e);
      }
    } else {
      throw fail('CHAIN_INVALID', 'a team starts with team.root or team.subteam_head');
    }
    if (
      (await this.#storage.teams.getTeamByName(info.name)) !== null ||
      (await this.#storage.teams.getTeam(info.teamId)) !== null
    )
      throw fail('TEAM_NAME_TAKEN', 'team name is already registered');

    const named = [info.signerUid, ...info.members.map((m) => m.uid)];
    const states = await this.#userStates(named);
    let result: TeamChainResult;
    try {
      result = verifyTeamChain(this.#backend, {
        teamId: info.teamId,
        links: req.links,
        signers: teamSignersFromUserChains(states.values()),
        ...(parentResult ? { parent: parentResult.state } : {}),
      });
    } catch (e) {
      refused(e);
    }
    const { boxes, prevs } = this.#checkBoxes(
      result.state,
      req.perTeamKey,
      { generation: 1, uids: uidsOf(result.state), prev: false },
      states,
      caller,
    );
    const team: TeamRecord = {
      teamId: info.teamId,
      name: info.name,
      parentId: parentTeam?.teamId ?? null,
      implicit: info.implicit,
      tailSeqno: result.state.tail.seqno,
      tailLinkId: result.state.tail.linkId,
      ctime: this.#now(),
    };
    if (parentTeam !== null && parentResult !== undefined) {
      // Both chains verified above; the parent's announcement goes first so a subteam never
      // exists without it (a failure between the two leaves an unused announcement).
      await this.#storage.teams.appendTeamLinks({
        teamId: parentTeam.teamId,
        expectedTailSeqno: parentTeam.tailSeqno,
        links: this.#storedLinks(req.parentLinks!),
        projection: this.#projection(parentResult.state),
        keyBoxes: [],
      });
      this.#remember(parentTeam.teamId, {
        tailLinkId: parentResult.state.tail.linkId,
        state: parentResult.state,
      });
    }
    await this.#storage.teams.createTeam({
      team,
      links: this.#storedLinks(req.links),
      projection: this.#projection(result.state),
      keyBoxes: boxes,
      prevs,
    });
    this.#remember(team.teamId, { tailLinkId: team.tailLinkId, state: result.state });
    return {
      teamId: team.teamId,
      name: team.name,
      seqno: team.tailSeqno,
      linkId: team.tailLinkId,
    };
  }

  /** An implicit team: canonical name, members exactly the named users, signer among them. */
  #checkImplicit(info: LinkInfo): void {
    let canonical;
    try {
      canonical = canonicalizeImplicitTeamName(info.name!);
    } catch {
      throw fail('VALIDATION_FAILED', 'an implicit team is named by its members: a,b#c');
    }
    if (canonical.name !== info.name)
      throw fail('VALIDATION_FAILED', 'implicit team names are sorted, lowercase, deduplicated');
    const want = new Map<string, string>();
    for (const w of canonical.writers) want.set(uidFromUsername(this.#backend, w), 'owner');
    for (const r of canonical.readers) want.set(uidFromUsername(this.#backend, r), 'reader');
    const got = new Map(info.members.map((m) => [m.uid, m.role]));
    if (got.size !== want.size || [...want].some(([uid, role]) => got.get(uid) !== role))
      throw fail(
        'VALIDATION_FAILED',
        'implicit team members must be exactly the named users (writers as owners)',
      );
    if (want.get(info.signerUid) !== 'owner')
      throw fail('FORBIDDEN', 'only a named writer can create an implicit team');
  }

  /**
   * Appends `team.change_membership`, `team.rotate_key` and `team.leave` links. A removal must
   * come with a new per-team-key generation boxed to exactly the remaining members; new members
   * without a rotation get the current generation. A member leaves without a rotation (a
   * `team.leave` carries no key, spec keybase-identity §6.4), so after a leave the next
   * membership change must rotate. No post may leave a root team without an owner, or any team
   * without members.
   *
   * @throws ServerError `FORBIDDEN`, `CHAIN_CONFLICT`, `CHAIN_INVALID`, `VALIDATION_FAILED`,
   *   `TEAM_ROTATION_REQUIRED`, `TEAM_KEY_BOXES_INVALID`, `TEAM_LAST_OWNER`, `TEAM_LAST_MEMBER`.
   */
  async append(
    team: TeamRecord,
    req: { links: ChainLink[]; perTeamKey?: PerTeamKeyPost | undefined },
    caller: KeyRecord,
  ): Promise<TeamTail> {
    if (req.links[0]!.seqno !== team.tailSeqno + 1)
      throw fail('CHAIN_CONFLICT', `links must start at seqno ${team.tailSeqno + 1}`);
    await checkLinkMerkleRoots(this.#storage, req.links, this.#now());
    const infos = req.links.map(linkInfo);
    for (const i of infos) {
      if (i.signerUid !== caller.uid)
        throw fail('FORBIDDEN', 'team links must be signed by the requesting user');
      const allowed = team.implicit
        ? i.type === 'team.rotate_key'
        : i.type === 'team.change_membership' ||
          i.type === 'team.rotate_key' ||
          i.type === 'team.leave';
      if (!allowed)
        throw fail(
          'CHAIN_INVALID',
          team.implicit
            ? 'implicit team members are fixed; only key rotations can be appended'
            : `${i.type} links cannot be appended here`,
        );
    }
    const before = await this.#stateOf(team);
    const leavers = new Set(infos.filter((i) => i.type === 'team.leave').map((i) => i.signerUid));
    if (leavers.size > 0) {
      // Checked before the verifier, which refuses the last owner's leave as a bad chain.
      const left = teamMembersByUid(before);
      for (const uid of leavers) left.delete(uid);
      checkOrphans(before, left);
    }
    const parent = await this.#parentState(team);
    const states = await this.#userStates([
      caller.uid,
      ...uidsOf(before),
      ...infos.flatMap((i) => i.members.map((m) => m.uid)),
    ]);
    let result: TeamChainResult;
    try {
      result = extendTeamChain(this.#backend, before, req.links, {
        signers: teamSignersFromUserChains(states.values()),
        ...(parent ? { parent } : {}),
      });
    } catch (e) {
      refused(e);
    }
    const after = result.state;
    checkOrphans(before, teamMembersByUid(after));
    const was = uidsOf(before);
    const now = uidsOf(after);
    // Members who left by their own `team.leave` need no rotation in this post.
    const removed = [...was].filter((u) => !now.has(u) && !leavers.has(u));
    const added = new Set([...now].filter((u) => !was.has(u)));
    const newGenerations = after.perTeamKeys.size - before.perTeamKeys.size;
    if (removed.length > 0 && newGenerations === 0)
      throw fail(
        'TEAM_ROTATION_REQUIRED',
        'removing a member needs a new per-team-key generation in the same post',
      );
    if (
      newGenerations === 0 &&
      teamRotationPending(before) &&
      infos.some((i) => i.type === 'team.change_membership')
    )
      throw fail(
        'TEAM_ROTATION_REQUIRED',
        'a member left since the last key rotation; this change must rotate the team key',
      );
    if (newGenerations > 1)
      throw fail('TEAM_KEY_BOXES_INVALID', 'one post introduces at most one key generation');
    const expect: BoxExpectation | null =
      newGenerations === 1
        ? { generation: after.perTeamKeys.size, uids: now, prev: true }
        : added.size > 0
          ? { generation: after.perTeamKeys.size, uids: added, prev: false }
          : null;
    const { boxes, prevs } = this.#checkBoxes(after, req.perTeamKey, expect, states, caller);
    await this.#storage.teams.appendTeamLinks({
      teamId: team.teamId,
      expectedTailSeqno: team.tailSeqno,
      links: this.#storedLinks(req.links),
      projection: this.#projection(after),
      keyBoxes: boxes,
      prevs,
    });
    this.#remember(team.teamId, { tailLinkId: after.tail.linkId, state: after });
    return {
      teamId: team.teamId,
      name: team.name,
      seqno: after.tail.seqno,
      linkId: after.tail.linkId,
    };
  }

  /**
   * Deletes a team: its chain, members, key boxes and KV entries are erased; the name and ID
   * stay reserved (a new team of that name could otherwise pass for this one with anyone who
   * pinned it). A root team is deleted by an owner; a subteam by one of its admins or an admin
   * of an ancestor. Implicit teams are not deleted (their name is their members). A team with
   * live subteams is refused: delete those first.
   *
   * @throws ServerError `FORBIDDEN`, `VALIDATION_FAILED` (implicit), `TEAM_HAS_SUBTEAMS`,
   *   `CHAIN_CONFLICT` (the chain moved meanwhile), `TEAM_NOT_FOUND`.
   */
  async delete(team: TeamRecord, caller: KeyRecord): Promise<TeamDeleted> {
    if (team.implicit) throw fail('VALIDATION_FAILED', 'implicit teams cannot be deleted');
    const role = teamMembersByUid(await this.#stateOf(team)).get(caller.uid);
    let allowed = team.parentId === null ? role === 'owner' : role === 'admin';
    // An admin of an ancestor is an implicit admin of a subteam.
    for (
      let parentId = team.parentId, depth = 0;
      !allowed && parentId !== null && depth < 16;
      depth++
    ) {
      const parent = await this.#storage.teams.getTeam(parentId);
      if (parent === null) break;
      const r = teamMembersByUid(await this.#stateOf(parent)).get(caller.uid);
      allowed = r === 'admin' || r === 'owner';
      parentId = parent.parentId;
    }
    if (!allowed)
      throw fail(
        'FORBIDDEN',
        team.parentId === null
          ? 'only an owner can delete a team'
          : 'only an admin of the subteam or of a parent team can delete it',
      );
    const res = await this.#storage.teams.deleteTeam(team.teamId, team.tailSeqno, this.#now());
    if (res === 'has_subteams')
      throw fail('TEAM_HAS_SUBTEAMS', 'the team has subteams; delete them first');
    this.#cache.delete(team.teamId);
    return { teamId: team.teamId, name: team.name, kvEntriesDeleted: res.kvEntriesDeleted };
  }

  /** Links to store, with the IDs the server computes (never the client's claims). */
  #storedLinks(links: readonly ChainLink[]): StoredLink[] {
    return links.map((l) => {
      let imported;
      try {
        imported = importChainLink(this.#backend, l, TEAM_IMPORT);
      } catch (e) {
        throw fail('CHAIN_INVALID', 'a team link does not import', { cause: e });
      }
      // The seqno and prev beside the link must repeat its signed payload's (as for users).
      if (imported.seqno !== l.seqno || imported.prev !== l.prev)
        throw fail('CHAIN_INVALID', `link ${l.seqno}: seqno or prev differs from its payload`);
      const linkId = imported.id;
      const sigId = imported.sigId!;
      return {
        seqno: l.seqno,
        linkId,
        sigId,
        type: imported.type!,
        link: { ...l, sig_id: sigId, payload_hash: linkId },
      };
    });
  }

  #projection(state: TeamChainState): { members: { uid: string; role: TeamRole }[] } {
    return {
      members: [...state.members]
        .filter(([, role]) => STORED_ROLES.has(role))
        .map(([uv, role]) => ({ uid: parseUserVersion(uv).uid, role: role as TeamRole })),
    };
  }

  /**
   * Checks a post's `per_team_key` section against what the verified chain calls for: the
   * generation, exactly the expected members, each box addressed to the member's CURRENT PUK
   * (the seqno of their newest `per_user_key` link), sent by a live encryption key of the
   * caller, distinct nonce counters from 1, and a `prev` exactly on a rotation.
   */
  #checkBoxes(
    state: TeamChainState,
    post: PerTeamKeyPost | undefined,
    expect: BoxExpectation | null,
    states: Map<string, UserChainState>,
    caller: KeyRecord,
  ): { boxes: TeamKeyBoxRecord[]; prevs: TeamPrevRecord[] } {
    const bad = (why: string) => fail('TEAM_KEY_BOXES_INVALID', why);
    if (expect === null) {
      if (post !== undefined) throw bad('this post calls for no key boxes');
      return { boxes: [], prevs: [] };
    }
    if (post === undefined) throw bad('this post needs per-team-key boxes');
    if (post.generation !== expect.generation || !state.perTeamKeys.has(post.generation))
      throw bad(`boxes must be for generation ${expect.generation}`);
    const sender = states.get(caller.uid)?.keys.get(post.encryptingKid);
    if (
      !isKid(post.encryptingKid, KID_TYPE.curve25519) ||
      sender?.role !== 'subkey' ||
      sender.status !== 'live'
    )
      throw bad("the sender must be a live encryption key of the caller's device");
    let prefix: Uint8Array;
    try {
      prefix = fromBase64(post.noncePrefix);
    } catch {
      prefix = new Uint8Array(0);
    }
    if (prefix.length !== 20) throw bad('the nonce prefix must be 20 bytes');
    const wantPrev = expect.prev && expect.generation > 1;
    if (wantPrev !== (post.prev !== undefined))
      throw bad(wantPrev ? 'a rotation needs the prev secretbox' : 'no prev expected');
    const uids = Object.keys(post.boxes);
    if (uids.length !== expect.uids.size || !uids.every((u) => expect.uids.has(u)))
      throw bad('boxes must be for exactly the members the post calls for');
    const counters = new Set<number>();
    const boxes = uids.map((uid): TeamKeyBoxRecord => {
      let decoded;
      try {
        decoded = decodeTeamMemberBox(post.boxes[uid]!);
      } catch {
        throw bad('a member box is not [1, puk_seqno, counter, ctext]');
      }
      const { perUserKeySeqno, nonceCounter, ctext } = decoded;
      if (ctext.length !== 48) throw bad('a member box ciphertext must be 48 bytes');
      if (!Number.isInteger(nonceCounter) || nonceCounter < 1 || nonceCounter > 0xffffffff)
        throw bad('member box nonce counters start at 1');
      if (counters.has(nonceCounter)) throw bad('member box nonce counters must be distinct');
      counters.add(nonceCounter);
      const user = states.get(uid);
      const pukList = user ? [...user.perUserKeys.values()] : [];
      const current = pukList.reduce<(typeof pukList)[number] | undefined>(
        (a, p) => (a === undefined || p.generation > a.generation ? p : a),
        undefined,
      );
      if (current?.seqno !== perUserKeySeqno)
        throw bad("a member box is not addressed to the member's current per-user key");
      const wire: Omit<TeamKeyBoxWire, 'generation'> = {
        nonce: toBase64(teamBoxNonce(prefix, nonceCounter)),
        senderKid: post.encryptingKid,
        ctext: toBase64(ctext),
        perUserKeySeqno,
      };
      return {
        generation: post.generation,
        uid,
        receiverKid: current.encryptionKid,
        box: JSON.stringify(wire),
      };
    });
    // Members named with another eldest seqno than their chain's are not the users we know.
    for (const uv of state.members.keys()) {
      const { uid, eldestSeqno } = parseUserVersion(uv);
      const s = states.get(uid);
      if (s !== undefined && expect.uids.has(uid) && s.eldestSeqno !== eldestSeqno)
        throw fail('VALIDATION_FAILED', 'a member is named with a stale eldest seqno');
    }
    const prevs =
      wantPrev && post.prev !== undefined ? [{ generation: post.generation, prev: post.prev }] : [];
    return { boxes, prevs };
  }
}
