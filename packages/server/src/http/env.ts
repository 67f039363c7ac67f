/**
 * The application's configuration and its Hono environment: options, limits, the clock, and
 * the per-request variables the middleware fills in.
 *
 * @packageDocumentation
 */
import type { Hono } from 'hono';
import type { CryptoBackend } from '@saltbox/saltpack';
import { DEFAULT_CLOCK_SKEW_MS, KV_DEFAULT_MAX_VALUE_BYTES } from '@saltbox/protocol';
import type { HttpMethod } from '@saltbox/protocol';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RateLimit } from '../rate-limit.js';
import type { SignupPolicy } from '../services/signup-policy.js';
import type { Storage } from '../storage/types.js';
import type { AuthContext } from './auth.js';
import type { StaticSite } from './static-site.js';

/** Default {@link Limits.kvMaxValueBytes}: 1 MiB. */
export const DEFAULT_KV_MAX_VALUE_BYTES = KV_DEFAULT_MAX_VALUE_BYTES;

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

/** Options of `createApp`. */
export interface AppOptions {
  storage: Storage;
  /** Crypto for signature checks and the chain verifier. */
  backend: CryptoBackend;
  clock?: Clock;
  limits?: Partial<Limits>;
  logger?: Logger;
  /** The browser app's files, served at `/` after the API routes; none when absent. */
  web?: StaticSite;
  /** Who may sign up (default: open, with `RESERVED_USERNAMES` reserved). */
  signup?: SignupPolicy;
}

/** What `createApp` returns. */
export interface App {
  /** The fetch handler. */
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>;
  /** Hono's test helper: `app.request('/healthz')`. */
  request: Hono<AppEnv>['request'];
  /** The process's metrics (also served at `/metrics`). */
  metrics: Metrics;
  /** The routes the app serves, one per method and pattern (the contract drift test reads it). */
  routes: readonly { method: HttpMethod; path: string }[];
  /** Answers open long polls (KV change notifications) now; call before closing the server. */
  stop: () => void;
}

/** The app's Hono environment (bindings and per-request variables). */
export interface AppEnv {
  Bindings: { incoming?: { socket?: { remoteAddress?: string } } };
  Variables: { body: Uint8Array; auth: AuthContext | undefined; input: unknown };
}
