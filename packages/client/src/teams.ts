/**
 * Loading teams the client can trust (DESIGN.md, Teams): fetch the team chain, verify it with
 * `@saltbox/identity`'s `verifyTeamChain` — each link's signer checked against their user chain
 * as {@link UserLoader} verified it — pin the team ID and root link on first contact, and on
 * every refetch require the chain already verified to be a prefix of the new one. Key boxes are
 * opened through the keystore only after checks against the verified chain.
 *
 * The server cannot choose which team answers for a name: root and implicit team IDs are the
 * hash of the (canonical) name, computed here; a subteam's ID comes from its parent's verified
 * `team.new_subteam` announcement.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  canonicalizeImplicitTeamName,
  extendTeamChain,
  IdentityError,
  importChainLink,
  KID_TYPE,
  naclPublicKey,
  parseTeamName,
  parseUserVersion,
  rootTeamId,
  SIG_ID_SUFFIX,
  TEAM_LINK_TYPES,
  uidFromUsername,
  verifyTeamChain,
} from '@saltbox/identity';
import type {
  KidHex,
  ServerChainLink,
  TeamChainState,
  TeamName,
  TeamRole,
  TeamSignerLookup,
} from '@saltbox/identity';
import type { TeamChainResponse } from '@saltbox/protocol';
import { ClientError } from './errors.js';
import type { ApiClient } from './http.js';
import { isLogUnreachable } from './log.js';
import type { LogClient } from './log.js';
import type { UserLoader, VerifiedUser } from './users.js';

/** A member of a verified team. */
export interface VerifiedTeamMember {
  uid: string;
  /** Checked against the UID (`SHA-256(username)`), never taken on the server's word. */
  username: string;
  role: Exclude<TeamRole, 'none'>;
}

/**
 * Someone who held a role in a verified team at some point — a current member or one removed
 * or gone since — with every role change the chain records for them.
 */
export interface VerifiedTeamPastMember {
  uid: string;
  /** Checked against the UID, as for {@link VerifiedTeamMember}. */
  username: string;
  /** Each role and the seqno of the link it took effect at, oldest first (`none`: left). */
  roles: { seqno: number; role: TeamRole }[];
}

/** A per-team-key generation as the verified chain announces it. */
export interface VerifiedTeamKey {
  generation: number;
  /** Seqno of the team link that introduced it. */
  seqno: number;
  signingKid: KidHex;
  encryptionKid: KidHex;
  /**
   * The signed-log root that link names (`merkle_root`, spec §3.1), null when it names none:
   * what orders the key against members' per-user-key rolls (lazy rotation, spec §6.4 CLKR).
   */
  merkleRoot: { seqno: number; hashMeta: string } | null;
}

/** A team whose members and keys come only from a chain this client verified. */
export interface VerifiedTeam {
  id: string;
  /** Canonical name (`acme`, `acme.infra`, `alice,bob`). */
  name: string;
  implicit: boolean;
  parentId: string | null;
  tail: { seqno: number; linkId: string };
  members: VerifiedTeamMember[];
  /**
   * Everyone the verified chain ever gave a role, current members included: a KV value stays
   * attributable to a writer removed since (see {@link teamWriterAt}). Never the server's word:
   * the roles come from the chain, the usernames are checked against the UIDs.
   */
  everMembers: VerifiedTeamPastMember[];
  /** Ascending by generation; the last is the current key. */
  perTeamKeys: VerifiedTeamKey[];
  subteams: { id: string; name: string }[];
  /** Curve25519 KIDs of the link signers' devices: the only acceptable key-box senders. */
  boxSenders: KidHex[];
  /** The verifier's state, for `extendTeamChain` and key checks. */
  state: TeamChainState;
  /** Unix ms of the fetch this answer was verified from. */
  verifiedAt: number;
}

/** What the client remembers of a team after first contact. */
export interface TeamPin {
  teamId: string;
  name: string;
  /** The root (or subteam head) link's ID: a different first link is a fork. */
  rootLinkId: string;
  /** The newest verified tail, so the prefix rule holds even without the cache. */
  tail: { seqno: number; linkId: string };
  pinnedAt: number;
}

/** Where team pins live. */
export interface TeamPinStore {
  get(teamId: string): Promise<TeamPin | undefined>;
  set(pin: TeamPin): Promise<void>;
}

/** Team pins in memory (one process). */
export class MemoryTeamPinStore implements TeamPinStore {
  readonly #pins = new Map<string, TeamPin>();

  get(teamId: string): Promise<TeamPin | undefined> {
    const p = this.#pins.get(teamId);
    return Promise.resolve(p ? structuredClone(p) : undefined);
  }

  set(pin: TeamPin): Promise<void> {
    this.#pins.set(pin.teamId, structuredClone(pin));
    return Promise.resolve();
  }
}

/** Options of {@link TeamLoader}. */
export interface TeamLoaderOptions {
  api: ApiClient;
  backend: CryptoBackend;
  /** Loads link signers and members (their verified user chains). */
  users: UserLoader;
  /** Default: a {@link MemoryTeamPinStore}. */
  pins?: TeamPinStore;
  /**
   * The server's signed log (share the account's, `Account.log`); default: the user
   * loader's.
   */
  log?: LogClient;
  /**
   * How long a verified team chain may be used without refetching (default 10 minutes):
   * while the server answers, a cached team is also checked against the signed log before
   * each use (a member removed by another client shows at once); when it cannot be reached,
   * the cache answers within this TTL.
   */
  ttlMs?: number;
  now?: () => number;
}

/** Default team cache TTL: ten minutes (membership changes matter sooner than device keys). */
export const DEFAULT_TEAM_TTL_MS = 10 * 60 * 1000;

/** A team ID (as `isTeamId`, without narrowing the caller's string to `never`). */
const TEAM_ID = /^[0-9a-f]{30}(?:24|2e|25|2f)$/;

const TEAM_IMPORT = {
  chain: 'team' as const,
  sigIdSuffix: SIG_ID_SUFFIX.teamV2,
  supportedTypes: new Set<string>(Object.keys(TEAM_LINK_TYPES)),
};

interface CachedTeam {
  team: VerifiedTeam;
  linkIds: string[];
  signers: Map<string, VerifiedUser>;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function payloadOf(link: ServerChainLink): Record<string, unknown> | undefined {
  try {
    return obj(JSON.parse(link.payload_json ?? '') as unknown);
  } catch {
    return undefined;
  }
}

/**
 * The `merkle_root` a (verified) link names, when well formed: its seqno and `hash_meta`.
 */
function merkleRootOf(link: ServerChainLink | undefined): VerifiedTeamKey['merkleRoot'] {
  const root = obj(obj(link ? payloadOf(link)?.body : undefined)?.merkle_root);
  const seqno = root?.seqno;
  const hashMeta = root?.hash_meta;
  if (typeof seqno !== 'number' || !Number.isSafeInteger(seqno) || seqno < 1) return null;
  if (typeof hashMeta !== 'string' || !/^[0-9a-f]{64}$/.test(hashMeta)) return null;
  return { seqno, hashMeta };
}

/** Whether a link's signing KID is missing from a verified user's keys (live or revoked). */
function lacksKey(user: VerifiedUser, kid: unknown): boolean {
  return typeof kid === 'string' && !user.keys.some((k) => k.kid === kid);
}

/**
 * A verification failure that says which link and which rule (#14.8): the identity verifier's
 * message names the rule (e.g. "team link signed by a since-revoked key: …").
 */
function invalid(team: string, e: unknown): never {
  if (e instanceof ClientError) throw e;
  const identity = e instanceof IdentityError ? e : undefined;
  const seqno = identity?.details.seqno;
  throw new ClientError(
    'CLIENT_CHAIN_INVALID',
    `the chain of team ${team} does not verify` +
      (seqno === undefined ? '' : ` at link ${seqno}`) +
      (identity ? `: ${identity.message}` : ''),
    {
      team,
      identityCode: identity && typeof identity.code === 'string' ? identity.code : null,
      seqno: seqno ?? null,
    },
    { cause: e },
  );
}

/** Loads, verifies, pins and caches teams (see the module comment for the rules). */
export class TeamLoader {
  readonly #api: ApiClient;
  readonly #backend: CryptoBackend;
  readonly #users: UserLoader;
  readonly #pins: TeamPinStore;
  readonly #log: LogClient;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedTeam>();
  readonly #inflight = new Map<string, Promise<VerifiedTeam>>();
  /** A team's tail in the log at an older root (`teamId:seqno`): roots never change. */
  readonly #loggedTails = new Map<string, { seqno: number; linkId: string } | null>();

  constructor(options: TeamLoaderOptions) {
    this.#api = options.api;
    this.#backend = options.backend;
    this.#users = options.users;
    this.#pins = options.pins ?? new MemoryTeamPinStore();
    this.#log = options.log ?? options.users.log;
    this.#ttlMs = options.ttlMs ?? DEFAULT_TEAM_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The signed log this loader checks teams against (team links name its roots). */
  get log(): LogClient {
    return this.#log;
  }

  /**
   * The team ID a name denotes: the hash of a root or (canonical) implicit name, or for a
   * subteam the ID its verified parent announced.
   *
   * @throws ClientError `CLIENT_INVALID_ARGUMENT` (malformed name), `CLIENT_TEAM_NOT_FOUND`
   *   (the parent announces no such subteam), and the codes of {@link TeamLoader.load}.
   */
  async resolve(nameOrId: string): Promise<{ id: string; name: string | undefined }> {
    if (TEAM_ID.test(nameOrId)) return { id: nameOrId, name: undefined };
    if (nameOrId.includes(',') || nameOrId.includes('#') || !nameOrId.includes('.')) {
      let name: string;
      try {
        name =
          nameOrId.includes(',') || nameOrId.includes('#')
            ? canonicalizeImplicitTeamName(nameOrId).name
            : parseTeamName(nameOrId).name;
      } catch (e) {
        throw new ClientError('CLIENT_INVALID_ARGUMENT', 'not a valid team name', {}, { cause: e });
      }
      return { id: rootTeamId(this.#backend, name), name };
    }
    let parsed: TeamName;
    try {
      parsed = parseTeamName(nameOrId);
    } catch (e) {
      throw new ClientError('CLIENT_INVALID_ARGUMENT', 'not a valid team name', {}, { cause: e });
    }
    const parent = await this.load(parsed.parts.slice(0, -1).join('.'));
    const sub = parent.subteams.find((s) => s.name === parsed.name);
    if (sub === undefined)
      throw new ClientError('CLIENT_TEAM_NOT_FOUND', `no team ${parsed.name}`, {
        team: parsed.name,
      });
    return { id: sub.id, name: parsed.name };
  }

  /**
   * Returns the team's verified members and keys: from the cache while fresh, else by fetching
   * the whole chain, checking it extends what was verified, and verifying what is new.
   *
   * @param nameOrId - a team ID, a name (`acme`, `acme.infra`) or an implicit name (`alice,bob`).
   * @param options - `refresh: true` refetches even when the cache is fresh.
   * @throws ClientError `CLIENT_INVALID_ARGUMENT`, `CLIENT_TEAM_NOT_FOUND`, `CLIENT_WRONG_TEAM`
   *   (another team's chain, or a username that is not its UID's), `CLIENT_CHAIN_INVALID`
   *   (`details.identityCode`, e.g. `IDENTITY_TEAM_PERMISSION` for a member added without an
   *   admin's signature), `CLIENT_CHAIN_ROLLBACK`, `CLIENT_CHAIN_FORK`, the codes of
   *   `UserLoader.load` for signers, and the transport codes of {@link ApiClient}.
   */
  async load(nameOrId: string, options: { refresh?: boolean } = {}): Promise<VerifiedTeam> {
    const { id, name } = await this.resolve(nameOrId);
    const key = `${id}:${options.refresh === true}`;
    const running = this.#inflight.get(key);
    if (running) return running;
    const p = this.#load(id, name, options.refresh === true).finally(() => {
      this.#inflight.delete(key);
    });
    this.#inflight.set(key, p);
    return p;
  }

  async #load(
    id: string,
    expectedName: string | undefined,
    refresh: boolean,
    attempt = 1,
  ): Promise<VerifiedTeam> {
    const pin = await this.#pins.get(id);
    let cached = this.#cache.get(id);
    if (cached && pin && cached.linkIds[pin.tail.seqno - 1] !== pin.tail.linkId) cached = undefined;
    const now = this.#now();
    if (
      cached &&
      !refresh &&
      now - cached.team.verifiedAt < this.#ttlMs &&
      (await this.#stillLogged(id, cached.team.tail))
    )
      return cached.team;

    // A root from before the fetch: the log holds at most the tail served after it.
    const before = await this.#log.latest();
    this.#log.tailAt(id, before.seqno).catch(() => undefined);
    const res = await this.#api.fetchTeamChain(id);
    const label = expectedName ?? pin?.name ?? id;
    if (res.teamId !== id || (expectedName !== undefined && res.name !== expectedName))
      throw new ClientError(
        'CLIENT_WRONG_TEAM',
        `the server answered for another team than ${label}`,
        {
          team: label,
          answeredTeam: res.name,
        },
      );
    const usernames = this.#checkUsernames(res, label);
    let ids: string[];
    try {
      ids = res.links.map((l) => importChainLink(this.#backend, l, TEAM_IMPORT).id);
    } catch (e) {
      invalid(label, e);
    }
    this.#checkPrefix(label, ids, cached?.linkIds, pin);

    const signers = new Map(cached?.signers ?? []);
    const fresh = res.links.slice(cached?.linkIds.length ?? 0);
    for (const l of fresh) {
      const key = obj(obj(payloadOf(l)?.body)?.key);
      const uid = key?.uid;
      if (typeof uid !== 'string') continue;
      // A signer's cached chain may predate the device that signed (added on another machine
      // within the user cache's TTL): refetch that user once rather than call the team forged.
      const known = signers.get(uid);
      if (known && !lacksKey(known, key?.kid)) continue;
      const username = usernames.get(uid);
      if (username === undefined)
        throw new ClientError('CLIENT_WRONG_TEAM', `team ${label} names a signer without a name`, {
          team: label,
        });
      let user = known ?? (await this.#users.load(username));
      if (lacksKey(user, key?.kid)) user = await this.#users.load(username, { refresh: true });
      signers.set(uid, user);
    }
    const lookup = signerLookup(signers);
    const teamTailAt = await this.#revocationTails(id, label, fresh, signers);
    const parent = res.parentId === null ? undefined : (await this.load(res.parentId)).state;
    let state: TeamChainState;
    try {
      if (cached && fresh.length === 0) state = cached.team.state;
      else if (cached)
        state = extendTeamChain(this.#backend, cached.team.state, fresh, {
          signers: lookup,
          teamTailAt,
          ...(parent ? { parent } : {}),
        }).state;
      else
        state = verifyTeamChain(this.#backend, {
          teamId: id,
          links: res.links,
          signers: lookup,
          teamTailAt,
          ...(parent ? { parent } : {}),
        }).state;
    } catch (e) {
      invalid(label, e);
    }
    if (state.tail.linkId !== ids[ids.length - 1])
      throw new ClientError('CLIENT_CHAIN_INVALID', `the chain of team ${label} is cut`, {
        team: label,
      });
    // The tail served must be the team's leaf in the signed log (a withheld or unlogged link
    // shows here); a chain that grew meanwhile is fetched again.
    const logged = await this.#log.proveTail(
      id,
      `team ${label}`,
      state.tail,
      (seqno) => ids[seqno - 1],
      before,
    );
    if (logged === 'moved') {
      if (attempt < 3) return this.#load(id, expectedName, true, attempt + 1);
      throw new ClientError(
        'CLIENT_LOG_TAIL_MISMATCH',
        `the chain of team ${label} keeps differing from the signed log`,
        { chain: `team ${label}`, servedSeqno: state.tail.seqno, loggedSeqno: 0 },
      );
    }
    const implicit = this.#implicitRule(res, state, label);
    const nameOf = (uv: string): { uid: string; username: string } => {
      const uid = parseUserVersion(uv).uid;
      const username = usernames.get(uid);
      if (username === undefined)
        throw new ClientError('CLIENT_WRONG_TEAM', `team ${label} names a member without a name`, {
          team: label,
        });
      return { uid, username };
    };
    const members: VerifiedTeamMember[] = [...state.members].map(([uv, role]) => ({
      ...nameOf(uv),
      role: role as VerifiedTeamMember['role'],
    }));
    const everMembers: VerifiedTeamPastMember[] = [...state.roleHistory].map(([uv, roles]) => ({
      ...nameOf(uv),
      roles: roles.map((r) => ({ ...r })),
    }));
    const team: VerifiedTeam = {
      id,
      name: state.name,
      implicit,
      parentId: state.parentId ?? null,
      tail: { ...state.tail },
      members: members.sort((a, b) => a.username.localeCompare(b.username)),
      everMembers: everMembers.sort((a, b) => a.username.localeCompare(b.username)),
      perTeamKeys: [...state.perTeamKeys.values()]
        .map((k) => ({ ...k, merkleRoot: merkleRootOf(res.links[k.seqno - 1]) }))
        .sort((a, b) => a.generation - b.generation),
      subteams: [...state.subteams.values()].map((s) => ({ id: s.id, name: s.name })),
      boxSenders: [...signers.values()].flatMap((u) =>
        u.keys.filter((k) => k.role === 'subkey').map((k) => k.kid),
      ),
      state,
      verifiedAt: now,
    };
    this.#cache.set(id, { team, linkIds: ids, signers });
    await this.#pins.set({
      teamId: id,
      name: team.name,
      rootLinkId: pin?.rootLinkId ?? ids[0]!,
      tail: { ...team.tail },
      pinnedAt: pin?.pinnedAt ?? now,
    });
    return team;
  }

  /**
   * Whether a cached team is still the team's leaf at the log's latest root (asked for at most
   * once per `freshMs` and root change). True also when the server cannot be reached: the TTL
   * is the offline fallback.
   */
  async #stillLogged(id: string, tail: { seqno: number; linkId: string }): Promise<boolean> {
    let logged;
    try {
      logged = await this.#log.currentTail(id);
    } catch (e) {
      if (isLogUnreachable(e)) return true;
      throw e;
    }
    return logged !== null && logged.seqno === tail.seqno && logged.linkId === tail.linkId;
  }

  /**
   * For each new link signed by a since-revoked key: the team's tail in the signed log at the
   * root the revocation names (its `merkle_root`), proven against the pinned log — what lets
   * the verifier accept the link when the log held it before the revocation (Keybase's "team
   * link before user key revocation", spec §7). Roots never change, so proofs are kept.
   *
   * @throws ClientError `CLIENT_LOG_INCONSISTENT` (the server serves another root at that seqno
   *   than the revocation names), and the codes of `LogClient.tailAt`.
   */
  async #revocationTails(
    teamId: string,
    label: string,
    links: readonly ServerChainLink[],
    signers: ReadonlyMap<string, VerifiedUser>,
  ): Promise<(hashMeta: string) => { seqno: number; linkId: string } | undefined> {
    const needed = new Map<string, number>();
    for (const l of links) {
      const key = obj(obj(payloadOf(l)?.body)?.key);
      const k = signers
        .get(typeof key?.uid === 'string' ? key.uid : '')
        ?.keys.find((x) => x.kid === key?.kid);
      if (k?.status === 'revoked' && k.revokedAt)
        needed.set(k.revokedAt.hashMeta, k.revokedAt.seqno);
    }
    const tails = new Map<string, { seqno: number; linkId: string }>();
    for (const [hashMeta, seqno] of needed) {
      const memo = `${teamId}:${seqno}:${hashMeta}`;
      let tail = this.#loggedTails.get(memo);
      if (tail === undefined) {
        const proven = await this.#log.tailAt(teamId, seqno);
        if (proven.root.hashMeta !== hashMeta)
          throw new ClientError(
            'CLIENT_LOG_INCONSISTENT',
            `the log root a revocation names is not the one the server shows (team ${label})`,
            { team: label, seqno },
          );
        tail = proven.tail && { seqno: proven.tail.seqno, linkId: proven.tail.linkId };
        this.#loggedTails.set(memo, tail);
      }
      if (tail) tails.set(hashMeta, tail);
    }
    return (hashMeta) => tails.get(hashMeta);
  }

  /** Every UID → username the server gave must hash to that UID. */
  #checkUsernames(res: TeamChainResponse, label: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [uid, username] of Object.entries(res.usernames)) {
      let ok = false;
      try {
        ok = uidFromUsername(this.#backend, username) === uid;
      } catch {
        ok = false;
      }
      if (!ok)
        throw new ClientError('CLIENT_WRONG_TEAM', `team ${label} maps a uid to another username`, {
          team: label,
        });
      out.set(uid, username);
    }
    return out;
  }

  /**
   * An implicit team (`implicit: true` on its root link) must be named canonically and have
   * exactly the named users as members (writers as owners, readers as readers).
   */
  #implicitRule(res: TeamChainResponse, state: TeamChainState, label: string): boolean {
    const root = res.links[0] ?? undefined;
    const team = obj(obj(root ? payloadOf(root)?.body : undefined)?.team);
    const implicit = team?.implicit === true || team?.is_implicit === true;
    if (!implicit) return false;
    const fail = (why: string) =>
      new ClientError('CLIENT_CHAIN_INVALID', `implicit team ${label}: ${why}`, { team: label });
    let canonical;
    try {
      canonical = canonicalizeImplicitTeamName(state.name);
    } catch {
      throw fail('malformed name');
    }
    if (canonical.name !== state.name) throw fail('name is not canonical');
    const want = new Map<string, string>();
    for (const w of canonical.writers) want.set(uidFromUsername(this.#backend, w), 'owner');
    for (const r of canonical.readers) want.set(uidFromUsername(this.#backend, r), 'reader');
    const got = new Map([...state.members].map(([uv, r]) => [parseUserVersion(uv).uid, r]));
    if (got.size !== want.size || [...want].some(([uid, r]) => got.get(uid) !== r))
      throw fail('members are not exactly the named users');
    return true;
  }

  #checkPrefix(
    label: string,
    ids: string[],
    known: string[] | undefined,
    pin: TeamPin | undefined,
  ): void {
    const knownLen = Math.max(known?.length ?? 0, pin?.tail.seqno ?? 0);
    if (ids.length < knownLen)
      throw new ClientError('CLIENT_CHAIN_ROLLBACK', `the server rolled back team ${label}`, {
        team: label,
        verifiedSeqno: knownLen,
        servedSeqno: ids.length,
      });
    const fork = (seqno: number) =>
      new ClientError('CLIENT_CHAIN_FORK', `the server forked the chain of team ${label}`, {
        team: label,
        seqno,
      });
    if (pin && ids[0] !== pin.rootLinkId) throw fork(1);
    known?.forEach((id, i) => {
      if (ids[i] !== id) throw fork(i + 1);
    });
    if (pin && ids[pin.tail.seqno - 1] !== pin.tail.linkId) throw fork(pin.tail.seqno);
  }

  /** The verified signer users of a loaded team (for box checks); empty before a load. */
  signersOf(teamId: string): VerifiedUser[] {
    return [...(this.#cache.get(teamId)?.signers.values() ?? [])];
  }
}

/**
 * A team signer lookup over users {@link UserLoader} verified. A key of a revoked device
 * counts as revoked: the verifier refuses links it signed unless the log placed them before
 * the revocation (`revokedAt`, `teamTailAt`).
 */
function signerLookup(users: ReadonlyMap<string, VerifiedUser>): TeamSignerLookup {
  return (uid, kid) => {
    const u = users.get(uid);
    const k = u?.keys.find((x) => x.kid === kid);
    if (u === undefined || k === undefined) return undefined;
    return {
      eldestSeqno: u.eldestSeqno,
      sibkey: k.role === 'sibkey',
      revoked: k.status !== 'live',
      ...(k.revokedAt ? { revokedAt: { ...k.revokedAt } } : {}),
    };
  };
}

/** The public key of a Curve25519 KID. */
export function encryptionPublicKey(kid: KidHex): Uint8Array {
  return naclPublicKey(kid, KID_TYPE.curve25519);
}
