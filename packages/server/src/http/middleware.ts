/**
 * The application's middleware: request logs and metrics, the one error handler, the capped
 * body reader, request authentication, the per-address limit of public routes, and the body
 * and query validators the route registration (`route.ts`) applies.
 *
 * @packageDocumentation
 */
import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { z } from 'zod';
import { ApiError, requestTarget } from '@saltbox/protocol';
import { fail, ServerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RateLimiter } from '../rate-limit.js';
import { StorageError } from '../storage/errors.js';
import { storageErrorToServerError } from '../storage-errors-map.js';
import type { Storage } from '../storage/types.js';
import { authenticateRequest } from './auth.js';
import type { AuthDeps } from './auth.js';
import type { AppEnv } from './env.js';
import { staticSiteResponse } from './static-site.js';
import type { StaticSite } from './static-site.js';

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

/**
 * Parses a JSON body against a schema; issues name paths and rules, never values.
 *
 * @throws ServerError `MALFORMED_REQUEST` (not UTF-8 JSON), `VALIDATION_FAILED`.
 */
export function parseBody<S extends z.ZodType>(body: Uint8Array, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw fail('MALFORMED_REQUEST', 'request body is not utf-8 json');
  }
  return validate(json, schema);
}

/**
 * Validates a value against a schema; the message names the path and the rule, never the value.
 *
 * @throws ServerError `VALIDATION_FAILED`.
 */
export function validate<S extends z.ZodType>(value: unknown, schema: S): z.output<S> {
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

/** Outermost: times, counts and logs every request, whatever the outcome. */
export function requestLog(metrics: Metrics, log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
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
  };
}

/** Names arrive percent-encoded: refuses a URL that does not decode, on every route alike. */
export const utf8Url: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!urlDecodesAsUtf8(c.req.url))
    throw fail('MALFORMED_REQUEST', 'the request url is not percent-encoded utf-8');
  await next();
};

/** The one error handler: coded errors as they are, anything else `INTERNAL`, logged by name. */
export function errorHandler(log: Logger): ErrorHandler<AppEnv> {
  return (thrown, c) => {
    // Storage speaks its own errors; the ones an API client can act on map to its codes.
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
  };
}

/** No route matched: the web app's files when there are some, else `NOT_FOUND`. */
export function notFound(web: StaticSite | undefined): NotFoundHandler<AppEnv> {
  return (c) => {
    const file = web === undefined ? undefined : staticSiteResponse(c, web);
    if (file === undefined) return errorResponse(new ApiError('NOT_FOUND', 'no such route'));
    namedRoutes.set(c, 'static');
    return file;
  };
}

/** Reads the body with a cap (`PAYLOAD_TOO_LARGE` above it) into `c.get('body')`. */
export function bodyUpTo(maxBytes: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const env = c.env as AppEnv['Bindings'] | undefined;
    c.set('body', await readBody(c.req.raw, env?.incoming, maxBytes));
    await next();
  };
}

/** The client's address; under app.request() (tests, no bindings) every caller is `local`. */
export function clientAddress(c: Context<AppEnv>): string {
  const env = c.env as AppEnv['Bindings'] | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'local';
}

/** The per-address limit of public routes (`RATE_LIMITED` with `Retry-After`). */
export function addressLimit(limiter: RateLimiter): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const wait = limiter.take(`addr:${clientAddress(c)}`);
    if (wait > 0)
      throw fail('RATE_LIMITED', 'too many requests from this address', {
        headers: { 'Retry-After': String(wait) },
      });
    await next();
  };
}

/**
 * Request authentication into `c.get('auth')` (after the body is read, which it signs), and the
 * storage's nonce pruning once a minute.
 */
export function authentication(
  deps: AuthDeps & { storage: Storage; log: Logger },
): (allowUnregistered: boolean) => MiddlewareHandler<AppEnv> {
  const { storage, now, log } = deps;
  let lastPrune = now();
  return (allowUnregistered) => async (c, next) => {
    const auth = await authenticateRequest(
      deps,
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
}
