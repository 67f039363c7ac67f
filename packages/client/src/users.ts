/**
 * Loading users the client can trust: fetch the chain, verify it with `@saltbox/identity`, pin
 * the eldest key on first contact, and on every refetch require the chain already verified to
 * be a prefix of the new one. The server is not trusted for anything it could lie about: a
 * fork, a rollback, a new eldest key, or a lookup that disagrees with the verified chain is a
 * hard error with its own code.
 *
 * The signed log (DESIGN.md "The signed log", #14.4 and #14.9): every fetch proves the served
 * tail is the user's leaf in the log (seqno, link ID, eldest KID) — a server hiding a
 * revocation or serving a stale chain is caught there — and a cached chain is used only while
 * the log's latest root (asked for at most once per `freshMs`) still holds its tail; the TTL
 * is the fallback when the server cannot be reached.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  buildKeyFamily,
  extendUserChain,
  IdentityError,
  importUserLinks,
  linkNaclKids,
  isPgpKid,
  isValidUsername,
  normalizeUsername,
  parsePgpKey,
  uidFromUsername,
  verifyUserChain,
} from '@saltbox/identity';
import type {
  ImportedLink,
  KidHex,
  UserChainResult,
  UserChainState,
  VerifiedLogRoot,
} from '@saltbox/identity';
import type { LookupUserSummary } from '@saltbox/protocol';
import type { ApiClient } from './http.js';
import { ClientError, isClientError } from './errors.js';
import { isLogUnreachable, LogClient } from './log.js';
import type { CachedChain, ChainCache, Pin, PinStore } from './pins.js';

/** A key of a verified user, with the status the chain gives it. */
export interface VerifiedKey {
  kid: KidHex;
  role: 'sibkey' | 'subkey';
  /** `revoked` when the key or its device was revoked by the chain. */
  status: 'live' | 'revoked';
  deviceId: string | null;
  /**
   * For a revoked key, the log root the revoking link names (`merkle_root`): team links the
   * key signed stand when the log held them at that root (DESIGN.md "The signed log").
   */
  revokedAt?: { seqno: number; hashMeta: string };
}

/** A live PGP sibkey of a verified user (`format=pgp` encrypts to these). */
export interface VerifiedPgpKey {
  kid: KidHex;
  /** 40 lowercase hex. */
  fingerprint: string;
  /** 16 lowercase hex. */
  keyId: string;
  /** The full hash the chain names for the active version. */
  fullHash: string;
  /** The active version's armored public key (its SHA-256 is `fullHash`). */
  armoredPublicKey: string;
}

/** A user whose keys come only from a chain this client verified. */
export interface VerifiedUser {
  uid: string;
  username: string;
  eldestKid: KidHex;
  /** Seqno of the eldest link of the current subchain: with the UID, the user version teams name. */
  eldestSeqno: number;
  tail: { seqno: number; linkId: string };
  /** Every key of the current subchain. */
  keys: VerifiedKey[];
  /** Live Ed25519 sibkeys (device signing keys). */
  sibkeys: KidHex[];
  /** Live Curve25519 subkeys (device encryption keys). */
  subkeys: KidHex[];
  devices: { id: string; name: string | null; type: string | null; status: 'active' | 'revoked' }[];
  perUserKeys: { generation: number; seqno: number; signingKid: KidHex; encryptionKid: KidHex }[];
  /**
   * Live PGP sibkeys, each at the version the chain makes active: only keys a verified link
   * delegated (with a reverse signature by the key) and whose bundle has the full hash the
   * chain names — never the server's bundle list alone.
   */
  pgpKeys: VerifiedPgpKey[];
  /** Unix ms of the fetch this answer was verified from. */
  verifiedAt: number;
}

/** Options of {@link UserLoader}. */
export interface UserLoaderOptions {
  api: ApiClient;
  backend: CryptoBackend;
  pins: PinStore;
  cache: ChainCache;
  /**
   * The server's signed log (share one per account: `Account.log`); default: a new one
   * pinning in memory.
   */
  log?: LogClient;
  /**
   * How long a verified chain may be used without refetching (default 1 h): while the server
   * answers, a cached chain is also checked against the signed log before each use; when it
   * cannot be reached, the cache answers within this TTL.
   */
  ttlMs?: number;
  now?: () => number;
}

/** Default cache TTL: one hour. */
export const DEFAULT_CHAIN_TTL_MS = 60 * 60 * 1000;

/**
 * The live PGP sibkeys of a verified state at their active versions, from the bundles the
 * verification used. A live PGP key whose active version is not among them is left out (the
 * state cannot have verified without it, so this only guards a damaged cache).
 */
async function verifiedPgpKeys(
  backend: CryptoBackend,
  state: UserChainState,
  bundles: readonly string[],
): Promise<VerifiedPgpKey[]> {
  const live = [...state.keys.values()].filter(
    (k) => k.role === 'sibkey' && k.status === 'live' && isPgpKid(k.kid),
  );
  if (live.length === 0 || bundles.length === 0) return [];
  const parsed = await Promise.all(bundles.map((b) => parsePgpKey(backend, b)));
  const out: VerifiedPgpKey[] = [];
  for (const k of live) {
    const versions = parsed.filter((p) => p.kid === k.kid);
    const active = state.activePgpHash.get(k.kid);
    const v =
      active === undefined
        ? versions.length === 1
          ? versions[0]
          : undefined
        : versions.find((p) => p.fullHash === active);
    if (v === undefined) continue;
    out.push({
      kid: k.kid,
      fingerprint: v.fingerprint,
      keyId: v.keyId,
      fullHash: v.fullHash,
      armoredPublicKey: bundles[parsed.indexOf(v)]!,
    });
  }
  return out;
}

function chainInvalid(e: unknown, username: string): never {
  if (e instanceof ClientError) throw e;
  if (e instanceof IdentityError)
    throw new ClientError(
      'CLIENT_CHAIN_INVALID',
      `the chain of ${username} does not verify`,
      { username, identityCode: typeof e.code === 'string' ? e.code : null },
      { cause: e },
    );
  throw new ClientError(
    'CLIENT_CHAIN_INVALID',
    `the chain of ${username} could not be verified`,
    { username },
    { cause: e },
  );
}

/** The projection of a verified state, computed as the server's (a revoked device's keys are revoked). */
function project(
  uid: string,
  username: string,
  state: UserChainState,
  verifiedAt: number,
  pgpKeys: VerifiedPgpKey[],
): VerifiedUser {
  const deviceOf = new Map<string, string>();
  const revokedDevices = new Set<string>();
  for (const d of state.devices.values()) {
    for (const k of d.kids) deviceOf.set(k, d.id);
    if (d.status === 'revoked') revokedDevices.add(d.id);
  }
  const keys: VerifiedKey[] = [...state.keys.values()].map((k) => {
    const deviceId = deviceOf.get(k.kid) ?? null;
    const revoked = k.status === 'revoked' || (deviceId !== null && revokedDevices.has(deviceId));
    return {
      kid: k.kid,
      role: k.role,
      status: revoked ? 'revoked' : 'live',
      deviceId,
      ...(revoked && k.revokedAt ? { revokedAt: { ...k.revokedAt } } : {}),
    };
  });
  const live = keys.filter((k) => k.status === 'live');
  return {
    uid,
    username,
    eldestKid: state.eldestKid,
    eldestSeqno: state.eldestSeqno,
    tail: state.tail ?? { seqno: 0, linkId: '' },
    keys,
    sibkeys: live.filter((k) => k.role === 'sibkey').map((k) => k.kid),
    subkeys: live.filter((k) => k.role === 'subkey').map((k) => k.kid),
    devices: [...state.devices.values()].map((d) => ({
      id: d.id,
      name: d.name ?? null,
      type: d.type ?? null,
      status: d.status,
    })),
    perUserKeys: [...state.perUserKeys.values()]
      .map((p) => ({ ...p }))
      .sort((a, b) => a.generation - b.generation),
    pgpKeys,
    verifiedAt,
  };
}

/**
 * Loads and verifies users (see the module comment for the rules).
 */
export class UserLoader {
  readonly #api: ApiClient;
  readonly #backend: CryptoBackend;
  readonly #pins: PinStore;
  readonly #cache: ChainCache;
  readonly #log: LogClient;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** One load per user at a time, so two concurrent loads cannot race on the pin. */
  readonly #inflight = new Map<string, Promise<VerifiedUser>>();

  constructor(options: UserLoaderOptions) {
    this.#api = options.api;
    this.#backend = options.backend;
    this.#pins = options.pins;
    this.#cache = options.cache;
    this.#log = options.log ?? new LogClient({ api: options.api, backend: options.backend });
    this.#ttlMs = options.ttlMs ?? DEFAULT_CHAIN_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The signed log every load is checked against (team loaders built on this one share it). */
  get log(): LogClient {
    return this.#log;
  }

  /**
   * Returns the user's verified keys: from the cache while it is fresh, else by fetching the
   * whole chain and verifying what is new.
   *
   * @param options - `refresh: true` refetches even when the cache is fresh.
   * @throws ClientError `CLIENT_INVALID_ARGUMENT` (not a valid username),
   *   `CLIENT_USER_NOT_FOUND`, `CLIENT_WRONG_USER` (the answer is for another UID or name),
   *   `CLIENT_CHAIN_INVALID` (verification failed; `details.identityCode`),
   *   `CLIENT_CHAIN_ROLLBACK`, `CLIENT_CHAIN_FORK`, `CLIENT_ELDEST_CHANGED`, `CLIENT_STORE`,
   *   `CLIENT_LOG_TAIL_MISMATCH` (the served chain is not the user's leaf in the signed log: a
   *   hidden revocation, a stale or unlogged tail), the codes of `LogClient.latest` /
   *   `LogClient.tailAt`, and the transport codes of {@link ApiClient}.
   */
  async load(username: string, options: { refresh?: boolean } = {}): Promise<VerifiedUser> {
    if (!isValidUsername(username))
      throw new ClientError('CLIENT_INVALID_ARGUMENT', 'not a valid username', { username });
    const name = normalizeUsername(username);
    const running = this.#inflight.get(name);
    if (running) return running;
    const p = this.#load(name, options.refresh === true).finally(() => {
      this.#inflight.delete(name);
    });
    this.#inflight.set(name, p);
    return p;
  }

  async #load(username: string, refresh: boolean, attempt = 1): Promise<VerifiedUser> {
    const uid = uidFromUsername(this.#backend, username);
    const pin = await this.#pins.get(username);
    let cached = await this.#cache.get(uid);
    // A cache entry that does not extend the pin is stale or foreign: drop it, keep the pin.
    if (cached && pin && !this.#cacheMatchesPin(cached, pin)) cached = undefined;
    const now = this.#now();
    if (
      cached &&
      pin &&
      !refresh &&
      now - cached.verifiedAt < this.#ttlMs &&
      (await this.#stillLogged(uid, cached))
    )
      return project(
        uid,
        username,
        cached.state,
        cached.verifiedAt,
        await this.#pgpKeys(username, cached.state, cached.pgpBundles ?? []),
      );

    // A root from before the fetch: the log holds at most the tail served after it. Its proof
    // is asked for while the chain downloads (loads started together share one request).
    const before = await this.#rootBefore();
    if (before !== undefined) this.#log.tailAt(uid, before.seqno).catch(() => undefined);
    const res = await this.#api.fetchChain(username);
    if (res.uid !== uid || res.username !== username)
      throw new ClientError(
        'CLIENT_WRONG_USER',
        `the server answered for another user than ${username}`,
        {
          username,
          answeredUsername: res.username,
        },
      );
    let imported: ImportedLink[];
    try {
      imported = await importUserLinks(this.#backend, res.links);
    } catch (e) {
      chainInvalid(e, username);
    }
    const ids = imported.map((l) => l.id);
    // The eldest check comes first: a replaced chain also fails the prefix check, but a new
    // eldest key deserves its own code (it is what an account takeover looks like).
    const last = [...imported].reverse().find((l) => !l.stubbed);
    if (pin && last?.eldestKid !== undefined && last.eldestKid !== pin.eldestKid)
      throw new ClientError('CLIENT_ELDEST_CHANGED', `the eldest key of ${username} changed`, {
        username,
        pinned: pin.eldestKid,
        served: last.eldestKid,
      });

    // The hash chain (each link names its prev) makes the whole-prefix comparison redundant
    // once the chain verifies, but comparing every ID first gives a fork its own error code
    // instead of whatever verification failure the forked links happen to cause.
    this.#checkPrefix(username, ids, cached?.linkIds, pin);
    let result: UserChainResult | undefined;
    let state: UserChainState;
    const bundles = res.pgpBundles ?? [];
    try {
      if (ids.length === cached?.linkIds.length) {
        state = cached.state;
      } else if (cached) {
        const fresh = res.links.slice(cached.linkIds.length);
        const family = await buildKeyFamily(this.#backend, [
          ...[...cached.state.keys.keys()].filter((k) => !isPgpKid(k)),
          ...linkNaclKids(imported.slice(cached.linkIds.length)),
          ...bundles,
        ]);
        result = await extendUserChain(this.#backend, cached.state, fresh, family);
        state = result.state;
      } else {
        const family = await buildKeyFamily(this.#backend, [...linkNaclKids(imported), ...bundles]);
        result = await verifyUserChain(this.#backend, {
          uid,
          username,
          links: res.links,
          keyFamily: family,
          ...(pin ? { eldestKid: pin.eldestKid } : {}),
        });
        state = result.state;
      }
    } catch (e) {
      chainInvalid(e, username);
    }
    const t = state.tail;
    if (ids.length === 0 || t === null || t.linkId !== ids[ids.length - 1])
      throw new ClientError('CLIENT_CHAIN_INVALID', `the chain of ${username} is empty or cut`, {
        username,
      });
    // An appended `eldest` link (a reset) starts a new subchain with another key.
    if (pin && state.eldestKid !== pin.eldestKid)
      throw new ClientError('CLIENT_ELDEST_CHANGED', `the eldest key of ${username} changed`, {
        username,
        pinned: pin.eldestKid,
        served: state.eldestKid,
      });
    const tail = { seqno: t.seqno, linkId: t.linkId };
    // The served tail must be the user's leaf in the signed log: a chain served without its
    // newest links (a hidden revocation) or with links the log never held is refused; one
    // that grew since the fetch is fetched again.
    const logged = await this.#log.proveTail(
      uid,
      `user ${username}`,
      { ...tail, eldestKid: state.eldestKid },
      (seqno) => ids[seqno - 1],
      before ?? (await this.#log.latest({ fresh: true })),
    );
    if (logged === 'moved') {
      if (attempt < 3) return this.#load(username, true, attempt + 1);
      throw new ClientError(
        'CLIENT_LOG_TAIL_MISMATCH',
        `the chain of user ${username} keeps differing from the signed log`,
        { chain: `user ${username}`, servedSeqno: tail.seqno, loggedSeqno: 0 },
      );
    }
    const pgpKeys = await this.#pgpKeys(username, state, bundles);
    const entry: CachedChain = {
      uid,
      username,
      linkIds: ids,
      state,
      verifiedAt: now,
      // Only the versions the verified state makes active: what the next load projects from.
      ...(pgpKeys.length > 0 ? { pgpBundles: pgpKeys.map((k) => k.armoredPublicKey) } : {}),
    };
    await this.#cache.set(entry);
    await this.#pins.set({
      username,
      uid,
      eldestKid: pin?.eldestKid ?? state.eldestKid,
      tail,
      pinnedAt: pin?.pinnedAt ?? now,
    });
    return project(uid, username, state, now, pgpKeys);
  }

  /**
   * The latest root before a fetch; undefined while the server's log is empty and this client
   * verified none (a user not found there is then reported as such; a served chain still has
   * to be in the log).
   */
  async #rootBefore(): Promise<VerifiedLogRoot | undefined> {
    try {
      return await this.#log.latest();
    } catch (e) {
      if (isClientError(e, 'CLIENT_HTTP') && e.details.serverCode === 'LOG_ROOT_NOT_FOUND')
        return undefined;
      throw e;
    }
  }

  /**
   * Whether the cached chain is still the user's leaf at the log's latest root (a request at
   * most once per `freshMs` and root change, shared by the loads asking together). True also
   * when the server cannot be reached: the TTL is the offline fallback.
   */
  async #stillLogged(uid: string, cached: CachedChain): Promise<boolean> {
    let logged;
    try {
      logged = await this.#log.currentTail(uid);
    } catch (e) {
      if (isLogUnreachable(e)) return true;
      throw e;
    }
    const t = cached.state.tail;
    return (
      logged !== null &&
      t !== null &&
      logged.seqno === t.seqno &&
      logged.linkId === t.linkId &&
      logged.eldestKid === cached.state.eldestKid
    );
  }

  async #pgpKeys(
    username: string,
    state: UserChainState,
    bundles: readonly string[],
  ): Promise<VerifiedPgpKey[]> {
    try {
      return await verifiedPgpKeys(this.#backend, state, bundles);
    } catch (e) {
      chainInvalid(e, username);
    }
  }

  #cacheMatchesPin(cached: CachedChain, pin: Pin): boolean {
    return (
      cached.state.eldestKid === pin.eldestKid &&
      cached.linkIds.length >= pin.tail.seqno &&
      cached.linkIds[pin.tail.seqno - 1] === pin.tail.linkId
    );
  }

  #checkPrefix(
    username: string,
    ids: string[],
    known: string[] | undefined,
    pin: Pin | undefined,
  ): void {
    const knownLen = Math.max(known?.length ?? 0, pin?.tail.seqno ?? 0);
    if (ids.length < knownLen)
      throw new ClientError(
        'CLIENT_CHAIN_ROLLBACK',
        `the server rolled back the chain of ${username}`,
        {
          username,
          verifiedSeqno: knownLen,
          servedSeqno: ids.length,
        },
      );
    const fork = (seqno: number) =>
      new ClientError('CLIENT_CHAIN_FORK', `the server forked the chain of ${username}`, {
        username,
        seqno,
      });
    if (known)
      known.forEach((id, i) => {
        if (ids[i] !== id) throw fork(i + 1);
      });
    if (pin && ids[pin.tail.seqno - 1] !== pin.tail.linkId) throw fork(pin.tail.seqno);
  }

  /**
   * Looks users up in the directory and returns, for each name, the keys of its VERIFIED chain
   * (`null` when the server knows no such user). The lookup answer itself is only compared: if
   * it names another UID, eldest key, tail, key set or PUK generations than the verified chain,
   * the call fails — a directory that disagrees with the chain is lying.
   *
   * @throws ClientError `CLIENT_LOOKUP_MISMATCH`, every code of {@link UserLoader.load}, and the
   *   transport codes of {@link ApiClient}.
   */
  async lookup(usernames: readonly string[]): Promise<(VerifiedUser | null)[]> {
    for (const u of usernames)
      if (!isValidUsername(u))
        throw new ClientError('CLIENT_INVALID_ARGUMENT', 'not a valid username', { username: u });
    const names = usernames.map(normalizeUsername);
    const answer = await this.#api.lookupUsers(names);
    return Promise.all(
      names.map(async (name, i) => {
        const summary = answer.users[i] ?? null;
        if (summary === null) return null;
        let user = await this.load(name);
        // A fresh cache may simply be behind a legitimate append: refetch once before calling
        // the lookup a lie.
        if (summary.tail.seqno !== user.tail.seqno) user = await this.load(name, { refresh: true });
        const why = mismatch(summary, user);
        if (why !== null)
          throw new ClientError(
            'CLIENT_LOOKUP_MISMATCH',
            `the lookup of ${name} disagrees with the verified chain`,
            {
              username: name,
              field: why,
            },
          );
        return user;
      }),
    );
  }
}

/** The first field where a lookup summary and a verified user differ, or null. */
function mismatch(s: LookupUserSummary, u: VerifiedUser): string | null {
  if (s.uid !== u.uid) return 'uid';
  if (s.username !== u.username) return 'username';
  if (s.eldestKid !== u.eldestKid) return 'eldestKid';
  if (s.tail.seqno !== u.tail.seqno || s.tail.linkId !== u.tail.linkId) return 'tail';
  const key = (k: { kid: string; role: string; status: string; deviceId: string | null }) =>
    `${k.kid}/${k.role}/${k.status}/${k.deviceId ?? ''}`;
  if (!sameSet(s.keys.map(key), u.keys.map(key))) return 'keys';
  const puk = (p: {
    generation: number;
    seqno: number;
    signingKid: string;
    encryptionKid: string;
  }) => `${p.generation}/${p.seqno}/${p.signingKid}/${p.encryptionKid}`;
  if (!sameSet(s.perUserKeys.map(puk), u.perUserKeys.map(puk))) return 'perUserKeys';
  const dev = (d: { id: string; status: string }) => `${d.id}/${d.status}`;
  if (!sameSet(s.devices.map(dev), u.devices.map(dev))) return 'devices';
  return null;
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}
