/**
 * The saltbox server: directory, sigchains and key boxes over an authenticated HTTP JSON API,
 * on SQLite (default) or PostgreSQL.
 *
 * ```ts
 * import { startServer } from '@saltbox/server';
 * const server = await startServer({ listen: '127.0.0.1:8080', dataDir: '/var/lib/saltbox' });
 * ```
 *
 * @packageDocumentation
 */
export { createApp, DEFAULT_LIMITS } from './http/app.js';
export { DEFAULT_KV_MAX_VALUE_BYTES } from './http/env.js';
export type { App, AppOptions, Clock, Limits } from './http/app.js';
export { startServer, parseListen, DEFAULT_LISTEN } from './node.js';
export type { RunningServer, ServerOptions } from './node.js';
export { ServerError, fail } from './errors.js';
export {
  staticSiteResponse,
  STATIC_CONTENT_TYPES,
  WEB_CONTENT_SECURITY_POLICY,
} from './http/static-site.js';
export type { StaticFile, StaticSite } from './http/static-site.js';
export { defaultWebRoot, loadStaticSite } from './static-files.js';
export { ChainService, projectState } from './services/chain.js';
export { Metrics, LATENCY_BUCKETS } from './metrics.js';
export { RateLimiter } from './rate-limit.js';
export {
  checkSignup,
  createInvite,
  DEFAULT_SIGNUP_POLICY,
  inviteHash,
  RESERVED_USERNAMES,
  SIGNUP_MODES,
} from './services/signup-policy.js';
export type { SignupMode, SignupPolicy } from './services/signup-policy.js';
export { StorageError } from './storage/errors.js';
export type { StorageErrorCode } from './storage/errors.js';
export type { RateLimit } from './rate-limit.js';
export { createJsonLogger, jsonLogger, silentLogger } from './log.js';
export type { LogEntry, LogSink, Logger } from './log.js';
// The storage layer's own index is its named public list (issue #16.3 reshapes it).
export * from './storage/index.js';
export { LOG_KEY_FILE, loadOrCreateLogSeed } from './log-key.js';
