/**
 * The HTTP application: the endpoints of `@saltbox/protocol`'s `CONTRACT` behind the one error
 * handler, body limits, authentication, rate limits, metrics and request logs, as a fetch
 * handler (`app.fetch`) that runs under Node (`startServer`) or in tests (`app.request()`).
 *
 * Layout: `env.ts` (options, limits, the Hono environment), `middleware.ts`, `route.ts`
 * (registration from the contract, with validation), one module per route group (`users.ts`,
 * `teams.ts`, `kv.ts`, `signed-log.ts`, `static-site.ts`); the logic that is not HTTP is in
 * `../services/`, persistence in `../storage/`.
 *
 * @packageDocumentation
 */
import { Hono } from 'hono';
import type { HttpMethod } from '@saltbox/protocol';
import { jsonLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { RateLimiter } from '../rate-limit.js';
import { ChainService } from '../services/chain.js';
import { ProjectionCache } from '../services/projection-cache.js';
import { DEFAULT_SIGNUP_POLICY } from '../services/signup-policy.js';
import { TeamService } from '../services/teams.js';
import { DEFAULT_LIMITS } from './env.js';
import type { App, AppEnv, AppOptions, Limits } from './env.js';
import { registerKvRoutes } from './kv.js';
import {
  addressLimit,
  authentication,
  errorHandler,
  notFound,
  requestLog,
  utf8Url,
} from './middleware.js';
import { createRouter } from './route.js';
import type { Router } from './route.js';
import { registerLogRoutes } from './signed-log.js';
import { registerTeamRoutes } from './teams.js';
import { registerUserRoutes } from './users.js';

export { DEFAULT_KV_MAX_VALUE_BYTES, DEFAULT_LIMITS } from './env.js';
export type { App, AppEnv, AppOptions, Clock, Limits } from './env.js';

/** `GET /healthz` (the storage answers) and `GET /metrics` (Prometheus text), never limited. */
function registerProbeRoutes(r: Router, storage: AppOptions['storage'], metrics: Metrics): void {
  r.route('health', { unlimited: true }, async (c) => {
    await storage.ping();
    return c.json({ status: 'ok' as const });
  });
  r.route('metrics', { unlimited: true }, (c) =>
    c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );
}

/**
 * Builds the application. Every endpoint is a `CONTRACT` entry (all JSON; errors are
 * `{"error":{"code","message"}}` with the status of the code); when `options.web` is given, the
 * browser app's static files are served where no endpoint matched.
 */
export function createApp(options: AppOptions): App {
  const { storage, backend } = options;
  const now = options.clock ? () => options.clock!.now() : Date.now;
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.logger ?? jsonLogger;
  const metrics = new Metrics(now);
  const limiter = new RateLimiter(limits.rateLimit, now);
  const chains = new ChainService(backend, storage, now);
  const projectionCache = new ProjectionCache(storage);

  const app = new Hono<AppEnv>();
  app.use('*', requestLog(metrics, log));
  app.use('*', utf8Url);
  app.onError(errorHandler(log));
  app.notFound(notFound(options.web));

  const r = createRouter({
    app,
    maxBodyBytes: limits.maxBodyBytes,
    addressLimit: addressLimit(limiter),
    authenticated: authentication({
      backend,
      storage,
      limiter,
      now,
      log,
      clockSkewMs: limits.clockSkewMs,
    }),
  });
  registerProbeRoutes(r, storage, metrics);
  registerUserRoutes(r, {
    storage,
    chains,
    projectionCache,
    signupLimiter: new RateLimiter(limits.signupRate, now),
    signupPolicy: options.signup ?? DEFAULT_SIGNUP_POLICY,
  });
  registerTeamRoutes(r, { teams: new TeamService(backend, storage, chains, now) });
  registerLogRoutes(r, { storage });
  const kv = registerKvRoutes(r, { storage, maxValueBytes: limits.kvMaxValueBytes });

  return {
    fetch: (request, env) => app.fetch(request, env as AppEnv['Bindings']),
    request: app.request.bind(app),
    metrics,
    routes: app.routes
      .filter((x) => x.method !== 'ALL')
      .map((x) => ({ method: x.method as HttpMethod, path: x.path }))
      .filter(
        (x, i, all) => all.findIndex((y) => y.method === x.method && y.path === x.path) === i,
      ),
    stop: kv.stop,
  };
}
