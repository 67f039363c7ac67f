/**
 * The one `Storage` implementation, over Kysely, shared by the SQLite and PostgreSQL backends:
 * the queries are the common SQL subset (`on conflict`, no `returning` needed), so both
 * backends run exactly the same code and the conformance suite judges both.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import type { Kysely, Transaction } from 'kysely';
import type { ChainLink } from '@saltbox/protocol';
import { fail, ServerError } from '../errors.js';
import { guardStorage } from './guard.js';
import { KyselyKvStore } from './kv-store.js';
import type { LogStatements } from './log-sqlite.js';
import { KyselyLogStore } from './log-store.js';
import { LocalChangeFeed } from './notify.js';
import type { WritableChangeFeed } from './notify.js';
import { migrationProvider, PING } from './schema.js';
import type { Database } from './schema.js';
import type {
  DeviceRecord,
  InviteStore,
  KeyBoxStore,
  KeyRecord,
  NonceStore,
  PgpBundleRecord,
  PerUserKeyRecord,
  PukBoxRecord,
  Storage,
  StoredLink,
  TeamKeyBoxRecord,
  TeamMemberRecord,
  TeamPrevRecord,
  TeamMembership,
  TeamProjection,
  TeamRecord,
  TeamRole,
  TeamStore,
  UserProjection,
  UserRecord,
  UserStore,
} from './types.js';

/** Whether a driver error is a unique / primary-key violation (SQLite or PostgreSQL). */
export function isUniqueViolation(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}

/** The constraint a PostgreSQL or SQLite unique violation names, when it names one. */
function violatedConstraint(e: unknown): string {
  const o = e as { constraint?: unknown; message?: unknown };
  if (typeof o.constraint === 'string') return o.constraint;
  return typeof o.message === 'string' ? o.message : '';
}

/** A `users` row as a record (shared with the SQLite read path). */
export function toUser(r: Database['users']): UserRecord {
  return {
    uid: r.uid,
    username: r.username,
    eldestKid: r.eldest_kid,
    tailSeqno: r.tail_seqno,
    tailLinkId: r.tail_link_id,
    ctime: Number(r.ctime),
  };
}

/** A `user_keys` row as a record. */
export function toKey(r: Database['user_keys']): KeyRecord {
  return {
    kid: r.kid,
    uid: r.uid,
    role: r.role === 'subkey' ? 'subkey' : 'sibkey',
    status: r.status === 'live' ? 'live' : 'revoked',
    deviceId: r.device_id,
    seqno: r.seqno,
  };
}

/** A `links` row as a stored link. */
export function toLink(r: Database['links']): StoredLink {
  return {
    seqno: r.seqno,
    linkId: r.link_id,
    sigId: r.sig_id,
    type: r.type,
    link: JSON.parse(r.link_json) as ChainLink,
  };
}

async function insertLinks(
  trx: Transaction<Database>,
  uid: string,
  links: readonly StoredLink[],
): Promise<void> {
  if (links.length === 0) return;
  await trx
    .insertInto('links')
    .values(
      links.map((l) => ({
        uid,
        seqno: l.seqno,
        link_id: l.linkId,
        sig_id: l.sigId,
        type: l.type,
        link_json: JSON.stringify(l.link),
      })),
    )
    .execute();
}

/** Rows of one projection table, keyed, for {@link writeRows}. */
interface RowDiff<R> {
  insert: R[];
  update: R[];
  remove: string[];
}

/** What changes from `current` to `next` (rows compared column by column). */
function diffRows<R extends object>(
  current: readonly R[],
  next: readonly R[],
  key: (r: R) => string,
): RowDiff<R> {
  const before = new Map(current.map((r) => [key(r), r]));
  const out: RowDiff<R> = { insert: [], update: [], remove: [] };
  for (const r of next) {
    const old = before.get(key(r));
    before.delete(key(r));
    if (old === undefined) out.insert.push(r);
    else if (
      (Object.keys(r) as (keyof R)[]).some((c) => String(old[c] ?? null) !== String(r[c] ?? null))
    )
      out.update.push(r);
  }
  out.remove = [...before.keys()];
  return out;
}

/**
 * Brings the stored projection to `p`. The projection is recomputed from the whole verified
 * state each time, but only the rows that differ are written: an append that adds one key
 * writes one row, where replacing every row made each append cost more than the one before.
 */
async function writeProjection(
  trx: Transaction<Database>,
  uid: string,
  p: UserProjection,
): Promise<void> {
  const keys = diffRows(
    await trx
      .selectFrom('user_keys')
      .select(['kid', 'uid', 'role', 'status', 'device_id', 'seqno'])
      .where('uid', '=', uid)
      .execute(),
    p.keys.map((k) => ({
      kid: k.kid,
      uid,
      role: k.role,
      status: k.status,
      device_id: k.deviceId,
      seqno: k.seqno,
    })),
    (r) => r.kid,
  );
  const devices = diffRows(
    await trx
      .selectFrom('devices')
      .select(['uid', 'device_id', 'name', 'type', 'status'])
      .where('uid', '=', uid)
      .execute(),
    p.devices.map((d) => ({ uid, device_id: d.id, name: d.name, type: d.type, status: d.status })),
    (r) => r.device_id,
  );
  const puks = diffRows(
    await trx
      .selectFrom('per_user_keys')
      .select(['uid', 'generation', 'seqno', 'signing_kid', 'encryption_kid'])
      .where('uid', '=', uid)
      .execute(),
    p.perUserKeys.map((k) => ({
      uid,
      generation: k.generation,
      seqno: k.seqno,
      signing_kid: k.signingKid,
      encryption_kid: k.encryptionKid,
    })),
    (r) => String(r.generation),
  );
  if (keys.remove.length > 0)
    await trx
      .deleteFrom('user_keys')
      .where('uid', '=', uid)
      .where('kid', 'in', keys.remove)
      .execute();
  for (const k of keys.update)
    await trx
      .updateTable('user_keys')
      .set({ role: k.role, status: k.status, device_id: k.device_id, seqno: k.seqno })
      .where('kid', '=', k.kid)
      .where('uid', '=', uid)
      .execute();
  if (keys.insert.length > 0) await trx.insertInto('user_keys').values(keys.insert).execute();
  if (devices.remove.length > 0)
    await trx
      .deleteFrom('devices')
      .where('uid', '=', uid)
      .where('device_id', 'in', devices.remove)
      .execute();
  for (const d of devices.update)
    await trx
      .updateTable('devices')
      .set({ name: d.name, type: d.type, status: d.status })
      .where('uid', '=', uid)
      .where('device_id', '=', d.device_id)
      .execute();
  if (devices.insert.length > 0) await trx.insertInto('devices').values(devices.insert).execute();
  if (puks.remove.length > 0)
    await trx
      .deleteFrom('per_user_keys')
      .where('uid', '=', uid)
      .where(
        'generation',
        'in',
        puks.remove.map((g) => Number(g)),
      )
      .execute();
  for (const k of puks.update)
    await trx
      .updateTable('per_user_keys')
      .set({ seqno: k.seqno, signing_kid: k.signing_kid, encryption_kid: k.encryption_kid })
      .where('uid', '=', uid)
      .where('generation', '=', k.generation)
      .execute();
  if (puks.insert.length > 0) await trx.insertInto('per_user_keys').values(puks.insert).execute();
}

async function upsertBoxes(
  db: Kysely<Database> | Transaction<Database>,
  uid: string,
  boxes: readonly PukBoxRecord[],
): Promise<void> {
  if (boxes.length === 0) return;
  await db
    .insertInto('puk_boxes')
    .values(
      boxes.map((b) => ({
        uid,
        generation: b.generation,
        receiver_kid: b.receiverKid,
        box: b.box,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['uid', 'receiver_kid', 'generation']).doUpdateSet((eb) => ({
        box: eb.ref('excluded.box'),
      })),
    )
    .execute();
}

/**
 * Adds projection rows to `out` (which holds an empty projection per wanted UID), in the order
 * the rows come: keys by seqno, devices by ID, PUKs by generation.
 */
export function fillProjections(
  out: Map<string, UserProjection>,
  keys: readonly Database['user_keys'][],
  devices: readonly Database['devices'][],
  puks: readonly Database['per_user_keys'][],
): void {
  for (const k of keys) out.get(k.uid)?.keys.push(toKey(k));
  for (const d of devices)
    out.get(d.uid)?.devices.push({
      id: d.device_id,
      name: d.name,
      type: d.type,
      status: d.status === 'revoked' ? 'revoked' : 'active',
    } satisfies DeviceRecord);
  for (const p of puks)
    out.get(p.uid)?.perUserKeys.push({
      generation: p.generation,
      seqno: p.seqno,
      signingKid: p.signing_kid,
      encryptionKid: p.encryption_kid,
    } satisfies PerUserKeyRecord);
}

/** The read side of {@link UserStore}, which a backend may serve on its own path. */
export type UserReads = Pick<
  UserStore,
  'getUser' | 'getUserByUid' | 'getUsers' | 'getProjections' | 'getLinks' | 'getKey'
>;

class KyselyUserStore implements UserStore {
  readonly #db: Kysely<Database>;
  readonly #log: KyselyLogStore;
  constructor(db: Kysely<Database>, log: KyselyLogStore) {
    this.#db = db;
    this.#log = log;
  }

  async createUser(input: {
    user: UserRecord;
    links: readonly StoredLink[];
    projection: UserProjection;
    pukBoxes: readonly PukBoxRecord[];
    inviteHash?: string;
  }): Promise<void> {
    const { user, inviteHash } = input;
    try {
      await this.#log.transact(async (trx) => {
        if (inviteHash !== undefined) {
          const used = await trx
            .updateTable('signup_invites')
            .set({ used_by: user.uid, used_at: user.ctime })
            .where('code_hash', '=', inviteHash)
            .where('used_at', 'is', null)
            .executeTakeFirst();
          if (used.numUpdatedRows !== 1n)
            throw fail('INVITE_INVALID', 'the invite code is unknown or already used');
        }
        await trx
          .insertInto('users')
          .values({
            uid: user.uid,
            username: user.username,
            eldest_kid: user.eldestKid,
            tail_seqno: user.tailSeqno,
            tail_link_id: user.tailLinkId,
            ctime: user.ctime,
          })
          .execute();
        await insertLinks(trx, user.uid, input.links);
        await writeProjection(trx, user.uid, input.projection);
        await upsertBoxes(trx, user.uid, input.pukBoxes);
        return [
          [user.uid, { seqno: user.tailSeqno, linkId: user.tailLinkId, eldestKid: user.eldestKid }],
        ];
      });
    } catch (e) {
      if (e instanceof ServerError) throw e;
      if (isUniqueViolation(e)) {
        if (/user_keys|kid/i.test(violatedConstraint(e)))
          throw fail('KEY_IN_USE', 'a key in these links is already registered', { cause: e });
        throw fail('USERNAME_TAKEN', 'username is already registered', { cause: e });
      }
      throw e;
    }
  }

  async getUser(username: string): Promise<UserRecord | null> {
    const r = await this.#db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    return r ? toUser(r) : null;
  }

  async getUserByUid(uid: string): Promise<UserRecord | null> {
    const r = await this.#db
      .selectFrom('users')
      .selectAll()
      .where('uid', '=', uid)
      .executeTakeFirst();
    return r ? toUser(r) : null;
  }

  async getUsers(usernames: readonly string[]): Promise<Map<string, UserRecord>> {
    const out = new Map<string, UserRecord>();
    if (usernames.length === 0) return out;
    const rows = await this.#db
      .selectFrom('users')
      .selectAll()
      .where('username', 'in', [...new Set(usernames)])
      .execute();
    for (const r of rows) out.set(r.username, toUser(r));
    return out;
  }

  async getProjections(uids: readonly string[]): Promise<Map<string, UserProjection>> {
    const out = new Map<string, UserProjection>();
    if (uids.length === 0) return out;
    const ids = [...new Set(uids)];
    for (const uid of ids) out.set(uid, { keys: [], devices: [], perUserKeys: [] });
    const [keys, devices, puks] = await Promise.all([
      this.#db
        .selectFrom('user_keys')
        .selectAll()
        .where('uid', 'in', ids)
        .orderBy('seqno')
        .execute(),
      this.#db
        .selectFrom('devices')
        .selectAll()
        .where('uid', 'in', ids)
        .orderBy('device_id')
        .execute(),
      this.#db
        .selectFrom('per_user_keys')
        .selectAll()
        .where('uid', 'in', ids)
        .orderBy('generation')
        .execute(),
    ]);
    fillProjections(out, keys, devices, puks);
    return out;
  }

  async getLinks(uid: string, sinceSeqno: number): Promise<StoredLink[]> {
    const rows = await this.#db
      .selectFrom('links')
      .selectAll()
      .where('uid', '=', uid)
      .where('seqno', '>', sinceSeqno)
      .orderBy('seqno')
      .execute();
    return rows.map(toLink);
  }

  async appendLinks(input: {
    uid: string;
    expectedTailSeqno: number;
    links: readonly StoredLink[];
    projection: UserProjection;
    pukBoxes: readonly PukBoxRecord[];
    pgpBundles?: readonly PgpBundleRecord[];
  }): Promise<void> {
    const last = input.links[input.links.length - 1];
    if (last === undefined) return;
    try {
      await this.#log.transact(async (trx) => {
        // The conditional update is the compare-and-swap: it matches no row when another
        // append moved the tail, on either backend and across processes.
        const res = await trx
          .updateTable('users')
          .set({ tail_seqno: last.seqno, tail_link_id: last.linkId })
          .where('uid', '=', input.uid)
          .where('tail_seqno', '=', input.expectedTailSeqno)
          // The eldest KID goes into the log's leaf; it never changes on append.
          .returning('eldest_kid')
          .executeTakeFirst();
        if (res === undefined) {
          const exists = await trx
            .selectFrom('users')
            .select('uid')
            .where('uid', '=', input.uid)
            .executeTakeFirst();
          if (!exists) throw fail('USER_NOT_FOUND', 'no such user');
          throw fail('CHAIN_CONFLICT', 'the chain changed since it was read; refetch and retry');
        }
        await insertLinks(trx, input.uid, input.links);
        await writeProjection(trx, input.uid, input.projection);
        await upsertBoxes(trx, input.uid, input.pukBoxes);
        const bundles = input.pgpBundles ?? [];
        if (bundles.length > 0)
          await trx
            .insertInto('pgp_bundles')
            .values(
              bundles.map((b) => ({
                uid: input.uid,
                full_hash: b.fullHash,
                kid: b.kid,
                bundle: b.bundle,
                seqno: b.seqno,
              })),
            )
            .onConflict((oc) => oc.columns(['uid', 'full_hash']).doNothing())
            .execute();
        // Last: the root published with this batch covers this tail (log-store.ts `transact`).
        return [[input.uid, { seqno: last.seqno, linkId: last.linkId, eldestKid: res.eldest_kid }]];
      });
    } catch (e) {
      if (e instanceof ServerError) throw e;
      if (isUniqueViolation(e)) {
        if (/user_keys|kid/i.test(violatedConstraint(e)))
          throw fail('KEY_IN_USE', 'a key in these links is already registered', { cause: e });
        throw fail('CHAIN_CONFLICT', 'the chain changed since it was read; refetch and retry', {
          cause: e,
        });
      }
      throw e;
    }
  }

  async getPgpBundles(uid: string): Promise<PgpBundleRecord[]> {
    const rows = await this.#db
      .selectFrom('pgp_bundles')
      .selectAll()
      .where('uid', '=', uid)
      .orderBy('seqno')
      .orderBy('full_hash')
      .execute();
    return rows.map((r) => ({
      kid: r.kid,
      fullHash: r.full_hash,
      bundle: r.bundle,
      seqno: r.seqno,
    }));
  }

  async getKey(kid: string): Promise<KeyRecord | null> {
    const r = await this.#db
      .selectFrom('user_keys')
      .selectAll()
      .where('kid', '=', kid)
      .executeTakeFirst();
    return r ? toKey(r) : null;
  }
}

class KyselyKeyBoxStore implements KeyBoxStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  putPukBoxes(uid: string, boxes: readonly PukBoxRecord[]): Promise<void> {
    return upsertBoxes(this.#db, uid, boxes);
  }

  async getPukBoxes(
    uid: string,
    receiverKids: readonly string[],
    generation?: number,
  ): Promise<PukBoxRecord[]> {
    if (receiverKids.length === 0) return [];
    let q = this.#db
      .selectFrom('puk_boxes')
      .selectAll()
      .where('uid', '=', uid)
      .where('receiver_kid', 'in', [...receiverKids]);
    if (generation !== undefined) q = q.where('generation', '=', generation);
    const rows = await q.orderBy('generation').orderBy('receiver_kid').execute();
    return rows.map((r) => ({
      generation: r.generation,
      receiverKid: r.receiver_kid,
      box: r.box,
    }));
  }
}

/** Claims in one group-committed statement at most (3 bind parameters each, under SQLite's cap). */
const MAX_NONCE_BATCH = 1000;

/** One nonce claim of a batch. */
export interface NonceClaim {
  kid: string;
  nonce: string;
  expiresAt: number;
}

/**
 * Records a batch of claims in one transaction; answers, in order, whether each claim inserted
 * its row (false: the nonce was taken, by an earlier claim or an earlier copy in the batch).
 */
export type ClaimNonces = (claims: readonly NonceClaim[]) => Promise<boolean[]>;

/** {@link ClaimNonces} through Kysely: one `insert … on conflict do nothing returning`. */
function kyselyClaimNonces(db: Kysely<Database>): ClaimNonces {
  return async (claims) => {
    const rows = await db
      .insertInto('request_nonces')
      .values(claims.map((c) => ({ kid: c.kid, nonce: c.nonce, expires_at: c.expiresAt })))
      .onConflict((oc) => oc.columns(['kid', 'nonce']).doNothing())
      .returning(['kid', 'nonce'])
      .execute();
    const inserted = new Set(rows.map((r) => `${r.kid} ${r.nonce}`));
    // delete(): of two copies of one nonce in a batch, only the first wins.
    return claims.map((c) => inserted.delete(`${c.kid} ${c.nonce}`));
  };
}

interface PendingClaim extends NonceClaim {
  resolve: (claimed: boolean) => void;
  reject: (e: unknown) => void;
}

/**
 * The replay cache in storage, group-committed: the claims made during one turn of the event
 * loop go to the database as one transaction (one round trip), and each claim resolves only
 * after that transaction committed. Under load this turns a write transaction per request into
 * a row per request, while every claim stays as durable and as exclusive across processes as a
 * statement of its own.
 */
class KyselyNonceStore implements NonceStore {
  readonly #db: Kysely<Database>;
  readonly #claim: ClaimNonces;
  #pending: PendingClaim[] = [];
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(db: Kysely<Database>, claim: ClaimNonces = kyselyClaimNonces(db)) {
    this.#db = db;
    this.#claim = claim;
  }

  claimNonce(kid: string, nonce: string, expiresAtMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ kid, nonce, expiresAt: expiresAtMs, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // setImmediate runs after the I/O callbacks of this loop turn: every request parsed in
        // this turn joins the batch.
        setImmediate(() => {
          this.#scheduled = false;
          while (this.#pending.length > 0)
            this.#track(this.#flush(this.#pending.splice(0, MAX_NONCE_BATCH)));
        });
      }
    });
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  async #flush(batch: PendingClaim[]): Promise<void> {
    try {
      const won = await this.#claim(batch);
      batch.forEach((c, i) => {
        c.resolve(won[i] === true);
      });
    } catch (e) {
      for (const c of batch) c.reject(e);
    }
  }

  /** Waits for claims already made (close() calls it before the connections go). */
  async drain(): Promise<void> {
    while (this.#scheduled || this.#inFlight.size > 0) {
      if (this.#scheduled) await new Promise((r) => setImmediate(r));
      await Promise.all([...this.#inFlight]);
    }
  }

  async pruneNonces(nowMs: number): Promise<number> {
    const res = await this.#db
      .deleteFrom('request_nonces')
      .where('expires_at', '<', nowMs)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}

function toTeam(r: Database['teams']): TeamRecord {
  return {
    teamId: r.team_id,
    name: r.name,
    parentId: r.parent_id,
    implicit: r.implicit === 1,
    tailSeqno: r.tail_seqno,
    tailLinkId: r.tail_link_id,
    ctime: Number(r.ctime),
  };
}

const TEAM_ROLES: readonly TeamRole[] = ['owner', 'admin', 'writer', 'reader'];

function toRole(role: string): TeamRole {
  const r = TEAM_ROLES.find((x) => x === role);
  if (r === undefined) throw new Error('corrupt team role in storage');
  return r;
}

async function insertTeamLinks(
  trx: Transaction<Database>,
  teamId: string,
  links: readonly StoredLink[],
): Promise<void> {
  if (links.length === 0) return;
  await trx
    .insertInto('team_links')
    .values(
      links.map((l) => ({
        team_id: teamId,
        seqno: l.seqno,
        link_id: l.linkId,
        sig_id: l.sigId,
        type: l.type,
        link_json: JSON.stringify(l.link),
      })),
    )
    .execute();
}

async function writeTeamProjection(
  trx: Transaction<Database>,
  teamId: string,
  p: TeamProjection,
): Promise<void> {
  await trx.deleteFrom('team_members').where('team_id', '=', teamId).execute();
  if (p.members.length > 0)
    await trx
      .insertInto('team_members')
      .values(p.members.map((m) => ({ team_id: teamId, uid: m.uid, role: m.role })))
      .execute();
}

async function upsertTeamBoxes(
  db: Kysely<Database> | Transaction<Database>,
  teamId: string,
  boxes: readonly TeamKeyBoxRecord[],
): Promise<void> {
  if (boxes.length === 0) return;
  await db
    .insertInto('team_key_boxes')
    .values(
      boxes.map((b) => ({
        team_id: teamId,
        uid: b.uid,
        generation: b.generation,
        receiver_kid: b.receiverKid,
        box: b.box,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['team_id', 'uid', 'generation']).doUpdateSet((eb) => ({
        receiver_kid: eb.ref('excluded.receiver_kid'),
        box: eb.ref('excluded.box'),
      })),
    )
    .execute();
}

async function insertTeamPrevs(
  trx: Transaction<Database>,
  teamId: string,
  prevs: readonly TeamPrevRecord[] | undefined,
): Promise<void> {
  if (prevs === undefined || prevs.length === 0) return;
  // A generation's prev is written once, with the link that introduced the generation; a
  // second one for the same generation is a conflict (primary key), like a second tail.
  await trx
    .insertInto('team_prevs')
    .values(prevs.map((p) => ({ team_id: teamId, generation: p.generation, prev: p.prev })))
    .execute();
}

class KyselyTeamStore implements TeamStore {
  readonly #db: Kysely<Database>;
  readonly #log: KyselyLogStore;
  constructor(db: Kysely<Database>, log: KyselyLogStore) {
    this.#db = db;
    this.#log = log;
  }

  async createTeam(input: {
    team: TeamRecord;
    links: readonly StoredLink[];
    projection: TeamProjection;
    keyBoxes: readonly TeamKeyBoxRecord[];
    prevs?: readonly TeamPrevRecord[];
  }): Promise<void> {
    const { team } = input;
    try {
      await this.#log.transact(async (trx) => {
        await trx
          .insertInto('teams')
          .values({
            team_id: team.teamId,
            name: team.name,
            parent_id: team.parentId,
            implicit: team.implicit ? 1 : 0,
            tail_seqno: team.tailSeqno,
            tail_link_id: team.tailLinkId,
            ctime: team.ctime,
            deleted_at: null,
          })
          .execute();
        await insertTeamLinks(trx, team.teamId, input.links);
        await writeTeamProjection(trx, team.teamId, input.projection);
        await upsertTeamBoxes(trx, team.teamId, input.keyBoxes);
        await insertTeamPrevs(trx, team.teamId, input.prevs);
        return [[team.teamId, { seqno: team.tailSeqno, linkId: team.tailLinkId, eldestKid: null }]];
      });
    } catch (e) {
      if (isUniqueViolation(e))
        throw fail('TEAM_NAME_TAKEN', 'team name is already registered', { cause: e });
      throw e;
    }
  }

  async getTeam(teamId: string): Promise<TeamRecord | null> {
    const r = await this.#db
      .selectFrom('teams')
      .selectAll()
      .where('team_id', '=', teamId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return r ? toTeam(r) : null;
  }

  async getTeamByName(name: string): Promise<TeamRecord | null> {
    const r = await this.#db
      .selectFrom('teams')
      .selectAll()
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return r ? toTeam(r) : null;
  }

  async getTeamLinks(teamId: string, sinceSeqno: number): Promise<StoredLink[]> {
    const rows = await this.#db
      .selectFrom('team_links')
      .selectAll()
      .where('team_id', '=', teamId)
      .where('seqno', '>', sinceSeqno)
      .orderBy('seqno')
      .execute();
    return rows.map((r) => ({
      seqno: r.seqno,
      linkId: r.link_id,
      sigId: r.sig_id,
      type: r.type,
      link: JSON.parse(r.link_json) as ChainLink,
    }));
  }

  async appendTeamLinks(input: {
    teamId: string;
    expectedTailSeqno: number;
    links: readonly StoredLink[];
    projection: TeamProjection;
    keyBoxes: readonly TeamKeyBoxRecord[];
    prevs?: readonly TeamPrevRecord[];
  }): Promise<void> {
    const last = input.links[input.links.length - 1];
    if (last === undefined) return;
    try {
      await this.#log.transact(async (trx) => {
        // Compare-and-swap on the tail, as for user chains.
        const res = await trx
          .updateTable('teams')
          .set({ tail_seqno: last.seqno, tail_link_id: last.linkId })
          .where('team_id', '=', input.teamId)
          .where('tail_seqno', '=', input.expectedTailSeqno)
          .where('deleted_at', 'is', null)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) {
          const exists = await trx
            .selectFrom('teams')
            .select('team_id')
            .where('team_id', '=', input.teamId)
            .where('deleted_at', 'is', null)
            .executeTakeFirst();
          if (!exists) throw fail('TEAM_NOT_FOUND', 'no such team');
          throw fail('CHAIN_CONFLICT', 'the chain changed since it was read; refetch and retry');
        }
        await insertTeamLinks(trx, input.teamId, input.links);
        await writeTeamProjection(trx, input.teamId, input.projection);
        await upsertTeamBoxes(trx, input.teamId, input.keyBoxes);
        await insertTeamPrevs(trx, input.teamId, input.prevs);
        return [[input.teamId, { seqno: last.seqno, linkId: last.linkId, eldestKid: null }]];
      });
    } catch (e) {
      if (e instanceof ServerError) throw e;
      if (isUniqueViolation(e))
        throw fail('CHAIN_CONFLICT', 'the chain changed since it was read; refetch and retry', {
          cause: e,
        });
      throw e;
    }
  }

  async getTeamPrevs(teamId: string): Promise<TeamPrevRecord[]> {
    const rows = await this.#db
      .selectFrom('team_prevs')
      .select(['generation', 'prev'])
      .where('team_id', '=', teamId)
      .orderBy('generation')
      .execute();
    return rows.map((r) => ({ generation: r.generation, prev: r.prev }));
  }

  async getMembers(teamId: string): Promise<TeamMemberRecord[]> {
    const rows = await this.#db
      .selectFrom('team_members')
      .selectAll()
      .where('team_id', '=', teamId)
      .orderBy('uid')
      .execute();
    return rows.map((r) => ({ uid: r.uid, role: toRole(r.role) }));
  }

  async listTeamsForUser(uid: string): Promise<TeamMembership[]> {
    const rows = await this.#db
      .selectFrom('team_members')
      .innerJoin('teams', 'teams.team_id', 'team_members.team_id')
      .selectAll('teams')
      .select('team_members.role')
      .where('team_members.uid', '=', uid)
      .orderBy('teams.name')
      .execute();
    return rows.map((r) => ({ team: toTeam(r), role: toRole(r.role) }));
  }

  putTeamKeyBoxes(teamId: string, boxes: readonly TeamKeyBoxRecord[]): Promise<void> {
    return upsertTeamBoxes(this.#db, teamId, boxes);
  }

  async getTeamKeyBoxes(
    teamId: string,
    uid: string,
    generation?: number,
  ): Promise<TeamKeyBoxRecord[]> {
    let q = this.#db
      .selectFrom('team_key_boxes')
      .selectAll()
      .where('team_id', '=', teamId)
      .where('uid', '=', uid);
    if (generation !== undefined) q = q.where('generation', '=', generation);
    const rows = await q.orderBy('generation').execute();
    return rows.map((r) => ({
      generation: r.generation,
      uid: r.uid,
      receiverKid: r.receiver_kid,
      box: r.box,
    }));
  }

  async deleteTeam(
    teamId: string,
    expectedTailSeqno: number,
    nowMs: number,
  ): Promise<{ kvEntriesDeleted: number } | 'has_subteams'> {
    return this.#db.transaction().execute(async (trx) => {
      const child = await trx
        .selectFrom('teams')
        .select('team_id')
        .where('parent_id', '=', teamId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (child !== undefined) return 'has_subteams' as const;
      // Compare-and-swap on the tail, as for appends: a subteam announced (or a member changed)
      // since the caller checked moves the tail, so this deletion then fails instead.
      const res = await trx
        .updateTable('teams')
        .set({ deleted_at: nowMs })
        .where('team_id', '=', teamId)
        .where('tail_seqno', '=', expectedTailSeqno)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) {
        const exists = await trx
          .selectFrom('teams')
          .select('team_id')
          .where('team_id', '=', teamId)
          .where('deleted_at', 'is', null)
          .executeTakeFirst();
        if (!exists) throw fail('TEAM_NOT_FOUND', 'no such team');
        throw fail('CHAIN_CONFLICT', 'the chain changed since it was read; refetch and retry');
      }
      const kv = await trx
        .deleteFrom('kv_entries')
        .where('team_id', '=', teamId)
        .executeTakeFirst();
      await trx.deleteFrom('kv_team_seq').where('team_id', '=', teamId).execute();
      for (const table of ['team_key_boxes', 'team_prevs', 'team_members', 'team_links'] as const)
        await trx.deleteFrom(table).where('team_id', '=', teamId).execute();
      return { kvEntriesDeleted: Number(kv.numDeletedRows) };
    });
  }

  async currentKeyGeneration(teamId: string): Promise<number> {
    // Every generation from 2 has its `prev` row, so the scan of boxes starts at the newest
    // prev's generation (an index seek) instead of reading every member's every box; were a
    // prev ever missing, the answer would still be right, only read from more rows.
    const r = await this.#db
      .selectFrom('team_key_boxes')
      .select((eb) => eb.fn.max('generation').as('generation'))
      .where('team_id', '=', teamId)
      .where(
        'generation',
        '>=',
        sql<number>`coalesce((select max(generation) from team_prevs where team_id = ${teamId}), 1)`,
      )
      .executeTakeFirst();
    return r?.generation ?? 0;
  }
}

class KyselyInviteStore implements InviteStore {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async createInvite(codeHash: string, createdAtMs: number): Promise<void> {
    try {
      await this.#db
        .insertInto('signup_invites')
        .values({ code_hash: codeHash, created_at: createdAtMs, used_by: null, used_at: null })
        .execute();
    } catch (e) {
      if (isUniqueViolation(e))
        throw fail('VALIDATION_FAILED', 'this invite is already recorded', { cause: e });
      throw e;
    }
  }

  async countUnusedInvites(): Promise<number> {
    const r = await this.#db
      .selectFrom('signup_invites')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('used_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

/**
 * A `Storage` over a Kysely instance.
 *
 * @param db - the Kysely instance (its dialect decides the backend).
 * @param dialect - which backend the instance talks to.
 * @param onClose - extra clean-up after `db.destroy()`.
 * @param fast - backend-specific hot paths: `reads` serves the user reads instead of Kysely (it
 *   must read committed data of the same database); `claimNonces` records nonce batches;
 *   `logStatements` is the log's publication path on the transactions' connection (SQLite).
 * @param logSeed - the 32-byte seed of the signed log's root key (`node.ts` keeps it in the data
 *   directory); a random one when absent, for tests and throwaway databases.
 * @param logOptions - `publish: false` only for the benchmark's baseline (see
 *   `SqliteOptions.benchmarkWithoutLog`).
 * @param changes - the KV change feed (PostgreSQL: across processes); in-process by default.
 */
export function createKyselyStorage(
  db: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
  onClose: () => Promise<void> = () => Promise.resolve(),
  fast: { reads?: UserReads; claimNonces?: ClaimNonces; logStatements?: LogStatements } = {},
  logSeed: Uint8Array | (() => Uint8Array) = randomBytes(32),
  logOptions: { publish: boolean } = { publish: true },
  changes: WritableChangeFeed = new LocalChangeFeed(),
): Storage {
  const { reads } = fast;
  const nonces = new KyselyNonceStore(db, fast.claimNonces);
  const log = new KyselyLogStore(db, dialect, logSeed, {
    enabled: logOptions.publish,
    ...(fast.logStatements ? { statements: fast.logStatements } : {}),
  });
  const kyselyUsers = new KyselyUserStore(db, log);
  const users: UserStore =
    reads === undefined
      ? kyselyUsers
      : {
          createUser: (input) => kyselyUsers.createUser(input),
          appendLinks: (input) => kyselyUsers.appendLinks(input),
          // Rare (PGP users only): no prepared statement on the read connection.
          getPgpBundles: (uid) => kyselyUsers.getPgpBundles(uid),
          getUser: (username) => reads.getUser(username),
          getUserByUid: (uid) => reads.getUserByUid(uid),
          getUsers: (usernames) => reads.getUsers(usernames),
          getProjections: (uids) => reads.getProjections(uids),
          getLinks: (uid, since) => reads.getLinks(uid, since),
          getKey: (kid) => reads.getKey(kid),
        };
  return guardStorage({
    dialect,
    users,
    keyBoxes: new KyselyKeyBoxStore(db),
    nonces,
    teams: new KyselyTeamStore(db, log),
    log,
    kv: new KyselyKvStore(db, dialect, changes),
    invites: new KyselyInviteStore(db),
    changes,
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider });
      const { error } = await migrator.migrateToLatest();
      if (error !== undefined) throw error instanceof Error ? error : new Error('migration failed');
      // Chains from before the log enter it in one root on the first start with it.
      await log.backfill();
    },
    async ping() {
      try {
        await PING.execute(db);
      } catch (e) {
        throw fail('UNAVAILABLE', 'storage is unavailable', { cause: e });
      }
    },
    async close() {
      await nonces.drain();
      await changes.close();
      await db.destroy();
      await onClose();
    },
  });
}
