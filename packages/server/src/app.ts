/**
 * The HTTP application: routes, the one error handler, body limits, authentication, rate limits,
 * metrics and request logs, as a fetch handler (`app.fetch`) that runs under Node
 * (`startServer`) or in tests (`app.request()`).
 *
 * @packageDocumentation
 */
import { Hono } from 'hono';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { z } from 'zod';
import type { CryptoBackend } from '@saltbox/saltpack';
import { buildLookupResponse, buildLookupUser, isUid, isValidUsername } from '@saltbox/identity';
import type { LookupUserInput } from '@saltbox/identity';
import {
  ApiError,
  appendLinksRequestSchema,
  chainQuerySchema,
  DEFAULT_CLOCK_SKEW_MS,
  kidSchema,
  MAX_LOOKUP_USERNAMES,
  pukBoxesQuerySchema,
  putPukBoxesRequestSchema,
  requestTarget,
  ROUTES,
  signupRequestSchema,
  usersLookupQuerySchema,
} from '@saltbox/protocol';
import type {
  ChainResponse,
  KeyOwnerResponse,
  LookupUserSummary,
  PukBoxesResponse,
  UsersLookupResponse,
  WhoamiResponse,
} from '@saltbox/protocol';
import { authenticateRequest } from './auth.js';
import type { AuthContext } from './auth.js';
import { ChainService, isPgpKid, mayDelegatePgp } from './chain.js';
import { fail, ServerError } from './errors.js';
import { StorageError } from './storage/errors.js';
import { storageErrorToServerError } from './storage-errors-map.js';
import { DEFAULT_KV_MAX_VALUE_BYTES, registerKvRoutes } from './kv-routes.js';
import { jsonLogger } from './log.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { ProjectionCache } from './projection-cache.js';
import { RateLimiter } from './rate-limit.js';
import { checkSignup, DEFAULT_SIGNUP_POLICY } from './signup-policy.js';
import type { SignupPolicy } from './signup-policy.js';
import { staticSiteResponse } from './static-site.js';
import type { StaticSite } from './static-site.js';
import type { RateLimit } from './rate-limit.js';
import type { PgpBundleRecord, Storage, UserProjection, UserRecord } from './storage/types.js';
import { registerTeamRoutes } from './teams-routes.js';
import { registerLogRoutes } from './log-routes.js';
import { TeamService } from './teams.js';

/** Server limits. */
export interface Limits {
  /** Largest request body accepted, in bytes (default 256 KiB); larger is `PAYLOAD_TOO_LARGE`. */
  maxBodyBytes: number;
  /** Allowed distance of a request timestamp from the server clock (default ±5 min). */
  clockSkewMs: number;
  /**
   * Per-device (and, on public routes, per-address) token bucket (default 1,000 burst,
   * 500/s). Generous on purpose: one bot device doing KV work or loading a team (which fetches
   * every signer's chain) legitimately sends hundreds of requests a second; the limit is there
   * to stop a runaway or abusive client, not to pace normal use.
   */
  rateLimit: RateLimit;
  /** Largest KV value in plaintext bytes (default 1 MiB); larger puts are `PAYLOAD_TOO_LARGE`. */
  kvMaxValueBytes: number;
  /**
   * Sign-ups per client address (default 5 at once, refilled at 5 an hour): an account costs
   * a person one sign-up, a script that fills the directory many (issue #12.15).
   */
  signupRate: RateLimit;
}

/** Default limits. */
export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 256 * 1024,
  clockSkewMs: DEFAULT_CLOCK_SKEW_MS,
  rateLimit: { burst: 1_000, perSecond: 500 },
  kvMaxValueBytes: DEFAULT_KV_MAX_VALUE_BYTES,
  signupRate: { burst: 5, perSecond: 5 / 3600 },
};

/** A clock (Unix milliseconds); injectable so tests can move time. */
export interface Clock {
  now(): number;
}

/** Options of {@link createApp}. */
export interface AppOptions {
  storage: Storage;
  /** Crypto for signature checks and the chain verifier. */
  backend: CryptoBackend;
  clock?: Clock;
  limits?: Partial<Limits>;
  logger?: Logger;
  /** The browser app's files, served at `/` after the API routes; none when absent. */
  web?: StaticSite;
  /** Who may sign up (default: open, with {@link RESERVED_USERNAMES} reserved). */
  signup?: SignupPolicy;
}

/** What {@link createApp} returns. */
export interface App {
  /** The fetch handler. */
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>;
  /** Hono's test helper: `app.request('/healthz')`. */
  request: Hono<AppEnv>['request'];
  /** The process's metrics (also served at `/metrics`). */
  metrics: Metrics;
  /** Answers open long polls (KV change notifications) now; call before closing the server. */
  stop: () => void;
}

/** The app's Hono environment (bindings and per-request variables). */
export interface AppEnv {
  Bindings: { incoming?: { socket?: { remoteAddress?: string } } };
  Variables: { body: Uint8Array; auth: AuthContext | undefined };
}

/** Seconds a client is asked to wait while the storage is full. */
const STORAGE_FULL_RETRY_AFTER_S = 60;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function errorResponse(e: ApiError, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(e.toJSON()), {
    status: e.status,
    headers: { ...JSON_HEADERS, ...extra },
  });
}

const EMPTY_BODY = new Uint8Array(0);

/** Joins chunks into one array. */
function concatChunks(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** A Node request stream, as the Node adapter passes it in the bindings. */
interface IncomingStream extends AsyncIterable<Uint8Array> {
  readonly readableEnded?: boolean;
}

function isIncomingStream(x: unknown): x is IncomingStream {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}

/**
 * Reads the body with a hard cap, whether or not `Content-Length` is sent or honest.
 *
 * GET and HEAD carry no body here (as for the fetch `Request` they would become), and under
 * Node the bytes are read straight from the socket's request stream: materialising a fetch
 * `Request` and its web stream for every request was a visible cost in profiles.
 */
async function readBody(req: Request, incoming: unknown, max: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > max)
    throw fail('PAYLOAD_TOO_LARGE', `request body is larger than ${max} bytes`);
  if (req.method === 'GET' || req.method === 'HEAD' || declared === '0') return EMPTY_BODY;
  const parts: Uint8Array[] = [];
  let total = 0;
  if (isIncomingStream(incoming)) {
    for await (const value of incoming) {
      total += value.byteLength;
      if (total > max) throw fail('PAYLOAD_TOO_LARGE', `request body is larger than ${max} bytes`);
      parts.push(value);
    }
    return concatChunks(parts, total);
  }
  if (req.body === null) return EMPTY_BODY;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw fail('PAYLOAD_TOO_LARGE', `request body is larger than ${max} bytes`);
    }
    parts.push(value);
  }
  return concatChunks(parts, total);
}

/** Parses a JSON body against a schema; issues name paths and rules, never values. */
function parseBody<S extends z.ZodType>(body: Uint8Array, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw fail('MALFORMED_REQUEST', 'request body is not utf-8 json');
  }
  return validate(json, schema);
}

function validate<S extends z.ZodType>(value: unknown, schema: S): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue && issue.path.length > 0 ? issue.path.join('.') : 'request';
    throw fail('VALIDATION_FAILED', `${path}: ${issue?.message ?? 'invalid'}`.toLowerCase());
  }
  return r.data;
}

/**
 * True when every percent-encoded part of the URL's path and query decodes as UTF-8. Hono keeps
 * a part that does not (`%ED%A0%80`, a surrogate's bytes; `%FF`) as it was, so the route would
 * see a literal `%ED%A0%80` name: another name than the client meant (issue #12.5).
 */
function urlDecodesAsUtf8(url: string): boolean {
  const { pathname, search } = new URL(url);
  const parts = [...pathname.split('/'), ...search.slice(1).split(/[&=]/)];
  try {
    for (const p of parts) decodeURIComponent(p.replace(/\+/g, ' '));
    return true;
  } catch {
    return false;
  }
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

/** A driver's error code (`SQLITE_BUSY`, `ECONNREFUSED`, a PostgreSQL SQLSTATE), if any. */
function errorCodeOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

/** Requests answered outside any route pattern, by name (the web app's files: `static`). */
const namedRoutes = new WeakMap<object, string>();

/**
 * The route of a finished request, for logs and metrics: `static` for the web app's files,
 * else the matched route pattern (never a concrete path), else `unmatched`.
 */
function routeOf(c: object): string {
  const named = namedRoutes.get(c);
  if (named !== undefined) return named;
  // matchedRoutes is typed for the default environment; the routes are the same objects.
  const routes = matchedRoutes(c as Context).filter((r) => r.method !== 'ALL');
  return routes[routes.length - 1]?.path ?? 'unmatched';
}

/**
 * Builds the application.
 *
 * Routes (all JSON; errors are `{"error":{"code","message"}}` with the status of the code):
 * `GET /healthz`, `GET /metrics`, `POST /api/v1/users` (sign-up, signed by the new eldest key),
 * `GET /api/v1/users/lookup?usernames=`, `GET|POST /api/v1/users/:username/chain`,
 * `PUT /api/v1/users/:username/puk-boxes`, `GET /api/v1/me`, `GET /api/v1/me/puk-boxes`, the
 * team routes (`teams-routes.ts`), the public Keybase-shaped `GET /_/api/1.0/user/lookup.json`,
 * and, when `options.web` is given, the browser app's static files (`static-site.ts`).
 */
export function createApp(options: AppOptions): App {
  const { storage, backend } = options;
  const now = options.clock ? () => options.clock!.now() : Date.now;
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.logger ?? jsonLogger;
  const metrics = new Metrics(now);
  const limiter = new RateLimiter(limits.rateLimit, now);
  const signupLimiter = new RateLimiter(limits.signupRate, now);
  const signupPolicy = options.signup ?? DEFAULT_SIGNUP_POLICY;
  const chains = new ChainService(backend, storage, now);
  const projectionCache = new ProjectionCache(storage);
  const authDeps = { backend, storage, limiter, now, clockSkewMs: limits.clockSkewMs };
  let lastPrune = now();

  const app = new Hono<AppEnv>();

  // Outermost: time, count and log every request, whatever the outcome.
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeOf(c);
    metrics.observe(c.req.method, route, c.res.status, seconds);
    const key = c.get('auth')?.key;
    log({
      level: c.res.status >= 500 ? 'error' : 'info',
      msg: 'request',
      method: c.req.method,
      route,
      status: c.res.status,
      ms: Math.round(seconds * 10000) / 10,
      // A short prefix identifies the device in logs without publishing its full ID or key.
      device: key?.deviceId?.slice(0, 8) ?? null,
    });
  });

  // Names arrive percent-encoded: refuse a URL that does not decode, on every route alike.
  app.use('*', async (c, next) => {
    if (!urlDecodesAsUtf8(c.req.url))
      throw fail('MALFORMED_REQUEST', 'the request url is not percent-encoded utf-8');
    await next();
  });

  app.onError((thrown, c) => {
    const err =
      thrown instanceof StorageError ? (storageErrorToServerError(thrown) ?? thrown) : thrown;
    if (err instanceof ServerError) return errorResponse(err, { ...err.headers });
    if (err instanceof ApiError) return errorResponse(err as ApiError);
    if (err instanceof StorageError && err.code === 'STORAGE_FULL') {
      // Every signed request writes its nonce, so a full disk fails reads too: a condition of
      // the server to wait out, not a bug (issue #12.11).
      log({
        level: 'error',
        msg: 'storage full',
        route: routeOf(c),
        code: errorCodeOf(err.cause),
      });
      return errorResponse(
        new ApiError('UNAVAILABLE', 'the server cannot write: its storage is full'),
        { 'Retry-After': String(STORAGE_FULL_RETRY_AFTER_S) },
      );
    }
    // Never the message: it may quote SQL or input. The class name is enough to start from.
    log({
      level: 'error',
      msg: 'internal error',
      route: routeOf(c),
      error: err.name,
      code: errorCodeOf(err),
    });
    return errorResponse(new ApiError('INTERNAL', 'internal server error'));
  });
  const { web } = options;
  app.notFound((c) => {
    // The web app's files come after every API route, and only when none matched.
    const file = web === undefined ? undefined : staticSiteResponse(c, web);
    if (file === undefined) return errorResponse(new ApiError('NOT_FOUND', 'no such route'));
    namedRoutes.set(c, 'static');
    return file;
  });

  const bodyUpTo =
    (maxBytes: number): MiddlewareHandler<AppEnv> =>
    async (c, next) => {
      const env = c.env as AppEnv['Bindings'] | undefined;
      c.set('body', await readBody(c.req.raw, env?.incoming, maxBytes));
      await next();
    };
  const body = bodyUpTo(limits.maxBodyBytes);

  const authenticated =
    (allowUnregistered = false): MiddlewareHandler<AppEnv> =>
    async (c, next) => {
      const auth = await authenticateRequest(
        authDeps,
        {
          method: c.req.method,
          target: requestTarget(new URL(c.req.url)),
          body: c.get('body'),
          authorization: c.req.header('authorization'),
        },
        allowUnregistered,
      );
      c.set('auth', auth);
      if (now() - lastPrune > 60_000) {
        lastPrune = now();
        // Pruning is housekeeping: a failure is logged and retried a minute later.
        storage.nonces.pruneNonces(now()).catch((e: unknown) => {
          log({
            level: 'warn',
            msg: 'nonce prune failed',
            error: e instanceof Error ? e.name : 'unknown',
          });
        });
      }
      await next();
    };

  /** The client's address; under app.request() (tests, no bindings) every caller is `local`. */
  const clientAddress = (c: Context<AppEnv>): string => {
    const env = c.env as AppEnv['Bindings'] | undefined;
    return env?.incoming?.socket?.remoteAddress ?? 'local';
  };

  const publicLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
    const wait = limiter.take(`addr:${clientAddress(c)}`);
    if (wait > 0)
      throw fail('RATE_LIMITED', 'too many requests from this address', {
        headers: { 'Retry-After': String(wait) },
      });
    await next();
  };

  /** The authenticated caller's key, which must belong to `user`. */
  const ownKey = (c: Context<AppEnv>, user: UserRecord) => {
    const key = c.get('auth')?.key;
    if (key?.uid !== user.uid) throw fail('FORBIDDEN', 'a device may only change its own user');
    return key;
  };

  const userByParam = async (c: Context<AppEnv>): Promise<UserRecord> => {
    const name = (c.req.param('username') ?? '').toLowerCase();
    if (!isValidUsername(name)) throw fail('INVALID_USERNAME', 'username is malformed');
    const user = await storage.users.getUser(name);
    if (user === null) throw fail('USER_NOT_FOUND', 'no such user');
    return user;
  };

  app.get(ROUTES.health, async (c) => {
    await storage.ping();
    return c.json({ status: 'ok' as const });
  });

  app.get(ROUTES.metrics, (c) =>
    c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );

  app.post(ROUTES.signup, publicLimit, body, authenticated(true), async (c) => {
    const req = parseBody(c.get('body'), signupRequestSchema);
    // Every authenticated attempt counts, refused or not: the rate also bounds invite guessing.
    const wait = signupLimiter.take(clientAddress(c));
    if (wait > 0)
      throw fail('RATE_LIMITED', 'too many sign-ups from this address', {
        headers: { 'Retry-After': String(wait) },
      });
    const inviteHash = checkSignup(signupPolicy, req);
    const tail = await chains.signup(
      { ...req, ...(inviteHash === undefined ? {} : { inviteHash }) },
      c.get('auth')!.kid,
    );
    return c.json(tail, 201);
  });

  app.get(ROUTES.usersLookup, body, authenticated(), async (c) => {
    const q = validate(c.req.query(), usersLookupQuerySchema);
    const names = parseUsernameList(q.usernames);
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

  app.get(ROUTES.chain, body, authenticated(), async (c) => {
    const user = await userByParam(c);
    const q = validate(c.req.query(), chainQuerySchema);
    const links = await storage.users.getLinks(user.uid, q.since);
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

  app.post(ROUTES.chain, body, authenticated(), async (c) => {
    const user = await userByParam(c);
    ownKey(c, user);
    const req = parseBody(c.get('body'), appendLinksRequestSchema);
    return c.json(await chains.append(user, req));
  });

  app.put(ROUTES.pukBoxes, body, authenticated(), async (c) => {
    const user = await userByParam(c);
    ownKey(c, user);
    const req = parseBody(c.get('body'), putPukBoxesRequestSchema);
    await chains.putPukBoxes(user, req.boxes);
    return c.body(null, 204);
  });

  app.get(ROUTES.keyOwner, body, authenticated(), async (c) => {
    // Names who a Saltpack sender or signer key belongs to (#12.9). Revoked keys too: an old
    // message stays attributable. Clients check the answer against the user's verified chain.
    const kid = validate(c.req.param('kid').toLowerCase(), kidSchema);
    const key = await storage.users.getKey(kid);
    const user = key === null ? null : await storage.users.getUserByUid(key.uid);
    if (user === null) throw fail('KEY_NOT_FOUND', 'no user has this key');
    const res: KeyOwnerResponse = { kid, uid: user.uid, username: user.username };
    return c.json(res);
  });

  app.get(ROUTES.me, body, authenticated(), async (c) => {
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

  app.get(ROUTES.myPukBoxes, body, authenticated(), async (c) => {
    const key = c.get('auth')!.key!;
    const q = validate(c.req.query(), pukBoxesQuerySchema);
    const projection = (await storage.users.getProjections([key.uid])).get(key.uid)!;
    // A device reads the boxes addressed to its own live encryption keys, nothing else.
    const mine = projection.keys
      .filter((k) => k.deviceId !== null && k.deviceId === key.deviceId)
      .filter((k) => k.role === 'subkey' && k.status === 'live')
      .map((k) => k.kid);
    const boxes = await storage.keyBoxes.getPukBoxes(key.uid, mine, q.generation);
    const res: PukBoxesResponse = { boxes };
    return c.json(res);
  });

  registerTeamRoutes(app, {
    teams: new TeamService(backend, storage, chains, now),
    body,
    authenticated: authenticated(),
    parseBody,
    validate,
  });

  /** A user's stored PGP key versions; no query for users without a PGP key. */
  const pgpOf = async (u: UserRecord, p: UserProjection): Promise<PgpBundleRecord[]> =>
    p.keys.some((k) => isPgpKid(k.kid)) ? chains.pgpBundles(u) : [];

  app.get(ROUTES.keybaseLookup, publicLimit, async (c) => {
    // Keybase's directory is public and CORS-enabled; so is this read-only mirror of it.
    c.header('access-control-allow-origin', '*');
    const usernames = c.req.query('usernames') ?? c.req.query('username');
    const uid = c.req.query('uid');
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

  registerLogRoutes(app, { storage, publicLimit, validate });

  const kv = registerKvRoutes(app, {
    storage,
    maxValueBytes: limits.kvMaxValueBytes,
    body: bodyUpTo,
    authenticated: authenticated(),
    parseBody,
    validate,
  });

  return {
    fetch: (request, env) => app.fetch(request, env as AppEnv['Bindings']),
    request: app.request.bind(app),
    metrics,
    stop: kv.stop,
  };
}
