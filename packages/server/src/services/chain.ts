/**
 * Sigchain writes: sign-up and append, each validated by replaying links through
 * `@saltbox/identity`'s verifier before anything is stored. The server refuses what a client
 * would refuse, so an honest server never serves a chain its clients reject — but clients still
 * verify everything themselves (DESIGN.md, Identity).
 *
 * Verified states are cached per user, keyed by the chain tail they cover; a state is used only
 * when the stored tail still matches, so several server processes sharing one database stay
 * correct (a stale cache is replayed from storage, never trusted).
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  buildKeyFamily,
  parsePgpKey,
  decodeEncryptionPacket,
  extendUserChain,
  importUserLinks,
  isIdentityError,
  isKid,
  isPgpKid,
  isValidUsername,
  isJsonObject,
  KID_TYPE,
  linkNaclKids,
  normalizeUsername,
  uidFromUsername,
  verifyUserChain,
} from '@saltbox/identity';
import type { ImportedLink, UserChainResult, UserChainState } from '@saltbox/identity';
import { hasUnsafeDisplayCharacters } from '@saltbox/protocol';
import type { ChainLink, ChainTail, PukBox } from '@saltbox/protocol';
import { fail } from '../errors.js';
import { checkLinkMerkleRoots } from './log-freshness.js';
import type {
  PgpBundleRecord,
  PukBoxRecord,
  Storage,
  StoredLink,
  UserProjection,
  UserRecord,
} from '../storage/types.js';

/** Link types an append may carry (PGP keys arrive as `sibkey` links). Resets (`eldest`) are not supported. */
const APPENDABLE_TYPES: ReadonlySet<string> = new Set([
  'sibkey',
  'subkey',
  'revoke',
  'per_user_key',
]);

/** Whether stored links may delegate PGP keys (only links naming a `full_hash` do). */
export function mayDelegatePgp(links: readonly StoredLink[]): boolean {
  return links.some(
    (l) =>
      (l.type === 'sibkey' || l.type === 'pgp_update') && l.link.payload_json.includes('full_hash'),
  );
}

/** Translates a verifier failure into `CHAIN_INVALID`, keeping its code and seqno. */
function chainInvalid(e: unknown): never {
  if (isIdentityError(e)) {
    const at = e.details.seqno === undefined ? '' : ` at seqno ${e.details.seqno}`;
    throw fail('CHAIN_INVALID', `chain rejected (${e.code}${at}): ${e.message}`, { cause: e });
  }
  throw e;
}

const deviceNameKey = (name: string): string => name.trim().toLowerCase();

/**
 * Device names a post introduces (new devices, or a new name for one) must be printable —
 * every listing shows them to the user, so no control or bidi characters
 * (`hasUnsafeDisplayCharacters`) — and differ from every other active device's name
 * (case-insensitively): revoking or picking "the laptop" must not be ambiguous (#12.9, #12.16).
 *
 * @throws ServerError `VALIDATION_FAILED` (unsafe characters), `DEVICE_NAME_TAKEN`.
 */
function checkDeviceNames(before: UserChainState | undefined, after: UserChainState): void {
  for (const d of after.devices.values()) {
    if (d.name === undefined || before?.devices.get(d.id)?.name === d.name) continue;
    if (hasUnsafeDisplayCharacters(d.name))
      throw fail('VALIDATION_FAILED', 'device names must not contain control or bidi characters');
    const taken = [...after.devices.values()].some(
      (o) =>
        o.id !== d.id &&
        o.status === 'active' &&
        o.name !== undefined &&
        deviceNameKey(o.name) === deviceNameKey(d.name!),
    );
    if (taken) throw fail('DEVICE_NAME_TAKEN', 'another active device already has this name');
  }
}

/**
 * The stored projection of a verified state. A key of a revoked device counts as revoked, so
 * authentication needs one lookup by KID.
 */
export function projectState(uid: string, state: UserChainState): UserProjection {
  const deviceOf = new Map<string, string>();
  const revokedDevices = new Set<string>();
  for (const d of state.devices.values()) {
    for (const k of d.kids) deviceOf.set(k, d.id);
    if (d.status === 'revoked') revokedDevices.add(d.id);
  }
  return {
    keys: [...state.keys.values()].map((k) => {
      const deviceId = deviceOf.get(k.kid) ?? null;
      const revoked = k.status === 'revoked' || (deviceId !== null && revokedDevices.has(deviceId));
      return {
        kid: k.kid,
        uid,
        role: k.role,
        status: revoked ? 'revoked' : 'live',
        deviceId,
        seqno: k.seqno,
      };
    }),
    devices: [...state.devices.values()].map((d) => ({
      id: d.id,
      name: d.name ?? null,
      type: d.type ?? null,
      status: d.status,
    })),
    perUserKeys: [...state.perUserKeys.values()].map((p) => ({ ...p })),
  };
}

/**
 * The `seqno` and `prev` beside a link must repeat its signed payload's: the verifier reads the
 * payload, and a stored link whose outer fields disagree would mislead any reader that trusts
 * them (and the continuity checks made on them before verification).
 */
function checkOuterFields(links: readonly ChainLink[], imported: readonly ImportedLink[]): void {
  imported.forEach((l, i) => {
    const posted = links[i]!;
    if (posted.seqno !== l.seqno || posted.prev !== l.prev)
      throw fail('CHAIN_INVALID', `link ${posted.seqno}: seqno or prev differs from its payload`);
  });
}

function storedLinks(links: readonly ChainLink[], imported: readonly ImportedLink[]): StoredLink[] {
  return imported.map((l, i) => ({
    seqno: l.seqno,
    linkId: l.id,
    sigId: l.sigId!,
    type: l.type!,
    // Stored with the IDs the server computed, whatever the client claimed.
    link: { ...links[i]!, sig_id: l.sigId!, payload_hash: l.id },
  }));
}

/**
 * Checks PUK boxes against a verified state: each names a generation the chain announced and is
 * addressed to a live Curve25519 key of this user, and its packet names that same receiver.
 */
function checkBoxes(
  backend: CryptoBackend,
  result: UserChainResult,
  boxes: readonly PukBox[],
): PukBoxRecord[] {
  const liveSubkeys = new Set(result.subkeys);
  return boxes.map((b) => {
    if (!result.state.perUserKeys.has(b.generation))
      throw fail('VALIDATION_FAILED', `no per-user key generation ${b.generation} in the chain`);
    if (!isKid(b.receiverKid, KID_TYPE.curve25519) || !liveSubkeys.has(b.receiverKid))
      throw fail(
        'VALIDATION_FAILED',
        'a box is not addressed to a live encryption key of the user',
      );
    let receiver: string;
    try {
      receiver = decodeEncryptionPacket(backend, b.box).receiverKid;
    } catch (e) {
      throw fail('VALIDATION_FAILED', 'a box is not a tag-515 encryption packet', { cause: e });
    }
    if (receiver !== b.receiverKid)
      throw fail('VALIDATION_FAILED', 'a box packet names another receiver');
    return { generation: b.generation, receiverKid: b.receiverKid, box: b.box };
  });
}

interface CachedState {
  tailLinkId: string;
  state: UserChainState;
  result: UserChainResult;
}

/** Sign-up and append, with a bounded cache of verified chain states. */
export class ChainService {
  readonly #backend: CryptoBackend;
  readonly #storage: Storage;
  readonly #cache = new Map<string, CachedState>();
  readonly #maxCached: number;
  readonly #now: () => number;

  /**
   * @param backend - crypto for the verifier.
   * @param storage - where chains live.
   * @param now - the clock (Unix ms), for registration times.
   * @param maxCached - how many users' verified states to keep in memory.
   */
  constructor(backend: CryptoBackend, storage: Storage, now: () => number, maxCached = 10_000) {
    this.#backend = backend;
    this.#storage = storage;
    this.#now = now;
    this.#maxCached = maxCached;
  }

  #remember(uid: string, entry: CachedState): void {
    this.#cache.delete(uid);
    this.#cache.set(uid, entry);
    // A Map iterates in insertion order, so the first key is the least recently stored.
    if (this.#cache.size > this.#maxCached) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
  }

  /** The verified state at the stored tail: from the cache when current, else replayed. */
  async #stateOf(user: UserRecord): Promise<CachedState> {
    const hit = this.#cache.get(user.uid);
    if (hit?.tailLinkId === user.tailLinkId) return hit;
    const stored = await this.#storage.users.getLinks(user.uid, 0);
    const links = stored.map((l) => l.link);
    const pgp = mayDelegatePgp(stored) ? await this.#storage.users.getPgpBundles(user.uid) : [];
    try {
      const imported = await importUserLinks(this.#backend, links);
      const family = await buildKeyFamily(this.#backend, [
        ...linkNaclKids(imported),
        ...pgp.map((b) => b.bundle),
      ]);
      const result = await verifyUserChain(this.#backend, {
        uid: user.uid,
        username: user.username,
        links,
        keyFamily: family,
        eldestKid: user.eldestKid,
      });
      const entry = { tailLinkId: user.tailLinkId, state: result.state, result };
      this.#remember(user.uid, entry);
      return entry;
    } catch (e) {
      // A stored chain that no longer verifies is a server fault, not the client's.
      throw fail('INTERNAL', 'stored chain does not verify', { cause: e });
    }
  }

  /**
   * The verified chain state of a stored user (cached while the stored tail is unchanged). The
   * team routes check team-link signers against it.
   *
   * @throws ServerError `INTERNAL` when the stored chain no longer verifies.
   */
  async verifiedState(user: UserRecord): Promise<UserChainState> {
    return (await this.#stateOf(user)).state;
  }

  /**
   * Registers a user from their `eldest`, device `subkey` and PUK generation-1 links. The
   * request must be signed by the eldest key (proof of possession).
   *
   * @throws ServerError `INVALID_USERNAME`, `CHAIN_INVALID` (links fail verification or are not
   *   exactly eldest + subkey + per_user_key generation 1), `FORBIDDEN` (request not signed by
   *   the eldest key), `VALIDATION_FAILED` (a bad PUK box), `USERNAME_TAKEN`, `KEY_IN_USE`.
   */
  async signup(
    input: {
      username: string;
      links: readonly ChainLink[];
      pukBoxes: readonly PukBox[];
      /** The hash of an invite to use up with the sign-up (`signup-policy.ts`). */
      inviteHash?: string;
    },
    signerKid: string,
  ): Promise<ChainTail> {
    if (!isValidUsername(input.username))
      throw fail(
        'INVALID_USERNAME',
        'usernames are 2–16 of a-z, 0-9 and _ (no leading or double _)',
      );
    const username = normalizeUsername(input.username);
    const uid = uidFromUsername(this.#backend, username);
    await checkLinkMerkleRoots(this.#storage, input.links, this.#now());
    let imported: ImportedLink[];
    let result: UserChainResult;
    try {
      imported = await importUserLinks(this.#backend, input.links);
      checkOuterFields(input.links, imported);
      const types = imported.map((l) => (l.stubbed ? 'stub' : l.type));
      if (types.join() !== 'eldest,subkey,per_user_key')
        throw fail('CHAIN_INVALID', 'sign-up takes exactly eldest, subkey and per_user_key links');
      const family = await buildKeyFamily(this.#backend, linkNaclKids(imported));
      result = await verifyUserChain(this.#backend, {
        uid,
        username,
        links: input.links,
        keyFamily: family,
        eldestKid: imported[0]!.signingKid!,
      });
    } catch (e) {
      chainInvalid(e);
    }
    const eldestKid = result.state.eldestKid;
    if (!isKid(eldestKid, KID_TYPE.ed25519))
      throw fail('CHAIN_INVALID', 'the eldest key must be an ed25519 device key');
    if (result.state.perUserKeys.get(1) === undefined)
      throw fail('CHAIN_INVALID', 'sign-up must announce per-user key generation 1');
    if (imported[0]!.body?.device === undefined || result.state.devices.size !== 1)
      throw fail('CHAIN_INVALID', 'the eldest link must name the first device');
    if (signerKid !== eldestKid)
      throw fail('FORBIDDEN', 'sign-up must be signed by the eldest key');
    checkDeviceNames(undefined, result.state);
    const boxes = checkBoxes(this.#backend, result, input.pukBoxes);
    const last = imported[imported.length - 1]!;
    const user: UserRecord = {
      uid,
      username,
      eldestKid,
      tailSeqno: last.seqno,
      tailLinkId: last.id,
      ctime: this.#now(),
    };
    await this.#storage.users.createUser({
      user,
      links: storedLinks(input.links, imported),
      projection: projectState(uid, result.state),
      pukBoxes: boxes,
      ...(input.inviteHash === undefined ? {} : { inviteHash: input.inviteHash }),
    });
    this.#remember(uid, { tailLinkId: last.id, state: result.state, result });
    return { uid, username, seqno: last.seqno, linkId: last.id };
  }

  /**
   * Appends links to a user's chain after full verification against the stored chain.
   *
   * @throws ServerError `CHAIN_CONFLICT` (the links do not start right after the stored tail, or
   *   another append won), `CHAIN_INVALID` (verification failed — a PGP bundle that is not the
   *   delegated key's, a mismatched fingerprint, a bad reverse signature —, a reset, or a PGP
   *   sibkey without `full_hash`), `VALIDATION_FAILED` (a bad PUK box, an unreadable PGP
   *   bundle or one no new link names, a device name with control characters), `KEY_IN_USE`,
   *   `DEVICE_NAME_TAKEN`.
   */
  async append(
    user: UserRecord,
    input: {
      links: readonly ChainLink[];
      pukBoxes: readonly PukBox[];
      pgpBundles?: readonly string[];
    },
  ): Promise<ChainTail> {
    const first = input.links[0];
    if (first?.seqno !== user.tailSeqno + 1)
      throw fail('CHAIN_CONFLICT', `links must start at seqno ${user.tailSeqno + 1}`);
    await checkLinkMerkleRoots(this.#storage, input.links, this.#now());
    const cached = await this.#stateOf(user);
    const posted = [...new Set(input.pgpBundles ?? [])];
    const heldPgp = [...cached.state.keys.keys()].some(isPgpKid);
    const stored = heldPgp ? await this.#storage.users.getPgpBundles(user.uid) : [];
    let imported: ImportedLink[];
    let result: UserChainResult;
    let newBundles: PgpBundleRecord[];
    try {
      imported = await importUserLinks(this.#backend, input.links);
      checkOuterFields(input.links, imported);
      for (const l of imported)
        if (l.stubbed || l.type === undefined || !APPENDABLE_TYPES.has(l.type))
          throw fail('CHAIN_INVALID', `link type ${l.type ?? 'stub'} cannot be appended here`);
      newBundles = await this.#pgpBundlesOf(imported, posted);
      const family = await buildKeyFamily(this.#backend, [
        ...[...cached.state.keys.keys()].filter((k) => !isPgpKid(k)),
        ...linkNaclKids(imported),
        ...stored.map((b) => b.bundle),
        ...posted,
      ]);
      result = await extendUserChain(this.#backend, cached.state, input.links, family);
    } catch (e) {
      chainInvalid(e);
    }
    checkDeviceNames(cached.state, result.state);
    const boxes = checkBoxes(this.#backend, result, input.pukBoxes);
    await this.#storage.users.appendLinks({
      uid: user.uid,
      expectedTailSeqno: user.tailSeqno,
      links: storedLinks(input.links, imported),
      projection: projectState(user.uid, result.state),
      pukBoxes: boxes,
      pgpBundles: newBundles,
    });
    const last = imported[imported.length - 1]!;
    this.#remember(user.uid, { tailLinkId: last.id, state: result.state, result });
    return { uid: user.uid, username: user.username, seqno: last.seqno, linkId: last.id };
  }

  /**
   * The posted PGP bundles as records: each must be a readable key named by a new link's
   * `full_hash` (nothing unreferenced is stored), and every new PGP `sibkey` must name the
   * version it delegates (spec §3.2). Whether the bundles match the links' KIDs, fingerprints
   * and reverse signatures is the verifier's part.
   */
  async #pgpBundlesOf(
    imported: readonly ImportedLink[],
    posted: readonly string[],
  ): Promise<PgpBundleRecord[]> {
    const named = new Map<string, number>();
    for (const l of imported) {
      if (l.stubbed) continue;
      for (const section of ['sibkey', 'pgp_update']) {
        const sec = l.body?.[section];
        const kid = isJsonObject(sec) && typeof sec.kid === 'string' ? sec.kid : undefined;
        const fh =
          isJsonObject(sec) && typeof sec.full_hash === 'string' ? sec.full_hash : undefined;
        if (kid !== undefined && isPgpKid(kid) && l.type === section) {
          if (fh === undefined)
            throw fail(
              'CHAIN_INVALID',
              `link ${l.seqno}: a pgp ${section} must name its full_hash`,
            );
          named.set(fh, l.seqno);
        }
      }
    }
    const out: PgpBundleRecord[] = [];
    for (const bundle of posted) {
      let key;
      try {
        key = await parsePgpKey(this.#backend, bundle);
      } catch (e) {
        throw fail('VALIDATION_FAILED', 'a pgp bundle is not a readable pgp public key', {
          cause: e,
        });
      }
      const seqno = named.get(key.fullHash);
      if (seqno === undefined)
        throw fail('VALIDATION_FAILED', 'a pgp bundle is not named by any link appended with it');
      out.push({ kid: key.kid, fullHash: key.fullHash, bundle, seqno });
    }
    return out;
  }

  /**
   * The stored PGP key versions of a user (armored public keys, oldest first).
   */
  pgpBundles(user: UserRecord): Promise<PgpBundleRecord[]> {
    return this.#storage.users.getPgpBundles(user.uid);
  }

  /**
   * Checks and stores PUK boxes for a user against their verified chain.
   *
   * @throws ServerError `VALIDATION_FAILED` for a box of an unknown generation, for a key that is
   *   not a live encryption key of the user, or that is not a tag-515 packet.
   */
  async putPukBoxes(user: UserRecord, boxes: readonly PukBox[]): Promise<void> {
    const { result } = await this.#stateOf(user);
    await this.#storage.keyBoxes.putPukBoxes(user.uid, checkBoxes(this.#backend, result, boxes));
  }
}
