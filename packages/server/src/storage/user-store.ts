/**
 * User chains in storage: sign-up, appends (through the generic chain append), the projection
 * rows, and the reads, which the backend's hot path serves (`backend.ts`).
 *
 * @packageDocumentation
 */
import type { Kysely, Transaction } from 'kysely';
import type { UserReads } from './backend.js';
import { appendChain, insertLinks } from './chain-append.js';
import type { ChainKind } from './chain-append.js';
import { chainConflict } from './chain-append.js';
import { isUniqueViolation, StorageError, storageError, violatedConstraint } from './errors.js';
import type { KyselyLogStore } from './log-store.js';
import type { Database } from './schema.js';
import type {
  KeyRecord,
  PgpBundleRecord,
  PukBoxRecord,
  StoredLink,
  UserProjection,
  UserRecord,
  UserStore,
} from './types.js';

const isKeyViolation = (e: unknown): boolean => /user_keys|kid/i.test(violatedConstraint(e));
const keyInUse = (e: unknown): StorageError =>
  storageError('STORAGE_UNIQUE_VIOLATION', 'key', 'a key in these links is already registered', e);

/** User chains: a link naming a registered key is `key`; any other violation a conflict. */
const USER_CHAIN: ChainKind = {
  table: 'users',
  idColumn: 'uid',
  linksTable: 'links',
  softDeleted: false,
  eldestKid: true,
  subject: 'user',
  uniqueViolation: (e) => (isKeyViolation(e) ? keyInUse(e) : chainConflict(e)),
};

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

export async function upsertBoxes(
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

/** {@link UserStore} over Kysely, its reads served by `reads`. */
export class KyselyUserStore implements UserStore {
  readonly #db: Kysely<Database>;
  readonly #log: KyselyLogStore;
  readonly #reads: UserReads;
  constructor(db: Kysely<Database>, log: KyselyLogStore, reads: UserReads) {
    this.#db = db;
    this.#log = log;
    this.#reads = reads;
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
            throw storageError(
              'STORAGE_NOT_FOUND',
              'invite',
              'the invite code is unknown or already used',
            );
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
        await insertLinks(trx, USER_CHAIN, user.uid, input.links);
        await writeProjection(trx, user.uid, input.projection);
        await upsertBoxes(trx, user.uid, input.pukBoxes);
        return [
          [user.uid, { seqno: user.tailSeqno, linkId: user.tailLinkId, eldestKid: user.eldestKid }],
        ];
      });
    } catch (e) {
      if (e instanceof StorageError) throw e;
      if (isUniqueViolation(e)) {
        if (isKeyViolation(e)) throw keyInUse(e);
        throw storageError(
          'STORAGE_UNIQUE_VIOLATION',
          'username',
          'username is already registered',
          e,
        );
      }
      throw e;
    }
  }

  getUser(username: string): Promise<UserRecord | null> {
    return this.#reads.getUser(username);
  }

  getUserByUid(uid: string): Promise<UserRecord | null> {
    return this.#reads.getUserByUid(uid);
  }

  getUsers(usernames: readonly string[]): Promise<Map<string, UserRecord>> {
    return this.#reads.getUsers(usernames);
  }

  getProjections(uids: readonly string[]): Promise<Map<string, UserProjection>> {
    return this.#reads.getProjections(uids);
  }

  getLinks(uid: string, sinceSeqno: number): Promise<StoredLink[]> {
    return this.#reads.getLinks(uid, sinceSeqno);
  }

  getKey(kid: string): Promise<KeyRecord | null> {
    return this.#reads.getKey(kid);
  }

  /**
   * @throws StorageError `STORAGE_NOT_FOUND` (`user`), `STORAGE_CONFLICT` (`chain`),
   *   `STORAGE_UNIQUE_VIOLATION` (`key`).
   */
  appendLinks(input: {
    uid: string;
    expectedTailSeqno: number;
    links: readonly StoredLink[];
    projection: UserProjection;
    pukBoxes: readonly PukBoxRecord[];
    pgpBundles?: readonly PgpBundleRecord[];
  }): Promise<void> {
    return appendChain(
      this.#log,
      USER_CHAIN,
      { id: input.uid, expectedTailSeqno: input.expectedTailSeqno, links: input.links },
      async (trx) => {
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
      },
    );
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
}
