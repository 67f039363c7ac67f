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
   * @throws ServerError `USERNAME_TAKEN` when the username or UID exists; `KEY_IN_USE` when a
   *   KID is already registered.
   */
  createUser(input: {
    user: UserRecord;
    links: readonly StoredLink[];
    projection: UserProjection;
    pukBoxes: readonly PukBoxRecord[];
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
   * @throws ServerError `CHAIN_CONFLICT` when the stored tail is no longer `expectedTailSeqno`;
   *   `KEY_IN_USE` when a new KID belongs to another user; `USER_NOT_FOUND`.
   */
  appendLinks(input: {
    uid: string;
    expectedTailSeqno: number;
    links: readonly StoredLink[];
    projection: UserProjection;
    pukBoxes: readonly PukBoxRecord[];
  }): Promise<void>;

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

/** The server's storage. */
export interface Storage {
  /** `sqlite` or `postgres`. */
  readonly dialect: 'sqlite' | 'postgres';
  readonly users: UserStore;
  readonly keyBoxes: KeyBoxStore;
  readonly nonces: NonceStore;
  /** Runs pending schema migrations (idempotent; safe with several processes). */
  migrate(): Promise<void>;
  /**
   * A cheap round trip, for `/healthz`.
   *
   * @throws ServerError `UNAVAILABLE` when the database does not answer.
   */
  ping(): Promise<void>;
  /** Closes connections. */
  close(): Promise<void>;
}
