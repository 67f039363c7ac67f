/**
 * The `Storage` interface: one object per aggregate (users and their chains, key boxes, request
 * nonces), so later aggregates — teams, the KV store — slot in as further members without
 * touching these. Every backend (SQLite, PostgreSQL) passes the same conformance suite
 * (`test/storage-conformance.ts`).
 *
 * The stored user state is a projection of the user's *verified* chain: the server verifies
 * every link with `@saltbox/identity` before it calls {@link UserStore.appendLinks}, and writes
 * the links and the projection in one transaction, so they never disagree.
 *
 * @packageDocumentation
 */
import type { ChainLink } from '@saltbox/protocol';
import type { KvStore } from './kv-types.js';
import type { KyselyLogStore } from './log-store.js';
import type { ChangeFeed } from './notify.js';

export type * from './kv-types.js';

/** A stored sigchain link. */
export interface StoredLink {
  seqno: number;
  linkId: string;
  sigId: string;
  /** The link type (`eldest`, `sibkey`, …). */
  type: string;
  /** The link exactly as the client posted it (the `sig/get` form). */
  link: ChainLink;
}

/** A registered user. */
export interface UserRecord {
  uid: string;
  username: string;
  eldestKid: string;
  tailSeqno: number;
  tailLinkId: string;
  /** Registration time, Unix milliseconds. */
  ctime: number;
}

/** A key delegated by a user's chain. KIDs are unique across all users. */
export interface KeyRecord {
  kid: string;
  uid: string;
  role: 'sibkey' | 'subkey';
  status: 'live' | 'revoked';
  deviceId: string | null;
  /** The seqno of the delegating link. */
  seqno: number;
}

/** A device named by a user's chain. */
export interface DeviceRecord {
  id: string;
  name: string | null;
  type: string | null;
  status: 'active' | 'revoked';
}

/** A per-user key generation (public KIDs). */
export interface PerUserKeyRecord {
  generation: number;
  seqno: number;
  signingKid: string;
  encryptionKid: string;
}

/** The projection of a verified chain the server answers lookups and authenticates from. */
export interface UserProjection {
  keys: KeyRecord[];
  devices: DeviceRecord[];
  perUserKeys: PerUserKeyRecord[];
}

/** One version of a PGP public key a user's chain delegates. */
export interface PgpBundleRecord {
  kid: string;
  /** SHA-256 of the trimmed armored key (the link's `full_hash`). */
  fullHash: string;
  /** The armored public key, verbatim. */
  bundle: string;
  /** Seqno of the link naming this version. */
  seqno: number;
}

/** A PUK seed boxed to one device encryption key. */
export interface PukBoxRecord {
  generation: number;
  receiverKid: string;
  /** Base64 of the tag-515 packet. */
  box: string;
}

/** Users, their chains and the projection of their chains. */
export interface UserStore {
  /**
   * Registers a user with their first links, projection and PUK boxes, atomically.
   *
   * With `inviteHash`, the invite is marked used by this user in the same transaction: a
   * failed sign-up does not use it up, and two sign-ups cannot share it.
   *
   * @throws StorageError `STORAGE_UNIQUE_VIOLATION` (`username`) when the username or UID
   *   exists, (`key`) when a KID is already registered; `STORAGE_NOT_FOUND` (`invite`) when
   *   `inviteHash` names no unused invite.
   */
  createUser(input: {
    user: UserRecord;
    links: readonly StoredLink[];
    projection: UserProjection;
    pukBoxes: readonly PukBoxRecord[];
    inviteHash?: string;
  }): Promise<void>;

  /** A user by lowercase username, or null. */
  getUser(username: string): Promise<UserRecord | null>;

  /** A user by UID, or null. */
  getUserByUid(uid: string): Promise<UserRecord | null>;

  /** Users by lowercase username (absent names are missing from the map). One round trip. */
  getUsers(usernames: readonly string[]): Promise<Map<string, UserRecord>>;

  /** The projections of several users, by UID. */
  getProjections(uids: readonly string[]): Promise<Map<string, UserProjection>>;

  /** A user's links with seqno greater than `sinceSeqno`, in order. */
  getLinks(uid: string, sinceSeqno: number): Promise<StoredLink[]>;

  /**
   * Appends verified links after the tail the caller verified against, replaces the projection
   * and adds PUK boxes, atomically. Two concurrent appends on one tail: exactly one wins.
   *
   * @throws StorageError `STORAGE_CONFLICT` (`chain`) when the stored tail is no longer
   *   `expectedTailSeqno`; `STORAGE_UNIQUE_VIOLATION` (`key`) when a new KID belongs to another
   *   user; `STORAGE_NOT_FOUND` (`user`).
   */
  appendLinks(input: {
    uid: string;
    expectedTailSeqno: number;
    links: readonly StoredLink[];
    projection: UserProjection;
    pukBoxes: readonly PukBoxRecord[];
    /** PGP key versions the new links delegate (an already stored version is kept). */
    pgpBundles?: readonly PgpBundleRecord[];
  }): Promise<void>;

  /** The PGP key versions stored for a user, by seqno. */
  getPgpBundles(uid: string): Promise<PgpBundleRecord[]>;

  /** A key by KID, with its owner, or null. */
  getKey(kid: string): Promise<KeyRecord | null>;
}

/** Per-user-key boxes. */
export interface KeyBoxStore {
  /** Stores boxes for a user (an existing box for the same receiver and generation is replaced). */
  putPukBoxes(uid: string, boxes: readonly PukBoxRecord[]): Promise<void>;
  /** The user's boxes addressed to any of `receiverKids`, optionally of one generation. */
  getPukBoxes(
    uid: string,
    receiverKids: readonly string[],
    generation?: number,
  ): Promise<PukBoxRecord[]>;
}

/** The replay cache of request nonces, shared by every server process on one database. */
export interface NonceStore {
  /**
   * Records `(kid, nonce)` until `expiresAtMs`. Returns false when it is already recorded (a
   * replay), true when this call recorded it. Atomic across processes.
   */
  claimNonce(kid: string, nonce: string, expiresAtMs: number): Promise<boolean>;
  /** Forgets nonces that expired before `nowMs`; returns how many. */
  pruneNonces(nowMs: number): Promise<number>;
}

/** A team's role for one member, as the team chain's verified state gives it. */
export type TeamRole = 'owner' | 'admin' | 'writer' | 'reader';

/** A registered team (root, subteam or implicit). */
export interface TeamRecord {
  teamId: string;
  /** The canonical team name (`acme`, `acme.infra`, `alice,bob`). */
  name: string;
  /** The parent team's ID for a subteam, else null. */
  parentId: string | null;
  implicit: boolean;
  tailSeqno: number;
  tailLinkId: string;
  /** Creation time, Unix milliseconds. */
  ctime: number;
}

/** One member of a team. */
export interface TeamMemberRecord {
  uid: string;
  role: TeamRole;
}

/** The projection of a verified team chain: the current members and their roles. */
export interface TeamProjection {
  members: TeamMemberRecord[];
}

/** A per-team-key seed generation boxed to one member's PUK encryption key. */
export interface TeamKeyBoxRecord {
  generation: number;
  /** The member the box is for. */
  uid: string;
  /** The member's PUK encryption KID the box is sealed to. */
  receiverKid: string;
  /** Base64 of the box. */
  box: string;
}

/**
 * The `prev` of a per-team-key generation (spec keybase-identity §6.3): seed g−1 secretboxed
 * under seed g, in Keybase's upload form. The same for every member, so stored once per team.
 */
export interface TeamPrevRecord {
  /** The generation whose seed opens it (≥ 2). */
  generation: number;
  prev: string;
}

/** A team the user belongs to, with the user's role. */
export interface TeamMembership {
  team: TeamRecord;
  role: TeamRole;
}

/**
 * Teams, their chains, the projection of their chains (members) and per-team-key boxes. As for
 * users, the server verifies team links (with `@saltbox/identity`) before it stores them.
 */
export interface TeamStore {
  /**
   * Registers a team with its root link(s), projection and key boxes, atomically.
   *
   * @throws StorageError `STORAGE_UNIQUE_VIOLATION` (`team_name`) when the name or ID exists.
   */
  createTeam(input: {
    team: TeamRecord;
    links: readonly StoredLink[];
    projection: TeamProjection;
    keyBoxes: readonly TeamKeyBoxRecord[];
    prevs?: readonly TeamPrevRecord[];
  }): Promise<void>;

  /** A team by ID, or null. */
  getTeam(teamId: string): Promise<TeamRecord | null>;

  /** A team by canonical name, or null. */
  getTeamByName(name: string): Promise<TeamRecord | null>;

  /** A team's links with seqno greater than `sinceSeqno`, in order. */
  getTeamLinks(teamId: string, sinceSeqno: number): Promise<StoredLink[]>;

  /**
   * Appends verified links after the tail the caller verified against, replaces the member
   * projection and adds key boxes, atomically. Two concurrent appends on one tail: one wins.
   *
   * @throws StorageError `STORAGE_CONFLICT` (`chain`) when the stored tail is no longer
   *   `expectedTailSeqno`; `STORAGE_NOT_FOUND` (`team`).
   */
  appendTeamLinks(input: {
    teamId: string;
    expectedTailSeqno: number;
    links: readonly StoredLink[];
    projection: TeamProjection;
    keyBoxes: readonly TeamKeyBoxRecord[];
    /** The `prev` of a generation introduced by these links (a generation's prev is written once). */
    prevs?: readonly TeamPrevRecord[];
  }): Promise<void>;

  /** The team's stored `prev`s, by generation. */
  getTeamPrevs(teamId: string): Promise<TeamPrevRecord[]>;

  /** The team's current members, by UID. */
  getMembers(teamId: string): Promise<TeamMemberRecord[]>;
  /** One member's role, or null for a non-member or an unknown team (a point read). */
  getMemberRole(teamId: string, uid: string): Promise<TeamRole | null>;

  /** The teams `uid` is a member of, by name. */
  listTeamsForUser(uid: string): Promise<TeamMembership[]>;

  /**
   * Stores key boxes for a team (an existing box for the same member and generation is
   * replaced).
   */
  putTeamKeyBoxes(teamId: string, boxes: readonly TeamKeyBoxRecord[]): Promise<void>;

  /** A member's key boxes for a team, optionally of one generation, by generation. */
  getTeamKeyBoxes(teamId: string, uid: string, generation?: number): Promise<TeamKeyBoxRecord[]>;

  /**
   * The team's current per-team-key generation: the highest one boxed to its members (the
   * server stores a generation only with its boxes, after verifying the link that made it).
   * 0 for an unknown team or one without keys.
   */
  currentKeyGeneration(teamId: string): Promise<number>;

  /**
   * Deletes a team atomically: its links, members, key boxes, prevs and KV entries are erased;
   * the team row stays, marked deleted, so its name and ID are never registered again (the
   * getters above no longer return it). Refused while the team has live subteams, or when the
   * tail moved since the caller checked the deleter's role.
   *
   * @returns `{ kvEntriesDeleted }`, or `'has_subteams'` (nothing changed).
   * @throws StorageError `STORAGE_CONFLICT` (`chain`) when the stored tail is no longer
   *   `expectedTailSeqno`; `STORAGE_NOT_FOUND` (`team`).
   */
  deleteTeam(
    teamId: string,
    expectedTailSeqno: number,
    nowMs: number,
  ): Promise<{ kvEntriesDeleted: number } | 'has_subteams'>;
}

/** Sign-up invite codes (issue #12.15), by the SHA-256 of the code. */
export interface InviteStore {
  /**
   * Records a new invite.
   *
   * @throws StorageError `STORAGE_UNIQUE_VIOLATION` (`invite`) when the hash is recorded.
   */
  createInvite(codeHash: string, createdAtMs: number): Promise<void>;
  /** Invites not used yet. */
  countUnusedInvites(): Promise<number>;
}

/** The server's storage. */
export interface Storage {
  /** `sqlite` or `postgres`. */
  readonly dialect: 'sqlite' | 'postgres';
  readonly users: UserStore;
  readonly keyBoxes: KeyBoxStore;
  readonly nonces: NonceStore;
  readonly teams: TeamStore;
  /** The encrypted KV store (`kv-types.ts`). */
  readonly kv: KvStore;
  /** The signed log of chain tails (`log-store.ts`). */
  readonly log: KyselyLogStore;
  /** Sign-up invite codes. */
  readonly invites: InviteStore;
  /** KV change notifications, across processes on PostgreSQL (`notify.ts`). */
  readonly changes: ChangeFeed;
  /** Runs pending schema migrations (idempotent; safe with several processes). */
  migrate(): Promise<void>;
  /**
   * A cheap round trip, for `/healthz`.
   *
   * @throws StorageError `STORAGE_UNAVAILABLE` when the database does not answer.
   */
  ping(): Promise<void>;
  /** Closes connections. */
  close(): Promise<void>;
}
