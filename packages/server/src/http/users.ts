/**
 * The user routes: sign-up, the saltbox directory lookup, user chains and their appends, PUK
 * boxes, key owners, `me`, and the public Keybase-shaped `user/lookup.json` mirror. Chain rules
 * are {@link ChainService}'s.
 *
 * @packageDocumentation
 */
import type { Context } from 'hono';
import {
  buildLookupResponse,
  buildLookupUser,
  isPgpKid,
  isUid,
  isValidUsername,
} from '@saltbox/identity';
import type { LookupUserInput } from '@saltbox/identity';
import { MAX_LOOKUP_USERNAMES } from '@saltbox/protocol';
import type {
  ChainResponse,
  KeyOwnerResponse,
  LookupUserSummary,
  PukBoxesResponse,
  UsersLookupResponse,
  WhoamiResponse,
} from '@saltbox/protocol';
import { fail } from '../errors.js';
import type { RateLimiter } from '../rate-limit.js';
import { mayDelegatePgp } from '../services/chain.js';
import type { ChainService } from '../services/chain.js';
import type { ProjectionCache } from '../services/projection-cache.js';
import { checkSignup } from '../services/signup-policy.js';
import type { SignupPolicy } from '../services/signup-policy.js';
import type { PgpBundleRecord, Storage, UserProjection, UserRecord } from '../storage/types.js';
import type { AppEnv } from './env.js';
import { clientAddress } from './middleware.js';
import type { Router } from './route.js';

/** What the user routes need from the app. */
export interface UserRouteDeps {
  storage: Storage;
  chains: ChainService;
  projectionCache: ProjectionCache;
  /** Sign-ups per address. */
  signupLimiter: RateLimiter;
  signupPolicy: SignupPolicy;
}

function parseUsernameList(raw: string): string[] {
  const names = raw.split(',').map((n) => n.trim().toLowerCase());
  if (names.length > MAX_LOOKUP_USERNAMES)
    throw fail('VALIDATION_FAILED', `at most ${MAX_LOOKUP_USERNAMES} usernames per lookup`);
  for (const n of names)
    if (!isValidUsername(n)) throw fail('INVALID_USERNAME', 'a requested username is malformed');
  return names;
}

function summary(u: UserRecord, p: UserProjection): LookupUserSummary {
  return {
    uid: u.uid,
    username: u.username,
    eldestKid: u.eldestKid,
    tail: { seqno: u.tailSeqno, linkId: u.tailLinkId },
    keys: p.keys.map((k) => ({ kid: k.kid, role: k.role, status: k.status, deviceId: k.deviceId })),
    devices: p.devices,
    perUserKeys: p.perUserKeys,
  };
}

function keybaseUser(
  u: UserRecord,
  p: UserProjection,
  pgp: readonly PgpBundleRecord[] = [],
): LookupUserInput {
  const live = p.keys.filter((k) => k.status === 'live');
  // The newest stored version of each PGP key is its active one: versions are added only by
  // the links that make them active.
  const latest = new Map<string, string>();
  for (const b of pgp) latest.set(b.kid, b.bundle);
  const livePgp = live.filter((k) => isPgpKid(k.kid)).map((k) => latest.get(k.kid));
  return {
    uid: u.uid,
    username: u.username,
    status: 0,
    // Every key ever delegated, revoked included: NaCl keys as KIDs, PGP keys as every stored
    // armored version (spec keybase-identity §1.3).
    allBundles: p.keys.flatMap((k) =>
      isPgpKid(k.kid) ? pgp.filter((b) => b.kid === k.kid).map((b) => b.bundle) : [k.kid],
    ),
    ...(livePgp.length > 0
      ? { pgpPublicKeys: livePgp.filter((b): b is string => b !== undefined) }
      : {}),
    sibkeys: live.filter((k) => k.role === 'sibkey').map((k) => k.kid),
    subkeys: live.filter((k) => k.role === 'subkey').map((k) => k.kid),
    eldestKid: u.eldestKid,
    ctime: Math.floor(u.ctime / 1000),
    perUserKeys: p.perUserKeys,
  };
}

/**
 * Registers `POST /api/v1/users` (sign-up, signed by the new eldest key),
 * `GET /api/v1/users/lookup?usernames=`, `GET|POST /api/v1/users/:username/chain`,
 * `PUT /api/v1/users/:username/puk-boxes`, `GET /api/v1/keys/:kid`, `GET /api/v1/me`,
 * `GET /api/v1/me/puk-boxes` and the public `GET /_/api/1.0/user/lookup.json`.
 */
export function registerUserRoutes(r: Router, deps: UserRouteDeps): void {
  const { storage, chains, projectionCache, signupLimiter, signupPolicy } = deps;

  /** The authenticated caller's key, which must belong to `user`. */
  const ownKey = (c: Context<AppEnv>, user: UserRecord) => {
    const key = c.get('auth')?.key;
    if (key?.uid !== user.uid) throw fail('FORBIDDEN', 'a device may only change its own user');
    return key;
  };

  const userByName = async (username: string): Promise<UserRecord> => {
    const name = username.toLowerCase();
    if (!isValidUsername(name)) throw fail('INVALID_USERNAME', 'username is malformed');
    const user = await storage.users.getUser(name);
    if (user === null) throw fail('USER_NOT_FOUND', 'no such user');
    return user;
  };

  r.route('signup', async (c, { body }) => {
    // Every authenticated attempt counts, refused or not: the rate also bounds invite guessing.
    const wait = signupLimiter.take(clientAddress(c));
    if (wait > 0)
      throw fail('RATE_LIMITED', 'too many sign-ups from this address', {
        headers: { 'Retry-After': String(wait) },
      });
    const inviteHash = checkSignup(signupPolicy, body);
    const tail = await chains.signup(
      { ...body, ...(inviteHash === undefined ? {} : { inviteHash }) },
      c.get('auth')!.kid,
    );
    return c.json(tail, 201);
  });

  r.route('usersLookup', async (c, { query }) => {
    const names = parseUsernameList(query.usernames);
    const users = await storage.users.getUsers(names);
    const projections = await projectionCache.get(users.values());
    const res: UsersLookupResponse = {
      users: names.map((n) => {
        const u = users.get(n);
        return u ? summary(u, projections.get(u.uid)!) : null;
      }),
    };
    return c.json(res);
  });

  r.route('chain', async (c, { params, query }) => {
    const user = await userByName(params.username);
    const links = await storage.users.getLinks(user.uid, query.since);
    // PGP keys are named by hash only: the verifier needs the armored keys. Asked for only
    // when the served links delegate one, so NaCl-only chains cost no extra query.
    const pgp = mayDelegatePgp(links) ? await chains.pgpBundles(user) : [];
    const res: ChainResponse = {
      uid: user.uid,
      username: user.username,
      links: links.map((l) => l.link),
      ...(pgp.length > 0 ? { pgpBundles: pgp.map((b) => b.bundle) } : {}),
    };
    return c.json(res);
  });

  r.route('appendLinks', async (c, { params, body }) => {
    const user = await userByName(params.username);
    ownKey(c, user);
    return c.json(await chains.append(user, body));
  });

  r.route('putPukBoxes', async (c, { params, body }) => {
    const user = await userByName(params.username);
    ownKey(c, user);
    await chains.putPukBoxes(user, body.boxes);
    return c.body(null, 204);
  });

  r.route('keyOwner', async (c, { params }) => {
    // Names who a Saltpack sender or signer key belongs to (#12.9). Revoked keys too: an old
    // message stays attributable. Clients check the answer against the user's verified chain.
    const { kid } = params;
    const key = await storage.users.getKey(kid);
    const user = key === null ? null : await storage.users.getUserByUid(key.uid);
    if (user === null) throw fail('KEY_NOT_FOUND', 'no user has this key');
    const res: KeyOwnerResponse = { kid, uid: user.uid, username: user.username };
    return c.json(res);
  });

  r.route('whoami', async (c) => {
    const key = c.get('auth')!.key!;
    const user = await storage.users.getUserByUid(key.uid);
    if (user === null) throw fail('UNKNOWN_KEY', 'the signing key is not registered');
    const res: WhoamiResponse = {
      uid: user.uid,
      username: user.username,
      deviceId: key.deviceId,
      kid: key.kid,
    };
    return c.json(res);
  });

  r.route('myPukBoxes', async (c, { query }) => {
    const key = c.get('auth')!.key!;
    const projection = (await storage.users.getProjections([key.uid])).get(key.uid)!;
    // A device reads the boxes addressed to its own live encryption keys, nothing else.
    const mine = projection.keys
      .filter((k) => k.deviceId !== null && k.deviceId === key.deviceId)
      .filter((k) => k.role === 'subkey' && k.status === 'live')
      .map((k) => k.kid);
    const boxes = await storage.keyBoxes.getPukBoxes(key.uid, mine, query.generation);
    const res: PukBoxesResponse = { boxes };
    return c.json(res);
  });

  /** A user's stored PGP key versions; no query for users without a PGP key. */
  const pgpOf = async (u: UserRecord, p: UserProjection): Promise<PgpBundleRecord[]> =>
    p.keys.some((k) => isPgpKid(k.kid)) ? chains.pgpBundles(u) : [];

  r.route('keybaseLookup', async (c, { query }) => {
    // Keybase's directory is public and CORS-enabled; so is this read-only mirror of it.
    c.header('access-control-allow-origin', '*');
    const usernames = query.usernames ?? query.username;
    const { uid } = query;
    const inputError = (desc: string) =>
      c.json({ status: { code: 100, name: 'INPUT_ERROR', desc } });
    if (uid !== undefined) {
      if (!isUid(uid)) return inputError('bad uid');
      const user = await storage.users.getUserByUid(uid);
      if (user === null) return c.json({ status: { code: 205, name: 'NOT_FOUND' } });
      const p = (await projectionCache.get([user])).get(uid)!;
      return c.json({
        status: { code: 0, name: 'OK' },
        them: buildLookupUser(keybaseUser(user, p, await pgpOf(user, p))),
      });
    }
    if (usernames === undefined || usernames === '')
      return inputError('usernames or uid is required');
    const names = usernames.split(',').map((n) => n.trim().toLowerCase());
    if (names.length > MAX_LOOKUP_USERNAMES || !names.every((n) => isValidUsername(n)))
      return inputError('bad list value');
    const users = await storage.users.getUsers(names);
    const projections = await projectionCache.get(users.values());
    const pgp = new Map<string, PgpBundleRecord[]>();
    for (const u of users.values()) pgp.set(u.uid, await pgpOf(u, projections.get(u.uid)!));
    return c.json(
      buildLookupResponse(
        names.map((n) => {
          const u = users.get(n);
          return u ? keybaseUser(u, projections.get(u.uid)!, pgp.get(u.uid)) : null;
        }),
      ),
    );
  });
}
