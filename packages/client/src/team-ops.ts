/**
 * Team operations (DESIGN.md, Teams): create teams, subteams and implicit teams, change
 * membership and roles, rotate keys, open the caller's team keys, and give the Saltpack
 * recipient key of a team. Every link is built and signed through the keystore (the device key
 * signs the link, the new per-team key its reverse signature); seeds are made and boxed inside
 * the keystore; every decision reads the VERIFIED team chain (`TeamLoader`), never the server's
 * projection. A removal always rotates: the new generation is boxed to the remaining members only.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  buildTeamLinkWith,
  canonicalizeImplicitTeamName,
  encodeTeamMemberBox,
  fromBase64,
  generateSubteamId,
  KID_TYPE,
  naclPublicKey,
  parseTeamName,
  roleAtLeast,
  rootTeamId,
  teamMembersByUid,
  teamOrphanRule,
  teamRotationPending,
  toBase64,
} from '@saltbox/identity';
import type { JsonObject, KidHex, RemoteSigner, TeamRole } from '@saltbox/identity';
import type { KeystoreApi } from '@saltbox/keystore';
import type { ChainLink, PerTeamKeyPost, TeamDeleted, TeamRoleName } from '@saltbox/protocol';
import { ClientError, isClientError } from './errors.js';
import type { ApiClient } from './http.js';
import type { LogClient } from './log.js';
import { membersRolledSinceKey } from './team-rotation.js';
import type { RolledMember } from './team-rotation.js';
import type { TeamLoader, VerifiedTeam } from './teams.js';
import type { UserLoader, VerifiedUser } from './users.js';

/** What `parseTeamName` accepts, for the errors of `team create` (a name the user invents). */
const NAME_RULE = 'each part between dots is 2–16 of a-z, 0-9 and _ (no leading or double _)';

/** The keystore methods team operations use. */
export type TeamKeystore = Pick<
  KeystoreApi,
  'sign' | 'createKeyBoxes' | 'openKeyBoxes' | 'getPublicKeyBundle'
>;

/** Who is acting: the caller's username and the keystore device that signs and boxes. */
export interface TeamActor {
  username: string;
  /** The device's Ed25519 KID (signs team links). */
  deviceSigningKid: KidHex;
  /** The device's Curve25519 KID (sends key boxes). */
  deviceEncryptionKid: KidHex;
}

/** Options of {@link TeamManager}. */
export interface TeamManagerOptions {
  api: ApiClient;
  backend: CryptoBackend;
  keystore: TeamKeystore;
  users: UserLoader;
  teams: TeamLoader;
  me: TeamActor;
  /** The signed log whose latest root every team link names (default: the team loader's). */
  log?: LogClient;
  /** Link ctime source, Unix seconds (default now). */
  nowSeconds?: () => number;
}

/** A team as a Saltpack recipient: the current per-team encryption key, from the verified chain. */
export interface TeamRecipient {
  teamId: string;
  name: string;
  generation: number;
  encryptionKid: KidHex;
  /** The X25519 public key to encrypt to. */
  publicKey: Uint8Array;
  /** True when the caller rotated the key first (a member had revoked a device since). */
  rotated: boolean;
  /**
   * Members who revoked a device after this key and whom the caller, a reader or outsider,
   * could not rotate away: their revoked devices can still read what is encrypted now.
   */
  awaitingRotation: RolledMember[];
}

/** What {@link TeamManager.rotateIfDue} found and did. */
export interface TeamKeyCheck {
  /** The team as verified after the check (the rotated one when it rotated). */
  team: VerifiedTeam;
  /** True when this call rotated the key. */
  rotated: boolean;
  /** Members whose device revocation the current key predates (empty when current). */
  awaitingRotation: RolledMember[];
}

/** What {@link TeamManager.rotateAfterRevocation} did with each of the caller's teams. */
export interface TeamRotationReport {
  /** Teams whose key this call rotated (names, sorted). */
  rotated: string[];
  /** Teams whose key was already newer than every member's revocation. */
  current: string[];
  /** Teams the caller may not rotate (readers): a writer or admin's next write rotates them. */
  cannotRotate: { team: string; role: TeamRoleName }[];
  /** Teams whose rotation failed (the error's code and message): retry with `rotate`. */
  failed: { team: string; code: string; message: string }[];
}

/** One of the caller's teams, verified. */
export interface MyTeam {
  teamId: string;
  name: string;
  parentId: string | null;
  implicit: boolean;
  role: TeamRoleName;
}

const keystoreItem = <T>(
  items: readonly ({ result: T } | { error: { code: string; message: string } })[],
  what: string,
): T => {
  const item = items[0];
  if (item === undefined || 'error' in item)
    throw new ClientError('CLIENT_SIGNER', `the keystore refused to ${what}`, {
      keystoreCode: item && 'error' in item ? item.error.code : null,
    });
  return item.result;
};

/**
 * Refuses, before any seed is made or link signed, a change the server would refuse because it
 * leaves a root team without an owner or a team without members (`teamOrphanRule`).
 *
 * @param change - the roles the change sets, by UID (`none` removes).
 */
function checkOrphans(team: VerifiedTeam, change: ReadonlyMap<string, string>): void {
  const after = teamMembersByUid(team.state);
  for (const [uid, role] of change) {
    if (role === 'none') after.delete(uid);
    else after.set(uid, role);
  }
  const rule = teamOrphanRule(team.state, after);
  if (rule === 'last_owner')
    throw new ClientError(
      'CLIENT_TEAM_LAST_OWNER',
      `team ${team.name} would have no owner left; make another member owner first`,
      { team: team.name },
    );
  if (rule === 'last_member')
    throw new ClientError(
      'CLIENT_TEAM_LAST_MEMBER',
      `team ${team.name} would have no members left; delete it instead`,
      { team: team.name },
    );
}

/** Team operations for one actor (see the module comment). */
export class TeamManager {
  readonly #api: ApiClient;
  readonly #backend: CryptoBackend;
  readonly #ks: TeamKeystore;
  readonly #users: UserLoader;
  readonly #teams: TeamLoader;
  readonly #me: TeamActor;
  readonly #log: LogClient;
  readonly #nowSeconds: () => number;
  /** Members' rolls already proven older than a team key (see `membersRolledSinceKey`). */
  readonly #provenCurrent = new Set<string>();

  constructor(options: TeamManagerOptions) {
    this.#api = options.api;
    this.#backend = options.backend;
    this.#ks = options.keystore;
    this.#users = options.users;
    this.#teams = options.teams;
    this.#me = options.me;
    this.#log = options.log ?? options.teams.log;
    this.#nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  }

  #signer(kid: KidHex, purpose: 'sigchain_link' | 'reverse_sig'): RemoteSigner {
    return {
      kid,
      sign: async (message) => {
        const res = await this.#ks.sign({ items: [{ kid, purpose, message }] });
        return keystoreItem(res.items, 'sign a team link').signature;
      },
    };
  }

  async #myself(): Promise<VerifiedUser> {
    return this.#users.load(this.#me.username, { refresh: true });
  }

  /** The caller's role in a verified team (`none` when not a member). */
  #roleIn(team: VerifiedTeam, me: VerifiedUser): TeamRole {
    return team.members.find((m) => m.uid === me.uid)?.role ?? 'none';
  }

  #requireRole(team: VerifiedTeam, me: VerifiedUser, min: TeamRole): void {
    if (!roleAtLeast(this.#roleIn(team, me), min))
      throw new ClientError('CLIENT_TEAM_PERMISSION', `you are not ${min} of team ${team.name}`, {
        team: team.name,
      });
  }

  /** The newest PUK of a verified user: where team seeds are boxed. */
  #currentPuk(u: VerifiedUser): { seqno: number; publicKey: Uint8Array } {
    const p = u.perUserKeys[u.perUserKeys.length - 1];
    if (p === undefined)
      throw new ClientError('CLIENT_INVALID_ARGUMENT', `${u.username} has no per-user key`, {
        username: u.username,
      });
    return { seqno: p.seqno, publicKey: naclPublicKey(p.encryptionKid, KID_TYPE.curve25519) };
  }

  /**
   * Boxes a team seed generation in the keystore: `'new'` makes the next generation (with its
   * `prev`), a number boxes an existing one to more members.
   */
  async #boxes(
    teamId: string,
    generation: 'new' | number,
    to: readonly VerifiedUser[],
    expectGeneration: number,
  ): Promise<{ post: PerTeamKeyPost; signingKid: KidHex; encryptionKid: KidHex }> {
    const pukOf = to.map((u) => this.#currentPuk(u));
    const res = await this.#ks.createKeyBoxes({
      key: { kind: 'team', teamId },
      generation,
      // The verified chain, not what the keystore happens to hold, fixes the new number: a
      // seed left over from a post that never reached the chain is replaced.
      ...(generation === 'new' ? { chainGeneration: expectGeneration - 1 } : {}),
      senderKid: this.#me.deviceEncryptionKid,
      recipients: pukOf.map((p) => ({ publicKey: p.publicKey })),
    });
    if (res.generation !== expectGeneration || res.noncePrefix === null)
      throw new ClientError(
        'CLIENT_KEY_BOX_INVALID',
        `the keystore made team key generation ${res.generation}, the chain needs ${expectGeneration}`,
        { generation: res.generation },
      );
    const boxes: Record<string, string> = {};
    res.boxes.forEach((b, i) => {
      boxes[to[i]!.uid] = encodeTeamMemberBox(pukOf[i]!.seqno, i + 1, b.ciphertext);
    });
    return {
      post: {
        generation: res.generation,
        encryptingKid: this.#me.deviceEncryptionKid,
        noncePrefix: toBase64(res.noncePrefix),
        boxes,
        ...(res.prev === null ? {} : { prev: res.prev }),
      },
      signingKid: res.signingKid,
      encryptionKid: res.encryptionKid,
    };
  }

  async #link(
    me: VerifiedUser,
    at: { seqno: number; prev: string | null },
    type: string,
    section: JsonObject,
    ptk?: { generation: number; signingKid: KidHex; encryptionKid: KidHex },
  ): Promise<ChainLink> {
    // The root the signer saw (spec §3.1), asked for afresh so it holds everything before.
    const merkleRoot = await this.#log.linkMerkleRoot();
    const built = await buildTeamLinkWith(
      this.#backend,
      {
        uid: me.uid,
        username: me.username,
        seqno: at.seqno,
        prev: at.prev,
        eldestKid: me.eldestKid,
        ctime: this.#nowSeconds(),
        ...(merkleRoot ? { merkleRoot } : {}),
      },
      this.#signer(this.#me.deviceSigningKid, 'sigchain_link'),
      type,
      section,
      ptk
        ? {
            generation: ptk.generation,
            encryptionKid: ptk.encryptionKid,
            signer: this.#signer(ptk.signingKid, 'reverse_sig'),
          }
        : undefined,
    );
    return built.link as ChainLink;
  }

  /**
   * Creates a root team with the caller as its only owner (generation 1 boxed to the caller).
   *
   * @throws ClientError `CLIENT_INVALID_ARGUMENT` (bad name, or a team of yours has it),
   *   `CLIENT_HTTP` (`TEAM_NAME_TAKEN` when a team you cannot see has it, …), `CLIENT_SIGNER` (keystore locked), `CLIENT_KEY_BOX_INVALID`, and the codes of
   *   `TeamLoader.load`.
   */
  async createTeam(name: string): Promise<VerifiedTeam> {
    let parsed;
    try {
      parsed = parseTeamName(name);
    } catch (e) {
      throw new ClientError(
        'CLIENT_INVALID_ARGUMENT',
        `not a valid team name: ${NAME_RULE}`,
        {},
        {
          cause: e,
        },
      );
    }
    if (!parsed.isRoot)
      throw new ClientError('CLIENT_INVALID_ARGUMENT', 'use createSubteam for a.b names');
    const me = await this.#myself();
    // Ask first: a post the server refuses would still leave a fresh seed in the keystore.
    const exists = await this.#teams.load(parsed.name, { refresh: true }).then(
      () => true,
      (e: unknown) => {
        if (isClientError(e, 'CLIENT_TEAM_NOT_FOUND')) return false;
        throw e;
      },
    );
    if (exists)
      throw new ClientError('CLIENT_INVALID_ARGUMENT', `team ${parsed.name} already exists`, {
        team: parsed.name,
      });
    return this.#createRoot(parsed.name, { owner: [uv(me)] }, [me], false);
  }

  async #createRoot(
    name: string,
    members: Record<string, string[]>,
    recipients: VerifiedUser[],
    implicit: boolean,
  ): Promise<VerifiedTeam> {
    const me = await this.#myself();
    const teamId = rootTeamId(this.#backend, name);
    const keys = await this.#boxes(teamId, 'new', recipients, 1);
    const section: JsonObject = { id: teamId, name, members };
    if (implicit) section.implicit = true;
    const link = await this.#link(me, { seqno: 1, prev: null }, 'team.root', section, {
      generation: 1,
      ...keys,
    });
    await this.#api.createTeam({ links: [link], perTeamKey: keys.post });
    return this.#teams.load(teamId, { refresh: true });
  }

  /**
   * Creates `parent.part` with the caller as admin: the parent's `team.new_subteam` and the
   * subteam's `team.subteam_head` go in one request. The caller must be an admin of the parent.
   *
   * @throws ClientError `CLIENT_TEAM_PERMISSION`, `CLIENT_INVALID_ARGUMENT`, `CLIENT_HTTP`
   *   (`TEAM_NAME_TAKEN`, `CHAIN_CONFLICT`, …), `CLIENT_SIGNER`, and the codes of
   *   `TeamLoader.load`.
   */
  async createSubteam(parentName: string, part: string): Promise<VerifiedTeam> {
    const parent = await this.#teams.load(parentName, { refresh: true });
    const name = `${parent.name}.${part.toLowerCase()}`;
    try {
      parseTeamName(name);
    } catch (e) {
      throw new ClientError(
        'CLIENT_INVALID_ARGUMENT',
        `not a valid subteam name: ${NAME_RULE}`,
        {},
        { cause: e },
      );
    }
    const me = await this.#myself();
    this.#requireRole(parent, me, 'admin');
    const id = generateSubteamId(this.#backend);
    const announce = await this.#link(
      me,
      { seqno: parent.tail.seqno + 1, prev: parent.tail.linkId },
      'team.new_subteam',
      { id: parent.id, subteam: { id, name } },
    );
    const keys = await this.#boxes(id, 'new', [me], 1);
    const head = await this.#link(
      me,
      { seqno: 1, prev: null },
      'team.subteam_head',
      {
        id,
        name,
        parent: { id: parent.id, seqno: parent.tail.seqno + 1, seq_type: 3 },
        members: { admin: [uv(me)] },
      },
      { generation: 1, ...keys },
    );
    await this.#api.createTeam({ links: [head], perTeamKey: keys.post, parentLinks: [announce] });
    await this.#teams.load(parent.id, { refresh: true });
    return this.#teams.load(id, { refresh: true });
  }

  /**
   * Loads the implicit team of these users (`alice,bob`, or a list), creating it on first use:
   * canonical name (lowercase, deduplicated, sorted; readers after `#`), members exactly the
   * named users (writers as owners). The caller must be one of the writers to create it.
   *
   * @throws ClientError `CLIENT_INVALID_ARGUMENT` (malformed name, or the caller is not named),
   *   and the codes of {@link TeamManager.createTeam} and `TeamLoader.load`.
   */
  async loadOrCreateImplicitTeam(names: string | readonly string[]): Promise<VerifiedTeam> {
    let canonical;
    try {
      canonical = canonicalizeImplicitTeamName(typeof names === 'string' ? names : names.join(','));
    } catch (e) {
      throw new ClientError(
        'CLIENT_INVALID_ARGUMENT',
        'not a valid implicit team name',
        {},
        {
          cause: e,
        },
      );
    }
    try {
      return await this.#teams.load(canonical.name, { refresh: true });
    } catch (e) {
      if (!isClientError(e, 'CLIENT_TEAM_NOT_FOUND')) throw e;
    }
    if (!canonical.writers.includes(this.#me.username.toLowerCase()))
      throw new ClientError(
        'CLIENT_INVALID_ARGUMENT',
        'only one of the named writers can create an implicit team',
      );
    const writers = await Promise.all(canonical.writers.map((w) => this.#users.load(w)));
    const readers = await Promise.all(canonical.readers.map((r) => this.#users.load(r)));
    const members: Record<string, string[]> = { owner: writers.map(uv) };
    if (readers.length > 0) members.reader = readers.map(uv);
    try {
      return await this.#createRoot(canonical.name, members, [...writers, ...readers], true);
    } catch (e) {
      // Someone else created it first: theirs is the team (verified like any other).
      if (isClientError(e, 'CLIENT_HTTP') && e.details.serverCode === 'TEAM_NAME_TAKEN')
        return this.#teams.load(canonical.name, { refresh: true });
      throw e;
    }
  }

  /**
   * Adds a member with a role; the current generation is boxed to their current PUK. The caller
   * must be an admin (owners alone add owners).
   *
   * @throws ClientError `CLIENT_TEAM_PERMISSION`, `CLIENT_INVALID_ARGUMENT` (already a member),
   *   `CLIENT_HTTP` (`CHAIN_CONFLICT`, …), `CLIENT_SIGNER`, `CLIENT_KEY_BOX_INVALID`, and the
   *   codes of `TeamLoader.load` / `UserLoader.load`.
   */
  async addMember(teamName: string, username: string, role: TeamRoleName): Promise<VerifiedTeam> {
    const { team, me } = await this.#adminView(teamName);
    const user = await this.#users.load(username);
    if (team.members.some((m) => m.uid === user.uid))
      throw new ClientError('CLIENT_INVALID_ARGUMENT', `${user.username} is already a member`, {
        username: user.username,
      });
    // A member left since the last rotation and still holds the current key: rotate with this
    // change (spec keybase-identity §6.4, rotation triggers), so the newcomer gets a fresh one.
    if (teamRotationPending(team.state))
      return this.#rotate(team, me, [...team.members, user], {
        members: { [role]: [uv(user)] },
      });
    await this.openTeamKeys(team);
    const gen = team.perTeamKeys.length;
    const keys = await this.#boxes(team.id, gen, [user], gen);
    const link = await this.#link(me, nextOf(team), 'team.change_membership', {
      id: team.id,
      members: { [role]: [uv(user)] },
    });
    await this.#api.appendTeamLinks(team.id, { links: [link], perTeamKey: keys.post });
    return this.#teams.load(team.id, { refresh: true });
  }

  /**
   * Removes a member and rotates: a new generation boxed to the remaining members only, with
   * the previous seed in its `prev`.
   *
   * @throws ClientError `CLIENT_TEAM_PERMISSION`, `CLIENT_INVALID_ARGUMENT` (not a member),
   *   `CLIENT_HTTP`, `CLIENT_SIGNER`, `CLIENT_KEY_BOX_INVALID`, and the codes of
   *   `TeamLoader.load` / `UserLoader.load`.
   */
  async removeMember(teamName: string, username: string): Promise<VerifiedTeam> {
    const { team, me } = await this.#adminView(teamName);
    const user = await this.#users.load(username);
    const member = team.members.find((m) => m.uid === user.uid);
    if (member === undefined)
      throw new ClientError('CLIENT_INVALID_ARGUMENT', `${user.username} is not a member`, {
        username: user.username,
      });
    checkOrphans(team, new Map([[user.uid, 'none']]));
    const remaining = team.members.filter((m) => m.uid !== user.uid);
    return this.#rotate(team, me, remaining, { members: { none: [uv(user)] } });
  }

  /**
   * Changes a member's role (no new keys: they keep the generation they hold).
   *
   * @throws ClientError `CLIENT_TEAM_PERMISSION`, `CLIENT_INVALID_ARGUMENT` (not a member),
   *   `CLIENT_HTTP`, `CLIENT_SIGNER`, and the codes of `TeamLoader.load`.
   */
  async changeRole(teamName: string, username: string, role: TeamRoleName): Promise<VerifiedTeam> {
    const { team, me } = await this.#adminView(teamName);
    const user = await this.#users.load(username);
    if (!team.members.some((m) => m.uid === user.uid))
      throw new ClientError('CLIENT_INVALID_ARGUMENT', `${user.username} is not a member`, {
        username: user.username,
      });
    checkOrphans(team, new Map([[user.uid, role]]));
    const section = { members: { [role]: [uv(user)] } };
    if (teamRotationPending(team.state)) return this.#rotate(team, me, team.members, section);
    const link = await this.#link(me, nextOf(team), 'team.change_membership', {
      id: team.id,
      ...section,
    });
    await this.#api.appendTeamLinks(team.id, { links: [link] });
    return this.#teams.load(team.id, { refresh: true });
  }

  /**
   * Leaves a team: a `team.leave` link signed by the caller, without a new key (a leave cannot
   * carry one); the remaining admins rotate with their next membership change, as in Keybase.
   * The last owner of a root team cannot leave while others remain, nor the last member (delete
   * the team instead); implicit teams are left by no one.
   *
   * @throws ClientError `CLIENT_TEAM_PERMISSION` (not a member), `CLIENT_INVALID_ARGUMENT`
   *   (implicit team), `CLIENT_TEAM_LAST_OWNER`, `CLIENT_TEAM_LAST_MEMBER`, `CLIENT_HTTP`,
   *   `CLIENT_SIGNER`, and the codes of `TeamLoader.load`.
   */
  async leaveTeam(teamName: string): Promise<{ teamId: string; name: string }> {
    const team = await this.#teams.load(teamName, { refresh: true });
    const me = await this.#myself();
    if (team.implicit)
      throw new ClientError('CLIENT_INVALID_ARGUMENT', 'implicit team members are fixed', {
        team: team.name,
      });
    this.#requireRole(team, me, 'reader');
    checkOrphans(team, new Map([[me.uid, 'none']]));
    const link = await this.#link(me, nextOf(team), 'team.leave', { id: team.id });
    await this.#api.appendTeamLinks(team.id, { links: [link] });
    return { teamId: team.id, name: team.name };
  }

  /**
   * Deletes a team on the server: its chain, members, key boxes and KV entries are erased and
   * the name is never registered again. A root team is deleted by an owner, a subteam by its
   * admins or a parent's; a team with subteams is refused until they are deleted.
   *
   * @throws ClientError `CLIENT_TEAM_PERMISSION`, `CLIENT_INVALID_ARGUMENT` (implicit team),
   *   `CLIENT_HTTP` (`TEAM_HAS_SUBTEAMS`, `FORBIDDEN`, `CHAIN_CONFLICT`, …), `CLIENT_SIGNER`,
   *   and the codes of `TeamLoader.load`.
   */
  async deleteTeam(teamName: string): Promise<TeamDeleted> {
    const team = await this.#teams.load(teamName, { refresh: true });
    const me = await this.#myself();
    if (team.implicit)
      throw new ClientError('CLIENT_INVALID_ARGUMENT', 'implicit teams cannot be deleted', {
        team: team.name,
      });
    // A subteam's own admins, or (checked by the server) an admin of a parent.
    if (team.parentId === null) this.#requireRole(team, me, 'owner');
    else if (this.#roleIn(team, me) !== 'none') this.#requireRole(team, me, 'admin');
    return this.#api.deleteTeam(team.id);
  }

  /**
   * Rotates the team key on request: a new generation boxed to every current member. Writers
   * and above may rotate.
   *
   * @throws ClientError `CLIENT_TEAM_PERMISSION`, `CLIENT_HTTP`, `CLIENT_SIGNER`,
   *   `CLIENT_KEY_BOX_INVALID`, and the codes of `TeamLoader.load`.
   */
  async rotate(teamName: string): Promise<VerifiedTeam> {
    const team = await this.#teams.load(teamName, { refresh: true });
    const me = await this.#myself();
    this.#requireRole(team, me, 'writer');
    return this.#rotate(team, me, team.members, {});
  }

  async #rotate(
    team: VerifiedTeam,
    me: VerifiedUser,
    recipients: readonly { username: string }[],
    section: JsonObject,
  ): Promise<VerifiedTeam> {
    await this.openTeamKeys(team);
    const users = await Promise.all(recipients.map((m) => this.#users.load(m.username)));
    const next = team.perTeamKeys.length + 1;
    const keys = await this.#boxes(team.id, 'new', users, next);
    const type = section.members === undefined ? 'team.rotate_key' : 'team.change_membership';
    const link = await this.#link(
      me,
      nextOf(team),
      type,
      { id: team.id, ...section },
      { generation: next, ...keys },
    );
    await this.#api.appendTeamLinks(team.id, { links: [link], perTeamKey: keys.post });
    return this.#teams.load(team.id, { refresh: true });
  }

  async #adminView(teamName: string): Promise<{ team: VerifiedTeam; me: VerifiedUser }> {
    const team = await this.#teams.load(teamName, { refresh: true });
    const me = await this.#myself();
    if (team.implicit)
      throw new ClientError('CLIENT_INVALID_ARGUMENT', 'implicit team members are fixed', {
        team: team.name,
      });
    this.#requireRole(team, me, 'admin');
    return { team, me };
  }

  /**
   * Fetches the caller's key boxes of a team and opens them in the keystore, after checking
   * each against the verified chain: the generation is announced, the receiver is one of the
   * caller's PUKs (by the seqno of its `per_user_key` link), the sender is a device encryption
   * key of one of the team's link signers, the caller is a member; the keystore is told every
   * generation's KIDs (`expected`), so a seed relabelled to another generation is refused.
   *
   * @returns the generations the keystore now holds for the team, ascending.
   * @throws ClientError `CLIENT_TEAM_PERMISSION` (not a member), `CLIENT_WRONG_TEAM`,
   *   `CLIENT_KEY_BOX_INVALID` (`details.keystoreCode` when the keystore refused),
   *   `CLIENT_SIGNER` (keystore locked), and the transport codes of {@link ApiClient}.
   */
  async openTeamKeys(team: VerifiedTeam): Promise<number[]> {
    const me = await this.#users.load(this.#me.username);
    this.#requireRole(team, me, 'reader');
    const res = await this.#api.myTeamKeyBoxes(team.id);
    if (res.teamId !== team.id)
      throw new ClientError('CLIENT_WRONG_TEAM', 'key boxes of another team', { team: team.name });
    const bad = (why: string, generation: number) =>
      new ClientError(
        'CLIENT_KEY_BOX_INVALID',
        `a team key box is not supported by the chain: ${why}`,
        {
          team: team.name,
          generation,
        },
      );
    const senders = new Set<string>(team.boxSenders);
    const expected = team.perTeamKeys.map((k) => ({
      generation: k.generation,
      signingKid: k.signingKid,
      encryptionKid: k.encryptionKid,
    }));
    const prevs = res.prevs.filter((p) => p.generation <= team.perTeamKeys.length);
    const items = res.boxes.map((b) => {
      if (!team.state.perTeamKeys.has(b.generation)) throw bad('unknown generation', b.generation);
      const puk = me.perUserKeys.find((p) => p.seqno === b.perUserKeySeqno);
      if (puk === undefined) throw bad('receiver is not a per-user key of yours', b.generation);
      if (!senders.has(b.senderKid))
        throw bad('sender is not a key of a team signer', b.generation);
      let nonce: Uint8Array;
      let ciphertext: Uint8Array;
      try {
        nonce = fromBase64(b.nonce);
        ciphertext = fromBase64(b.ctext);
      } catch {
        throw bad('malformed box', b.generation);
      }
      if (nonce.length !== 24 || ciphertext.length !== 48) throw bad('malformed box', b.generation);
      return {
        key: { kind: 'team' as const, teamId: team.id },
        generation: b.generation,
        receiverKid: puk.encryptionKid,
        senderPublicKey: naclPublicKey(b.senderKid, KID_TYPE.curve25519),
        nonce,
        ciphertext,
        prevs: prevs.filter((p) => p.generation <= b.generation),
        expected,
      };
    });
    if (items.length === 0) return [];
    // Newest first: its prevs yield the older seeds, so the rest are only cross-checks.
    items.sort((a, b) => b.generation - a.generation);
    const out = await this.#ks.openKeyBoxes({ items });
    const held = new Set<number>();
    out.items.forEach((item, i) => {
      if ('error' in item)
        throw new ClientError(
          item.error.code === 'KEYSTORE_LOCKED' ? 'CLIENT_SIGNER' : 'CLIENT_KEY_BOX_INVALID',
          'the keystore refused a team key box',
          {
            team: team.name,
            generation: items[i]?.generation ?? null,
            keystoreCode: item.error.code,
          },
        );
      for (const g of item.result.generations) held.add(g);
    });
    return [...held].sort((a, b) => a - b);
  }

  /**
   * The team's current Saltpack recipient key — the newest per-team encryption key of the
   * VERIFIED chain (for `encrypt -r team:acme`). Members decrypt with the keystore keyring,
   * which offers every team generation the keystore holds. Encrypting is a write: when a member
   * revoked a device after the current key, a caller who may rotate rotates first
   * ({@link TeamManager.rotateIfDue}); any other caller gets the key with `awaitingRotation`
   * naming those members, to warn.
   *
   * @throws ClientError the codes of {@link TeamManager.rotateIfDue}.
   */
  async recipient(teamName: string): Promise<TeamRecipient> {
    const { team, rotated, awaitingRotation } = await this.rotateIfDue(teamName);
    const k = team.perTeamKeys[team.perTeamKeys.length - 1]!;
    return {
      teamId: team.id,
      name: team.name,
      generation: k.generation,
      encryptionKid: k.encryptionKid,
      publicKey: naclPublicKey(k.encryptionKid, KID_TYPE.curve25519),
      rotated,
      awaitingRotation,
    };
  }

  /**
   * The members whose device revocation the team's current key predates (the rule of
   * `team-rotation.ts`, spec keybase-identity §6.4 CLKR); empty when the key is current.
   *
   * @throws ClientError `CLIENT_LOG_INCONSISTENT`, and the codes of `UserLoader.load` and
   *   `LogClient.tailsAt`.
   */
  async membersRolledSinceKey(team: VerifiedTeam): Promise<RolledMember[]> {
    return membersRolledSinceKey(team, this.#users, this.#log, this.#provenCurrent);
  }

  /**
   * Lazy rotation before a write (spec keybase-identity §6.4 CLKR: after a member revokes a
   * device "the team rotates lazily"): when a member revoked a device after the current key and
   * the caller's verified role may sign `team.rotate_key` (writer and above, spec §3.7), the
   * key is rotated to every member's current per-user key first. A reader or outsider cannot
   * rotate; the answer then names the members in `awaitingRotation`, for a warning.
   *
   * @throws ClientError `CLIENT_LOG_INCONSISTENT`, the codes of {@link TeamManager.rotate}
   *   when it rotates, and those of `TeamLoader.load`.
   */
  async rotateIfDue(teamName: string): Promise<TeamKeyCheck> {
    const team = await this.#teams.load(teamName);
    const rolled = await this.membersRolledSinceKey(team);
    if (rolled.length === 0) return { team, rotated: false, awaitingRotation: [] };
    const me = await this.#myself();
    if (!roleAtLeast(this.#roleIn(team, me), 'writer'))
      return { team, rotated: false, awaitingRotation: rolled };
    // The cached team may be behind a link another member just appended.
    const fresh = await this.#teams.load(team.id, { refresh: true });
    const still = await this.membersRolledSinceKey(fresh);
    if (still.length === 0) return { team: fresh, rotated: false, awaitingRotation: [] };
    const rotated = await this.#rotate(fresh, me, fresh.members, {});
    return { team: rotated, rotated: true, awaitingRotation: [] };
  }

  /**
   * After this user revoked one of their devices (their per-user key rolled): rotates the key
   * of each of their teams — root teams, subteams, implicit teams and the self-team — whose
   * current key predates a member's revocation, where their role allows (writer and above);
   * the rest are reported, to be rotated by a writer's or admin's next write. One team's
   * failure does not stop the others; it is reported with its code.
   *
   * @throws ClientError the transport codes of `ApiClient` and the codes of `TeamLoader.load`
   *   (listing the teams).
   */
  async rotateAfterRevocation(): Promise<TeamRotationReport> {
    const report: TeamRotationReport = { rotated: [], current: [], cannotRotate: [], failed: [] };
    // The caller's own chain afresh: a cached one could predate the roll just posted.
    await this.#myself();
    const mine = await this.listMyTeams({ includeImplicit: true });
    mine.sort((a, b) => a.name.localeCompare(b.name));
    for (const t of mine) {
      try {
        const check = await this.rotateIfDue(t.teamId);
        if (check.rotated) report.rotated.push(t.name);
        else if (check.awaitingRotation.length > 0)
          report.cannotRotate.push({ team: t.name, role: t.role });
        else report.current.push(t.name);
      } catch (e) {
        // Coded failures (client, keystore) are reported; anything else is a bug and surfaces.
        const code = (e as { code?: unknown } | null)?.code;
        if (!(e instanceof Error) || typeof code !== 'string') throw e;
        report.failed.push({ team: t.name, code, message: e.message });
      }
    }
    return report;
  }

  /**
   * The caller's teams: the server's list, each team then loaded and verified, with the role
   * the VERIFIED chain gives the caller (teams where it gives none are left out).
   *
   * @throws ClientError the transport codes of {@link ApiClient} and the codes of
   *   `TeamLoader.load`.
   */
  async listMyTeams(options: { includeImplicit?: boolean } = {}): Promise<MyTeam[]> {
    const me = await this.#users.load(this.#me.username);
    const list = await this.#api.listTeams(options.includeImplicit === true);
    const out: MyTeam[] = [];
    for (const t of list.teams) {
      const team = await this.#teams.load(t.teamId);
      const role = this.#roleIn(team, me);
      if (role === 'none' || role === 'bot' || role === 'restricted_bot') continue;
      out.push({
        teamId: team.id,
        name: team.name,
        parentId: team.parentId,
        implicit: team.implicit,
        role,
      });
    }
    return out;
  }
}

/** `uid%eldest_seqno`: how team links name a user. */
function uv(u: VerifiedUser): string {
  return `${u.uid}%${u.eldestSeqno}`;
}

function nextOf(team: VerifiedTeam): { seqno: number; prev: string } {
  return { seqno: team.tail.seqno + 1, prev: team.tail.linkId };
}
